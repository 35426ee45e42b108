#include "chickenseg/core/image.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <webp/encode.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

ImageInfo info_of(const Bytes& b) { return read_image_info(b, "test.img"); }

// The message read_image_info throws for `b`, or "" when it succeeds.
std::string info_error(const Bytes& b) {
    try {
        read_image_info(b, "test.img");
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "test.img");
        return e.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void put_be16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put_be32(Bytes& b, uint32_t v) {
    put_be16(b, static_cast<uint16_t>(v >> 16));
    put_be16(b, static_cast<uint16_t>(v));
}
void put_le16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_le32(Bytes& b, uint32_t v) {
    put_le16(b, static_cast<uint16_t>(v));
    put_le16(b, static_cast<uint16_t>(v >> 16));
}
void put_le24(Bytes& b, uint32_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v >> 16));
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
void append_text(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

// A pattern with large flat blocks (so JPEG keeps it nearly exact) and a
// different colour per quadrant, so every orientation gives different pixels.
RgbImage blocks_image(uint32_t w, uint32_t h) {
    RgbImage img{w, h, {}};
    img.pixels.resize(size_t{w} * h * 3);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            uint8_t* p = &img.pixels[(size_t{y} * w + x) * 3];
            bool right = x >= w / 2, bottom = y >= h / 2;
            p[0] = right ? 230 : 20;
            p[1] = bottom ? 200 : 40;
            p[2] = (right != bottom) ? 180 : 60;
        }
    return img;
}

// Every pixel different (for the lossless paths).
RgbImage gradient_image(uint32_t w, uint32_t h) {
    RgbImage img{w, h, {}};
    img.pixels.resize(size_t{w} * h * 3);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            uint8_t* p = &img.pixels[(size_t{y} * w + x) * 3];
            p[0] = static_cast<uint8_t>(x * 17 + y);
            p[1] = static_cast<uint8_t>(y * 29 + 3 * x);
            p[2] = static_cast<uint8_t>(x * y + 7);
        }
    return img;
}

double mean_abs_diff(const RgbImage& a, const RgbImage& b) {
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(a.height, b.height);
    if (a.pixels.size() != b.pixels.size() || a.pixels.empty()) return 1e9;
    double sum = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
    return sum / double(a.pixels.size());
}

// "Exif\0\0" + a TIFF structure whose IFD0 holds a Make tag, then Orientation
// (when orientation > 0); IFD1 (the thumbnail's) holds `ifd1_orientation` when > 0.
Bytes exif_block(bool big_endian, int orientation, int ifd1_orientation = 0, bool with_prefix = true) {
    Bytes b;
    if (with_prefix) append_text(b, std::string("Exif\0\0", 6));
    auto u16 = [&](uint16_t v) { big_endian ? put_be16(b, v) : put_le16(b, v); };
    auto u32 = [&](uint32_t v) { big_endian ? put_be32(b, v) : put_le32(b, v); };
    append_text(b, big_endian ? "MM" : "II");
    u16(42);
    u32(8);
    const uint16_t count = orientation > 0 ? 2 : 1;
    u16(count);
    u16(0x010F);  // Make, ASCII, 4 bytes inline: "cam\0"
    u16(2);
    u32(4);
    append_text(b, std::string("cam\0", 4));
    if (orientation > 0) {
        u16(0x0112);
        u16(3);  // SHORT
        u32(1);
        u16(static_cast<uint16_t>(orientation));
        u16(0);
    }
    const uint32_t ifd1 = 8 + 2 + 12u * count + 4;
    u32(ifd1_orientation > 0 ? ifd1 : 0);
    if (ifd1_orientation > 0) {
        u16(1);
        u16(0x0112);
        u16(3);
        u32(1);
        u16(static_cast<uint16_t>(ifd1_orientation));
        u16(0);
        u32(0);
    }
    return b;
}

Bytes jpeg_segment(uint8_t code, const Bytes& payload) {
    Bytes b = {0xFF, code};
    put_be16(b, static_cast<uint16_t>(payload.size() + 2));
    append(b, payload);
    return b;
}

// Inserts segments right after SOI.
Bytes jpeg_with(const Bytes& jpeg, const Bytes& segments) {
    Bytes out(jpeg.begin(), jpeg.begin() + 2);
    append(out, segments);
    out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
    return out;
}

Bytes encoded_jpeg(const RgbImage& img, int quality = 95) { return to_bytes(encode_jpeg(img, quality)); }
Bytes encoded_png(const RgbImage& img) { return to_bytes(encode_png(img)); }

