// Overlay pictures for the error-analysis report: the image downscaled, the
// predictions as filled translucent masks with a solid outline and a number label,
// the GT as outlines in another colour drawn on top (so both stay visible).
// Pure pixel work on RgbImage; deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "chickenseg/core/image.h"
#include "chickenseg/core/rle.h"

namespace chickenseg {

using Rgb = std::array<uint8_t, 3>;

struct OverlayStyle {
    uint32_t max_width = 800;            // larger images are scaled down to this width
    Rgb gt_colour{0, 255, 0};            // GT outline
    Rgb prediction_colour{255, 0, 255};  // prediction fill and outline
    double prediction_alpha = 0.45;      // fill opacity
    uint32_t gt_outline_px = 2;          // outline thickness at output size
    uint32_t prediction_outline_px = 1;
    uint32_t label_scale = 2;  // label glyphs are 3x5 cells of this many pixels
};

// Area-average downscale so the width is at most max_width (aspect ratio kept,
// height at least 1). Returns a copy when the image is already small enough.
RgbImage downscale_to_width(const RgbImage& image, uint32_t max_width);

// A mask (full image size) resampled to w x h by nearest neighbour, row-major 0/1.
std::vector<uint8_t> resample_mask(const Rle& mask, uint32_t w, uint32_t h);

// Draws on `image` (already scaled): each prediction filled and outlined, its
// label (digits, '.', ':' and '#' only; other characters are skipped) at the
// top-left of the mask; then every GT outline. Masks are at the original image
// size and are resampled to the image's size. `labels` is empty or has one entry
// per prediction. Throws Error when labels has the wrong length.
void draw_overlay(RgbImage& image, std::span<const Rle> gt_masks, std::span<const Rle> prediction_masks,
                  std::span<const std::string> labels, const OverlayStyle& style);

// The pixel glyph rows of a label character (3 columns x 5 rows, bit 2 = left
// column), or nullptr for a character the font does not have. The font has digits,
// letters (lower case drawn as upper case), space and . : # - % ( ) = _ /.
const uint8_t* label_glyph(char c);

// `text` in the 3x5 font, each cell `scale` pixels, on a black box whose top-left corner is
// (x, y), moved inside the picture when it would cross an edge. Characters the font does
// not have are skipped.
void draw_text(RgbImage& image, long x, long y, const std::string& text, const Rgb& colour, uint32_t scale);

// The outline of a box (pixels of `image`), `thickness` pixels inwards; clipped to the image.
void draw_box(RgbImage& image, const BoxXywh& box, const Rgb& colour, uint32_t thickness);

// A mask (at any size; resampled to the image by nearest neighbour) filled with `colour` at
// opacity `alpha`, its inner outline (`outline_px` thick, 0: none) solid. Returns the box the
// mask covers in the image's pixels (zeros when it covers none).
BoxXywh draw_mask(RgbImage& image, const Rle& mask, const Rgb& colour, double alpha, uint32_t outline_px);

}  // namespace chickenseg
