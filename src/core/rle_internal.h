// Private to the RLE files of src/core (rle.cpp: the mask operations, rle_iou.cpp: IoU,
// rle_string.cpp: COCO's string codec, rle_x86.cpp: their AVX2 fast paths): what the portable
// code and the fast paths share. The portable code is the reference each fast path is tested
// against (tests/cpp/rle_test.cpp), as ncnn keeps its per-ISA kernels beside the generic ones.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "chickenseg/core/error.h"
#include "chickenseg/core/rle.h"

// SIMD code (the string decoder, the per-column IoU sums) is x86-64 only (not i386: the
// decoder moves 64-bit values between vectors and registers), compiled for AVX2 and used
// where the CPU has it (simd_available).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CHICKENSEG_RLE_HAVE_SIMD 1
#define CHICKENSEG_RLE_TARGET __attribute__((target("avx2,popcnt")))
#endif

namespace chickenseg::rle_internal {

inline uint64_t pixel_count(uint32_t h, uint32_t w) { return uint64_t{h} * w; }

inline void check_pixel_count(uint32_t h, uint32_t w, const char* what) {
    if (pixel_count(h, w) > std::numeric_limits<uint32_t>::max())
        throw Error(std::string(what) + ": a " + std::to_string(h) + "x" + std::to_string(w) +
                    " mask has more than 2^32-1 pixels, which COCO RLE (32-bit counts) cannot hold");
}

inline std::string size_text(const Rle& r) { return std::to_string(r.h) + "x" + std::to_string(r.w); }

// Pixels two masks in per-column form share over n columns, given each one's tops and
// bottoms from the first shared column. Per column the overlap is
// max(min(bottoms), max(tops)) - max(tops): min - max where positive, else 0, in unsigned
// arithmetic (rows go up to 2^32 - 1). 32-bit sums suffice: the total, and any part of
// it, is at most h*w < 2^32.
inline uint32_t column_overlap_portable(const uint32_t* ta, const uint32_t* ba, const uint32_t* tb, const uint32_t* bb,
                                        size_t n) {
    uint32_t sum = 0;
    for (size_t k = 0; k < n; ++k) {
        uint32_t t = std::max(ta[k], tb[k]);
        sum += std::max(std::min(ba[k], bb[k]), t) - t;
    }
    return sum;
}

// Whether a character ends a run (no continuation bit). Defined for every byte, valid
// or not, so counting with it bounds the number of runs the fast decoder writes.
inline bool ends_run(unsigned char ch) { return ((static_cast<unsigned>(ch) - 48u) & 0x20u) == 0; }

// Reads one value (1 to 7 characters) at p and moves p past it: the same arithmetic as
// decode_counts, without messages. False if it is truncated, holds an invalid character
// or is longer than 7 characters.
inline bool read_value(const unsigned char*& p, const unsigned char* end, int64_t& v) {
    unsigned c = static_cast<unsigned>(*p) - 48u;
    if (c < 32) {  // one character: 5 bits, bit 4 the sign
        v = static_cast<int64_t>(c) - static_cast<int64_t>((c & 0x10u) << 1);
        ++p;
        return true;
    }
    uint64_t acc = 0;
    unsigned shift = 0;
    for (;;) {
        if (p == end) return false;  // truncated
        c = static_cast<unsigned>(*p) - 48u;
        if (c > 63 || shift >= 35) return false;  // invalid character, or over 7 characters
        acc |= static_cast<uint64_t>(c & 0x1f) << shift;
        shift += 5;
        ++p;
        if (!(c & 0x20)) break;
    }
    v = static_cast<int64_t>(acc);
    if (c & 0x10) v |= -(int64_t{1} << shift);  // sign extension
    return true;
}

// Whether the CPU has what the fast paths need (AVX2, POPCNT); false where they are not built.
bool simd_available();

#ifdef CHICKENSEG_RLE_HAVE_SIMD
// rle_x86.cpp. Call only where simd_available(). (Compiled with the target attribute, not with
// -mavx2 for the file: inline functions it shares with the rest would otherwise be emitted with
// AVX2 instructions and could be the copy the linker keeps.)
CHICKENSEG_RLE_TARGET uint32_t column_overlap_avx2(const uint32_t* ta, const uint32_t* ba, const uint32_t* tb,
                                                   const uint32_t* bb, size_t n);
template <bool kStore>
CHICKENSEG_RLE_TARGET bool decode_counts_avx2(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum,
                                              size_t& block_chars);
CHICKENSEG_RLE_TARGET size_t count_runs_avx2(std::string_view counts);
#endif

}  // namespace chickenseg::rle_internal