uint32_t crc32(const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

Bytes png_chunk(const std::string& type, const Bytes& data) {
    Bytes b;
    put_be32(b, static_cast<uint32_t>(data.size()));
    Bytes body = to_bytes(type);
    append(body, data);
    append(b, body);
    put_be32(b, crc32(body.data(), body.size()));
    return b;
}

// Inserts a chunk after IHDR (signature 8 + IHDR 25 bytes).
Bytes png_with(const Bytes& png, const Bytes& chunk) {
    Bytes out(png.begin(), png.begin() + 33);
    append(out, chunk);
    out.insert(out.end(), png.begin() + 33, png.end());
    return out;
}

// Uncompressed 24-bit BMP with a 40-byte header.
Bytes make_bmp(const RgbImage& img, bool top_down) {
    const uint32_t stride = (img.width * 3 + 3) / 4 * 4;
    Bytes b = to_bytes("BM");
    put_le32(b, 54 + stride * img.height);
    put_le32(b, 0);
    put_le32(b, 54);
    put_le32(b, 40);
    put_le32(b, img.width);
    put_le32(b, top_down ? static_cast<uint32_t>(-static_cast<int32_t>(img.height)) : img.height);
    put_le16(b, 1);
    put_le16(b, 24);
    put_le32(b, 0);
    put_le32(b, stride * img.height);
    put_le32(b, 2835);
    put_le32(b, 2835);
    put_le32(b, 0);
    put_le32(b, 0);
    for (uint32_t r = 0; r < img.height; ++r) {
        uint32_t y = top_down ? r : img.height - 1 - r;
        for (uint32_t x = 0; x < img.width; ++x) {
            const uint8_t* p = &img.pixels[(size_t{y} * img.width + x) * 3];
            b.push_back(p[2]);
            b.push_back(p[1]);
            b.push_back(p[0]);
        }
        for (uint32_t pad = img.width * 3; pad < stride; ++pad) b.push_back(0);
    }
    return b;
}

// The classic smallest GIF: 1x1, palette {white, black}, pixel 0 (white).
Bytes tiny_gif() {
    return {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00,
            0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B};
}

Bytes riff_webp(const Bytes& chunks) {
    Bytes b = to_bytes("RIFF");
    put_le32(b, static_cast<uint32_t>(4 + chunks.size()));
    append_text(b, "WEBP");
    append(b, chunks);
    return b;
}
Bytes riff_chunk(const std::string& fourcc, const Bytes& data) {
    Bytes b = to_bytes(fourcc);
    put_le32(b, static_cast<uint32_t>(data.size()));
    append(b, data);
    if (data.size() % 2) b.push_back(0);
    return b;
}
Bytes vp8_keyframe(uint16_t w, uint16_t h) {
    Bytes d = {0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A};  // frame tag (key frame), start code
    put_le16(d, w);
    put_le16(d, h);
    d.resize(20, 0);
    return d;
}

// A TIFF with IFD0 = width, height (SHORT or LONG) and optionally orientation.
Bytes make_tiff(bool big_endian, uint32_t w, uint32_t h, int orientation, bool long_sizes) {
    Bytes b;
    auto u16 = [&](uint16_t v) { big_endian ? put_be16(b, v) : put_le16(b, v); };
    auto u32 = [&](uint32_t v) { big_endian ? put_be32(b, v) : put_le32(b, v); };
    append_text(b, big_endian ? "MM" : "II");
    u16(42);
    u32(8);
    u16(orientation > 0 ? 3 : 2);
    auto size_entry = [&](uint16_t tag, uint32_t v) {
        u16(tag);
        u16(long_sizes ? 4 : 3);
        u32(1);
        if (long_sizes) {
            u32(v);
        } else {
            u16(static_cast<uint16_t>(v));
            u16(0);
        }
    };
    size_entry(0x0100, w);
    size_entry(0x0101, h);
    if (orientation > 0) {
        u16(0x0112);
        u16(3);
        u32(1);
        u16(static_cast<uint16_t>(orientation));
        u16(0);
    }
    u32(0);
    b.resize(b.size() + 64, 0x80);  // stand-in for strip data
    return b;
}

// ---- names ----------------------------------------------------------------

TEST(ImageFormat, NamesMatchPilAndExtensionsFollowContent) {
    EXPECT_STREQ(image_format_name(ImageFormat::jpeg), "JPEG");
    EXPECT_STREQ(image_format_name(ImageFormat::png), "PNG");
    EXPECT_STREQ(image_format_name(ImageFormat::bmp), "BMP");
    EXPECT_STREQ(image_format_name(ImageFormat::gif), "GIF");
    EXPECT_STREQ(image_format_name(ImageFormat::webp), "WEBP");
    EXPECT_STREQ(image_format_name(ImageFormat::tiff), "TIFF");
    EXPECT_STREQ(image_format_name(ImageFormat::unknown), "unknown");
    EXPECT_STREQ(image_format_extension(ImageFormat::jpeg), "jpg");
    EXPECT_STREQ(image_format_extension(ImageFormat::tiff), "tif");
    EXPECT_STREQ(image_format_extension(ImageFormat::unknown), "");
}

// ---- JPEG -----------------------------------------------------------------

TEST(JpegInfo, BaselineFromEncoder) {
    ImageInfo info = info_of(encoded_jpeg(blocks_image(40, 24)));
    EXPECT_EQ(info.format, ImageFormat::jpeg);
    EXPECT_EQ(info.width, 40u);
    EXPECT_EQ(info.height, 24u);
    EXPECT_EQ(info.stored_width, 40u);
    EXPECT_EQ(info.stored_height, 24u);
    EXPECT_EQ(info.exif_orientation, 1);
    EXPECT_FALSE(info.progressive);
    EXPECT_EQ(info.trailing_bytes, 0u);
}

TEST(JpegInfo, ExifOrientationAllValuesBothByteOrders) {
    const Bytes plain = encoded_jpeg(blocks_image(40, 24));
    for (bool big_endian : {false, true}) {
        for (int o = 1; o <= 8; ++o) {
            ImageInfo info = info_of(jpeg_with(plain, jpeg_segment(0xE1, exif_block(big_endian, o))));
            EXPECT_EQ(info.exif_orientation, o) << "big endian " << big_endian;
            EXPECT_EQ(info.stored_width, 40u);
            EXPECT_EQ(info.stored_height, 24u);
            EXPECT_EQ(info.width, o >= 5 ? 24u : 40u) << o;
            EXPECT_EQ(info.height, o >= 5 ? 40u : 24u) << o;
        }
    }
}

TEST(JpegInfo, OnlyIfd0OrientationCountsAndInvalidValuesAreIgnored) {
    const Bytes plain = encoded_jpeg(blocks_image(40, 24));
    // The thumbnail's IFD1 saying 6 does not rotate the main image.
    EXPECT_EQ(info_of(jpeg_with(plain, jpeg_segment(0xE1, exif_block(false, 0, 6)))).exif_orientation, 1);
    EXPECT_EQ(info_of(jpeg_with(plain, jpeg_segment(0xE1, exif_block(true, 3, 6)))).exif_orientation, 3);
    for (int bad : {0, 9, 255}) {
        ImageInfo info = info_of(jpeg_with(plain, jpeg_segment(0xE1, exif_block(false, bad))));
        EXPECT_EQ(info.exif_orientation, 1) << bad;
        EXPECT_EQ(info.width, 40u);
    }
    // XMP in APP1 first, EXIF second: the EXIF one is found.
    Bytes xmp = to_bytes(std::string("http://ns.adobe.com/xap/1.0/\0<x/>", 34));
    Bytes segs = jpeg_segment(0xE1, xmp);
    append(segs, jpeg_segment(0xE1, exif_block(false, 8)));
    EXPECT_EQ(info_of(jpeg_with(plain, segs)).exif_orientation, 8);
    // A damaged EXIF block is ignored, not fatal.
    Bytes broken = to_bytes(std::string("Exif\0\0II\x2a\0\xff\xff\xff\x7f", 14));
    EXPECT_EQ(info_of(jpeg_with(plain, jpeg_segment(0xE1, broken))).exif_orientation, 1);
}

TEST(JpegInfo, SkipsLargeSegmentsFillBytesAndJunkBeforeMarkers) {
    const Bytes plain = encoded_jpeg(blocks_image(40, 24));
    // A 60 KB APP2 full of FF D9 / FF C0 lookalikes: skipped by its length, not scanned.
    Bytes icc(60000);
    for (size_t i = 0; i < icc.size(); ++i) icc[i] = (i % 2) ? 0xD9 : 0xFF;
    Bytes segs = jpeg_segment(0xE2, icc);
    append(segs, jpeg_segment(0xEE, to_bytes("Adobe")));
    append(segs, {0xFF, 0xFF, 0xFF});  // fill bytes before the next marker (B.1.1.2)
    append(segs, jpeg_segment(0xE1, exif_block(true, 6)));
    append(segs, {0x00, 0x12, 0x34});  // junk that libjpeg and PIL skip
    append(segs, jpeg_segment(0xFE, to_bytes("comment")));
    ImageInfo info = info_of(jpeg_with(plain, segs));
    EXPECT_EQ(info.stored_width, 40u);
    EXPECT_EQ(info.exif_orientation, 6);
    EXPECT_EQ(info.width, 24u);
}

// SOI, frame header `sof`, SOS, scan bytes, EOI: enough for the header reader.
Bytes synthetic_jpeg(uint8_t sof, uint16_t w, uint16_t h) {
    Bytes b = {0xFF, 0xD8};
    Bytes frame = {8};
    put_be16(frame, h);
    put_be16(frame, w);
    append(frame, {1, 1, 0x11, 0});
    append(b, jpeg_segment(sof, frame));
    append(b, jpeg_segment(0xDA, {1, 1, 0, 0, 63, 0}));
    append(b, {0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56});  // entropy data with stuffing and RST0
    append(b, {0xFF, 0xD9});
    return b;
}

TEST(JpegInfo, EveryStartOfFrameMarkerAndProgressiveFlag) {
    for (uint8_t sof : {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}) {
        ImageInfo info = info_of(synthetic_jpeg(sof, 640, 480));
        EXPECT_EQ(info.width, 640u) << int(sof);
        EXPECT_EQ(info.height, 480u) << int(sof);
        const bool progressive = sof == 0xC2 || sof == 0xC6 || sof == 0xCA || sof == 0xCE;
        EXPECT_EQ(info.progressive, progressive) << int(sof);
    }
    // DHT (C4), JPG (C8), DAC (CC) are not frame headers: no frame before the scan.
    for (uint8_t not_sof : {0xC4, 0xC8, 0xCC})
        EXPECT_TRUE(
            contains(info_error(synthetic_jpeg(not_sof, 640, 480)), "corrupt JPEG: start of scan FF DA at offset"))
            << int(not_sof);
}

TEST(JpegInfo, BadFrameHeadersAreNamed) {
    EXPECT_TRUE(contains(info_error(synthetic_jpeg(0xC0, 0, 480)), "gives width 0"));
    EXPECT_TRUE(contains(info_error(synthetic_jpeg(0xC0, 640, 0)), "DNL"));
    Bytes early_eoi = {0xFF, 0xD8, 0xFF, 0xD9};
    EXPECT_TRUE(contains(info_error(early_eoi), "end-of-image marker FF D9 at offset 2 comes before"));
    Bytes short_length = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xD9};
    EXPECT_TRUE(contains(info_error(short_length), "has length 1, expected at least 2"));
}

TEST(JpegInfo, TruncationIsReported) {
    const Bytes plain = encoded_jpeg(blocks_image(40, 24));
    Bytes cut(plain.begin(), plain.end() - 2);
    EXPECT_EQ(info_error(cut), "test.img: truncated image: JPEG has no end-of-image marker (FF D9)");
    Bytes header_only(plain.begin(), plain.begin() + 30);
    EXPECT_TRUE(contains(info_error(header_only), "truncated image"));
    Bytes just_soi = {0xFF, 0xD8};
    EXPECT_TRUE(contains(info_error(just_soi), "truncated image: JPEG ends before its image data"));
}

