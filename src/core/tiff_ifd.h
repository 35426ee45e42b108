// The first image file directory (IFD0) of a TIFF structure: the whole of a
// TIFF file's header, and the payload of an EXIF block (JPEG APP1, PNG eXIf,
// WebP EXIF), where only the orientation tag matters. Private to src/core.
#pragma once

#include <cstdint>

#include "byte_source.h"

namespace chickenseg {

enum class TiffIfdStatus {
    ok,
    not_tiff,     // no "II*\0" / "MM\0*" at the start
    big_tiff,     // "II+\0" / "MM\0+": BigTIFF, 64-bit offsets (not read)
    ifd_outside,  // IFD0's offset points past the end
    entries_cut,  // the entry table runs past the end (the entries that fit were read)
};

struct TiffIfd0 {
    TiffIfdStatus status = TiffIfdStatus::not_tiff;
    uint64_t ifd_offset = 0;  // relative to the structure's start
    uint32_t width = 0;       // tag 0x0100 ImageWidth; 0 when absent
    uint32_t height = 0;      // tag 0x0101 ImageLength; 0 when absent
    int orientation = 1;      // tag 0x0112; 1 when absent or outside 1..8
};

// Reads IFD0 of the TIFF structure that starts at `base` in `src`. Never throws
// and never reads outside `src`; what could not be read is left at its default.
TiffIfd0 read_tiff_ifd0(const ByteSource& src, uint64_t base);

}  // namespace chickenseg
