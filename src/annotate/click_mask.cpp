#include "chickenseg/annotate/click_mask.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace chickenseg {

bool rle_contains(const Rle& mask, uint32_t x, uint32_t y) {
    if (x >= mask.w || y >= mask.h) return false;
    // Column-major runs, alternating zeros and ones from a run of zeros.
    const uint64_t index = uint64_t{x} * mask.h + y;
    uint64_t start = 0;
    for (size_t i = 0; i < mask.counts.size(); ++i) {
        start += mask.counts[i];
        if (index < start) return i % 2 == 1;
    }
    return false;
}

const Detection* choose_click_detection(const ImageDetections& candidates, uint32_t x, uint32_t y) {
    const Detection* best = nullptr;
    for (const auto& d : candidates.detections) {
        if (!rle_contains(d.mask, x, y)) continue;
        if (!best || d.score > best->score || (d.score == best->score && d.query < best->query)) best = &d;
    }
    return best;
}

std::optional<std::pair<uint32_t, uint32_t>> mask_inner_pixel(const Rle& mask) {
    const std::vector<uint8_t> pixels = rle_decode(mask);
    const uint32_t h = mask.h, w = mask.w;
    // Two-pass city-block distance to the nearest unset pixel (outside the image counts as unset).
    constexpr uint32_t kFar = std::numeric_limits<uint32_t>::max() / 2;
    std::vector<uint32_t> d(pixels.size());
    auto at = [&](uint32_t x, uint32_t y) -> uint32_t& { return d[size_t{x} * h + y]; };
    for (uint32_t x = 0; x < w; ++x)
        for (uint32_t y = 0; y < h; ++y) {
            if (!pixels[size_t{x} * h + y]) {
                at(x, y) = 0;
                continue;
            }
            const uint32_t left = x > 0 ? at(x - 1, y) : 0, up = y > 0 ? at(x, y - 1) : 0;
            at(x, y) = std::min({left, up, kFar}) + 1;
        }
    std::optional<std::pair<uint32_t, uint32_t>> best;
    uint32_t best_distance = 0;
    for (uint32_t x = w; x-- > 0;)
        for (uint32_t y = h; y-- > 0;) {
            if (at(x, y) == 0) continue;
            const uint32_t right = x + 1 < w ? at(x + 1, y) : 0, down = y + 1 < h ? at(x, y + 1) : 0;
            at(x, y) = std::min({at(x, y), right + 1, down + 1});
            // >= walking backwards keeps the first pixel in column-major order among equals.
            if (at(x, y) >= best_distance) {
                best_distance = at(x, y);
                best = std::pair{x, y};
            }
        }
    return best;
}

}  // namespace chickenseg
