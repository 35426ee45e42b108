#include "chickenseg/eval/matching.h"

#include <algorithm>

#include "chickenseg/eval/hungarian.h"

namespace chickenseg {

const char* iou_type_name(IouType t) { return t == IouType::segm ? "segm" : "bbox"; }

const std::array<double, kIouThresholdCount>& iou_thresholds() {
    // numpy.linspace(0.5, 0.95, 10): i * step + start with step = (stop - start) / 9,
    // and the last value set to stop exactly. Written out the same way so that
    // the rounding comes out bit-identical (the 9th value is 0.8999999999999999).
    static const std::array<double, kIouThresholdCount> values = [] {
        std::array<double, kIouThresholdCount> v{};
        const double start = 0.5, stop = 0.95;
        const double step = (stop - start) / static_cast<double>(kIouThresholdCount - 1);
        for (size_t i = 0; i < kIouThresholdCount; ++i) v[i] = static_cast<double>(i) * step + start;
        v[kIouThresholdCount - 1] = stop;
        return v;
    }();
    return values;
}

PairMatching match_iou_matrix(std::vector<double> iou, uint32_t pred_count, uint32_t gt_count) {
    PairMatching m;
    m.pred_count = pred_count;
    m.gt_count = gt_count;
    m.iou = std::move(iou);
    m.best_iou_per_pred.assign(pred_count, 0.0);
    m.best_iou_per_gt.assign(gt_count, 0.0);
    for (uint32_t d = 0; d < pred_count; ++d)
        for (uint32_t g = 0; g < gt_count; ++g) {
            double v = m.iou[static_cast<size_t>(d) * gt_count + g];
            m.best_iou_per_pred[d] = std::max(m.best_iou_per_pred[d], v);
            m.best_iou_per_gt[g] = std::max(m.best_iou_per_gt[g], v);
        }
    if (pred_count == 0 || gt_count == 0) return m;  // nothing to assign: all FP or all FN
    // linear_sum_assignment(-ious) in cgf1_eval.py; solve_assignment follows SciPy's
    // steps, so ties resolve to the same pairs.
    auto pairs = hungarian_maximize(m.iou, pred_count, gt_count);
    const auto& thr = iou_thresholds();
    m.matches.reserve(pairs.size());
    for (const auto& p : pairs) {
        double v = m.iou[p.row * gt_count + p.col];
        m.matches.push_back({static_cast<uint32_t>(p.row), static_cast<uint32_t>(p.col), v});
        for (size_t t = 0; t < kIouThresholdCount; ++t) m.tp[t] += v >= thr[t];
    }
    return m;
}

PairMatching match_masks(std::span<const Rle* const> preds, std::span<const Rle* const> gts) {
    std::vector<double> iou;
    // No crowd flags: crowd GT never reaches the matching (see matching.h).
    if (!preds.empty() && !gts.empty()) iou = rle_iou(preds, gts, {});
    return match_iou_matrix(std::move(iou), static_cast<uint32_t>(preds.size()), static_cast<uint32_t>(gts.size()));
}

PairMatching match_masks(std::span<const Rle> preds, std::span<const Rle> gts) {
    std::vector<const Rle*> pp, gp;
    for (const Rle& r : preds) pp.push_back(&r);
    for (const Rle& r : gts) gp.push_back(&r);
    return match_masks(std::span<const Rle* const>(pp), std::span<const Rle* const>(gp));
}

PairMatching match_boxes(std::span<const BoxXywh> preds, std::span<const BoxXywh> gts) {
    std::vector<double> iou;
    if (!preds.empty() && !gts.empty()) iou = bbox_iou(preds, gts, {});
    return match_iou_matrix(std::move(iou), static_cast<uint32_t>(preds.size()), static_cast<uint32_t>(gts.size()));
}

}  // namespace chickenseg
