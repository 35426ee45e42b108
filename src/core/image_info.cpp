// read_image_info: the format is sniffed from the first bytes, then one small
// parser per format walks only the structures that hold the size and the EXIF
// orientation, and checks the file's end marker. Every read goes through
// ByteSource::read_at, which refuses out-of-range requests, so no input can make
// a parser read outside the file.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "byte_source.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/image.h"
#include "tiff_ifd.h"

namespace chickenseg {

const char* image_format_name(ImageFormat f) {
    switch (f) {
        case ImageFormat::jpeg:
            return "JPEG";
        case ImageFormat::png:
            return "PNG";
        case ImageFormat::bmp:
            return "BMP";
        case ImageFormat::gif:
            return "GIF";
        case ImageFormat::webp:
            return "WEBP";
        case ImageFormat::tiff:
            return "TIFF";
        case ImageFormat::unknown:
            break;
    }
    return "unknown";
}

const char* image_format_extension(ImageFormat f) {
    switch (f) {
        case ImageFormat::jpeg:
            return "jpg";
        case ImageFormat::png:
            return "png";
        case ImageFormat::bmp:
            return "bmp";
        case ImageFormat::gif:
            return "gif";
        case ImageFormat::webp:
            return "webp";
        case ImageFormat::tiff:
            return "tif";
        case ImageFormat::unknown:
            break;
    }
    return "";
}

namespace {

// EXIF blocks are read up to this size; IFD0 sits at their start, so a larger
// block (one carrying a big thumbnail) needs no more than this.
constexpr size_t kMaxExifRead = 256 * 1024;

std::string hex(const uint8_t* p, size_t n) {
    std::string out;
    char buf[4];
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", p[i]);
        if (i > 0) out += ' ';
        out += buf;
    }
    return out;
}

std::string marker_name(uint8_t code) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "FF %02X", code);
    return buf;
}

bool starts_with(const uint8_t* p, size_t n, std::string_view prefix) {
    return n >= prefix.size() && std::memcmp(p, prefix.data(), prefix.size()) == 0;
}

// Shared by all parsers: the source, the name for errors, and checked reads.
class Parser {
public:
    Parser(const ByteSource& src, const std::string& name) : src_(src), name_(name) {}

    uint64_t size() const { return src_.size(); }
    const ByteSource& src() const { return src_; }

    [[noreturn]] void fail(const std::string& message) const { throw Error(message, name_); }

    // Reads `n` bytes at `offset` or fails with "truncated image: <what> ...".
    void need(uint64_t offset, uint8_t* dst, size_t n, const std::string& what) const {
        if (!src_.read_at(offset, dst, n))
            fail("truncated image: " + what + " (needs bytes " + std::to_string(offset) + ".." +
                 std::to_string(offset + n) + ", the file has " + std::to_string(size()) + ")");
    }
    std::vector<uint8_t> need_vector(uint64_t offset, size_t n, const std::string& what) const {
        std::vector<uint8_t> out(n);
        need(offset, out.data(), n, what);
        return out;
    }

    // Position of the last occurrence of `marker` whose end lies in the final
    // kImageMaxTrailingBytes (and at or after `not_before`); returns the number of
    // bytes after it, or -1 when absent.
    int64_t bytes_after_last(std::span<const uint8_t> marker, uint64_t not_before) const {
        uint64_t start =
            size() > kImageMaxTrailingBytes + marker.size() ? size() - kImageMaxTrailingBytes - marker.size() : 0;
        start = std::max(start, not_before);
        if (start >= size()) return -1;
        std::vector<uint8_t> window = src_.read_vector(start, static_cast<size_t>(size() - start));
        if (window.size() < marker.size()) return -1;
        for (size_t i = window.size() - marker.size() + 1; i-- > 0;) {
            if (std::memcmp(window.data() + i, marker.data(), marker.size()) == 0)
                return static_cast<int64_t>(window.size() - i - marker.size());
        }
        return -1;
    }

private:
    const ByteSource& src_;
    const std::string& name_;
};

