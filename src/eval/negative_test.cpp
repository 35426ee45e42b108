#include "chickenseg/eval/negative_test.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chickenseg/core/error.h"

namespace chickenseg {

bool mean_presence_below(double mean, double max_mean_presence) {
    return mean < max_mean_presence - 1e-9 * std::max(1.0, std::fabs(max_mean_presence));
}

const char* presence_source_name(PresenceSource s) {
    return s == PresenceSource::presence_file ? "presence_file" : "max_prediction_score";
}

double percentile_linear(std::vector<double> values, double q) {
    if (values.empty()) throw Error("percentile of an empty set");
    if (!(q >= 0 && q <= 100)) throw Error("percentile must be in [0, 100]");
    std::sort(values.begin(), values.end());
    // numpy's "linear" method: virtual index (n - 1) * q / 100 between the two
    // neighbouring order statistics.
    double pos = (static_cast<double>(values.size()) - 1) * q / 100.0;
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, values.size() - 1);
    double frac = pos - static_cast<double>(lo);
    return values[lo] + (values[hi] - values[lo]) * frac;
}

namespace {

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

}  // namespace

NegativeReport analyse_negatives(std::span<const NegativeImage> images, PresenceSource source,
                                 const NegativeParams& params) {
    NegativeReport r;
    r.presence_source = source;
    r.params = params;
    r.image_count = images.size();
    if (images.empty()) {
        r.failures.push_back("no negative images to test");
        return r;
    }
    std::vector<double> presence;
    presence.reserve(images.size());
    size_t clean = 0;
    double presence_sum = 0;
    for (const auto& im : images) {
        r.detections_total += im.detections;
        r.detections_max = std::max(r.detections_max, im.detections);
        if (im.detections == 0)
            ++clean;
        else
            ++r.images_with_detections;
        presence.push_back(im.presence);
        if (im.presence > params.hallucination_presence) r.hallucinations.push_back(im);
    }
    // Summed in sorted order so the mean does not depend on the input order.
    std::sort(presence.begin(), presence.end());
    for (double v : presence) presence_sum += v;
    double n = static_cast<double>(images.size());
    r.detections_mean = static_cast<double>(r.detections_total) / n;
    r.pass_rate = static_cast<double>(clean) / n;
    r.presence_mean = presence_sum / n;
    r.presence_p50 = percentile_linear(presence, 50);
    r.presence_p95 = percentile_linear(presence, 95);
    r.presence_max = presence.back();
    r.hallucination_count = r.hallucinations.size();
    std::sort(r.hallucinations.begin(), r.hallucinations.end(), [](const NegativeImage& a, const NegativeImage& b) {
        if (a.presence != b.presence) return a.presence > b.presence;
        return a.image_id < b.image_id;
    });

    r.mean_presence_ok = mean_presence_below(*r.presence_mean, params.max_mean_presence);
    r.pass_rate_ok = *r.pass_rate >= params.min_pass_rate;
    r.passed = r.mean_presence_ok && r.pass_rate_ok;
    if (!r.mean_presence_ok)
        r.failures.push_back("mean presence " + fmt(*r.presence_mean) + " is not below max-mean-presence " +
                             fmt(params.max_mean_presence));
    if (!r.pass_rate_ok)
        r.failures.push_back("pass rate " + fmt(*r.pass_rate) + " < min-pass-rate " + fmt(params.min_pass_rate) + " (" +
                             std::to_string(r.images_with_detections) + " of " + std::to_string(r.image_count) +
                             " negative images have detections)");
    return r;
}

}  // namespace chickenseg
