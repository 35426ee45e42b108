// A perceptual hash for near-duplicate images (frames of a fixed camera): the 64-bit
// difference hash (dHash). The image is reduced to 9 x 8 grey cells (the mean of
// 0.299 R + 0.587 G + 0.114 B over each cell's pixels, cells splitting the image evenly), and
// bit 8 r + c is set when cell (r, c) is darker than cell (r, c + 1). Small changes of
// exposure, compression or size leave most bits; two images are near-duplicates when their
// hashes differ in few bits (hamming_distance).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chickenseg/core/image.h"

namespace chickenseg {

uint64_t dhash64(const RgbImage& image);  // 0 for an empty image
int hamming_distance(uint64_t a, uint64_t b);

// 16 lower-case hex digits, and back (nullopt for anything else).
std::string dhash_hex(uint64_t hash);
std::optional<uint64_t> dhash_from_hex(std::string_view text);

}  // namespace chickenseg
