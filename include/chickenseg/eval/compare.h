// `chickenseg compare`: two metrics files (schema chickenseg.metrics/1, written by
// `chickenseg eval`) side by side, and the promotion gate that decides whether the
// candidate replaces the baseline.
//
// The gate promotes when ALL of these hold:
//   1. both files are comparable: same ground truth (the "gt" input SHA-256, when both
//      record it), same score threshold and denominator convention;
//   2. cgF1 improves by MORE than min_improvement:
//        relative: (cand - base) / |base| x 100 > min_improvement  (percent of the baseline;
//                  undefined when the baseline cgF1 is 0)
//        absolute: cand - base > min_improvement                    (cgF1 points, x100 scale)
//   3. the candidate's hard-negative pass rate (negatives.pass_rate: negative images
//      with zero kept detections / negative images) is MORE than min_pass_rate;
//   4. the candidate's mean presence on the negatives (negatives.presence.mean) is
//      strictly BELOW max_mean_presence (the plan's criterion 5.2.3: < 0.1; > 0.5 means
//      the model hallucinates), unless switched off.
// Anything undefined (a null metric, no negatives section, a missing IoU type) rejects,
// with the reason. "More than" and "below" are strict: a value equal to the threshold
// (within kGateTolerance, so 9/10 counts as exactly 0.9) does not pass.
//
// Only files `chickenseg eval` wrote are read: the schema, the "tool" stamp and the
// inputs' SHA-256 must be there, and every metric must lie in its range (cgF1 and IL_MCC
// in [-1, 1], the others in [0, 1], counts whole and non-negative).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/eval/matching.h"
#include "chickenseg/eval/model_registry.h"

namespace chickenseg {

inline constexpr const char* kCompareSchema = "chickenseg.compare/1";
inline constexpr double kGateTolerance = 1e-9;

enum class ImprovementMode { relative, absolute };
const char* improvement_mode_name(ImprovementMode m);  // "relative" / "absolute"
// Throws Error for anything but "relative" / "absolute".
ImprovementMode parse_improvement_mode(const std::string& s);

struct GateParams {
    double min_improvement = 5.0;  // percent (relative) or cgF1 points (absolute)
    ImprovementMode improvement = ImprovementMode::relative;
    double min_pass_rate = 0.9;  // the candidate's pass rate must be > this
    // The candidate's mean presence on the negatives must be < this; nullopt: not checked.
    std::optional<double> max_mean_presence = 0.1;
    IouType iou_type = IouType::segm;
};

// What compare reads from one metrics file. Metrics are as the file stores them:
// cgF1 and pmF1 x100, MCC / rates as fractions. nullopt = null or absent in the file.
struct MetricsSummary {
    std::string file;
    std::string sha256;                    // of the file's bytes
    std::optional<std::string> gt_sha256;  // the "gt" input's digest, when recorded
    std::optional<std::string> dataset_version;
    std::optional<double> score_threshold;
    std::optional<std::string> epsilon;  // denominator convention
    bool has_iou_type = false;           // the file has the requested IoU type's section
    std::optional<double> cgf1, cgf1_50, cgf1_75, pmf1, il_mcc;
    std::optional<double> il_precision, il_recall, il_fpr;
    bool has_negatives = false;
    std::optional<double> negative_images, pass_rate, presence_mean, presence_p95, presence_max, hallucinations;
    std::optional<std::string> presence_source;
    // Why a metric is null, from the file's "undefined" maps, keyed as ComparisonRow::key.
    std::map<std::string, std::string> undefined_reasons;
};

// Throws Error naming the file and JSON path when the document is not a metrics
// file `chickenseg eval` wrote (wrong schema, no "tool" stamp or input digests) or a
// field has the wrong type or lies outside its range (a cgF1 of 1e308, a pass rate of 5).
MetricsSummary metrics_summary_from_json(const json& doc, const std::string& file, IouType iou_type);
MetricsSummary read_metrics_summary(const std::filesystem::path& path, IouType iou_type);

struct ComparisonRow {
    std::string key;    // JSON key in the decision document, e.g. "cgF1"
    std::string label;  // table label, e.g. "cgF1 (x100)"
    std::optional<double> baseline, candidate;
    std::optional<double> delta() const {
        if (!baseline || !candidate) return std::nullopt;
        return *candidate - *baseline;
    }
};

struct GateCheck {
    std::string name;  // "comparable", "cgF1 improvement", "hard-negative pass rate"
    bool passed = false;
    std::string detail;  // the numbers compared, or why it could not be evaluated
};

struct GateDecision {
    bool promote = false;
    GateParams params;
    std::optional<double> improvement;    // measured, in the mode's unit (percent or points)
    std::optional<double> pass_rate;      // the candidate's
    std::optional<double> presence_mean;  // the candidate's mean presence on the negatives
    std::vector<GateCheck> checks;        // in the order above
    std::vector<std::string> reasons;     // one sentence per failed check (empty when promoted)
};

GateDecision decide_promotion(const MetricsSummary& baseline, const MetricsSummary& candidate,
                              const GateParams& params);

struct Comparison {
    MetricsSummary baseline;
    MetricsSummary candidate;
    std::vector<ComparisonRow> rows;  // the side-by-side table, fixed order
    GateDecision decision;
};

Comparison compare_metrics(const MetricsSummary& baseline, const MetricsSummary& candidate, const GateParams& params);

// The decision document (schema chickenseg.compare/1) that `compare --json` prints.
json comparison_to_json(const Comparison& comparison);
// The side-by-side table and the decision, for people.
std::string format_comparison(const Comparison& comparison);

// Where and under which name a promoted candidate is recorded, and what it is.
struct PromotionRecord {
    std::filesystem::path registry;
    std::string candidate_name;
    std::string tag_prefix = "production-candidate";
    // The promoted model's checkpoint folder (e.g. RUN/best); recorded as an absolute path.
    std::filesystem::path checkpoint;
    // The dataset version it was trained on. Empty: resolve_promotion_record reads it from
    // <checkpoint>/training.json (dataset_version.version_id, written by `chickenseg train`),
    // else from the candidate metrics.
    std::string dataset_version;
};
// Checks a record before the gate runs, so a promotion never fails half way: the checkpoint
// is an existing folder and a dataset version is known (filled in as above). Throws Error
// naming what is missing.
PromotionRecord resolve_promotion_record(PromotionRecord record, const MetricsSummary& candidate);
// Registers the candidate (model_registry.h) when the decision is "promote", with its
// checkpoint folder and dataset version; returns nullopt and leaves the registry untouched
// when it is "reject".
std::optional<RegistrationResult> record_promotion(const Comparison& comparison, const PromotionRecord& record);
json registration_to_json(const RegistrationResult& result, const std::filesystem::path& registry);

}  // namespace chickenseg