int orientation_of_exif_block(std::span<const uint8_t> block) {
    // JPEG APP1 always, and some PNG/WebP writers, put "Exif\0\0" before the TIFF structure.
    static constexpr std::string_view kExifPrefix("Exif\0\0", 6);
    if (starts_with(block.data(), block.size(), kExifPrefix)) block = block.subspan(6);
    SpanByteSource tiff(block);
    return read_tiff_ifd0(tiff, 0).orientation;
}

// ---- JPEG -----------------------------------------------------------------

bool is_start_of_frame(uint8_t m) {
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

ImageInfo parse_jpeg(const Parser& p) {
    ImageInfo info;
    info.format = ImageFormat::jpeg;
    bool have_frame = false;
    bool have_exif = false;
    uint64_t off = 2;  // after SOI
    uint64_t scan_start = 0;
    const std::string before_scan = "JPEG ends before its image data (no start-of-scan marker FF DA)";
    for (;;) {
        uint8_t b = 0;
        p.need(off, &b, 1, before_scan);
        if (b != 0xFF) {
            // Junk between segments: libjpeg and PIL skip it (with a warning), so
            // we do too, reading ahead in blocks to the next 0xFF.
            uint64_t scan = off + 1;
            for (;;) {
                uint8_t block[4096];
                uint64_t left = p.size() > scan ? p.size() - scan : 0;
                if (left == 0) p.fail("truncated image: " + before_scan);
                size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof block, left));
                p.need(scan, block, n, before_scan);
                const void* hit = std::memchr(block, 0xFF, n);
                if (hit) {
                    off = scan + static_cast<uint64_t>(static_cast<const uint8_t*>(hit) - block);
                    break;
                }
                scan += n;
            }
        }
        uint64_t marker_offset = off;
        // Any number of 0xFF fill bytes may precede the marker code (B.1.1.2).
        do {
            ++off;
            p.need(off, &b, 1, before_scan);
        } while (b == 0xFF);
        ++off;
        const uint8_t code = b;
        if (code == 0x00) continue;  // a stuffed zero outside a scan: junk, skip
        if (code == 0xD8 || code == 0x01 || (code >= 0xD0 && code <= 0xD7)) continue;  // no length
        if (code == 0xD9)
            p.fail("corrupt JPEG: end-of-image marker FF D9 at offset " + std::to_string(marker_offset) +
                   " comes before any image data (start-of-scan FF DA)");

        uint8_t length_bytes[2];
        p.need(off, length_bytes, 2,
               "JPEG segment " + marker_name(code) + " at offset " + std::to_string(marker_offset) + " is cut short");
        const uint16_t length = load_be16(length_bytes);  // includes its own 2 bytes
        if (length < 2)
            p.fail("corrupt JPEG: segment " + marker_name(code) + " at offset " + std::to_string(marker_offset) +
                   " has length " + std::to_string(length) + ", expected at least 2");
        if (!p.src().contains(off, length))
            p.fail("truncated image: JPEG segment " + marker_name(code) + " at offset " +
                   std::to_string(marker_offset) + " (" + std::to_string(length) +
                   " bytes) runs past the end of the file (" + std::to_string(p.size()) + " bytes)");
        const uint64_t payload = off + 2;
        const size_t payload_size = length - 2u;

        if (is_start_of_frame(code)) {
            // Only the first frame header counts (a second one is invalid; PIL uses the first too).
            if (!have_frame) {
                if (payload_size < 6)
                    p.fail("corrupt JPEG: frame header " + marker_name(code) + " at offset " +
                           std::to_string(marker_offset) + " has " + std::to_string(payload_size) +
                           " bytes, expected at least 6");
                uint8_t sof[6];
                p.need(payload, sof, 6, "JPEG frame header");
                info.stored_height = load_be16(sof + 1);
                info.stored_width = load_be16(sof + 3);
                if (info.stored_width == 0)
                    p.fail("corrupt JPEG: frame header at offset " + std::to_string(marker_offset) + " gives width 0");
                if (info.stored_height == 0)
                    p.fail("unsupported JPEG: frame header at offset " + std::to_string(marker_offset) +
                           " gives height 0 (height set later by a DNL marker)");
                info.progressive = code == 0xC2 || code == 0xC6 || code == 0xCA || code == 0xCE;
                have_frame = true;
            }
        } else if (code == 0xE1 && !have_exif) {
            // APP1 holds EXIF ("Exif\0\0" + TIFF) or XMP; the first EXIF one counts, as in PIL.
            std::vector<uint8_t> app1 =
                p.need_vector(payload, std::min(payload_size, kMaxExifRead), "JPEG APP1 segment");
            if (starts_with(app1.data(), app1.size(), std::string_view("Exif\0\0", 6))) {
                have_exif = true;
                info.exif_orientation = orientation_of_exif_block(app1);
            }
        } else if (code == 0xDA) {
            if (!have_frame)
                p.fail("corrupt JPEG: start of scan FF DA at offset " + std::to_string(marker_offset) +
                       " comes before any frame header (SOF0..SOF15)");
            scan_start = off + length;
            break;
        }
        off += length;
    }

    // The file must end with EOI (FF D9). Fast path: the last two bytes.
    static constexpr uint8_t kEndOfImage[2] = {0xFF, 0xD9};
    uint8_t last[2];
    if (p.size() >= scan_start + 2 && p.src().read_at(p.size() - 2, last, 2) && std::memcmp(last, kEndOfImage, 2) == 0)
        return info;
    // Entropy-coded data never contains FF D9 (an FF there is followed by 00 or
    // RSTn), so an FF D9 after the scan start is the real end of the image.
    int64_t after = p.bytes_after_last(kEndOfImage, scan_start);
    if (after < 0)
        p.fail("truncated image: JPEG has no end-of-image marker (FF D9)" +
               std::string(p.size() - scan_start > kImageMaxTrailingBytes
                               ? " in its last " + std::to_string(kImageMaxTrailingBytes) + " bytes"
                               : ""));
    info.trailing_bytes = static_cast<uint64_t>(after);
    return info;
}

