// Image files: the header (format and size, EXIF orientation) read without
// decoding pixels, chosen by the bytes, never by the file extension; and
// full decoding to RGB (for overlays and the sample generator's checks).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace chickenseg {

enum class ImageFormat { unknown, jpeg, png, bmp, gif, webp, tiff };
const char* image_format_name(ImageFormat f);

struct ImageInfo {
    ImageFormat format = ImageFormat::unknown;
    uint32_t width = 0;          // as displayed: after EXIF orientation (5..8 swap axes)
    uint32_t height = 0;
    uint32_t stored_width = 0;   // as encoded in the file
    uint32_t stored_height = 0;
    int exif_orientation = 1;    // 1..8; 1 when absent
    bool progressive = false;    // JPEG only
};

// Reads the header and checks the file is complete (JPEG ends with EOI, PNG with
// IEND, GIF with its trailer). Throws Error naming the file: "not an image
// (starts with ...)", "truncated image", "unsupported ...".
ImageInfo read_image_info(const std::filesystem::path& path);
ImageInfo read_image_info(std::span<const uint8_t> bytes, const std::string& name_for_errors);

// "jpg" for a .png holding JPEG bytes etc.: the extension the content deserves.
const char* image_format_extension(ImageFormat f);

struct RgbImage {
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<uint8_t> pixels;  // row-major RGB, 3 bytes per pixel
};

// Decodes any format stb_image reads and applies EXIF orientation, so the
// result has the ImageInfo width/height. Throws Error naming the file.
RgbImage decode_image(const std::filesystem::path& path);
// PNG / JPEG encoding (atomic write).
void write_png(const std::filesystem::path& path, const RgbImage& image);
void write_jpeg(const std::filesystem::path& path, const RgbImage& image, int quality = 90);
std::string encode_png(const RgbImage& image);

}  // namespace chickenseg
