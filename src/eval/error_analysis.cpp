#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/error_analysis.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/eval/matching.h"

namespace chickenseg {

namespace {

bool boxes_overlap(const BoxXywh& a, const BoxXywh& b) {
    return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

std::optional<double> value_x100(const MetricValue& m) {
    if (!m.value) return std::nullopt;
    return *m.value * 100.0;
}

}  // namespace

const char* failure_type_name(FailureType t) {
    switch (t) {
        case FailureType::ghosting:
            return "ghosting";
        case FailureType::fragmentation:
            return "fragmentation";
        case FailureType::bleeding:
            return "bleeding";
    }
    return "?";
}

double MaskOverlaps::iou(size_t d, size_t g) const {
    uint64_t i = inter(d, g);
    if (gt_crowd[g]) return det_area[d] == 0 ? 0.0 : static_cast<double>(i) / static_cast<double>(det_area[d]);
    uint64_t u = det_area[d] + gt_area[g] - i;
    return u == 0 ? 0.0 : static_cast<double>(i) / static_cast<double>(u);
}

MaskOverlaps compute_mask_overlaps(std::span<const Rle> detections, std::span<const Rle> gts,
                                   std::span<const uint8_t> gt_crowd) {
    if (gt_crowd.size() != gts.size())
        throw Error("compute_mask_overlaps: " + std::to_string(gt_crowd.size()) + " crowd flags for " +
                    std::to_string(gts.size()) + " GT masks");
    const Rle* first = !detections.empty() ? &detections[0] : (!gts.empty() ? &gts[0] : nullptr);
    auto check_size = [&](const Rle& r, const char* what, size_t i) {
        if (r.h != first->h || r.w != first->w)
            throw Error(std::string("compute_mask_overlaps: ") + what + " " + std::to_string(i) + " is " +
                        std::to_string(r.w) + "x" + std::to_string(r.h) + ", expected " + std::to_string(first->w) +
                        "x" + std::to_string(first->h));
    };
    MaskOverlaps ov;
    ov.gt_crowd.assign(gt_crowd.begin(), gt_crowd.end());
    std::vector<BoxXywh> det_box, gt_box;
    for (size_t i = 0; i < detections.size(); ++i) {
        check_size(detections[i], "detection", i);
        ov.det_area.push_back(rle_area(detections[i]));
        det_box.push_back(rle_to_bbox(detections[i]));
    }
    for (size_t j = 0; j < gts.size(); ++j) {
        check_size(gts[j], "GT mask", j);
        ov.gt_area.push_back(rle_area(gts[j]));
        gt_box.push_back(rle_to_bbox(gts[j]));
    }
    ov.intersection.assign(detections.size() * gts.size(), 0);
    for (size_t i = 0; i < detections.size(); ++i) {
        for (size_t j = 0; j < gts.size(); ++j) {
            // Disjoint boxes cannot share a pixel: skip the merge.
            if (ov.det_area[i] == 0 || ov.gt_area[j] == 0 || !boxes_overlap(det_box[i], gt_box[j])) continue;
            const Rle pair[2] = {detections[i], gts[j]};
            ov.intersection[i * gts.size() + j] = rle_area(rle_merge(pair, /*intersect=*/true));
        }
    }
    return ov;
}

std::vector<Failure> detect_ghosting(const MaskOverlaps& ov, std::span<const DetectionPairing> pairing,
                                     const ErrorAnalysisParams& params) {
    std::vector<Failure> out;
    for (size_t d = 0; d < ov.det_count(); ++d) {
        if (ov.gt_count() == 0) {
            out.push_back({FailureType::ghosting,
                           {static_cast<uint32_t>(d)},
                           std::nullopt,
                           0.0,
                           "detection " + std::to_string(d + 1) + " on an image with no chicken"});
            continue;
        }
        bool matched = d < pairing.size() && pairing[d].gt && pairing[d].iou >= params.match_iou;
        if (matched) continue;
        double best = 0;
        for (size_t g = 0; g < ov.gt_count(); ++g) best = std::max(best, ov.iou(d, g));
        if (best < params.ghost_max_iou)
            out.push_back({FailureType::ghosting,
                           {static_cast<uint32_t>(d)},
                           std::nullopt,
                           best,
                           "detection " + std::to_string(d + 1) + " overlaps no GT instance (best IoU " +
                               format_fixed(best, 3) + " < " + format_fixed(params.ghost_max_iou, 2) + ")"});
    }
    return out;
}

std::vector<Failure> detect_fragmentation(const MaskOverlaps& ov, const ErrorAnalysisParams& params) {
    std::vector<Failure> out;
    for (size_t g = 0; g < ov.gt_count(); ++g) {
        if (ov.gt_crowd[g]) continue;
        std::vector<uint32_t> inside;
        for (size_t d = 0; d < ov.det_count(); ++d) {
            if (ov.det_area[d] == 0) continue;
            double frac = static_cast<double>(ov.inter(d, g)) / static_cast<double>(ov.det_area[d]);
            if (frac >= params.fragment_min_inside) inside.push_back(static_cast<uint32_t>(d));
        }
        if (inside.size() < std::max<uint32_t>(params.fragment_min_count, 1)) continue;
        std::string list;
        for (uint32_t d : inside) list += (list.empty() ? "" : ", ") + std::to_string(d + 1);
        out.push_back({FailureType::fragmentation, inside, static_cast<uint32_t>(g), static_cast<double>(inside.size()),
                       "GT " + std::to_string(g + 1) + " is split into " + std::to_string(inside.size()) +
                           " detections (" + list + "), each >= " + format_fixed(params.fragment_min_inside * 100, 0) +
                           "% inside it"});
    }
    return out;
}

std::vector<Failure> detect_bleeding(const MaskOverlaps& ov, std::span<const DetectionPairing> pairing,
                                     const ErrorAnalysisParams& params) {
    std::vector<Failure> out;
    for (size_t d = 0; d < ov.det_count() && d < pairing.size(); ++d) {
        if (!pairing[d].gt) continue;
        size_t g = *pairing[d].gt;
        if (g >= ov.gt_count() || ov.gt_crowd[g] || ov.gt_area[g] == 0) continue;
        if (pairing[d].iou < params.bleed_min_iou) continue;
        double gt_area = static_cast<double>(ov.gt_area[g]);
        double ratio = static_cast<double>(ov.det_area[d]) / gt_area;
        double outside = static_cast<double>(ov.det_area[d] - ov.inter(d, g)) / gt_area;
        if (ratio >= params.bleed_min_area_ratio && outside >= params.bleed_min_outside_ratio)
            out.push_back({FailureType::bleeding,
                           {static_cast<uint32_t>(d)},
                           static_cast<uint32_t>(g),
                           ratio,
                           "detection " + std::to_string(d + 1) + " is " + format_fixed(ratio, 2) +
                               "x the area of GT " + std::to_string(g + 1) + "; its part outside the GT is " +
                               format_fixed(outside, 2) + "x the GT's area (IoU " + format_fixed(pairing[d].iou, 3) +
                               ")"});
    }
    return out;
}

std::vector<Failure> analyse_image_failures(const MaskOverlaps& ov, std::span<const DetectionPairing> pairing,
                                            const ErrorAnalysisParams& params) {
    std::vector<Failure> all = detect_ghosting(ov, pairing, params);
    for (auto& f : detect_fragmentation(ov, params)) all.push_back(std::move(f));
    for (auto& f : detect_bleeding(ov, pairing, params)) all.push_back(std::move(f));
    return all;
}

namespace {

using IndicesByImage = std::unordered_map<int64_t, std::vector<size_t>>;

// Headline metrics from the evaluation engine (the one place metrics are computed).
void add_headline_metrics(const SacoDataset& gt, const std::string& gt_file, const PredictionSet& preds,
                          const PresenceScores* presence, const ErrorAnalysisParams& params, ErrorAnalysis& result) {
    EvalParams eval_params;
    eval_params.score_threshold = params.score_threshold;
    eval_params.bbox = false;
    EvalResult eval = evaluate_saco(gt, preds, presence, eval_params, gt_file);
    if (eval.segm) {
        result.cgf1 = value_x100(eval.segm->cgf1);
        result.pmf1 = value_x100(eval.segm->pm_f1);
    }
    result.il_mcc = eval.image_level.mcc.value;
    result.il_fpr = eval.image_level.fpr.value;
}

// The masks of one image: GT regions in file order (crowd ones included, for the overlaps)
// and the detections kept at the score threshold.
struct ImageMasks {
    std::vector<Rle> gt;
    std::vector<uint8_t> crowd;
    std::vector<uint32_t> region_of_instance;  // non-crowd index -> region index
    std::vector<Rle> det;
};

ImageMasks load_image_masks(const SacoImage& img, const SacoDataset& gt, const PredictionSet& preds,
                            const IndicesByImage& ann_by_image, const IndicesByImage& kept_by_image,
                            ImageAnalysis& ia) {
    ImageMasks masks;
    if (auto it = ann_by_image.find(img.id); it != ann_by_image.end()) {
        for (size_t ai : it->second) {
            const SacoAnnotation& a = gt.annotations[ai];
            AnalysedGt g;
            g.annotation_id = a.id;
            g.annotation_index = ai;
            g.crowd = a.iscrowd != 0;
            if (!g.crowd) masks.region_of_instance.push_back(static_cast<uint32_t>(masks.gt.size()));
            masks.gt.push_back(segmentation_to_rle(a.segmentation, img.height, img.width));
            masks.crowd.push_back(g.crowd ? 1 : 0);
            ia.gts.push_back(g);
        }
    }
    if (auto it = kept_by_image.find(img.id); it != kept_by_image.end()) {
        for (size_t pi : it->second) {
            const Prediction& p = preds.predictions[pi];
            AnalysedDetection d;
            d.prediction_index = pi;
            d.score = p.score;
            ia.detections.push_back(d);
            masks.det.push_back(rle_decompress(p.mask));
        }
    }
    return masks;
}

// The matching sees the non-crowd GT only, as the metrics do; its pairs decide TP/FP/FN and
// feed the failure detectors.
std::vector<DetectionPairing> match_image(const ImageMasks& masks, const ErrorAnalysisParams& params,
                                          ImageAnalysis& ia) {
    std::vector<Rle> instance_masks;
    for (uint32_t r : masks.region_of_instance) instance_masks.push_back(masks.gt[r]);
    PairMatching m = match_masks(masks.det, instance_masks);
    std::vector<DetectionPairing> pairing(ia.detections.size());
    for (const Match& mt : m.matches) {
        uint32_t region = masks.region_of_instance[mt.gt];
        pairing[mt.pred] = {region, mt.iou};
        AnalysedDetection& d = ia.detections[mt.pred];
        d.gt = region;
        d.iou = mt.iou;
        d.true_positive = mt.iou >= params.match_iou;
        if (d.true_positive) {
            ia.gts[region].found = true;
            ++ia.tp;
        }
    }
    ia.fp = static_cast<uint32_t>(ia.detections.size()) - ia.tp;
    ia.fn = static_cast<uint32_t>(masks.region_of_instance.size()) - ia.tp;
    return pairing;
}

ImageAnalysis analyse_image(const SacoImage& img, const SacoDataset& gt, const PredictionSet& preds,
                            const PresenceScores* presence, const IndicesByImage& ann_by_image,
                            const IndicesByImage& kept_by_image, const ErrorAnalysisParams& params) {
    ImageAnalysis ia;
    ia.image_id = img.id;
    ia.file_name = img.file_name;
    ia.width = img.width;
    ia.height = img.height;
    if (presence) {
        auto it = presence->by_image.find(img.id);
        if (it != presence->by_image.end()) ia.presence = it->second;
    }
    ImageMasks masks = load_image_masks(img, gt, preds, ann_by_image, kept_by_image, ia);
    ia.negative = masks.region_of_instance.empty();

    MaskOverlaps ov = compute_mask_overlaps(masks.det, masks.gt, masks.crowd);
    for (size_t j = 0; j < ia.gts.size(); ++j) ia.gts[j].area = ov.gt_area[j];
    for (size_t d = 0; d < ia.detections.size(); ++d) ia.detections[d].area = ov.det_area[d];

    std::vector<DetectionPairing> pairing = match_image(masks, params, ia);
    ia.failures = analyse_image_failures(ov, pairing, params);
    return ia;
}

void add_to_totals(const ImageAnalysis& ia, ErrorAnalysis& result) {
    ++result.images_analysed;
    result.tp += ia.tp;
    result.fp += ia.fp;
    result.fn += ia.fn;
    // by_type counts failures, and images with at least one failure of the type.
    std::array<bool, kFailureTypeCount> seen{};
    for (const Failure& f : ia.failures) {
        auto t = static_cast<size_t>(f.type);
        ++result.by_type[t].failures;
        seen[t] = true;
    }
    for (size_t t = 0; t < kFailureTypeCount; ++t) result.by_type[t].images += seen[t] ? 1 : 0;
    if (!ia.failures.empty()) ++result.images_with_failures;
}

}  // namespace

ErrorAnalysis analyse_errors(const SacoDataset& gt, const std::string& gt_file, const PredictionSet& preds,
                             const PresenceScores* presence, const ErrorAnalysisParams& params) {
    ErrorAnalysis result;
    result.params = params;
    result.gt_file = gt_file;
    result.predictions_file = preds.file;
    if (presence) result.presence_file = presence->file;
    add_headline_metrics(gt, gt_file, preds, presence, params, result);

    IndicesByImage ann_by_image;
    for (size_t i = 0; i < gt.annotations.size(); ++i) ann_by_image[gt.annotations[i].image_id].push_back(i);
    IndicesByImage kept_by_image;
    for (size_t i = 0; i < preds.predictions.size(); ++i) {
        const Prediction& p = preds.predictions[i];
        if (p.score >= params.score_threshold) kept_by_image[p.image_id].push_back(i);
    }

    Progress progress("analysing errors", gt.images.size());
    for (const SacoImage& img : gt.images) {
        progress.tick();
        // Only exhaustive images say that a missing mask is a miss.
        if (img.is_instance_exhaustive != 1) {
            ++result.images_skipped;
            continue;
        }
        ImageAnalysis ia = analyse_image(img, gt, preds, presence, ann_by_image, kept_by_image, params);
        add_to_totals(ia, result);
        result.images.push_back(std::move(ia));
    }
    progress.finish();

    // Worst images first, so the report opens on what most needs a look.
    std::stable_sort(result.images.begin(), result.images.end(), [](const ImageAnalysis& a, const ImageAnalysis& b) {
        if (a.severity() != b.severity()) return a.severity() > b.severity();
        return a.image_id < b.image_id;
    });
    return result;
}

}  // namespace chickenseg