TEST(JpegInfo, TrailingBytesAreCountedUpToTheLimit) {
    Bytes padded = encoded_jpeg(blocks_image(40, 24));
    padded.resize(padded.size() + 100, 0);
    EXPECT_EQ(info_of(padded).trailing_bytes, 100u);
    // A camera trailer that contains FF D9 itself: the last one counts.
    Bytes trailer = encoded_jpeg(blocks_image(40, 24));
    append(trailer, {'S', 'E', 'F', 0xFF, 0xD9, 'x', 'y'});
    EXPECT_EQ(info_of(trailer).trailing_bytes, 2u);
    // More than kImageMaxTrailingBytes after the EOI: treated as truncated.
    Bytes too_much = encoded_jpeg(blocks_image(40, 24));
    too_much.resize(too_much.size() + kImageMaxTrailingBytes + 1, 0);
    EXPECT_TRUE(contains(info_error(too_much), "no end-of-image marker (FF D9) in its last 65536 bytes"));
}

// ---- PNG ------------------------------------------------------------------

TEST(PngInfo, HeaderAndExifChunk) {
    const Bytes plain = encoded_png(gradient_image(7, 5));
    ImageInfo info = info_of(plain);
    EXPECT_EQ(info.format, ImageFormat::png);
    EXPECT_EQ(info.width, 7u);
    EXPECT_EQ(info.height, 5u);
    EXPECT_EQ(info.exif_orientation, 1);
    for (bool big_endian : {false, true})
        for (int o = 1; o <= 8; ++o) {
            // eXIf holds the bare TIFF structure; some writers keep the "Exif\0\0" prefix.
            for (bool prefix : {false, true}) {
                Bytes exif = exif_block(big_endian, o, 0, prefix);
                ImageInfo r = info_of(png_with(plain, png_chunk("eXIf", exif)));
                EXPECT_EQ(r.exif_orientation, o);
                EXPECT_EQ(r.width, o >= 5 ? 5u : 7u);
                EXPECT_EQ(r.height, o >= 5 ? 7u : 5u);
            }
        }
}

TEST(PngInfo, TruncationTrailingDataAndCorruption) {
    const Bytes plain = encoded_png(gradient_image(7, 5));
    Bytes no_iend(plain.begin(), plain.end() - 12);
    EXPECT_EQ(info_error(no_iend), "test.img: truncated image: PNG has no IEND chunk at its end");
    Bytes cut(plain.begin(), plain.begin() + 20);
    EXPECT_TRUE(contains(info_error(cut), "truncated image: PNG header chunk (IHDR) is cut short"));
    Bytes padded = plain;
    padded.resize(plain.size() + 9, 0);
    EXPECT_EQ(info_of(padded).trailing_bytes, 9u);
    Bytes text_mode = plain;
    text_mode.erase(text_mode.begin() + 4);  // "\r\n" -> "\n"
    EXPECT_TRUE(contains(info_error(text_mode), "corrupt PNG: signature"));
    Bytes bad_type = png_with(plain, png_chunk("ab1d", {}));
    EXPECT_TRUE(contains(info_error(bad_type), "has type bytes 61 62 31 64"));
}

// ---- BMP / GIF ------------------------------------------------------------

TEST(BmpInfo, BottomUpTopDownAndTruncation) {
    const RgbImage img = gradient_image(5, 3);
    ImageInfo up = info_of(make_bmp(img, false));
    EXPECT_EQ(up.format, ImageFormat::bmp);
    EXPECT_EQ(up.width, 5u);
    EXPECT_EQ(up.height, 3u);
    ImageInfo down = info_of(make_bmp(img, true));
    EXPECT_EQ(down.width, 5u);
    EXPECT_EQ(down.height, 3u);
    Bytes cut = make_bmp(img, false);
    cut.resize(cut.size() - 1);
    EXPECT_TRUE(contains(info_error(cut), "truncated image: BMP pixel rows need 48 bytes from offset 54"));
    Bytes odd = make_bmp(img, false);
    odd[14] = 20;  // DIB header size
    EXPECT_TRUE(contains(info_error(odd), "DIB header size 20"));
}

TEST(GifInfo, ScreenSizeAndTrailer) {
    ImageInfo info = info_of(tiny_gif());
    EXPECT_EQ(info.format, ImageFormat::gif);
    EXPECT_EQ(info.width, 1u);
    EXPECT_EQ(info.height, 1u);
    Bytes cut = tiny_gif();
    cut.pop_back();
    EXPECT_EQ(info_error(cut), "test.img: truncated image: GIF does not end with its trailer byte 3B");
}

// ---- WebP -----------------------------------------------------------------

TEST(WebpInfo, LossyLosslessExtendedAndExif) {
    ImageInfo lossy = info_of(riff_webp(riff_chunk("VP8 ", vp8_keyframe(300, 200))));
    EXPECT_EQ(lossy.format, ImageFormat::webp);
    EXPECT_EQ(lossy.width, 300u);
    EXPECT_EQ(lossy.height, 200u);

    Bytes vp8l = {0x2F};
    put_le32(vp8l, (299u) | (199u << 14));
    vp8l.resize(12, 0);
    ImageInfo lossless = info_of(riff_webp(riff_chunk("VP8L", vp8l)));
    EXPECT_EQ(lossless.width, 300u);
    EXPECT_EQ(lossless.height, 200u);

    Bytes vp8x = {0x08, 0, 0, 0};  // EXIF flag
    put_le24(vp8x, 299);
    put_le24(vp8x, 199);
    Bytes chunks = riff_chunk("VP8X", vp8x);
    append(chunks, riff_chunk("VP8 ", vp8_keyframe(300, 200)));
    append(chunks, riff_chunk("EXIF", exif_block(true, 6, 0, false)));
    ImageInfo extended = info_of(riff_webp(chunks));
    EXPECT_EQ(extended.exif_orientation, 6);
    EXPECT_EQ(extended.width, 200u);
    EXPECT_EQ(extended.height, 300u);
    EXPECT_EQ(extended.stored_width, 300u);
}

TEST(WebpInfo, TruncatedRiffAndOtherRiffFiles) {
    Bytes full = riff_webp(riff_chunk("VP8 ", vp8_keyframe(300, 200)));
    Bytes cut(full.begin(), full.end() - 3);
    EXPECT_TRUE(contains(info_error(cut), "truncated image: WebP RIFF header gives"));
    Bytes padded = full;
    padded.resize(full.size() + 4, 0);
    EXPECT_EQ(info_of(padded).trailing_bytes, 4u);
    Bytes wave = full;
    std::memcpy(wave.data() + 8, "WAVE", 4);
    EXPECT_TRUE(contains(info_error(wave), "unsupported image format: RIFF 'WAVE' file (not WebP)"));
}

// ---- TIFF -----------------------------------------------------------------

TEST(TiffInfo, SizesAndOrientationBothByteOrders) {
    for (bool big_endian : {false, true})
        for (bool long_sizes : {false, true}) {
            ImageInfo info = info_of(make_tiff(big_endian, 70000 % 65536, 300, 6, long_sizes));
            EXPECT_EQ(info.format, ImageFormat::tiff);
            EXPECT_EQ(info.stored_width, 70000u % 65536);
            EXPECT_EQ(info.stored_height, 300u);
            EXPECT_EQ(info.exif_orientation, 6);
            EXPECT_EQ(info.width, 300u);
        }
    EXPECT_EQ(info_of(make_tiff(false, 100000, 5, 0, true)).width, 100000u);
}

TEST(TiffInfo, ErrorsForBigTiffMissingTagsAndCutDirectory) {
    Bytes big = to_bytes(std::string("II+\0\x08\0\0\0", 8));
    big.resize(64, 0);
    EXPECT_TRUE(contains(info_error(big), "unsupported image format: BigTIFF"));
    Bytes cut = make_tiff(false, 10, 10, 1, false);
    cut.resize(20);
    EXPECT_TRUE(contains(info_error(cut), "truncated image: TIFF's first directory (IFD0) at offset 8"));
    Bytes far = to_bytes(std::string("MM\0*\x7f\0\0\0", 8));
    EXPECT_TRUE(contains(info_error(far), "IFD0) at offset 2130706432"));
    Bytes no_size = make_tiff(false, 0, 10, 1, false);
    EXPECT_TRUE(contains(info_error(no_size), "lacks ImageWidth (tag 256)"));
}

