// SA-Co metrics (REFERENCE §3; SAM 3 paper §5/§E.3; sam3/eval/cgf1_eval.py):
// cgF1 = pmF1 x IL_MCC averaged over IoU thresholds 0.50:0.05:0.95, with
// positive micro F1 (pmF1), image-level MCC, positive macro F1, precision /
// recall / F1 over all pairs and image-level precision / recall / F1 / FPR.
//
// Unit: one SA-Co image entry = one (image, noun phrase) pair. Only pairs with
// is_instance_exhaustive = 1 are evaluated. Predictions with score >= threshold
// are kept. Two conventions for denominators:
//   official: the constants of cgf1_eval.py (+1e-4 in P, R, F1; +1e-6 in the
//             image-level ratios and MCC), so numbers compare with published ones;
//   none:     exact fractions; F1 = 2TP / (2TP + FP + FN); a ratio whose
//             denominator is 0 is undefined (no value, with the reason).
// The metrics JSON (schema chickenseg.metrics/1) is documented in docs/eval.md;
// `compare`, `report` and the trainer read it, so its field names are stable.
#pragma once

#include <array>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"
#include "chickenseg/eval/matching.h"
#include "chickenseg/eval/negative_test.h"
#include "chickenseg/eval/predictions.h"

namespace chickenseg {

inline constexpr const char* kMetricsSchema = "chickenseg.metrics/1";

enum class EpsilonConvention { official, none };
const char* epsilon_convention_name(EpsilonConvention e);  // "official" / "none"

struct EvalParams {
    double score_threshold = 0.5;  // keep predictions with score >= this
    EpsilonConvention epsilon = EpsilonConvention::official;
    bool segm = true;  // evaluate mask IoU
    bool bbox = true;  // evaluate box IoU
    // Hard-negative holdout mode: the GT must have no positive pair (Error
    // otherwise); only the image-level counts and the negatives section are computed.
    bool negatives_only = false;
    NegativeParams negatives;
    unsigned threads = 0;  // worker threads over images; 0 = hardware concurrency
};

// A value that may be undefined (a denominator of 0 under the `none` convention,
// or an empty set): then `value` is empty and `reason` says why.
struct MetricValue {
    std::optional<double> value;
    std::string reason;
    static MetricValue of(double v) { return {v, {}}; }
    static MetricValue undefined(std::string why) { return {std::nullopt, std::move(why)}; }
};

// Per evaluated pair, per IoU type.
struct PairTypeResult {
    PairMatching matching;  // indices: kept predictions x non-crowd GT of the pair
};

// One evaluated (image, noun phrase) pair. Indices into the pair's kept
// predictions map to the predictions file through `kept`.
struct ImageResult {
    int64_t image_id = 0;
    std::string file_name;
    std::string text_input;
    uint32_t gt_count = 0;     // non-crowd GT instances
    uint32_t crowd_count = 0;  // crowd GT regions (ignored in matching)
    // gt.annotations[] indices of the non-crowd GT, file order: matching's GT index i
    // is annotation gt_annotations[i].
    std::vector<size_t> gt_annotations;
    uint32_t prediction_count = 0;       // all predictions of the image, any score
    std::vector<size_t> kept;            // predictions[] indices with score >= threshold, file order
    std::vector<double> kept_scores;     // their scores
    double max_score = 0;                // highest prediction score (any), 0 when none
    std::optional<double> presence;      // from presence.json when given
    std::optional<PairTypeResult> segm;  // when segm is evaluated (and not negatives_only)
    std::optional<PairTypeResult> bbox;
    bool is_positive() const { return gt_count > 0; }
    uint32_t kept_count() const { return static_cast<uint32_t>(kept.size()); }
};

// Metrics at one IoU threshold.
struct ThresholdMetrics {
    double iou_threshold = 0;
    uint64_t tp = 0;  // over all pairs (TP only exists on positive pairs)
    uint64_t fp = 0;  // over all pairs, negatives included
    uint64_t fn = 0;
    uint64_t pm_fp = 0;             // FP summed over positive pairs only
    MetricValue precision;          // TP / (TP + FP), all pairs
    MetricValue recall;             // TP / (TP + FN)
    MetricValue f1;                 // all pairs
    MetricValue pm_precision;       // TP / (TP + pm_fp)
    MetricValue pm_f1;              // positive micro F1
    MetricValue positive_macro_f1;  // mean per-pair F1 over pairs with GT > 0 and kept > 0
    MetricValue cgf1;               // pm_f1 x IL_MCC
};

struct IouTypeMetrics {
    IouType type = IouType::segm;
    std::array<ThresholdMetrics, kIouThresholdCount> per_threshold;
    // Means over the 10 thresholds (fractions, not x100; the table shows x100).
    MetricValue cgf1, pm_f1, pm_precision, precision, recall, f1, positive_macro_f1;
    size_t macro_pair_count = 0;  // pairs with GT > 0 and kept > 0
};

struct ImageLevelMetrics {
    uint64_t tp = 0;  // GT > 0, kept > 0
    uint64_t fp = 0;  // GT = 0, kept > 0
    uint64_t tn = 0;  // GT = 0, kept = 0
    uint64_t fn = 0;  // GT > 0, kept = 0
    MetricValue precision, recall, f1, fpr, mcc;
};

struct EvalCounts {
    size_t gt_images = 0;               // SA-Co image entries in the GT
    size_t skipped_not_exhaustive = 0;  // is_instance_exhaustive = 0: not evaluated
    size_t evaluated_pairs = 0;
    size_t positive_pairs = 0;
    size_t negative_pairs = 0;
    size_t gt_instances = 0;            // non-crowd, evaluated pairs
    size_t crowd_regions = 0;           // evaluated pairs
    size_t predictions = 0;             // in the file
    size_t predictions_on_skipped = 0;  // on pairs not evaluated (ignored)
    size_t kept_predictions = 0;        // score >= threshold, evaluated pairs
};

struct EvalResult {
    EvalParams params;
    EvalCounts counts;
    ImageLevelMetrics image_level;
    std::optional<IouTypeMetrics> segm;
    std::optional<IouTypeMetrics> bbox;
    std::optional<NegativeReport> negatives;  // when the evaluated set has negatives
    std::vector<ImageResult> images;          // evaluated pairs, in GT order
};

// Checks what evaluation relies on, naming `gt_file` and the JSON path: unique
// image ids, is_instance_exhaustive in {0, 1}, every annotation's image_id names an image.
void check_eval_gt(const SacoDataset& gt, const std::string& gt_file);

// Evaluates `preds` against `gt`. `presence` may be null. Deterministic: the
// result does not depend on `threads`. Throws Error for an inconsistent request
// (negatives_only with positives, duplicate image ids in the GT, no IoU type).
EvalResult evaluate_saco(const SacoDataset& gt, const PredictionSet& preds, const PresenceScores* presence,
                         const EvalParams& params, const std::string& gt_file = {});

// Input files recorded in the metrics JSON.
struct EvalInput {
    std::string role;  // "gt", "predictions", "presence"
    std::string path;
    std::string sha256;  // hex, of the file's bytes as read
};
// Reads the GT, predictions and (optional, "" = none) presence files, checks them
// (check_eval_gt, then the readers' checks) and fingerprints them. The SHA-256s are
// computed on another thread, beside parsing and beside the evaluation that follows:
// `files.get()` waits for them. (Hashing a large predictions file takes about as long as
// parsing and matching it: docs/eval.md has the numbers.)
struct EvalInputs {
    SacoDataset gt;
    PredictionSet predictions;
    std::optional<PresenceScores> presence;
    std::shared_future<std::vector<EvalInput>> files;  // gt, predictions[, presence]
};
EvalInputs load_eval_inputs(const std::string& gt_path, const std::string& predictions_path,
                            const std::string& presence_path, const PredictionReadParams& read_params = {});

// The metrics JSON (schema chickenseg.metrics/1). Per-pair records (with the
// matches) are included when `with_images` is true.
json eval_result_to_json(const EvalResult& result, const std::vector<EvalInput>& inputs, bool with_images);

}  // namespace chickenseg
