// What `chickenseg mine` measures on each image and how it ranks them (docs/mine.md).
//
// Three uncertainty terms in [0, 1], each with a reason that marks the image for annotation:
//   presence  1 - |2p - 1| (1 at p = 0.5, 0 at p = 0 or 1); reason "ambiguous_presence" when p
//             lies in [presence_low, presence_high];
//   instance  max over queries with |score - t| < margin of 1 - |score - t| / margin (t the
//             keep threshold); reason "borderline_instance" when there is such a query;
//   mask      1 - the lowest stability score of a kept mask (SAM's stability score, see
//             Detection::stability); reason "unstable_mask" when that is below stability_min.
// priority = (w_p presence + w_i instance + w_m mask) / (w_p + w_i + w_m). An image with at
// least one reason is a candidate; candidates are ranked by priority, highest first, ties by
// file name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace chickenseg {

enum MineReason : unsigned {
    MineReason_ambiguous_presence = 1u << 0,
    MineReason_borderline_instance = 1u << 1,
    MineReason_unstable_mask = 1u << 2,
};
// The reasons' names, in bit order ("ambiguous_presence", ...), and back (0: not a reason).
std::vector<std::string> mine_reason_names(unsigned reasons);
unsigned mine_reason_from_name(const std::string& name);

struct MineScoreParams {
    double presence_low = 0.4;  // presence in [low, high]: ambiguous
    double presence_high = 0.6;
    double instance_margin = 0.1;  // a query with |score - keep threshold| < margin is borderline
    double stability_delta = 1.0;  // logit offset of the stability score (SAM's default)
    double stability_min = 0.9;    // a kept mask below this stability is unstable
    double presence_weight = 1.0;  // weights of the three terms in the priority
    double instance_weight = 1.0;
    double mask_weight = 1.0;
};
MineScoreParams mine_score_default_params();
// Throws Error naming the setting for a band outside [0, 1] or reversed, a margin or delta
// <= 0, negative weights or weights that sum to 0.
void check_mine_score_params(const MineScoreParams& params);

// One query the decoder scored (any query within the margin below the threshold or above it).
struct QueryScore {
    float score = 0;       // sigmoid(query logit) x presence
    float stability = -1;  // of its mask when kept; -1 when not computed
};

struct ImageScores {
    std::string file;    // relative to the inbox, '/' separators
    uint64_t dhash = 0;  // 64-bit difference hash of the image (dhash.h)
    float presence = 0;
    uint32_t kept = 0;         // detections kept (score >= threshold, image not gated)
    uint32_t borderline = 0;   // queries with |score - threshold| < margin
    float nearest_gap = -1;    // smallest |score - threshold| among them; -1 when none
    float min_stability = -1;  // lowest stability of a kept mask; -1 when none
    float presence_term = 0;
    float instance_term = 0;
    float mask_term = 0;
    float priority = 0;
    unsigned reasons = 0;  // MineReason bits
};

// Scores one image. `queries`: every query scoring at least threshold - margin (score
// descending or not); `gated`: presence below the package's presence threshold, so nothing is
// kept (its queries still count as borderline).
ImageScores score_image(std::string file, uint64_t dhash, float presence, bool gated,
                        std::span<const QueryScore> queries, double threshold, const MineScoreParams& params);

// Indices of the candidates (reasons != 0), priority descending, ties by file ascending.
std::vector<size_t> rank_candidates(std::span<const ImageScores> images);

// An image already chosen (this run or an earlier one), for near-duplicate checks.
struct MinedImage {
    std::string file;
    uint64_t dhash = 0;
};

struct Selection {
    std::vector<size_t> chosen;  // indices into the images, in rank order
    // Skipped as a near-duplicate: index, and the file of the chosen or earlier image it repeats.
    std::vector<std::pair<size_t, std::string>> duplicates;
};

// Walks `ranked` and takes each image whose hash is more than `max_distance` bits away from
// every image taken so far and every `earlier` one, until `limit` are taken (0: no limit).
// max_distance < 0 turns duplicate removal off.
Selection select_diverse(std::span<const ImageScores> images, std::span<const size_t> ranked, size_t limit,
                         int max_distance, std::span<const MinedImage> earlier);

}  // namespace chickenseg
