#include "tiff_ifd.h"

#include <algorithm>
#include <vector>

namespace chickenseg {

namespace {

constexpr uint16_t kTagImageWidth = 0x0100;
constexpr uint16_t kTagImageLength = 0x0101;
constexpr uint16_t kTagOrientation = 0x0112;
constexpr uint16_t kTypeByte = 1;
constexpr uint16_t kTypeShort = 3;
constexpr uint16_t kTypeLong = 4;
constexpr size_t kEntrySize = 12;

}  // namespace

TiffIfd0 read_tiff_ifd0(const ByteSource& src, uint64_t base) {
    TiffIfd0 out;
    uint8_t header[8];
    if (!src.read_at(base, header, sizeof header)) return out;
    bool big_endian;
    if (header[0] == 'I' && header[1] == 'I')
        big_endian = false;
    else if (header[0] == 'M' && header[1] == 'M')
        big_endian = true;
    else
        return out;
    auto u16 = [&](const uint8_t* p) { return big_endian ? load_be16(p) : load_le16(p); };
    auto u32 = [&](const uint8_t* p) { return big_endian ? load_be32(p) : load_le32(p); };
    uint16_t magic = u16(header + 2);
    if (magic == 43) {
        out.status = TiffIfdStatus::big_tiff;
        return out;
    }
    if (magic != 42) return out;

    out.ifd_offset = u32(header + 4);
    uint8_t count_bytes[2];
    if (!src.read_at(base + out.ifd_offset, count_bytes, 2)) {
        out.status = TiffIfdStatus::ifd_outside;
        return out;
    }
    size_t count = u16(count_bytes);
    uint64_t table = base + out.ifd_offset + 2;
    // Read as many whole entries as the source holds, in one read.
    size_t available = src.size() > table ? static_cast<size_t>((src.size() - table) / kEntrySize) : 0;
    size_t readable = std::min(count, available);
    std::vector<uint8_t> entries(readable * kEntrySize);
    if (readable > 0 && !src.read_at(table, entries.data(), entries.size())) readable = 0;
    out.status = readable == count ? TiffIfdStatus::ok : TiffIfdStatus::entries_cut;

    for (size_t i = 0; i < readable; ++i) {
        const uint8_t* e = entries.data() + i * kEntrySize;
        uint16_t tag = u16(e);
        uint16_t type = u16(e + 2);
        uint32_t n = u32(e + 4);
        if (n != 1) continue;  // all three tags are single values
        // A value of 4 bytes or less sits in the entry itself, left-justified.
        uint32_t value;
        if (type == kTypeShort)
            value = u16(e + 8);
        else if (type == kTypeLong)
            value = u32(e + 8);
        else if (type == kTypeByte)
            value = e[8];
        else
            continue;
        if (tag == kTagImageWidth) {
            out.width = value;
        } else if (tag == kTagImageLength) {
            out.height = value;
        } else if (tag == kTagOrientation) {
            // Values outside 1..8 are ignored, as PIL's exif_transpose and browsers do.
            out.orientation = (value >= 1 && value <= 8) ? static_cast<int>(value) : 1;
        }
    }
    return out;
}

}  // namespace chickenseg
