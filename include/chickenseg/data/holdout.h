// Held-out subsets of an SA-Co dataset. The one kind for now: the negatives
// (images that no non-crowd annotation names), for the hard-negative stress
// test: a chicken segmenter must stay silent on every one of them.
#pragma once

#include <cstddef>
#include <string>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

struct HoldoutResult {
    SacoDataset dataset;  // the held-out images, their (crowd) annotations, categories, top level
    size_t input_images = 0;
    size_t negatives = 0;               // images written
    size_t crowd_only = 0;              // of those, images that carry only crowd annotations (kept with them)
    size_t skipped_non_exhaustive = 0;  // negatives left out: is_instance_exhaustive = 0
};

// The exhaustively annotated images without non-crowd annotations, in input order,
// ids preserved. A non-exhaustive image without annotations is left out: there,
// "no annotation" does not mean "no chicken". Throws Error naming `file` when no
// image qualifies.
HoldoutResult holdout_negatives(const SacoDataset& ds, const std::string& file);

// {"input_images", "negatives", "crowd_only", "skipped_non_exhaustive"}.
json holdout_summary_to_json(const HoldoutResult& result);

}  // namespace chickenseg
