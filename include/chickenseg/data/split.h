// Train/val split of an SA-Co dataset, stratified so that both sides hold
// negatives (images no annotation names) and positives in about the global
// proportion, optionally grouped so near-duplicate images never straddle the
// split, and reproducible for a seed on every platform.
#pragma once

#include <filesystem>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

struct SplitParams {
    double train_ratio = 0.8;  // fraction of images that go to train, strictly between 0 and 1
    uint64_t seed = 0;         // same seed + same dataset -> same split, on any platform
    // ECMAScript regex searched in each file_name; its first capture group (or the whole
    // match when it has none) is the group key. Empty: the group is the whole file_name,
    // so entries that share a file (several noun phrases of one image) stay together.
    std::string group_regex;
    // What happens to a file_name the regex does not match: false -> Error listing them
    // (a regex that misses files usually means the grouping is not what the user thinks);
    // true -> each such image is its own group, keyed by its whole file_name.
    bool unmatched_own_group = false;
};

// Counts of one side of the split (or of the input).
struct SplitSideSummary {
    size_t images = 0;
    size_t positives = 0;
    size_t negatives = 0;
    size_t annotations = 0;
    size_t groups = 0;
};

struct SplitResult {
    SacoDataset train;
    SacoDataset val;
    SplitSideSummary input;
    SplitSideSummary train_summary;
    SplitSideSummary val_summary;
};

// Splits `ds` (read from `file`, named in errors). Throws Error when the params are
// out of range, the regex is invalid or misses a file_name (unless unmatched_own_group),
// or a stratified split is impossible (fewer than 2 negative or 2 positive groups).
// Images keep their input order on each side, annotations follow their images, ids are
// preserved, categories and top-level fields are copied.
SplitResult split_saco(const SacoDataset& ds, const SplitParams& params, const std::string& file);
// Writes both halves together (write_files_atomic): a failure leaves both files as they were.
void write_split(const SplitResult& split, const std::filesystem::path& train_path,
                 const std::filesystem::path& val_path);

// {"input": {...}, "train": {...}, "val": {...}, "train_ratio", "seed"} with the counts above.
json split_summary_to_json(const SplitResult& result, const SplitParams& params);

// Portable randomness. std::shuffle and std::uniform_int_distribution are not specified
// exactly by the standard (libstdc++, libc++ and MSVC give different sequences for the
// same engine), whereas std::mt19937_64's output is. These use only the engine's raw
// output, so a seed gives the same split everywhere.
//
// Uniform integer in [0, n) by rejection (no modulo bias). n must be > 0.
uint64_t random_below(std::mt19937_64& rng, uint64_t n);
// Fisher-Yates shuffle driven by random_below.
template <typename T>
void portable_shuffle(std::vector<T>& items, std::mt19937_64& rng) {
    for (size_t i = items.size(); i > 1; --i) {
        size_t j = static_cast<size_t>(random_below(rng, i));
        std::swap(items[i - 1], items[j]);
    }
}

}  // namespace chickenseg
