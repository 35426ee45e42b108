// An image to the vision encoder's input, as the package's manifest "input" says and as the
// Python reference does (python/chickenseg_model/images.py): resized to S x S without keeping
// the aspect ratio (Pillow's bilinear), bytes x scale, then (v - mean) / std per channel,
// laid out NCHW.
#pragma once

#include "chickenseg/core/image.h"
#include "chickenseg/runtime/host_tensor.h"
#include "chickenseg/runtime/model_package.h"

namespace chickenseg {

// The only resize the runtime implements; a manifest that asks for another is refused.
inline constexpr const char* kPackageResize = "square, bilinear, aspect not kept";

// F32 (1, 3, S, S). `image` is upright RGB (decode_image applies the EXIF orientation).
// Throws Error naming manifest.json's input.resize when it is not kPackageResize.
HostTensor image_to_pixel_values(const RgbImage& image, const ModelPackage& package);
// The same, reading the pixels in place (any strides: a NumPy array, OpenCV's BGR).
HostTensor image_to_pixel_values(const RgbView& image, const ModelPackage& package);

}  // namespace chickenseg
