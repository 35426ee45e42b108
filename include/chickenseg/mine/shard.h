// `--shard K/N`: one of N slices of the inbox, K from 1 to N. The inbox's images are listed
// sorted by relative path (predict_job_from_folder), and image i (0-based in that order) goes
// to shard (i mod N) + 1: every image in exactly one shard, shards of equal size within one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chickenseg {

struct Shard {
    size_t index = 1;  // K, 1-based
    size_t count = 1;  // N
};

// "K/N" with 1 <= K <= N; Error otherwise (naming what was given).
Shard parse_shard(std::string_view text);
std::string shard_text(const Shard& shard);  // "K/N"
bool in_shard(size_t position, const Shard& shard);

}  // namespace chickenseg
