#include "stb_guard.h"

#include <cstring>

#include "byte_source.h"
#include "chickenseg/core/error.h"

namespace chickenseg {

namespace {

// Reads the tables of a DHT segment exactly as stb_image does: while the
// segment's length is not used up, a class/id byte, 16 code counts and as many
// symbols as the counts add up to, carrying on past the segment's end (and
// reading zeros past the file's end) when the counts overrun it.
void check_huffman_tables(std::span<const uint8_t> jpeg, size_t payload, long length_left,
                          size_t segment_offset, const std::string& name) {
    auto byte_at = [&](size_t i) -> unsigned { return i < jpeg.size() ? jpeg[i] : 0u; };
    size_t pos = payload;
    while (length_left > 0) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += byte_at(pos + i);
        if (codes > 256)
            throw Error("corrupt JPEG: Huffman table in the DHT segment at offset " +
                            std::to_string(segment_offset) + " defines " + std::to_string(codes) +
                            " codes, at most 256 are possible",
                        name);
        pos += 17 + codes;
        length_left -= static_cast<long>(17 + codes);
    }
}

}  // namespace

void check_jpeg_for_stb(std::span<const uint8_t> jpeg, const std::string& name) {
    const size_t size = jpeg.size();
    size_t off = 2;  // after SOI
    while (off < size) {
        // Next marker: an 0xFF not followed by a stuffed 0x00 (or, in a scan, RSTn) or by fill.
        const void* hit = std::memchr(jpeg.data() + off, 0xFF, size - off);
        if (!hit) return;
        size_t marker = static_cast<size_t>(static_cast<const uint8_t*>(hit) - jpeg.data());
        size_t code_at = marker + 1;
        while (code_at < size && jpeg[code_at] == 0xFF) ++code_at;
        if (code_at >= size) return;
        const uint8_t code = jpeg[code_at];
        off = code_at + 1;
        if (code == 0x00 || code == 0x01 || code == 0xD8 || (code >= 0xD0 && code <= 0xD7)) continue;
        if (code == 0xD9) return;
        if (off + 2 > size) return;
        const size_t length = load_be16(jpeg.data() + off);
        if (length < 2) return;  // stb stops at this segment itself
        if (code == 0xC4) check_huffman_tables(jpeg, off + 2, static_cast<long>(length) - 2, marker, name);
        // After SOS the entropy-coded bytes follow; the memchr walk above skips them.
        off += length;
    }
}

}  // namespace chickenseg