// ---- not images -----------------------------------------------------------

TEST(ImageInfoErrors, EmptyNotAnImageAndUnsupportedFormats) {
    EXPECT_EQ(info_error({}), "test.img: empty file");
    EXPECT_EQ(info_error(to_bytes("<!DOCTYPE html><html>")),
              "test.img: not an image (file starts with bytes 3c 21 44 4f 43 54 59 50 \"<!DOCTYP\"; "
              "expected JPEG, PNG, BMP, GIF, WebP or TIFF)");
    EXPECT_EQ(info_error({0x00}),
              "test.img: not an image (file starts with bytes 00 \".\"; "
              "expected JPEG, PNG, BMP, GIF, WebP or TIFF)");
    EXPECT_TRUE(
        contains(info_error(to_bytes("version https://git-lfs.github.com/spec/v1\noid sha256:")), "Git LFS pointer"));
    Bytes heic = {0, 0, 0, 0x18};
    append_text(heic, "ftypheic");
    heic.resize(64, 0);
    EXPECT_EQ(info_error(heic), "test.img: unsupported image format: HEIC (convert it to JPEG or PNG)");
    Bytes avif = {0, 0, 0, 0x18};
    append_text(avif, "ftypavif");
    EXPECT_TRUE(contains(info_error(avif), "AVIF"));
    EXPECT_TRUE(contains(info_error(to_bytes("%PDF-1.7\n")), "PDF document"));
    EXPECT_TRUE(contains(info_error(to_bytes("8BPS\0\1")), "Photoshop PSD"));
    EXPECT_TRUE(contains(info_error({0xFF, 0x0A, 0x00}), "JPEG XL"));
    EXPECT_TRUE(contains(info_error(to_bytes("<?xml version=\"1.0\"?><svg width=\"1\">")), "SVG"));
}

// ---- files ----------------------------------------------------------------

class ImageFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("chickenseg_image_test_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path write(const std::string& name, const Bytes& content) {
        fs::path p = dir_ / name;
        std::ofstream(p, std::ios::binary)
            .write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
        return p;
    }
    fs::path dir_;
};

TEST_F(ImageFiles, FileAndMemoryGiveTheSameInfoAndTheExtensionIsIgnored) {
    // Larger than the 16 KiB head read at open, with the frame header beyond it.
    Bytes big = jpeg_with(encoded_jpeg(blocks_image(64, 48)), jpeg_segment(0xE2, Bytes(40000, 7)));
    big = jpeg_with(big, jpeg_segment(0xE1, exif_block(false, 5)));
    for (const Bytes& content : {big, encoded_png(gradient_image(9, 4)), make_bmp(gradient_image(3, 2), true),
                                 tiny_gif(), make_tiff(true, 12, 34, 7, false)}) {
        fs::path p = write("photo.png", content);  // the extension says PNG for all of them
        ImageInfo from_file = read_image_info(p);
        ImageInfo from_memory = info_of(content);
        EXPECT_EQ(from_file.format, from_memory.format);
        EXPECT_EQ(from_file.width, from_memory.width);
        EXPECT_EQ(from_file.height, from_memory.height);
        EXPECT_EQ(from_file.exif_orientation, from_memory.exif_orientation);
    }
    EXPECT_EQ(read_image_info(write("x.png", big)).width, 48u);
}

TEST_F(ImageFiles, ErrorsNameTheFile) {
    fs::path empty = write("empty.jpg", {});
    try {
        read_image_info(empty);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), empty.string() + ": empty file");
    }
    EXPECT_THROW(read_image_info(dir_ / "missing.jpg"), Error);
    try {
        read_image_info(dir_);
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "is a folder")) << e.what();
    }
}

TEST_F(ImageFiles, WritePngIsExactAndDeterministicAndWriteJpegDecodes) {
    const RgbImage img = gradient_image(31, 17);
    fs::path png = dir_ / "sub" / "out.png";
    write_png(png, img);
    RgbImage back = decode_image(png);
    EXPECT_EQ(back.width, 31u);
    EXPECT_EQ(back.height, 17u);
    EXPECT_EQ(back.pixels, img.pixels);
    EXPECT_EQ(encode_png(img), encode_png(img));
    for (const auto& entry : fs::directory_iterator(png.parent_path()))
        EXPECT_EQ(entry.path().filename(), "out.png") << "temporary file left behind";

    fs::path jpg = dir_ / "out.jpg";
    write_jpeg(jpg, blocks_image(64, 32), 95);
    EXPECT_LT(mean_abs_diff(decode_image(jpg), blocks_image(64, 32)), 2.0);
    EXPECT_EQ(read_image_info(jpg).format, ImageFormat::jpeg);
}

TEST(ImageEncode, BadBuffersAndQualityAreErrors) {
    RgbImage bad{4, 4, Bytes(10)};
    EXPECT_THROW(encode_png(bad), Error);
    EXPECT_THROW(encode_jpeg(bad), Error);
    EXPECT_THROW(encode_png(RgbImage{}), Error);
    EXPECT_THROW(encode_jpeg(gradient_image(2, 2), 0), Error);
    EXPECT_THROW(encode_jpeg(gradient_image(2, 2), 101), Error);
    try {
        write_png("/proc/definitely/not/writable.png", bad);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "/proc/definitely/not/writable.png");
        EXPECT_TRUE(contains(e.what(), "pixel buffer holds 10 bytes, expected width*height*3 = 48"));
    }
}

// ---- orientation and decoding ---------------------------------------------

TEST(OrientImage, AllEightCasesOnA3x2Image) {
    // Stored pixels labelled by their red value:  1 2 3
    //                                             4 5 6
    RgbImage img{3, 2, {}};
    for (uint8_t v = 1; v <= 6; ++v) append(img.pixels, {v, 0, 0});
    const std::vector<std::pair<std::pair<uint32_t, uint32_t>, Bytes>> expected = {
        {{3, 2}, {1, 2, 3, 4, 5, 6}},  // 1
        {{3, 2}, {3, 2, 1, 6, 5, 4}},  // 2 mirror
        {{3, 2}, {6, 5, 4, 3, 2, 1}},  // 3 rotate 180
        {{3, 2}, {4, 5, 6, 1, 2, 3}},  // 4 flip
        {{2, 3}, {1, 4, 2, 5, 3, 6}},  // 5 transpose
        {{2, 3}, {4, 1, 5, 2, 6, 3}},  // 6 rotate 90 clockwise
        {{2, 3}, {6, 3, 5, 2, 4, 1}},  // 7 transverse
        {{2, 3}, {3, 6, 2, 5, 1, 4}},  // 8 rotate 90 counter-clockwise
    };
    for (int o = 1; o <= 8; ++o) {
        RgbImage out = orient_image(img, o);
        EXPECT_EQ(out.width, expected[o - 1].first.first) << o;
        EXPECT_EQ(out.height, expected[o - 1].first.second) << o;
        Bytes reds;
        for (size_t i = 0; i < out.pixels.size(); i += 3) reds.push_back(out.pixels[i]);
        EXPECT_EQ(reds, expected[o - 1].second) << "orientation " << o;
    }
    EXPECT_THROW(orient_image(img, 0), Error);
    EXPECT_THROW(orient_image(img, 9), Error);
}

TEST(DecodeImage, AppliesExifOrientationForJpegAndPng) {
    const Bytes jpeg = encoded_jpeg(blocks_image(40, 24));
    const RgbImage upright_jpeg = decode_image(jpeg, "plain.jpg");
    const Bytes png = encoded_png(gradient_image(7, 5));
    for (int o = 1; o <= 8; ++o) {
        Bytes rotated = jpeg_with(jpeg, jpeg_segment(0xE1, exif_block(o % 2 == 0, o)));
        RgbImage decoded = decode_image(rotated, "rotated.jpg");
        ImageInfo info = info_of(rotated);
        EXPECT_EQ(decoded.width, info.width);
        EXPECT_EQ(decoded.height, info.height);
        EXPECT_EQ(decoded.pixels, orient_image(upright_jpeg, o).pixels) << o;

        Bytes png_rotated = png_with(png, png_chunk("eXIf", exif_block(false, o, 0, false)));
        RgbImage png_decoded = decode_image(png_rotated, "r.png");
        EXPECT_EQ(png_decoded.pixels, orient_image(gradient_image(7, 5), o).pixels) << o;
    }
}

