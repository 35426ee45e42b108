// Fast path for reading a COCO results list: a strict JSON scanner specialised
// for [{image_id, category_id, segmentation: {size, counts: "..."}, bbox, score}].
// The text is split at record boundaries into one piece per thread; each thread
// scans its records and checks their masks while the bytes are in cache. A split
// is proved by the piece before it ending exactly there (a "},{" inside a string
// is no boundary); an unproved split costs one more scan, on one thread. It accepts only what the general reader (predictions.cpp) would accept
// with the same result; on anything else (a syntax error, polygons, list counts,
// an invalid value) it returns std::nullopt and the general reader takes over and
// reports the error. Private to the eval layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/eval/predictions.h"

namespace chickenseg::detail {

// Where the text is split for `threads` threads (0 = all cores): the offset where each
// piece starts (the first is 0, the others a '{' that follows "}" and ","), at most
// one piece per 64 KiB.
std::vector<size_t> plan_pieces(std::string_view text, unsigned threads);

std::optional<PredictionSet> scan_results_list(std::string_view text, const std::string& file, const SacoDataset& gt,
                                               const PredictionReadParams& params);

}  // namespace chickenseg::detail
