// Automatic error analysis of segmentation predictions, per image, finding the
// three failure types that matter for a "chicken / no chicken" segmenter:
//
//   ghosting       a kept detection where there is nothing: every kept detection on
//                  an image with no GT region, and every detection not matched at
//                  IoU >= match_iou whose IoU with EVERY GT region (crowd regions
//                  included, with COCO's crowd IoU) is < ghost_max_iou.
//   fragmentation  one GT instance split into pieces: >= fragment_min_count kept
//                  detections each lying mostly inside the same non-crowd GT
//                  (intersection / area(detection) >= fragment_min_inside).
//   bleeding       a detection paired with a GT (the optimal assignment, IoU >=
//                  bleed_min_iou) that is much larger than it, the extra area outside
//                  it: area(det) / area(GT) >= bleed_min_area_ratio AND
//                  (area(det) - intersection) / area(GT) >= bleed_min_outside_ratio.
//
// TP / FP / FN are those of the SA-Co matching (eval/matching.h) at IoU match_iou.
// Images are sorted worst first by severity = failures + FP + FN (ties: lower image
// id first). Only evaluated pairs (is_instance_exhaustive = 1) are analysed, as in
// the metrics: on other images an unannotated chicken is not an error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chickenseg/core/rle.h"
#include "chickenseg/data/saco.h"
#include "chickenseg/eval/predictions.h"
#include "chickenseg/eval/saco_metrics.h"

namespace chickenseg {

struct ErrorAnalysisParams {
    double score_threshold = 0.5;          // keep detections with score >= this (as the metrics)
    double match_iou = 0.5;                // a matched pair at or above this IoU is a TP
    double ghost_max_iou = 0.1;            // unmatched and IoU below this with every GT: ghost
    double fragment_min_inside = 0.5;      // intersection / area(detection) inside one GT
    uint32_t fragment_min_count = 2;       // this many such detections in one GT: fragmented
    double bleed_min_iou = 0.1;            // the assigned pair must overlap at least this much
    double bleed_min_area_ratio = 1.5;     // area(detection) / area(GT)
    double bleed_min_outside_ratio = 0.5;  // (area(detection) - intersection) / area(GT)
};

enum class FailureType { ghosting, fragmentation, bleeding };
inline constexpr size_t kFailureTypeCount = 3;
const char* failure_type_name(FailureType t);  // "ghosting" / "fragmentation" / "bleeding"

struct Failure {
    FailureType type = FailureType::ghosting;
    std::vector<uint32_t> detections;  // indices into the image's kept detections
    std::optional<uint32_t> gt;        // index into the image's GT regions (fragmentation, bleeding)
    double measure = 0;                // ghosting: best IoU with any GT; fragmentation: detection count;
                                       // bleeding: area(det) / area(GT)
    std::string detail;                // one sentence with the numbers
};

// Areas and pairwise intersections of one image's kept detections and GT regions.
struct MaskOverlaps {
    std::vector<uint64_t> det_area;
    std::vector<uint64_t> gt_area;
    std::vector<uint8_t> gt_crowd;       // 1 for a crowd region
    std::vector<uint64_t> intersection;  // det x gt, row-major
    size_t det_count() const { return det_area.size(); }
    size_t gt_count() const { return gt_area.size(); }
    uint64_t inter(size_t d, size_t g) const { return intersection[d * gt_count() + g]; }
    // Mask IoU; for a crowd region intersection / area(det), as COCO. 0 for empty masks.
    double iou(size_t d, size_t g) const;
};

// Throws Error when masks differ in size or gt_crowd does not have one entry per GT.
MaskOverlaps compute_mask_overlaps(std::span<const Rle> detections, std::span<const Rle> gts,
                                   std::span<const uint8_t> gt_crowd);

// The assignment of one image: for each kept detection, the GT region it is paired
// with (an index into the GT regions, crowd regions never) and the pair's IoU.
struct DetectionPairing {
    std::optional<uint32_t> gt;
    double iou = 0;
};

// Each detector alone (the report runs all three through analyse_image_failures).
std::vector<Failure> detect_ghosting(const MaskOverlaps& ov, std::span<const DetectionPairing> pairing,
                                     const ErrorAnalysisParams& params);
std::vector<Failure> detect_fragmentation(const MaskOverlaps& ov, const ErrorAnalysisParams& params);
std::vector<Failure> detect_bleeding(const MaskOverlaps& ov, std::span<const DetectionPairing> pairing,
                                     const ErrorAnalysisParams& params);
// All three, in the order ghosting, fragmentation, bleeding.
std::vector<Failure> analyse_image_failures(const MaskOverlaps& ov, std::span<const DetectionPairing> pairing,
                                            const ErrorAnalysisParams& params);

struct AnalysedDetection {
    size_t prediction_index = 0;  // predictions[] index in the predictions file
    double score = 0;
    uint64_t area = 0;
    std::optional<uint32_t> gt;  // assigned GT region (any IoU)
    double iou = 0;              // with the assigned GT (0 when none)
    bool true_positive = false;  // assigned with iou >= match_iou
};

struct AnalysedGt {
    int64_t annotation_id = 0;
    size_t annotation_index = 0;  // annotations[] index in the GT file
    bool crowd = false;
    uint64_t area = 0;
    bool found = false;  // a TP detection matches it (never for crowd)
};

struct ImageAnalysis {
    int64_t image_id = 0;
    std::string file_name;
    uint32_t width = 0;
    uint32_t height = 0;
    bool negative = false;                      // no non-crowd GT instance
    std::optional<double> presence;             // from the presence file, when given
    std::vector<AnalysedDetection> detections;  // kept, file order
    std::vector<AnalysedGt> gts;                // the image's GT regions, file order
    uint32_t tp = 0, fp = 0, fn = 0;            // at match_iou
    std::vector<Failure> failures;
    size_t severity() const { return failures.size() + fp + fn; }
};

struct FailureTypeSummary {
    size_t failures = 0;
    size_t images = 0;  // images with at least one failure of the type
};

struct ErrorAnalysis {
    ErrorAnalysisParams params;
    std::string gt_file;
    std::string predictions_file;
    std::string presence_file;  // empty when none
    size_t images_analysed = 0;
    size_t images_skipped = 0;  // not instance-exhaustive
    size_t images_with_failures = 0;
    std::array<FailureTypeSummary, kFailureTypeCount> by_type{};
    uint64_t tp = 0, fp = 0, fn = 0;
    // Headline metrics (segm, official convention), x100 for cgF1/pmF1; nullopt when undefined.
    std::optional<double> cgf1, pmf1, il_mcc, il_fpr;
    std::vector<ImageAnalysis> images;  // worst first
};

// Evaluates (eval/saco_metrics.h, segm) and analyses every evaluated image.
// `presence` may be null. Deterministic.
ErrorAnalysis analyse_errors(const SacoDataset& gt, const std::string& gt_file, const PredictionSet& preds,
                             const PresenceScores* presence, const ErrorAnalysisParams& params = {});

}  // namespace chickenseg
