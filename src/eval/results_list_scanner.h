// Fast path for reading a COCO results list: a strict JSON scanner specialised
// for [{image_id, category_id, segmentation: {size, counts: "..."}, bbox, score}],
// which keeps the RLE strings as views into the text and decodes them on several
// threads. It accepts only what the general reader (predictions.cpp) would accept
// with the same result; on anything else (a syntax error, polygons, list counts,
// an invalid value) it returns std::nullopt and the general reader takes over and
// reports the error. Private to the eval layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chickenseg/eval/predictions.h"

namespace chickenseg::detail {

std::optional<PredictionSet> scan_results_list(std::string_view text, const std::string& file, const SacoDataset& gt,
                                               const PredictionReadParams& params);

}  // namespace chickenseg::detail
