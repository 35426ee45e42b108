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
// "JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF" (the names PIL's Image.format uses), "unknown".
const char* image_format_name(ImageFormat f);

struct ImageInfo {
    ImageFormat format = ImageFormat::unknown;
    uint32_t width = 0;          // as displayed: after EXIF orientation (5..8 swap axes)
    uint32_t height = 0;
    uint32_t stored_width = 0;   // as encoded in the file
    uint32_t stored_height = 0;
    int exif_orientation = 1;    // 1..8; 1 when absent or invalid
    bool progressive = false;    // JPEG only: SOF2, SOF6, SOF10 or SOF14
    // Bytes after the end marker (JPEG EOI, PNG IEND, the WebP RIFF size):
    // padding or data some cameras append. Accepted, but reported here so that
    // validators can warn. Always 0 for BMP, GIF and TIFF.
    uint64_t trailing_bytes = 0;
};

// How far from the end an end marker is looked for (JPEG EOI, PNG IEND). More
// data than this after it makes the file count as truncated.
inline constexpr uint64_t kImageMaxTrailingBytes = 64 * 1024;

// Reads the header and checks the file is complete (JPEG ends with EOI, PNG with
// IEND, GIF with its trailer, BMP and WebP hold the sizes their headers give).
// Reads only the head and the tail, never the whole file. Throws Error naming
// the file: "empty file", "not an image (file starts with bytes ...)",
// "truncated image: ...", "unsupported image format: ...", "corrupt JPEG: ...".
ImageInfo read_image_info(const std::filesystem::path& path);
ImageInfo read_image_info(std::span<const uint8_t> bytes, const std::string& name_for_errors);

// "jpg" for a .png holding JPEG bytes etc.: the extension the content deserves.
// "" for unknown.
const char* image_format_extension(ImageFormat f);

struct RgbImage {
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<uint8_t> pixels;  // row-major RGB, 3 bytes per pixel
};

// Decodes JPEG (baseline and progressive), PNG, BMP and GIF (first frame) with
// stb_image, drops any alpha channel, and applies the EXIF orientation, so the
// result has the ImageInfo width/height. WebP and TIFF headers are read by
// read_image_info but their pixels are not decoded. Throws Error naming the file.
RgbImage decode_image(const std::filesystem::path& path);
RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name_for_errors);

// The image as displayed for EXIF orientation 1..8 (what PIL's
// ImageOps.exif_transpose does): 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
// 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
RgbImage orient_image(const RgbImage& image, int exif_orientation);

// PNG / JPEG encoding (atomic write). Same pixels give the same bytes.
// Throw Error when the pixel buffer does not hold width*height*3 bytes.
void write_png(const std::filesystem::path& path, const RgbImage& image);
void write_jpeg(const std::filesystem::path& path, const RgbImage& image, int quality = 90);
std::string encode_png(const RgbImage& image);
std::string encode_jpeg(const RgbImage& image, int quality = 90);

}  // namespace chickenseg
