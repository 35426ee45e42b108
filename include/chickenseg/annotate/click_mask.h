// One click, one mask: from the candidate masks of every decoder query of an image (the engine's
// detect with DetectParams::all_queries), the highest-scoring one whose mask contains the
// clicked pixel, whatever its score: a chicken the model missed usually still has a query
// that outlines it, just below the keep threshold.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "chickenseg/core/rle.h"
#include "chickenseg/runtime/engine.h"

namespace chickenseg {

// Whether pixel (x, y) (column x, row y) of the mask is set; false outside the mask's size.
bool rle_contains(const Rle& mask, uint32_t x, uint32_t y);

// The detection of `candidates` with the highest score whose mask contains pixel (x, y)
// (ties: the lower query); nullptr when no mask contains it.
const Detection* choose_click_detection(const ImageDetections& candidates, uint32_t x, uint32_t y);

// The pixel of the mask farthest from its outline (city-block distance; ties: the first in
// column-major order), as (x, y): a point where a click surely lands on that mask. nullopt for
// an empty mask.
std::optional<std::pair<uint32_t, uint32_t>> mask_inner_pixel(const Rle& mask);

}  // namespace chickenseg
