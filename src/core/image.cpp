// Pixel decoding (JPEG: libjpeg-turbo as Pillow drives it, in jpeg_decode.cpp;
// WebP: libwebp's animation decoder as Pillow drives it, in webp_decode.cpp;
// PNG, BMP, GIF: stb_image), EXIF orientation and PNG/JPEG encoding
// (stb_image_write). The header side lives in image_info.cpp.
#include "chickenseg/core/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <cctype>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "jpeg_decode.h"
#include "webp_decode.h"

namespace chickenseg {

void stb_clear_failure_reason();  // stb_impl.cpp

namespace {

struct StbFree {
    void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

// 400000000 -> "400,000,000".
std::string with_thousands(uint64_t v) {
    std::string digits = std::to_string(v);
    for (size_t i = digits.size(); i > 3; i -= 3) digits.insert(i - 3, ",");
    return digits;
}

uint32_t load_be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// The chunk type for a message: its four bytes, or '?' for those that are not letters.
std::string chunk_type_text(const uint8_t* p) {
    std::string t;
    for (int i = 0; i < 4; ++i) t += std::isalpha(p[i]) ? static_cast<char>(p[i]) : '?';
    return t;
}

// Two things stb_image gets wrong, both found by fuzz/fuzz_image_header, handled before it
// reads the PNG:
// - A chunk that declares more bytes than the file has left is an Error here: stb would first
//   grow its buffer to the declared size (2 GiB from a 100-byte file) and only then find the
//   data missing.
// - Empty IDAT chunks are dropped (the result; an empty vector when there is none): valid PNG,
//   which libpng and Pillow skip, but stb copies their 0 bytes into a buffer it has not
//   allocated yet, memcpy(nullptr, ..., 0), undefined behaviour. Dropping one changes no pixel
//   (the image data is the concatenation of the IDAT chunks); stb checks no CRC.
std::vector<uint8_t> png_checked_for_stb(std::span<const uint8_t> bytes, const std::string& name) {
    std::vector<uint8_t> out;
    size_t off = 8;  // after the signature
    size_t copied = 0;
    while (off + 12 <= bytes.size()) {
        const uint32_t length = load_be32(&bytes[off]);
        if (length > bytes.size() - off - 12)
            throw Error("corrupt PNG: the " + chunk_type_text(&bytes[off + 4]) + " chunk at byte " +
                            std::to_string(off) + " declares " + std::to_string(length) + " bytes; the file has " +
                            std::to_string(bytes.size() - off - 12) + " left",
                        name);
        const bool empty_idat = length == 0 && std::memcmp(&bytes[off + 4], "IDAT", 4) == 0;
        if (empty_idat) {
            if (out.empty()) out.reserve(bytes.size());
            out.insert(out.end(), bytes.begin() + copied, bytes.begin() + off);
            copied = off + 12;
        }
        if (std::memcmp(&bytes[off + 4], "IEND", 4) == 0) break;
        off += 12 + length;
    }
    if (copied == 0) return {};
    out.insert(out.end(), bytes.begin() + copied, bytes.end());
    return out;
}

// stb_image for PNG, BMP and GIF (first frame), to RGB.
RgbImage stb_decode_rgb(std::span<const uint8_t> bytes, const ImageInfo& info, const std::string& name) {
    std::vector<uint8_t> cleaned;
    if (info.format == ImageFormat::png) {
        cleaned = png_checked_for_stb(bytes, name);
        if (!cleaned.empty()) bytes = cleaned;
    }
    if (bytes.size() > INT_MAX) throw Error("file is larger than 2 GiB, which stb_image cannot decode", name);
    int w = 0, h = 0, channels_in_file = 0;
    stb_clear_failure_reason();
    std::unique_ptr<stbi_uc, StbFree> data(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels_in_file, 3));
    if (!data) {
        // stb sets no reason for some corrupt streams (a reserved deflate block type): null then;
        // an unknown PNG chunk whose type starts with a 0 byte gives an empty reason.
        const char* reason = stbi_failure_reason();
        const bool named = reason != nullptr && reason[0] != '\0';
        throw Error(std::string("cannot decode ") + image_format_name(info.format) +
                        " pixels: " + (named ? reason : "corrupt image data"),
                    name);
    }
    if (static_cast<uint32_t>(w) != info.stored_width || static_cast<uint32_t>(h) != info.stored_height)
        throw Error("decoded size " + std::to_string(w) + "x" + std::to_string(h) + " differs from the header's " +
                        std::to_string(info.stored_width) + "x" + std::to_string(info.stored_height),
                    name);
    RgbImage image;
    image.width = info.stored_width;
    image.height = info.stored_height;
    image.pixels.assign(data.get(), data.get() + uint64_t{image.width} * image.height * 3);
    return image;
}

void check_pixels(const RgbImage& image, const char* what) {
    if (image.width == 0 || image.height == 0)
        throw Error(std::string(what) + ": image is " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + ", expected at least 1x1");
    const uint64_t expected = uint64_t{image.width} * image.height * 3;
    if (image.pixels.size() != expected)
        throw Error(std::string(what) + ": pixel buffer holds " + std::to_string(image.pixels.size()) +
                    " bytes, expected width*height*3 = " + std::to_string(expected));
    if (uint64_t{image.width} * 3 > INT_MAX || image.height > INT_MAX)
        throw Error(std::string(what) + ": image " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " is too large to encode");
}

void append_to_string(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

RgbImage orient_image(const RgbImage& image, int exif_orientation) {
    if (exif_orientation < 1 || exif_orientation > 8)
        throw Error("EXIF orientation " + std::to_string(exif_orientation) + ", expected 1..8");
    check_pixels(image, "orient_image");
    if (exif_orientation == 1) return image;
    const uint32_t w = image.width, h = image.height;
    const bool swap = exif_orientation >= 5;
    RgbImage out;
    out.width = swap ? h : w;
    out.height = swap ? w : h;
    out.pixels.resize(image.pixels.size());
    for (uint32_t y = 0; y < out.height; ++y) {
        for (uint32_t x = 0; x < out.width; ++x) {
            // Which stored pixel is shown at (x, y).
            uint32_t sx = 0, sy = 0;
            switch (exif_orientation) {
                case 2:
                    sx = w - 1 - x;
                    sy = y;
                    break;  // mirrored left-right
                case 3:
                    sx = w - 1 - x;
                    sy = h - 1 - y;
                    break;  // rotated 180
                case 4:
                    sx = x;
                    sy = h - 1 - y;
                    break;  // mirrored top-bottom
                case 5:
                    sx = y;
                    sy = x;
                    break;  // transposed
                case 6:
                    sx = y;
                    sy = h - 1 - x;
                    break;  // needs 90 clockwise
                case 7:
                    sx = w - 1 - y;
                    sy = h - 1 - x;
                    break;  // transversed
                case 8:
                    sx = w - 1 - y;
                    sy = x;
                    break;  // needs 90 counter-clockwise
            }
            const uint8_t* src = &image.pixels[(uint64_t{sy} * w + sx) * 3];
            uint8_t* dst = &out.pixels[(uint64_t{y} * out.width + x) * 3];
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
        }
    }
    return out;
}

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name_for_errors) {
    const ImageInfo info = read_image_info(bytes, name_for_errors);
    if (info.format == ImageFormat::tiff)
        throw Error(std::string("cannot decode the pixels of a ") + image_format_name(info.format) +
                        " file (only JPEG, PNG, BMP, GIF and WebP are decoded); convert it to PNG or JPEG",
                    name_for_errors);
    // From the header, before any pixel buffer exists (Pillow checks at Image.open).
    const uint64_t pixels = uint64_t{info.stored_width} * info.stored_height;
    if (pixels > kImageMaxDecodePixels)
        throw Error("image is " + std::to_string(info.stored_width) + "x" + std::to_string(info.stored_height) + " (" +
                        with_thousands(pixels) + " pixels), more than the " + with_thousands(kImageMaxDecodePixels) +
                        " pixels decoding accepts (Pillow's limit)",
                    name_for_errors);

    RgbImage image;
    if (info.format == ImageFormat::jpeg)
        image = jpeg_decode_rgb(bytes, info.stored_width, info.stored_height, name_for_errors);
    else if (info.format == ImageFormat::webp)
        image = webp_decode_rgb(bytes, info.stored_width, info.stored_height, name_for_errors);
    else
        image = stb_decode_rgb(bytes, info, name_for_errors);
    if (info.exif_orientation == 1) return image;
    return orient_image(image, info.exif_orientation);
}

RgbImage decode_image(const std::filesystem::path& path) {
    const std::string bytes = read_file(path);
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    return decode_image(std::span<const uint8_t>(data, bytes.size()), path.string());
}

std::string encode_png(const RgbImage& image) {
    check_pixels(image, "PNG encoding");
    std::string out;
    const int w = static_cast<int>(image.width), h = static_cast<int>(image.height);
    if (!stbi_write_png_to_func(append_to_string, &out, w, h, 3, image.pixels.data(), w * 3))
        throw Error("PNG encoding failed for a " + std::to_string(w) + "x" + std::to_string(h) + " image");
    return out;
}

std::string encode_jpeg(const RgbImage& image, int quality) {
    if (quality < 1 || quality > 100) throw Error("JPEG quality " + std::to_string(quality) + ", expected 1..100");
    check_pixels(image, "JPEG encoding");
    std::string out;
    const int w = static_cast<int>(image.width), h = static_cast<int>(image.height);
    if (!stbi_write_jpg_to_func(append_to_string, &out, w, h, 3, image.pixels.data(), quality))
        throw Error("JPEG encoding failed for a " + std::to_string(w) + "x" + std::to_string(h) + " image");
    return out;
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
    try {
        write_file_atomic(path, encode_png(image));
    } catch (const Error& e) {
        if (!e.place().file.empty()) throw;
        throw Error(e.message(), path.string());
    }
}

void write_jpeg(const std::filesystem::path& path, const RgbImage& image, int quality) {
    try {
        write_file_atomic(path, encode_jpeg(image, quality));
    } catch (const Error& e) {
        if (!e.place().file.empty()) throw;
        throw Error(e.message(), path.string());
    }
}

}  // namespace chickenseg
