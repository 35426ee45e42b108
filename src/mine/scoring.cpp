#include "chickenseg/mine/scoring.h"

#include <algorithm>
#include <cmath>

#include "chickenseg/core/error.h"
#include "chickenseg/mine/dhash.h"

namespace chickenseg {
namespace {

constexpr const char* kReasonNames[] = {"ambiguous_presence", "borderline_instance", "unstable_mask"};

}  // namespace

std::vector<std::string> mine_reason_names(unsigned reasons) {
    std::vector<std::string> out;
    for (unsigned bit = 0; bit < std::size(kReasonNames); ++bit)
        if (reasons & (1u << bit)) out.emplace_back(kReasonNames[bit]);
    return out;
}

unsigned mine_reason_from_name(const std::string& name) {
    for (unsigned bit = 0; bit < std::size(kReasonNames); ++bit)
        if (name == kReasonNames[bit]) return 1u << bit;
    return 0;
}

MineScoreParams mine_score_default_params() { return MineScoreParams{}; }

void check_mine_score_params(const MineScoreParams& p) {
    if (!(p.presence_low >= 0 && p.presence_low <= p.presence_high && p.presence_high <= 1))
        throw Error("presence band " + std::to_string(p.presence_low) + "," + std::to_string(p.presence_high) +
                    ": expected LOW,HIGH with 0 <= LOW <= HIGH <= 1");
    if (!(p.instance_margin > 0 && p.instance_margin <= 1))
        throw Error("instance margin " + std::to_string(p.instance_margin) + ": expected a value in (0, 1]");
    if (!(p.stability_delta > 0 && std::isfinite(p.stability_delta)))
        throw Error("stability delta " + std::to_string(p.stability_delta) + ": expected a logit offset > 0");
    if (!(p.stability_min >= 0 && p.stability_min <= 1))
        throw Error("stability minimum " + std::to_string(p.stability_min) + ": expected a value in [0, 1]");
    const double w[] = {p.presence_weight, p.instance_weight, p.mask_weight};
    for (double v : w)
        if (!(v >= 0 && std::isfinite(v))) throw Error("priority weights must be finite and >= 0");
    if (w[0] + w[1] + w[2] <= 0) throw Error("priority weights: at least one must be > 0");
}

ImageScores score_image(std::string file, uint64_t dhash, float presence, bool gated,
                        std::span<const QueryScore> queries, double threshold, const MineScoreParams& p) {
    ImageScores s;
    s.file = std::move(file);
    s.dhash = dhash;
    s.presence = presence;
    s.presence_term = static_cast<float>(std::clamp(1.0 - std::fabs(2.0 * presence - 1.0), 0.0, 1.0));
    if (presence >= p.presence_low && presence <= p.presence_high) s.reasons |= MineReason_ambiguous_presence;
    double nearest = -1, lowest_stability = -1;
    for (const QueryScore& q : queries) {
        // Compared as detect compares: the float32 score against the threshold.
        const bool kept = !gated && q.score >= static_cast<float>(threshold);
        const double gap = std::fabs(static_cast<double>(q.score) - threshold);
        if (gap < p.instance_margin) {
            ++s.borderline;
            if (nearest < 0 || gap < nearest) nearest = gap;
        }
        if (kept) {
            ++s.kept;
            if (q.stability >= 0 && (lowest_stability < 0 || q.stability < lowest_stability))
                lowest_stability = q.stability;
        }
    }
    if (s.borderline > 0) {
        s.nearest_gap = static_cast<float>(nearest);
        s.instance_term = static_cast<float>(1.0 - nearest / p.instance_margin);
        s.reasons |= MineReason_borderline_instance;
    }
    if (lowest_stability >= 0) {
        s.min_stability = static_cast<float>(lowest_stability);
        s.mask_term = static_cast<float>(1.0 - lowest_stability);
        if (lowest_stability < p.stability_min) s.reasons |= MineReason_unstable_mask;
    }
    const double weights = p.presence_weight + p.instance_weight + p.mask_weight;
    s.priority = static_cast<float>(
        (p.presence_weight * s.presence_term + p.instance_weight * s.instance_term + p.mask_weight * s.mask_term) /
        weights);
    return s;
}

std::vector<size_t> rank_candidates(std::span<const ImageScores> images) {
    std::vector<size_t> out;
    for (size_t i = 0; i < images.size(); ++i)
        if (images[i].reasons != 0) out.push_back(i);
    std::stable_sort(out.begin(), out.end(), [&](size_t a, size_t b) {
        if (images[a].priority != images[b].priority) return images[a].priority > images[b].priority;
        return images[a].file < images[b].file;
    });
    return out;
}

Selection select_diverse(std::span<const ImageScores> images, std::span<const size_t> ranked, size_t limit,
                         int max_distance, std::span<const MinedImage> earlier) {
    Selection out;
    std::vector<MinedImage> taken(earlier.begin(), earlier.end());
    for (size_t i : ranked) {
        if (limit > 0 && out.chosen.size() >= limit) break;
        const ImageScores& s = images[i];
        const MinedImage* repeat = nullptr;
        if (max_distance >= 0)
            for (const MinedImage& t : taken)
                if (hamming_distance(t.dhash, s.dhash) <= max_distance) {
                    repeat = &t;
                    break;
                }
        if (repeat) {
            out.duplicates.emplace_back(i, repeat->file);
            continue;
        }
        out.chosen.push_back(i);
        taken.push_back({s.file, s.dhash});
    }
    return out;
}

}  // namespace chickenseg