TEST(DecodeImage, BmpBothRowOrdersGifAndUndecodableFormats) {
    const RgbImage img = gradient_image(5, 3);
    EXPECT_EQ(decode_image(make_bmp(img, false), "a.bmp").pixels, img.pixels);
    EXPECT_EQ(decode_image(make_bmp(img, true), "a.bmp").pixels, img.pixels);
    RgbImage gif = decode_image(tiny_gif(), "a.gif");
    EXPECT_EQ(gif.pixels, (Bytes{255, 255, 255}));
    // A VP8 frame header with no frame data behind it: libwebp refuses it.
    try {
        decode_image(riff_webp(riff_chunk("VP8 ", vp8_keyframe(3, 2))), "a.webp");
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "a.webp: cannot decode WebP pixels: ")) << e.what();
    }
    try {
        decode_image(make_tiff(false, 2, 2, 1, false), "a.tif");
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "a.tif: cannot decode the pixels of a TIFF file")) << e.what();
    }
    // A header that passes but data stb cannot decode: an Error naming the file.
    try {
        decode_image(synthetic_jpeg(0xC0, 16, 16), "broken.jpg");
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "broken.jpg: cannot decode JPEG pixels: ")) << e.what();
    }
}

// A PNG whose header, CRCs and IEND pass read_image_info but whose first deflate block has the
// reserved type 3, for which stb sets no failure reason.
Bytes png_with_corrupt_idat(size_t from, size_t to) {
    Bytes png = encoded_png(gradient_image(8, 6));
    std::string text(png.begin(), png.end());
    size_t idat = text.find("IDAT");
    EXPECT_NE(idat, std::string::npos);
    for (size_t k = idat + from; k < idat + to; ++k) png[k] = 0xFF;
    return png;
}
Bytes png_with_reserved_deflate_block() { return png_with_corrupt_idat(6, 12); }

TEST(DecodeImage, CorruptPixelDataWithNoStbReasonIsAnErrorNotACrash) {
    EXPECT_NO_THROW(read_image_info(png_with_reserved_deflate_block(), "bad.png"));
    // In a fresh thread: stb's failure reason is per thread and still unset there (it was null,
    // and appending it to the message crashed).
    std::string message;
    std::thread([&] {
        try {
            decode_image(png_with_reserved_deflate_block(), "bad.png");
        } catch (const Error& e) {
            message = e.what();
        }
    }).join();
    EXPECT_EQ(message, "bad.png: cannot decode PNG pixels: corrupt image data");
    // An earlier failure's reason is not reported for this file.
    try {
        decode_image(png_with_corrupt_idat(4, 6), "bad-header.png");  // the zlib header: stb names it
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "bad-header.png: cannot decode PNG pixels: ")) << e.what();
        EXPECT_FALSE(contains(e.what(), "corrupt image data")) << e.what();
    }
    try {
        decode_image(png_with_reserved_deflate_block(), "bad.png");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "bad.png: cannot decode PNG pixels: corrupt image data");
    }
}

// ---- JPEG pixels (libjpeg-turbo, as Pillow drives it) ---------------------

// A hand-made 8x8 JPEG whose samples are all mid-grey (128): quantisation table of
// 1s, one DC Huffman code ("0": difference 0) and one AC code ("0": end of block).
// Baseline (SOF0) codes DC and AC in one scan; progressive (SOF2) has only the DC
// scan (libjpeg takes the AC coefficients it never receives as 0). Components have
// ids 1..n, all sampled 1x1, so 1 is grey, 3 YCbCr, 4 CMYK (no Adobe marker).
Bytes flat_jpeg(bool progressive, uint8_t components, uint8_t precision = 8) {
    Bytes b = {0xFF, 0xD8};
    Bytes dqt = {0x00};
    dqt.resize(65, 1);
    append(b, jpeg_segment(0xDB, dqt));
    Bytes frame = {precision};
    put_be16(frame, 8);
    put_be16(frame, 8);
    frame.push_back(components);
    for (uint8_t c = 1; c <= components; ++c) append(frame, {c, 0x11, 0});
    append(b, jpeg_segment(progressive ? 0xC2 : 0xC0, frame));
    Bytes tables = {0x00, 1};  // DC table 0: one code of length 1, for symbol 0
    tables.resize(17, 0);
    tables.push_back(0x00);
    append(tables, {0x10, 1});  // AC table 0: one code of length 1, for end of block
    tables.resize(35, 0);
    tables.push_back(0x00);
    append(b, jpeg_segment(0xC4, tables));
    Bytes scan = {components};
    for (uint8_t c = 1; c <= components; ++c) append(scan, {c, 0x00});
    append(scan, {0, static_cast<uint8_t>(progressive ? 0 : 63), 0});
    append(b, jpeg_segment(0xDA, scan));
    // One 0 bit per code, padded with 1 bits to the byte (never a whole 0xFF byte).
    const int bits = components * (progressive ? 1 : 2);
    b.push_back(static_cast<uint8_t>(0xFF >> bits));
    append(b, {0xFF, 0xD9});
    return b;
}

// Offset of the first entropy-coded byte (after the first SOS segment).
size_t scan_data_offset(const Bytes& jpeg) {
    size_t i = 2;
    while (jpeg.at(i + 1) != 0xDA) i += 2 + (size_t{jpeg.at(i + 2)} << 8 | jpeg.at(i + 3));
    return i + 2 + (size_t{jpeg.at(i + 2)} << 8 | jpeg.at(i + 3));
}

// The message decode_image throws for `b` named `name`, or "" when it succeeds.
std::string decode_error(const Bytes& b, const std::string& name = "x.jpg") {
    try {
        decode_image(b, name);
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, name);
        return e.what();
    }
    return "";
}

// Smooth gradients in every channel: what JPEG keeps best.
RgbImage smooth_image(uint32_t w, uint32_t h) {
    RgbImage img{w, h, {}};
    img.pixels.resize(size_t{w} * h * 3);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            uint8_t* p = &img.pixels[(size_t{y} * w + x) * 3];
            p[0] = static_cast<uint8_t>(40 + 160 * x / std::max(1u, w - 1));
            p[1] = static_cast<uint8_t>(200 - 150 * y / std::max(1u, h - 1));
            p[2] = static_cast<uint8_t>(90 + 60 * (x + y) / std::max(1u, w + h - 2));
        }
    return img;
}

TEST(DecodeJpeg, EncodedJpegsDecodeCloseToTheirSource) {
    // stb_image_write writes 4:4:4 above quality 90 and 4:2:0 up to 90; its 4:2:0 of
    // images 3 pixels thin is off by 12 levels (PIL decodes those files to the same
    // pixels as we do), so thin images are checked at 4:4:4 only.
    const std::vector<std::pair<uint32_t, uint32_t>> sizes = {{1, 1}, {17, 9}, {1023, 3}, {3, 31}, {64, 48}};
    for (auto [w, h] : sizes)
        for (int quality : {75, 95, 100}) {
            if (quality == 75 && std::min(w, h) < 8) continue;
            const RgbImage src = smooth_image(w, h);
            const RgbImage back = decode_image(encoded_jpeg(src, quality), "small.jpg");
            ASSERT_EQ(back.width, w);
            ASSERT_EQ(back.height, h);
            ASSERT_EQ(back.pixels.size(), size_t{w} * h * 3);
            EXPECT_LT(mean_abs_diff(back, src), quality == 100 ? 1.0 : 3.0) << w << "x" << h << " q" << quality;
        }
    // The same bytes always decode to the same pixels.
    const Bytes jpeg = encoded_jpeg(blocks_image(40, 24), 90);
    EXPECT_EQ(decode_image(jpeg, "a.jpg").pixels, decode_image(jpeg, "a.jpg").pixels);
}

