// Private to the library and its tests: rle_iou with its per-pair method chosen, so that
// tests can run the per-column fast path against the interval merge (the reference) and
// check which path the pairs took.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "chickenseg/core/rle.h"

namespace chickenseg::detail {

enum class RleIouPath {
    merge,     // every pair by merging the two masks' foreground intervals: the reference
    portable,  // per-column sums where both masks have at most one piece per column, plain C++
    fastest,   // what rle_iou uses: the per-column sums with SIMD where the CPU has it
};

// How the pairs of one call were intersected. Pairs without a shared column (either mask
// empty, or side by side) are in neither count.
struct RleIouPairs {
    size_t column = 0;  // per-column sums
    size_t merge = 0;   // interval merge
};

// rle_iou (same results, errors and checks) with the given path; `pairs` may be null.
std::vector<double> rle_iou_path(std::span<const Rle* const> dt, std::span<const Rle* const> gt,
                                 std::span<const uint8_t> iscrowd, RleIouPath path, RleIouPairs* pairs);

// The SIMD instruction set `fastest` uses for the per-column sums: "avx2" or "none".
const char* rle_iou_simd_name();

}  // namespace chickenseg::detail
