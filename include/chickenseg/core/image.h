// Image files: the header (format and size, EXIF orientation) read without
// decoding pixels, chosen by the bytes, never by the file extension; and
// full decoding to RGB (for overlays and the sample generator's checks).
#pragma once

#include <cstddef>
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
    uint32_t width = 0;  // as displayed: after EXIF orientation (5..8 swap axes)
    uint32_t height = 0;
    uint32_t stored_width = 0;  // as encoded in the file
    uint32_t stored_height = 0;
    int exif_orientation = 1;  // 1..8; 1 when absent or invalid
    bool progressive = false;  // JPEG only: SOF2, SOF6, SOF10 or SOF14
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

// RGB pixels in someone else's memory, read in place: pixel (x, y)'s channel c (0 R, 1 G, 2 B)
// is data[y * row_stride + x * pixel_stride + c * channel_stride] (strides in bytes, any sign:
// a NumPy array as it is, or OpenCV's BGR order with data at B + 2 and channel_stride -1).
// The memory must outlive the view.
struct RgbView {
    const uint8_t* data = nullptr;
    uint32_t width = 0;
    uint32_t height = 0;
    ptrdiff_t row_stride = 0;
    ptrdiff_t pixel_stride = 3;
    ptrdiff_t channel_stride = 1;

    bool packed() const { return pixel_stride == 3 && channel_stride == 1; }  // rows of R, G, B bytes
    const uint8_t* pixel(uint32_t x, uint32_t y) const { return data + y * row_stride + x * pixel_stride; }
};

// A view of the whole image (row_stride width * 3).
inline RgbView rgb_view(const RgbImage& image) {
    return {image.pixels.data(), image.width, image.height, static_cast<ptrdiff_t>(image.width) * 3, 3, 1};
}

// The most pixels (stored width * stored height) decode_image accepts, for every
// format: Pillow's DecompressionBombError threshold, 2 * Image.MAX_IMAGE_PIXELS
// (2 * 89478485). Checked from the header, before any pixel buffer is allocated.
inline constexpr uint64_t kImageMaxDecodePixels = 2 * uint64_t{89478485};

// Decodes to RGB what PIL's ImageOps.exif_transpose(Image.open(p)).convert("RGB")
// gives (python/chickenseg_model/images.py::load_rgb), and applies the EXIF
// orientation, so the result has the ImageInfo width/height.
// - JPEG (baseline, progressive, any subsampling; grey, YCbCr, RGB, CMYK, YCCK):
//   libjpeg-turbo with Pillow's settings (JDCT_ISLOW, fancy upsampling), grey
//   replicated to RGB, CMYK inverted and converted with Pillow's formula. libjpeg
//   warnings are accepted as Pillow accepts them; data that ends before the last
//   row is an Error ("truncated image: ...", Pillow: "image file is truncated").
// - PNG (any bit depth, alpha dropped), BMP, GIF (first frame): stb_image.
// - WebP (lossy, lossless, alpha, animated: the first frame on its canvas): libwebp's
//   animation decoder, as Pillow drives it (RGBA, alpha dropped, not composited);
//   the EXIF chunk's orientation is applied.
// - TIFF: read_image_info reads its header, its pixels are refused.
// Throws Error naming the file, also when the image has more than
// kImageMaxDecodePixels pixels.
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
