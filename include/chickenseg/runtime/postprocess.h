// From the decoder's outputs to detections, as transformers' Sam3Processor.
// post_process_instance_segmentation and the Python reference (python/chickenseg_model/
// predict.py) compute them, in float32 like PyTorch:
//   score of a query = sigmoid(query logit) x sigmoid(presence logit), kept at >= threshold;
//   box xyxy in [0, 1] -> [x, y, w, h] in pixels of the source image;
//   mask = sigmoid(mask logits), bilinearly resized to the source size (align_corners=False,
//   PyTorch's F.interpolate), > mask threshold, encoded as COCO RLE.
// The sigmoids are the backend's (PyTorch's own kernels: its vectorised exp is not the C
// library's, and a mask of a barely trained model sits so close to 0.5 that one ulp flips
// pixels); selection, boxes, the resize and the RLE are here, in plain C++, and the resize is
// bit for bit PyTorch's CPU kernel (tests/python/test_postprocess_torch.py).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "chickenseg/core/rle.h"

namespace chickenseg {

struct KeptQuery {
    int query = 0;
    float score = 0;  // sigmoid(logit) * sigmoid(presence logit)
};

// Queries whose score reaches `threshold` (compared in float32, as a float32 tensor is
// compared with a Python float), ordered by score, highest first (ties: query order).
std::vector<KeptQuery> select_queries(std::span<const float> scores, double threshold);

// A normalised xyxy box to COCO [x, y, w, h] in pixels of a width x height image.
BoxXywh box_to_pixels(std::span<const float> xyxy, uint32_t width, uint32_t height);

// One query's mask: `probabilities` are its mask_h x mask_w sigmoid(mask logits) (row-major);
// the result is the mask at out_h x out_w: PyTorch's bilinear resize (align_corners=False
// source coordinates and weights, with the fused multiply-adds its CPU kernels are compiled
// with, and its other kernel for outputs whose height + width is at most 128), then
// > threshold. Computed column by column straight into COCO's column-major runs;
// a stretch of output rows between two source rows whose values both lie clearly on one side
// of the threshold is filled without evaluating each pixel (a convex combination of two
// values lies between them), so the cost follows the mask's outline, not its area. Throws
// Error on empty sizes or a span of the wrong length.
Rle mask_probabilities_to_rle(std::span<const float> probabilities, uint32_t mask_h, uint32_t mask_w, uint32_t out_h,
                              uint32_t out_w, float threshold);

// The same, evaluating every pixel (the reference the fast path is tested against).
Rle mask_probabilities_to_rle_reference(std::span<const float> probabilities, uint32_t mask_h, uint32_t mask_w,
                                        uint32_t out_h, uint32_t out_w, float threshold);

// The resized values themselves, out_h x out_w row-major (what F.interpolate gives; tests).
std::vector<float> resize_bilinear_f32(std::span<const float> values, uint32_t in_h, uint32_t in_w, uint32_t out_h,
                                       uint32_t out_w);

}  // namespace chickenseg