TEST(DecodeJpeg, GreyColourAndCmykAsPillowConvertsThem) {
    for (bool progressive : {false, true}) {
        // Grey (mode L) replicated to R, G and B; YCbCr 128,128,128 is grey 128.
        for (uint8_t components : {1, 3}) {
            RgbImage img = decode_image(flat_jpeg(progressive, components), "flat.jpg");
            EXPECT_EQ(img.width, 8u);
            EXPECT_EQ(img.height, 8u);
            EXPECT_EQ(img.pixels, Bytes(8 * 8 * 3, 128)) << int(components) << " progressive " << progressive;
        }
        // CMYK: Pillow inverts libjpeg's 128s to 127s (Adobe's convention), then
        // nk = 255 - 127 = 128 and each channel is 128 - (127 * 128 + 128 + ...) / 65536 = 64.
        RgbImage cmyk = decode_image(flat_jpeg(progressive, 4), "cmyk.jpg");
        EXPECT_EQ(cmyk.pixels, Bytes(8 * 8 * 3, 64)) << "progressive " << progressive;
    }
}

TEST(DecodeJpeg, ComponentCountsAndPrecisionsPillowRefuses) {
    EXPECT_EQ(decode_error(flat_jpeg(false, 2), "two.jpg"),
              "two.jpg: cannot decode JPEG pixels: 2 components; Pillow decodes 1 (grey), 3 (colour) or 4 (CMYK)");
    EXPECT_EQ(decode_error(flat_jpeg(false, 1, 12), "deep.jpg"),
              "deep.jpg: cannot decode JPEG pixels: libjpeg: Unsupported JPEG data precision 12");
}

TEST(DecodeJpeg, OversizedHuffmanTableIsLibjpegsError) {
    // 16 counts of 32 = 512 codes (stb_image 2.27 wrote past its tables on this; libjpeg
    // checks). The header reader does not look at DHT, so read_image_info still succeeds.
    Bytes dht = {0x00};
    dht.resize(17, 0x20);
    Bytes bad = jpeg_with(encoded_jpeg(blocks_image(16, 16)), jpeg_segment(0xC4, dht));
    EXPECT_EQ(info_of(bad).width, 16u);
    EXPECT_EQ(decode_error(bad, "bad.jpg"),
              "bad.jpg: cannot decode JPEG pixels: libjpeg: Bogus Huffman table definition");
}

TEST(DecodeJpeg, TruncationsAreErrorsNamingTheFile) {
    const Bytes jpeg = encoded_jpeg(gradient_image(48, 40), 90);
    const size_t start = scan_data_offset(jpeg);
    // Cut anywhere, without an end-of-image marker: refused by the header check (which
    // names what is missing: the end marker, the scan, a segment's bytes).
    for (size_t cut :
         {size_t{3}, start / 2, start, start + 1, (start + jpeg.size()) / 2, jpeg.size() - 3, jpeg.size() - 1})
        EXPECT_TRUE(contains(decode_error(Bytes(jpeg.begin(), jpeg.begin() + cut), "cut.jpg"),
                             "cut.jpg: truncated image: JPEG "))
            << cut;
    // A progressive JPEG whose data ends inside a segment after its scan (the segment's bytes
    // end in FF D9, so the header check passes): libjpeg reads every scan before the first
    // row and runs out of data, where Pillow says "image file is truncated".
    Bytes progressive = flat_jpeg(true, 3);
    progressive.resize(progressive.size() - 2);
    append(progressive, {0xFF, 0xFE, 0x10, 0x00, 'c', 'u', 't', 0xFF, 0xD9});
    EXPECT_EQ(decode_error(progressive, "cut.jpg"),
              "cut.jpg: truncated image: the JPEG data ends before its last row (libjpeg: Premature end of "
              "input file)");
    // Baseline data cut short and closed with FF D9: libjpeg warns ("premature end of data
    // segment") and fills the rest; Pillow accepts that image, and so does decode_image.
    Bytes closed(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>((start + jpeg.size()) / 2));
    append(closed, {0xFF, 0xD9});
    RgbImage padded = decode_image(closed, "closed.jpg");
    EXPECT_EQ(padded.width, 48u);
    EXPECT_EQ(padded.height, 40u);
}

TEST(DecodeJpeg, CorruptDataIsAnErrorWarningsAreNot) {
    const Bytes jpeg = encoded_jpeg(gradient_image(48, 40), 90);
    const RgbImage clean = decode_image(jpeg, "clean.jpg");
    const size_t mid = (scan_data_offset(jpeg) + jpeg.size()) / 2;
    Bytes soi = jpeg;
    soi[mid] = 0xFF;
    soi[mid + 1] = 0xD8;
    EXPECT_EQ(decode_error(soi, "soi.jpg"),
              "soi.jpg: cannot decode JPEG pixels: libjpeg: Invalid JPEG file structure: two SOI markers");
    // Junk bytes before the end marker: a libjpeg warning, the same pixels.
    Bytes junk(jpeg.begin(), jpeg.end() - 2);
    append(junk, {0x12, 0x34, 0x56, 0xFF, 0xD9});
    EXPECT_EQ(decode_image(junk, "junk.jpg").pixels, clean.pixels);
    // Garbage without 0xFF in the entropy data: bad Huffman codes are warnings, the image
    // comes out (different, complete).
    Bytes garbage = jpeg;
    std::mt19937 rng(3);
    for (size_t i = mid; i < mid + 40; ++i) garbage[i] = static_cast<uint8_t>(rng() % 255);
    RgbImage damaged = decode_image(garbage, "garbage.jpg");
    EXPECT_EQ(damaged.pixels.size(), clean.pixels.size());
    EXPECT_NE(damaged.pixels, clean.pixels);
}

TEST_F(ImageFiles, JpegErrorsNameTheFile) {
    const Bytes jpeg = encoded_jpeg(gradient_image(48, 40), 90);
    Bytes soi = jpeg;
    soi[jpeg.size() / 2] = 0xFF;
    soi[jpeg.size() / 2 + 1] = 0xD8;
    const fs::path corrupt = write("corrupt.jpg", soi);
    try {
        decode_image(corrupt);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, corrupt.string());
        EXPECT_TRUE(contains(e.what(), corrupt.string() + ": cannot decode JPEG pixels: libjpeg: ")) << e.what();
    }
    const fs::path zeros = write("zeros.jpg", Bytes(1000, 0));
    try {
        decode_image(zeros);
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), zeros.string() + ": not an image (file starts with bytes 00 00")) << e.what();
    }
}

// Found by fuzz/fuzz_image_header (UBSan: stb_image copied an empty IDAT chunk's 0 bytes to a
// null buffer). The minimised input, kept in fuzz/corpus/image_header/crash-empty-idat.png:
// a 7x5 IHDR, one empty IDAT (CRC 0), then the bytes of an IEND chunk without its length, which
// stb reads as a chunk of type 0 (its failure reason then is an empty string).
// Found by fuzz/fuzz_image_header (a 2 GiB allocation from a 100-byte file: stb_image grows its
// image-data buffer to a chunk's declared length before reading it). Input kept in
// fuzz/corpus/image_header/crash-oversized-chunk.png. A chunk longer than what is left of
// the file is refused before stb reads it, naming the chunk.
TEST(DecodeImage, AChunkLongerThanTheFileIsRefusedBeforeStbAllocatesIt) {
    // After the first IDAT (read_image_info walks the chunks up to it), a second one that
    // declares 2 GiB, then the IEND the header check wants at the end.
    const Bytes png = encoded_png(gradient_image(8, 6));
    Bytes bad(png.begin(), png.end() - 12);
    const size_t at = bad.size();
    put_be32(bad, 0x7FFFFFF0u);
    append(bad, to_bytes("IDATxx"));
    append(bad, png_chunk("IEND", {}));
    EXPECT_NO_THROW(read_image_info(bad, "big.png"));
    EXPECT_EQ(decode_error(bad, "big.png"), "big.png: corrupt PNG: the IDAT chunk at byte " + std::to_string(at) +
                                                " declares 2147483632 bytes; the file has " +
                                                std::to_string(bad.size() - at - 12) + " left");
    EXPECT_NO_THROW(decode_image(png, "ok.png"));
}