// ---- PNG ------------------------------------------------------------------

bool is_chunk_type(const uint8_t* t) {
    for (int i = 0; i < 4; ++i) {
        bool letter = (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z');
        if (!letter) return false;
    }
    return true;
}

std::string chunk_name(const uint8_t* t) { return std::string(reinterpret_cast<const char*>(t), 4); }

ImageInfo parse_png(const Parser& p) {
    static constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    ImageInfo info;
    info.format = ImageFormat::png;
    uint8_t sig[8];
    p.need(0, sig, 8, "PNG signature is cut short");
    if (std::memcmp(sig, kSignature, 8) != 0)
        p.fail("corrupt PNG: signature is " + hex(sig, 8) + ", expected " + hex(kSignature, 8) +
               " (line endings changed by a text-mode transfer?)");
    uint8_t ihdr[8 + 13];
    p.need(8, ihdr, sizeof ihdr, "PNG header chunk (IHDR) is cut short");
    if (std::memcmp(ihdr + 4, "CgBI", 4) == 0)
        p.fail(
            "unsupported image format: Apple CgBI PNG (an iOS-optimised PNG; convert it with "
            "a tool that reverts it, e.g. pngdefry)");
    if (std::memcmp(ihdr + 4, "IHDR", 4) != 0 || load_be32(ihdr) != 13)
        p.fail("corrupt PNG: first chunk is '" + chunk_name(ihdr + 4) + "' of " + std::to_string(load_be32(ihdr)) +
               " bytes, expected 'IHDR' of 13 bytes");
    info.stored_width = load_be32(ihdr + 8);
    info.stored_height = load_be32(ihdr + 12);
    if (info.stored_width == 0 || info.stored_height == 0 || info.stored_width > 0x7FFFFFFFu ||
        info.stored_height > 0x7FFFFFFFu)
        p.fail("corrupt PNG: IHDR size " + std::to_string(info.stored_width) + "x" +
               std::to_string(info.stored_height) + ", expected 1..2147483647 each way");

    // Walk the chunks up to the first IDAT, looking for eXIf (which PNG places before IDAT).
    uint64_t off = 8 + 12 + 13;
    bool have_exif = false;
    for (;;) {
        uint8_t head[8];
        p.need(off, head, 8, "PNG ends inside its chunk list before any image data (IDAT)");
        uint32_t length = load_be32(head);
        if (!is_chunk_type(head + 4))
            p.fail("corrupt PNG: chunk at offset " + std::to_string(off) + " has type bytes " + hex(head + 4, 4) +
                   ", expected four ASCII letters");
        if (length > 0x7FFFFFFFu)
            p.fail("corrupt PNG: chunk '" + chunk_name(head + 4) + "' at offset " + std::to_string(off) +
                   " has length " + std::to_string(length) + ", expected at most 2147483647");
        if (std::memcmp(head + 4, "IDAT", 4) == 0) break;
        if (std::memcmp(head + 4, "IEND", 4) == 0)
            p.fail("corrupt PNG: IEND at offset " + std::to_string(off) + " before any image data (IDAT)");
        if (std::memcmp(head + 4, "eXIf", 4) == 0 && !have_exif) {
            std::vector<uint8_t> exif =
                p.need_vector(off + 8, std::min<size_t>(length, kMaxExifRead), "PNG eXIf chunk");
            info.exif_orientation = orientation_of_exif_block(exif);
            have_exif = true;
        }
        off += 12 + uint64_t{length};
    }

    static constexpr uint8_t kIend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    uint8_t last[12];
    if (p.size() >= off + 12 && p.src().read_at(p.size() - 12, last, 12) && std::memcmp(last, kIend, 12) == 0)
        return info;
    int64_t after = p.bytes_after_last(kIend, off);
    if (after < 0) p.fail("truncated image: PNG has no IEND chunk at its end");
    info.trailing_bytes = static_cast<uint64_t>(after);
    return info;
}

// ---- GIF ------------------------------------------------------------------

ImageInfo parse_gif(const Parser& p) {
    ImageInfo info;
    info.format = ImageFormat::gif;
    uint8_t head[10];
    p.need(0, head, 10, "GIF header is cut short");
    if (!starts_with(head, 10, "GIF87a") && !starts_with(head, 10, "GIF89a"))
        p.fail("corrupt GIF: version '" + std::string(reinterpret_cast<char*>(head), 6) +
               "', expected GIF87a or GIF89a");
    info.stored_width = load_le16(head + 6);
    info.stored_height = load_le16(head + 8);
    if (info.stored_width == 0 || info.stored_height == 0)
        p.fail("corrupt GIF: logical screen is " + std::to_string(info.stored_width) + "x" +
               std::to_string(info.stored_height));
    // 0x3B is also an ordinary byte of LZW data, so no search: it must be last.
    uint8_t last = 0;
    if (!p.src().read_at(p.size() - 1, &last, 1) || last != 0x3B)
        p.fail("truncated image: GIF does not end with its trailer byte 3B");
    return info;
}

// ---- BMP ------------------------------------------------------------------

ImageInfo parse_bmp(const Parser& p) {
    ImageInfo info;
    info.format = ImageFormat::bmp;
    uint8_t head[14 + 40];
    p.need(0, head, 18, "BMP header is cut short");
    const uint32_t dib_size = load_le32(head + 14);
    int64_t width, height;
    uint32_t bits, compression = 0;
    if (dib_size == 12) {  // BITMAPCOREHEADER (OS/2 1.x): unsigned 16-bit sizes
        p.need(0, head, 26, "BMP header is cut short");
        width = load_le16(head + 18);
        height = load_le16(head + 20);
        bits = load_le16(head + 24);
    } else if (dib_size == 40 || dib_size == 52 || dib_size == 56 || dib_size == 64 || dib_size == 108 ||
               dib_size == 124) {
        p.need(0, head, sizeof head, "BMP header is cut short");
        width = static_cast<int32_t>(load_le32(head + 18));
        height = static_cast<int32_t>(load_le32(head + 22));
        bits = load_le16(head + 28);
        compression = load_le32(head + 30);
    } else {
        p.fail("corrupt or unsupported BMP: DIB header size " + std::to_string(dib_size) +
               ", expected 12, 40, 52, 56, 64, 108 or 124");
    }
    if (width <= 0) p.fail("corrupt BMP: width " + std::to_string(width) + ", expected a positive number");
    // A negative height marks a top-down bitmap; the size is its magnitude.
    if (height == 0 || height == INT32_MIN)
        p.fail("corrupt BMP: height " + std::to_string(height) + ", expected a non-zero number");
    if (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32)
        p.fail("corrupt BMP: " + std::to_string(bits) + " bits per pixel, expected 1, 2, 4, 8, 16, 24 or 32");
    info.stored_width = static_cast<uint32_t>(width);
    info.stored_height = static_cast<uint32_t>(height < 0 ? -height : height);

    // Uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS; for the OS/2 64-byte
    // header 3 means Huffman) have a known size: the file must hold them all.
    const bool uncompressed = compression == 0 || ((compression == 3 || compression == 6) && dib_size != 64);
    const uint64_t pixel_offset = load_le32(head + 10);
    if (uncompressed) {
        const uint64_t stride = (uint64_t{info.stored_width} * bits + 31) / 32 * 4;
        const uint64_t available = p.size() > pixel_offset ? p.size() - pixel_offset : 0;
        if (info.stored_height > available / stride) {
            uint64_t needed = 0;
            std::string needed_text = __builtin_mul_overflow(stride, uint64_t{info.stored_height}, &needed)
                                          ? std::string("more than 2^64")
                                          : std::to_string(needed);
            p.fail("truncated image: BMP pixel rows need " + needed_text + " bytes from offset " +
                   std::to_string(pixel_offset) + ", the file has " + std::to_string(p.size()));
        }
    } else if (pixel_offset >= p.size()) {
        p.fail("truncated image: BMP pixel data offset " + std::to_string(pixel_offset) +
               " lies past the end of the file (" + std::to_string(p.size()) + " bytes)");
    }
    return info;
}

// ---- WebP -----------------------------------------------------------------

ImageInfo parse_webp(const Parser& p) {
    ImageInfo info;
    info.format = ImageFormat::webp;
    uint8_t head[20];
    p.need(0, head, 20, "WebP header is cut short");
    const uint64_t riff_end = uint64_t{load_le32(head + 4)} + 8;
    if (riff_end < 20)
        p.fail("corrupt WebP: RIFF size " + std::to_string(riff_end - 8) + " is smaller than its header");
    if (riff_end > p.size())
        p.fail("truncated image: WebP RIFF header gives " + std::to_string(riff_end) + " bytes, the file has " +
               std::to_string(p.size()));
    info.trailing_bytes = p.size() - riff_end;

    const uint8_t* fourcc = head + 12;
    bool extended = false;
    uint8_t flags = 0;
    if (std::memcmp(fourcc, "VP8 ", 4) == 0) {  // lossy: key frame header
        uint8_t vp8[10];
        p.need(20, vp8, 10, "WebP VP8 frame header is cut short");
        if ((vp8[0] & 1) != 0 || vp8[3] != 0x9D || vp8[4] != 0x01 || vp8[5] != 0x2A)
            p.fail("corrupt WebP: VP8 chunk does not start with a key frame (start code 9d 01 2a)");
        info.stored_width = load_le16(vp8 + 6) & 0x3FFF;
        info.stored_height = load_le16(vp8 + 8) & 0x3FFF;
    } else if (std::memcmp(fourcc, "VP8L", 4) == 0) {  // lossless: 14-bit sizes minus one
        uint8_t vp8l[5];
        p.need(20, vp8l, 5, "WebP VP8L header is cut short");
        if (vp8l[0] != 0x2F) p.fail("corrupt WebP: VP8L signature byte is " + hex(vp8l, 1) + ", expected 2f");
        uint32_t bits = load_le32(vp8l + 1);
        info.stored_width = (bits & 0x3FFF) + 1;
        info.stored_height = ((bits >> 14) & 0x3FFF) + 1;
    } else if (std::memcmp(fourcc, "VP8X", 4) == 0) {  // extended: canvas size, 24-bit minus one
        uint8_t vp8x[10];
        p.need(20, vp8x, 10, "WebP VP8X header is cut short");
        flags = vp8x[0];
        info.stored_width = load_le24(vp8x + 4) + 1;
        info.stored_height = load_le24(vp8x + 7) + 1;
        extended = true;
    } else {
        p.fail("corrupt WebP: first chunk is '" + chunk_name(fourcc) + "', expected VP8, VP8L or VP8X");
    }
    if (info.stored_width == 0 || info.stored_height == 0)
        p.fail("corrupt WebP: size " + std::to_string(info.stored_width) + "x" + std::to_string(info.stored_height));

    // The EXIF chunk of an extended file follows the image data: walk the chunk headers.
    constexpr uint8_t kFlagExif = 0x08;
    if (extended && (flags & kFlagExif)) {
        uint64_t off = 12;
        for (int chunks = 0; chunks < 100000 && off + 8 <= riff_end; ++chunks) {
            uint8_t chunk[8];
            p.need(off, chunk, 8, "WebP chunk header is cut short");
            const uint32_t chunk_size = load_le32(chunk + 4);
            if (std::memcmp(chunk, "EXIF", 4) == 0) {
                std::vector<uint8_t> exif = p.src().read_vector(off + 8, std::min<size_t>(chunk_size, kMaxExifRead));
                info.exif_orientation = orientation_of_exif_block(exif);
                break;
            }
            off += 8 + uint64_t{chunk_size} + (chunk_size & 1);  // chunks are padded to even sizes
        }
    }
    return info;
}

// ---- TIFF -----------------------------------------------------------------

ImageInfo parse_tiff(const Parser& p) {
    ImageInfo info;
    info.format = ImageFormat::tiff;
    TiffIfd0 ifd = read_tiff_ifd0(p.src(), 0);
    switch (ifd.status) {
        case TiffIfdStatus::ok:
            break;
        case TiffIfdStatus::not_tiff:
            p.fail("truncated image: TIFF header is cut short");
        case TiffIfdStatus::big_tiff:
            p.fail(
                "unsupported image format: BigTIFF (64-bit TIFF); convert it to a classic TIFF, "
                "PNG or JPEG");
        case TiffIfdStatus::ifd_outside:
        case TiffIfdStatus::entries_cut:
            p.fail("truncated image: TIFF's first directory (IFD0) at offset " + std::to_string(ifd.ifd_offset) +
                   " runs past the end of the file (" + std::to_string(p.size()) + " bytes)");
    }
    if (ifd.width == 0 || ifd.height == 0)
        p.fail("corrupt TIFF: first directory (IFD0) lacks ImageWidth (tag 256) or ImageLength (tag 257)");
    info.stored_width = ifd.width;
    info.stored_height = ifd.height;
    info.exif_orientation = ifd.orientation;
    return info;
}

// ---- sniffing -------------------------------------------------------------

ImageFormat sniff_format(const uint8_t* h, size_t n) {
    if (n >= 2 && h[0] == 0xFF && h[1] == 0xD8) return ImageFormat::jpeg;
    if (starts_with(h, n, "\x89PNG")) return ImageFormat::png;
    if (starts_with(h, n, "GIF8")) return ImageFormat::gif;
    if (starts_with(h, n, "BM")) return ImageFormat::bmp;
    if (starts_with(h, n, "RIFF") && n >= 12 && std::memcmp(h + 8, "WEBP", 4) == 0) return ImageFormat::webp;
    if (starts_with(h, n, std::string_view("II*\0", 4)) || starts_with(h, n, std::string_view("MM\0*", 4)) ||
        starts_with(h, n, std::string_view("II+\0", 4)) || starts_with(h, n, std::string_view("MM\0+", 4)))
        return ImageFormat::tiff;
    return ImageFormat::unknown;
}

// A name for well-known files we do not read, or "" for anything else.
std::string describe_unsupported(const uint8_t* h, size_t n) {
    if (n >= 12 && std::memcmp(h + 4, "ftyp", 4) == 0) {
        std::string brand(reinterpret_cast<const char*>(h + 8), 4);
        if (brand == "heic" || brand == "heix" || brand == "hevc" || brand == "hevx" || brand == "heim" ||
            brand == "heis" || brand == "hevm" || brand == "hevs")
            return "HEIC (convert it to JPEG or PNG)";
        if (brand == "avif" || brand == "avis") return "AVIF (convert it to JPEG or PNG)";
        if (brand == "mif1" || brand == "msf1") return "HEIF (convert it to JPEG or PNG)";
        return "ISO media file with brand '" + brand + "' (a video, not an image?)";
    }
    if (starts_with(h, n, "\xFF\x0A") || starts_with(h, n, std::string_view("\0\0\0\x0CJXL \x0D\x0A\x87\x0A", 12)))
        return "JPEG XL";
    if (starts_with(h, n, std::string_view("\0\0\0\x0CjP  \x0D\x0A\x87\x0A", 12)) ||
        starts_with(h, n, "\xFF\x4F\xFF\x51"))
        return "JPEG 2000";
    if (starts_with(h, n, "8BPS")) return "Photoshop PSD";
    if (starts_with(h, n, "%PDF")) return "PDF document";
    if (starts_with(h, n, "qoif")) return "QOI";
    if (starts_with(h, n, "RIFF") && n >= 12)
        return "RIFF '" + std::string(reinterpret_cast<const char*>(h + 8), 4) + "' file (not WebP)";
    std::string_view text(reinterpret_cast<const char*>(h), n);
    if (text.find("<svg") != std::string_view::npos) return "SVG (a vector drawing)";
    return {};
}

std::string not_an_image_message(const uint8_t* h, size_t n) {
    static constexpr std::string_view kLfs = "version https://git-lfs";
    if (starts_with(h, n, kLfs))
        return "not an image: a Git LFS pointer file (the image itself was never fetched; run "
               "`git lfs pull`)";
    size_t shown = std::min<size_t>(n, 8);
    std::string text;
    for (size_t i = 0; i < shown; ++i) text += (h[i] >= 0x20 && h[i] < 0x7F) ? char(h[i]) : '.';
    return "not an image (file starts with bytes " + hex(h, shown) + " \"" + text +
           "\"; expected JPEG, PNG, BMP, GIF, WebP or TIFF)";
}

ImageInfo read_info(const ByteSource& src, const std::string& name) {
    if (src.size() == 0) throw Error("empty file", name);
    Parser p(src, name);
    uint8_t head[512];
    size_t n = static_cast<size_t>(std::min<uint64_t>(src.size(), sizeof head));
    p.need(0, head, n, "file header");

    ImageInfo info;
    switch (sniff_format(head, n)) {
        case ImageFormat::jpeg:
            info = parse_jpeg(p);
            break;
        case ImageFormat::png:
            info = parse_png(p);
            break;
        case ImageFormat::gif:
            info = parse_gif(p);
            break;
        case ImageFormat::bmp:
            info = parse_bmp(p);
            break;
        case ImageFormat::webp:
            info = parse_webp(p);
            break;
        case ImageFormat::tiff:
            info = parse_tiff(p);
            break;
        case ImageFormat::unknown: {
            std::string what = describe_unsupported(head, n);
            if (!what.empty()) throw Error("unsupported image format: " + what, name);
            throw Error(not_an_image_message(head, n), name);
        }
    }
    // Orientations 5..8 turn the image a quarter: the displayed axes swap.
    const bool swap = info.exif_orientation >= 5;
    info.width = swap ? info.stored_height : info.stored_width;
    info.height = swap ? info.stored_width : info.stored_height;
    return info;
}

}  // namespace

ImageInfo read_image_info(const std::filesystem::path& path) {
    FileByteSource src(path);
    return read_info(src, path.string());
}

ImageInfo read_image_info(std::span<const uint8_t> bytes, const std::string& name_for_errors) {
    SpanByteSource src(bytes);
    return read_info(src, name_for_errors);
}

}  // namespace chickenseg
