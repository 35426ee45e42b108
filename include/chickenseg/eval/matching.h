// Matching of one (image, noun phrase) pair, as SAM 3's cgf1_eval.py does it:
// an IoU matrix kept predictions x non-crowd GT, then ONE optimal bipartite
// assignment maximising the total IoU (Hungarian), computed once per pair and
// thresholded afterwards at every IoU threshold.
//
// Crowd GT is dropped before matching (COCO's `ignore`): it neither matches a
// prediction nor counts as a missed instance, and a prediction lying on a crowd
// region stays a false positive, exactly as in the official code.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "chickenseg/core/rle.h"

namespace chickenseg {

enum class IouType { segm, bbox };
const char* iou_type_name(IouType t);  // "segm" / "bbox"

// The 10 IoU thresholds 0.50, 0.55, ..., 0.95, bit-identical to
// numpy.linspace(0.5, 0.95, 10) (what COCOeval uses; its 9th value is
// 0.8999999999999999), so an IoU of exactly 0.9 is a TP there, as in the official evaluator.
inline constexpr size_t kIouThresholdCount = 10;
const std::array<double, kIouThresholdCount>& iou_thresholds();
// Index of 0.50 and 0.75 in iou_thresholds().
inline constexpr size_t kThreshold50 = 0;
inline constexpr size_t kThreshold75 = 5;

struct Match {
    uint32_t pred = 0;  // index into the pair's kept predictions
    uint32_t gt = 0;    // index into the pair's non-crowd GT
    double iou = 0;     // may be 0: the assignment pairs min(#pred, #gt) items
};

struct PairMatching {
    uint32_t pred_count = 0;
    uint32_t gt_count = 0;
    std::vector<double> iou;                // pred_count x gt_count, row-major
    std::vector<Match> matches;             // sorted by pred index
    std::vector<double> best_iou_per_pred;  // max over GT (0 when there is no GT)
    std::vector<double> best_iou_per_gt;    // max over predictions (0 when none)
    // TP(t) = matches with iou >= t; FP(t) = pred_count - TP; FN(t) = gt_count - TP.
    std::array<uint32_t, kIouThresholdCount> tp{};
    uint32_t fp_at(size_t t) const { return pred_count - tp[t]; }
    uint32_t fn_at(size_t t) const { return gt_count - tp[t]; }
};

// From a precomputed IoU matrix (pred_count x gt_count, row-major).
PairMatching match_iou_matrix(std::vector<double> iou, uint32_t pred_count, uint32_t gt_count);
// Mask IoU (pycocotools rleIou) between kept predictions and non-crowd GT.
PairMatching match_masks(std::span<const Rle> preds, std::span<const Rle> gts);
PairMatching match_masks(std::span<const Rle* const> preds, std::span<const Rle* const> gts);
// Box IoU (pycocotools bbIou) between kept predictions and non-crowd GT.
PairMatching match_boxes(std::span<const BoxXywh> preds, std::span<const BoxXywh> gts);

}  // namespace chickenseg
