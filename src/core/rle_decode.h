// Private to the library and its tests: the COCO compressed-RLE string decoder behind
// rle_from_string / rle_check_string, exposed so that tests can run the SIMD decoder
// against the portable scalar one (the reference) on the same input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chickenseg::detail {

enum class RleStringDecoder {
    scalar,   // the portable loop, one value at a time: the reference
    fastest,  // what rle_from_string uses: SIMD where the CPU has it, else scalar
};

struct RleStringDecode {
    bool ok = false;         // false on any malformed value; runs and sum are then meaningless
    size_t runs = 0;         // number of runs
    uint64_t sum = 0;        // sum of the runs (the caller compares it with h*w)
    size_t block_chars = 0;  // characters that went through SIMD blocks (for tests)
};

// The SIMD decoder stores whole blocks, so it may write up to this many values past the
// last run.
inline constexpr size_t kRleStoreSlack = 16;

// Room that rle_string_decode needs in `out`: one value per character that ends a run,
// plus kRleStoreSlack.
size_t rle_string_capacity(std::string_view counts);

// Decodes the runs of `counts` into `out` (or only checks and sums them where out is
// null). Accept/reject, runs, sum and the stored runs are the same for both decoders.
RleStringDecode rle_string_decode(std::string_view counts, uint32_t* out, RleStringDecoder decoder);

// The SIMD instruction set `fastest` uses on this CPU: "avx2", "sse4.1" or "none".
const char* rle_string_simd_name();

}  // namespace chickenseg::detail
