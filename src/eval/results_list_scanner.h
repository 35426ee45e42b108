// Fast path for reading a COCO results list: a strict JSON scanner specialised
// for [{image_id, category_id, segmentation: {size, counts: "..."}, bbox, score}].
// It accepts only what the general reader (predictions.cpp) would accept with the
// same result; on anything else (a syntax error, polygons, list counts, an invalid
// value) it gives up and the general reader takes over and reports the error.
//
// The text is split at record boundaries into one piece per thread; each thread
// scans its records and checks their masks while the bytes are in cache. A split
// is proved by the piece before it ending exactly there (a "},{" inside a string is
// no boundary); an unproved split costs one more scan, on one thread. Private to
// the eval layer.
#pragma once

#include <array>
#include <memory>
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

using MaskSize = std::array<uint32_t, 2>;  // [height, width] as written in the record

// What the scanner read, before it is held against the ground truth.
struct ScannedResults {
    PredictionSet set;
    std::vector<MaskSize> mask_sizes;  // per prediction ({0, 0} without a mask)
};

// Scans and checks everything that does not need the GT (syntax, scores, boxes, every
// mask's RLE string), so eval can run it while the GT is being read. With `text_owner`
// (what keeps `text` alive, e.g. its MappedFile) the kept masks point into the text and
// share its ownership; without, each copies its string.
std::optional<ScannedResults> scan_results_list(std::string_view text, const std::string& file,
                                                const PredictionReadParams& params,
                                                std::shared_ptr<const void> text_owner = nullptr);
// The rest: every image id is a GT image and every mask has its image's size (and the
// GT has no duplicate ids). False sends the file to the general reader.
bool fits_gt(const ScannedResults& scanned, const SacoDataset& gt);

// The scan's predictions when it fits the GT, else the general reader's (which names
// the error). predictions_from_text is scan_results_list followed by this.
PredictionSet predictions_after_scan(std::optional<ScannedResults> scanned, std::string_view text,
                                     const std::string& file, const SacoDataset& gt,
                                     const PredictionReadParams& params);

}  // namespace chickenseg::detail
