// What the Python module does with pixels and masks on the C++ side, without any Python type:
// an array's pixels (any strides, RGB or BGR) as the engine's RgbView, and COCO RLE masks
// (column-major runs) to the row-major boolean planes NumPy users index as mask[y, x].
#pragma once

#include <cstdint>

#include "chickenseg/core/image.h"
#include "chickenseg/core/rle.h"

namespace chickenseg::python {

// An H x W x 3 array of bytes as NumPy describes it: strides in bytes, possibly negative
// (a[::-1]), `data` pointing at element [0, 0, 0].
struct PixelView {
    const uint8_t* data = nullptr;
    int64_t height = 0;
    int64_t width = 0;
    int64_t strides[3] = {0, 0, 0};
    bool bgr = false;  // channel order B, G, R (OpenCV): swapped to RGB
};

// The array as the engine reads it, in place (no copy: the resize reads it through its
// strides, BGR included). Throws Error for an empty image or one with more pixels than
// decode_image accepts (kImageMaxDecodePixels).
RgbView rgb_view_of(const PixelView& view);

// Writes `rle` (rle.h: column-major runs starting with zeros) into `out`, h * w bytes in row-major
// order (out[y * w + x]), which must hold zeros: 1 where the mask is set. Throws Error when the
// counts do not sum to h * w.
void rle_to_row_major(const Rle& rle, uint8_t* out);

}  // namespace chickenseg::python
