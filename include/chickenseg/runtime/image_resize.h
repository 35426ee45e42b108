// Bilinear resizing of RGB images exactly as Pillow 13's `Image.resize(size, Image.BILINEAR)`
// does it (the version python/requirements.txt pins), because the Python reference
// preprocesses with PIL and the runtime's inputs must be the same bytes: Pillow's resampler
// (libImaging/Resample.c) is separable (two passes, in an order that depends on the sizes),
// widens the triangle filter by the scale when shrinking (antialiasing, unlike OpenCV's or
// torch's bilinear), and rounds the weights to 22-bit fixed point with 8-bit rounding after
// each pass. Checked byte for byte against Pillow by tests/python/test_runtime_package.py.
#pragma once

#include <cstdint>

#include "chickenseg/core/image.h"

namespace chickenseg {

// Throws Error when the image is empty, its pixel buffer does not hold width*height*3 bytes,
// or a target side is 0.
RgbImage resize_bilinear(const RgbImage& image, uint32_t width, uint32_t height);
// The same, reading the pixels in place (any strides, e.g. a NumPy array or OpenCV's BGR).
RgbImage resize_bilinear(const RgbView& image, uint32_t width, uint32_t height);

}  // namespace chickenseg
