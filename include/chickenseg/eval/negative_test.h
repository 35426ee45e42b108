// Hard-negative stress test: how a model behaves on (image, noun phrase) pairs
// with no instance at all, the case SAM 3's presence head exists for.
//
// Per negative image: the number of kept detections (score >= threshold) and a
// presence score: from presence.json when given, else the highest prediction
// score of the image (all predictions, 0 when none) as a proxy, and the report
// says which. Verdict: pass when mean presence < max_mean_presence (strictly, as
// the plan's criterion 5.2.3 and compare's gate say) AND pass rate (images with zero
// detections / negative images) >= min_pass_rate.
// Images with presence > hallucination_presence are counted and listed as
// hallucinations (they are what an annotator should look at first); they do not
// change the verdict by themselves.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace chickenseg {

struct NegativeParams {
    double max_mean_presence = 0.1;  // the mean presence must be strictly below this
    double hallucination_presence = 0.5;
    double min_pass_rate = 0.9;
};

// The plan's criterion (5.2.3): a mean presence strictly below the limit. A mean equal to
// it within 1e-9 (relative to the limit) counts as equal and fails, so a mean summed to
// 0.09999999999 from values meant to give 0.1 is "exactly 0.1". eval and compare's gate
// both decide with this.
bool mean_presence_below(double mean, double max_mean_presence);

enum class PresenceSource { presence_file, max_prediction_score };
const char* presence_source_name(PresenceSource s);  // "presence_file" / "max_prediction_score"

struct NegativeImage {
    int64_t image_id = 0;
    uint32_t detections = 0;  // kept predictions (score >= threshold)
    double presence = 0;      // from the presence file, or the proxy
};

struct NegativeReport {
    PresenceSource presence_source = PresenceSource::max_prediction_score;
    NegativeParams params;
    size_t image_count = 0;
    size_t images_with_detections = 0;
    uint64_t detections_total = 0;
    // All std::nullopt when image_count == 0 (nothing to average).
    std::optional<double> detections_mean;
    uint32_t detections_max = 0;
    std::optional<double> pass_rate;  // images with zero detections / image_count
    std::optional<double> presence_mean;
    std::optional<double> presence_p50;  // percentiles: linear interpolation, as numpy.percentile
    std::optional<double> presence_p95;
    std::optional<double> presence_max;
    size_t hallucination_count = 0;  // presence > hallucination_presence
    // Hallucinating images, highest presence first (ties: lower image id first).
    std::vector<NegativeImage> hallucinations;
    bool mean_presence_ok = false;
    bool pass_rate_ok = false;
    bool passed = false;                // both of the above (false for an empty set)
    std::vector<std::string> failures;  // one sentence per failed condition
};

// `images` in any order; the result does not depend on it.
NegativeReport analyse_negatives(std::span<const NegativeImage> images, PresenceSource source,
                                 const NegativeParams& params = {});

// Linear-interpolated percentile (numpy's default method) of unsorted values; q in [0, 100].
// Throws Error when values is empty.
double percentile_linear(std::vector<double> values, double q);

}  // namespace chickenseg
