// From the decoder's outputs to detections, as transformers' Sam3Processor.
// post_process_instance_segmentation and the Python reference (python/chickenseg_model/
// predict.py) compute them, in float32 like PyTorch:
//   score of a query = sigmoid(query logit) x sigmoid(presence logit), kept at >= threshold;
//   box xyxy in [0, 1] -> [x, y, w, h] in pixels of the source image;
//   mask = sigmoid(mask logits), bilinearly resized to the source size (align_corners=False,
//   PyTorch's F.interpolate), > mask threshold, encoded as COCO RLE.
// Plain C++ (no LibTorch): the portable reference the engine runs on the host, tested
// against PyTorch's own ops.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "chickenseg/core/rle.h"

namespace chickenseg {

// 1 / (1 + exp(-x)) in float32.
float sigmoid_f32(float x);

struct KeptQuery {
    int query = 0;
    float score = 0;  // sigmoid(logit) * presence, float32 as PyTorch computes it
};

// Queries whose score reaches `threshold` (compared in float32, as a float32 tensor is
// compared with a Python float), ordered by score, highest first (ties: query order).
std::vector<KeptQuery> select_queries(std::span<const float> logits, float presence, double threshold);

// A normalised xyxy box to COCO [x, y, w, h] in pixels of a width x height image.
BoxXywh box_to_pixels(std::span<const float> xyxy, uint32_t width, uint32_t height);

// One query's mask: `logits` are mask_h x mask_w mask logits (row-major); the result is the
// mask at out_h x out_w: sigmoid, bilinear resize with PyTorch's align_corners=False source
// coordinates and weights, then > threshold. Computed column by column straight into COCO's
// column-major runs; a stretch of output rows between two source rows whose probabilities
// both lie clearly on one side of the threshold is filled without evaluating each pixel
// (a convex combination of two values lies between them), so the cost follows the mask's
// outline, not its area. Throws Error on empty sizes or a logits span of the wrong length.
Rle mask_logits_to_rle(std::span<const float> logits, uint32_t mask_h, uint32_t mask_w, uint32_t out_h,
                       uint32_t out_w, float threshold);

// The same, evaluating every pixel (the reference the fast path is tested against).
Rle mask_logits_to_rle_reference(std::span<const float> logits, uint32_t mask_h, uint32_t mask_w, uint32_t out_h,
                                 uint32_t out_w, float threshold);

}  // namespace chickenseg