TEST(DecodeImage, EmptyIdatChunksAreSkippedAsLibpngDoes) {
    const Bytes fuzz_input = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
                              0x44, 0x52, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05, 0x08, 0x02, 0x00, 0x00,
                              0x00, 0x06, 0xf8, 0x61, 0x8f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x44, 0x41, 0x54, 0x00,
                              0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    EXPECT_NO_THROW(read_image_info(fuzz_input, "empty-idat.png"));
    EXPECT_EQ(decode_error(fuzz_input, "empty-idat.png"),
              "empty-idat.png: cannot decode PNG pixels: corrupt image data");
    // The same without the junk: only an empty IDAT, which is no image data.
    const Bytes header(fuzz_input.begin(), fuzz_input.begin() + 33);
    Bytes no_data = header;
    append(no_data, png_chunk("IDAT", {}));
    append(no_data, png_chunk("IEND", {}));
    EXPECT_EQ(decode_error(no_data, "no-data.png"), "no-data.png: cannot decode PNG pixels: no IDAT");
    // An empty IDAT before, between and after the real ones is valid PNG: the same pixels.
    const RgbImage source = gradient_image(8, 6);
    const Bytes png = encoded_png(source);
    const Bytes empty_idat = png_chunk("IDAT", {});
    Bytes padded = png_with(png, empty_idat);
    const ptrdiff_t iend_size = 12;
    padded.insert(padded.end() - iend_size, empty_idat.begin(), empty_idat.end());
    const RgbImage decoded = decode_image(padded, "padded.png");
    EXPECT_EQ(decoded.width, 8u);
    EXPECT_EQ(decoded.height, 6u);
    EXPECT_EQ(decoded.pixels, source.pixels);
}

// ---- the pixel limit --------------------------------------------------------

// A PNG whose header claims w x h (its image data is one empty zlib stream).
Bytes png_claiming(uint32_t w, uint32_t h) {
    Bytes b = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    Bytes ihdr;
    put_be32(ihdr, w);
    put_be32(ihdr, h);
    append(ihdr, {8, 2, 0, 0, 0});
    append(b, png_chunk("IHDR", ihdr));
    append(b, png_chunk("IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}));
    append(b, png_chunk("IEND", {}));
    return b;
}

TEST(DecodeImage, PixelLimitIsPillowsAndComesFromTheHeader) {
    EXPECT_EQ(kImageMaxDecodePixels, 178956970u);  // 2 * PIL.Image.MAX_IMAGE_PIXELS
    // A JPEG whose frame header says 60000 x 60000: refused before any pixel buffer or
    // libjpeg (10.8 GB would be needed; under AddressSanitizer such an allocation aborts).
    Bytes jpeg = encoded_jpeg(blocks_image(16, 16));
    size_t sof = 2;
    while (sof + 1 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
    ASSERT_LT(sof + 9, jpeg.size());
    jpeg[sof + 5] = 60000 >> 8;
    jpeg[sof + 6] = 60000 & 0xFF;
    jpeg[sof + 7] = 60000 >> 8;
    jpeg[sof + 8] = 60000 & 0xFF;
    EXPECT_EQ(decode_error(jpeg, "huge.jpg"),
              "huge.jpg: image is 60000x60000 (3,600,000,000 pixels), more than the 178,956,970 pixels "
              "decoding accepts (Pillow's limit)");
    EXPECT_EQ(decode_error(png_claiming(20000, 20000), "huge.png"),
              "huge.png: image is 20000x20000 (400,000,000 pixels), more than the 178,956,970 pixels "
              "decoding accepts (Pillow's limit)");
    // 3 pixels over the limit; a GIF screen of 65535 x 65535.
    EXPECT_TRUE(contains(decode_error(png_claiming(29861, 5993), "over.png"), "29861x5993 (178,956,973 pixels)"));
    Bytes gif = tiny_gif();
    gif[6] = gif[7] = gif[8] = gif[9] = 0xFF;
    EXPECT_TRUE(contains(decode_error(gif, "huge.gif"), "65535x65535 (4,294,836,225 pixels), more than"));
}

// ---- WebP pixels: libwebp's animation decoder, as Pillow ---------------------

// `img` written by libwebp's own lossless encoder: a simple-format file (RIFF + VP8L).
Bytes lossless_webp(const RgbImage& img) {
    uint8_t* out = nullptr;
    const int w = static_cast<int>(img.width), h = static_cast<int>(img.height);
    const size_t n = WebPEncodeLosslessRGB(img.pixels.data(), w, h, w * 3, &out);
    EXPECT_GT(n, 0u);
    Bytes b(out, out + n);
    WebPFree(out);
    return b;
}

// RGBA pixels written losslessly with `exact` set, so that libwebp keeps the RGB of
// fully transparent pixels (by default its encoder may change them).
Bytes exact_lossless_webp(const Bytes& rgba, uint32_t w, uint32_t h) {
    WebPConfig config;
    WebPPicture picture;
    WebPMemoryWriter writer;
    EXPECT_TRUE(WebPConfigInit(&config) && WebPPictureInit(&picture));
    config.lossless = 1;
    config.exact = 1;
    picture.use_argb = 1;
    picture.width = static_cast<int>(w);
    picture.height = static_cast<int>(h);
    WebPMemoryWriterInit(&writer);
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = &writer;
    EXPECT_TRUE(WebPPictureImportRGBA(&picture, rgba.data(), static_cast<int>(w * 4)));
    EXPECT_TRUE(WebPEncode(&config, &picture));
    Bytes b(writer.mem, writer.mem + writer.size);
    WebPPictureFree(&picture);
    WebPMemoryWriterClear(&writer);
    return b;
}

// The chunks of a simple-format WebP (what follows "RIFF" size "WEBP").
Bytes webp_chunks_of(const Bytes& webp) { return Bytes(webp.begin() + 12, webp.end()); }

Bytes vp8x_chunk(uint8_t flags, uint32_t canvas_w, uint32_t canvas_h) {
    Bytes x = {flags, 0, 0, 0};
    put_le24(x, canvas_w - 1);
    put_le24(x, canvas_h - 1);
    return riff_chunk("VP8X", x);
}

TEST(WebpDecode, LosslessEncoderOutputDecodesToItsSourcePixels) {
    for (auto [w, h] : {std::pair{1u, 1u}, {17u, 9u}, {64u, 40u}}) {
        const RgbImage img = gradient_image(w, h);
        const RgbImage decoded = decode_image(lossless_webp(img), "a.webp");
        EXPECT_EQ(decoded.width, w);
        EXPECT_EQ(decoded.height, h);
        ASSERT_FALSE(decoded.pixels.empty());
        EXPECT_EQ(decoded.pixels, img.pixels) << w << "x" << h;
    }
}

TEST(WebpDecode, ExifChunkOrientationIsApplied) {
    const RgbImage img = gradient_image(7, 5);
    const Bytes vp8l = webp_chunks_of(lossless_webp(img));
    for (int o = 1; o <= 8; ++o) {
        Bytes chunks = vp8x_chunk(0x08, 7, 5);  // EXIF flag
        append(chunks, vp8l);
        append(chunks, riff_chunk("EXIF", exif_block(o % 2 == 0, o)));
        const RgbImage decoded = decode_image(riff_webp(chunks), "r.webp");
        const RgbImage expected = orient_image(img, o);
        EXPECT_EQ(decoded.width, expected.width) << o;
        EXPECT_EQ(decoded.height, expected.height) << o;
        EXPECT_EQ(decoded.pixels, expected.pixels) << o;
    }
}

TEST(WebpDecode, AlphaIsDroppedNotComposited) {
    // Alpha 255, 128 and 0 in turn: every pixel keeps its own RGB, also where it is
    // fully transparent (Pillow's convert("RGB") of the RGBA canvas drops alpha).
    const RgbImage img = gradient_image(9, 6);
    Bytes rgba;
    for (size_t i = 0; i < size_t{9} * 6; ++i) {
        append(rgba, Bytes(img.pixels.begin() + i * 3, img.pixels.begin() + i * 3 + 3));
        rgba.push_back(i % 3 == 0 ? 255 : i % 3 == 1 ? 128 : 0);
    }
    EXPECT_EQ(decode_image(exact_lossless_webp(rgba, 9, 6), "alpha.webp").pixels, img.pixels);
}

TEST(WebpDecode, FirstAnimationFrameOnItsCanvas) {
    // Canvas 6x5, opaque red background colour (ignored, as by Pillow); frame 1 is 3x2
    // at (2, 2), frame 2 covers everything. The first frame is decoded; the canvas
    // it does not cover is transparent black, so RGB 0 0 0.
    const RgbImage small = gradient_image(3, 2);
    Bytes chunks = vp8x_chunk(0x02, 6, 5);  // animation flag
    Bytes anim;
    put_le32(anim, 0xFFFF0000u);  // background colour, BGRA order: opaque red
    put_le16(anim, 0);            // loop count
    append(chunks, riff_chunk("ANIM", anim));
    auto anmf = [](uint32_t x, uint32_t y, const RgbImage& frame) {
        Bytes f;
        put_le24(f, x / 2);
        put_le24(f, y / 2);
        put_le24(f, frame.width - 1);
        put_le24(f, frame.height - 1);
        put_le24(f, 100);  // duration
        f.push_back(0);    // blend, no dispose
        append(f, webp_chunks_of(lossless_webp(frame)));
        return riff_chunk("ANMF", f);
    };
    append(chunks, anmf(2, 2, small));
    append(chunks, anmf(0, 0, gradient_image(6, 5)));
    const RgbImage decoded = decode_image(riff_webp(chunks), "anim.webp");
    ASSERT_EQ(decoded.width, 6u);
    ASSERT_EQ(decoded.height, 5u);
    for (uint32_t y = 0; y < 5; ++y)
        for (uint32_t x = 0; x < 6; ++x) {
            const bool inside = x >= 2 && x < 5 && y >= 2 && y < 4;
            const uint8_t* got = &decoded.pixels[(size_t{y} * 6 + x) * 3];
            const uint8_t* want = inside ? &small.pixels[(size_t{y - 2} * 3 + (x - 2)) * 3] : nullptr;
            for (int c = 0; c < 3; ++c) EXPECT_EQ(got[c], want ? want[c] : 0) << x << "," << y << "," << c;
        }
}

TEST(WebpDecode, DamagedFilesAreErrorsNamingTheFile) {
    const Bytes good = lossless_webp(gradient_image(17, 9));
    EXPECT_EQ(decode_error({}, "empty.webp"), "empty.webp: empty file");

    Bytes cut(good.begin(), good.end() - 5);
    EXPECT_TRUE(contains(decode_error(cut, "cut.webp"), "cut.webp: truncated image: WebP RIFF header gives"));

    // The RIFF size matches the file, but the VP8L chunk claims more bytes than follow.
    Bytes inner(good.begin(), good.begin() + 16);
    put_le32(inner, static_cast<uint32_t>(good.size() - 20 + 40));
    inner.insert(inner.end(), good.begin() + 20, good.end());
    EXPECT_TRUE(
        contains(decode_error(inner, "inner.webp"), "inner.webp: corrupt WebP: libwebp's demuxer refuses its chunks"));

    // A valid RIFF header and VP8L header (signature, size), then garbage.
    Bytes garbage(good.begin(), good.begin() + 25);
    std::mt19937 rng(5);
    while (garbage.size() < good.size()) garbage.push_back(static_cast<uint8_t>(rng()));
    EXPECT_TRUE(contains(decode_error(garbage, "garbage.webp"),
                         "garbage.webp: cannot decode WebP pixels: the first frame does not decode"));

    // A still image whose VP8X canvas is not its frame's size.
    Bytes chunks = vp8x_chunk(0, 18, 9);
    append(chunks, webp_chunks_of(good));
    EXPECT_TRUE(contains(decode_error(riff_webp(chunks), "canvas.webp"),
                         "canvas.webp: corrupt WebP: libwebp's demuxer refuses its chunks"));
}

TEST(WebpDecode, PixelLimitComesFromTheVp8xCanvasBeforeLibwebp) {
    // libwebp's animation decoder allocates the canvas when it is created: a VP8X canvas
    // of 60000 x 60000 (14.4 GB of RGBA) is refused from the header.
    Bytes chunks = vp8x_chunk(0, 60000, 60000);
    append(chunks, webp_chunks_of(lossless_webp(gradient_image(4, 4))));
    EXPECT_EQ(decode_error(riff_webp(chunks), "huge.webp"),
              "huge.webp: image is 60000x60000 (3,600,000,000 pixels), more than the 178,956,970 pixels "
              "decoding accepts (Pillow's limit)");
}

// ---- robustness -----------------------------------------------------------

// Calls read_image_info and decode_image; anything but success or Error fails the test.
void expect_only_errors(const Bytes& b, bool also_decode) {
    try {
        ImageInfo info = read_image_info(b, "fuzz");
        EXPECT_NE(info.format, ImageFormat::unknown);
        EXPECT_GT(info.width, 0u);
        EXPECT_GT(info.height, 0u);
    } catch (const Error&) {
    }
    if (!also_decode) return;
    try {
        decode_image(b, "fuzz");
    } catch (const Error&) {
    }
}

std::vector<Bytes> valid_samples() {
    Bytes exif_jpeg = jpeg_with(encoded_jpeg(blocks_image(24, 16), 80), jpeg_segment(0xE1, exif_block(true, 6)));
    Bytes webp_x = {0x08, 0, 0, 0};
    put_le24(webp_x, 9);
    put_le24(webp_x, 9);
    Bytes webp_chunks = riff_chunk("VP8X", webp_x);
    append(webp_chunks, riff_chunk("VP8 ", vp8_keyframe(10, 10)));
    append(webp_chunks, riff_chunk("EXIF", exif_block(false, 8, 0, false)));
    Bytes webp_exif = vp8x_chunk(0x08, 12, 7);
    append(webp_exif, webp_chunks_of(lossless_webp(gradient_image(12, 7))));
    append(webp_exif, riff_chunk("EXIF", exif_block(true, 6)));
    return {exif_jpeg,
            synthetic_jpeg(0xC2, 30, 20),
            flat_jpeg(true, 3),
            flat_jpeg(false, 4),
            encoded_jpeg(gradient_image(20, 12), 100),
            png_with(encoded_png(gradient_image(6, 4)), png_chunk("eXIf", exif_block(false, 3, 0, false))),
            make_bmp(gradient_image(5, 3), true),
            tiny_gif(),
            riff_webp(webp_chunks),
            lossless_webp(gradient_image(9, 5)),
            riff_webp(webp_exif),
            make_tiff(true, 8, 8, 5, true)};
}

TEST(ImageRobustness, EveryTruncationOfEveryFormat) {
    for (const Bytes& sample : valid_samples())
        for (size_t n = 0; n < sample.size(); ++n) expect_only_errors(Bytes(sample.begin(), sample.begin() + n), true);
}

TEST(ImageRobustness, RandomBytesAfterEveryMagic) {
    std::mt19937 rng(20240611);
    const std::vector<Bytes> magics = {{0xFF, 0xD8},
                                       {0xFF, 0xD8, 0xFF, 0xE1},
                                       {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A},
                                       to_bytes("GIF89a"),
                                       to_bytes("BM"),
                                       to_bytes(std::string("RIFF\x10\0\0\0WEBPVP8X", 16)),
                                       to_bytes(std::string("II*\0", 4)),
                                       to_bytes(std::string("MM\0*", 4)),
                                       {}};
    for (const Bytes& magic : magics)
        for (int trial = 0; trial < 400; ++trial) {
            Bytes b = magic;
            size_t n = rng() % 300;
            for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(rng()));
            expect_only_errors(b, true);
        }
}

TEST(ImageRobustness, RandomByteChangesInValidFiles) {
    std::mt19937 rng(7);
    for (const Bytes& sample : valid_samples())
        for (int trial = 0; trial < 300; ++trial) {
            Bytes b = sample;
            int changes = 1 + static_cast<int>(rng() % 4);
            for (int c = 0; c < changes; ++c) b[rng() % b.size()] = static_cast<uint8_t>(rng());
            expect_only_errors(b, true);
        }
}

}  // namespace
}  // namespace chickenseg
