// The mine layer's pure parts: the scores of one image, the ranking, the dHash and the
// near-duplicate removal, the shard split, the mask stability score, and the scores lines'
// JSON (what a resumed run and a merge read back).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "chickenseg/core/error.h"
#include "chickenseg/mine/dhash.h"
#include "chickenseg/mine/mine.h"
#include "chickenseg/mine/scoring.h"
#include "chickenseg/mine/shard.h"
#include "chickenseg/runtime/engine.h"
#include "mine/mine_files.h"

namespace chickenseg {
namespace {

MineScoreParams params() { return mine_score_default_params(); }

TEST(MineScoring, PresenceTermAndAmbiguousBand) {
    const auto p = params();
    ImageScores s = score_image("a.png", 0, 0.5f, false, {}, 0.5, p);
    EXPECT_FLOAT_EQ(s.presence_term, 1.0f);
    EXPECT_EQ(s.reasons, unsigned{MineReason_ambiguous_presence});
    EXPECT_FLOAT_EQ(s.priority, 1.0f / 3.0f);  // one of three equal weights

    s = score_image("a.png", 0, 0.4f, false, {}, 0.5, p);  // the band's edge is inside it
    EXPECT_EQ(s.reasons, unsigned{MineReason_ambiguous_presence});
    EXPECT_NEAR(s.presence_term, 0.8, 1e-6);

    s = score_image("a.png", 0, 0.9f, false, {}, 0.5, p);
    EXPECT_EQ(s.reasons, 0u);
    EXPECT_NEAR(s.presence_term, 0.2, 1e-6);
    EXPECT_NEAR(s.priority, 0.2 / 3, 1e-6);
    EXPECT_EQ(s.kept, 0u);
    EXPECT_EQ(s.borderline, 0u);
    EXPECT_EQ(s.nearest_gap, -1.0f);
    EXPECT_EQ(s.min_stability, -1.0f);
}

TEST(MineScoring, BorderlineInstancesAndUnstableMasks) {
    const auto p = params();  // margin 0.1, stability_min 0.9
    // 0.98 kept and far; 0.55 kept and borderline (gap 0.05); 0.42 below, borderline (gap 0.08).
    const QueryScore q[] = {{0.98f, 0.95f}, {0.55f, 0.7f}, {0.42f, -1.0f}};
    ImageScores s = score_image("b.png", 0, 0.99f, false, q, 0.5, p);
    EXPECT_EQ(s.kept, 2u);
    EXPECT_EQ(s.borderline, 2u);
    EXPECT_NEAR(s.nearest_gap, 0.05, 1e-6);
    EXPECT_NEAR(s.instance_term, 0.5, 1e-5);  // 1 - 0.05 / 0.1
    EXPECT_NEAR(s.min_stability, 0.7, 1e-6);
    EXPECT_NEAR(s.mask_term, 0.3, 1e-6);
    EXPECT_EQ(s.reasons, unsigned{MineReason_borderline_instance | MineReason_unstable_mask});
    EXPECT_NEAR(s.priority, (s.presence_term + 0.5 + 0.3) / 3, 1e-5);

    // Gated (presence below the package's threshold): nothing kept, so no mask term, but the
    // near-threshold query still counts.
    s = score_image("b.png", 0, 0.3f, true, q, 0.5, p);
    EXPECT_EQ(s.kept, 0u);
    EXPECT_EQ(s.min_stability, -1.0f);
    EXPECT_EQ(s.mask_term, 0.0f);
    EXPECT_EQ(s.borderline, 2u);

    // Stable masks above the minimum: no reason for them.
    const QueryScore stable[] = {{0.98f, 0.95f}};
    s = score_image("c.png", 0, 0.99f, false, stable, 0.5, p);
    EXPECT_EQ(s.reasons, 0u);
    EXPECT_NEAR(s.mask_term, 0.05, 1e-6);
}

TEST(MineScoring, WeightsChangeThePriority) {
    auto p = params();
    p.presence_weight = 0;
    p.instance_weight = 2;
    p.mask_weight = 0;
    const QueryScore q[] = {{0.53f, 1.0f}};
    ImageScores s = score_image("d.png", 0, 0.5f, false, q, 0.5, p);
    EXPECT_NEAR(s.priority, s.instance_term, 1e-6);
    EXPECT_NEAR(s.instance_term, 0.7, 1e-5);
}

TEST(MineScoring, ParamsAreChecked) {
    auto p = params();
    EXPECT_NO_THROW(check_mine_score_params(p));
    p.presence_low = 0.7;
    EXPECT_THROW(check_mine_score_params(p), Error);
    p = params();
    p.instance_margin = 0;
    EXPECT_THROW(check_mine_score_params(p), Error);
    p = params();
    p.presence_weight = p.instance_weight = p.mask_weight = 0;
    EXPECT_THROW(check_mine_score_params(p), Error);
    p = params();
    p.stability_delta = -1;
    EXPECT_THROW(check_mine_score_params(p), Error);
}

TEST(MineRanking, CandidatesOnlyPriorityDescendingTiesByFile) {
    std::vector<ImageScores> images(5);
    const char* files[] = {"e.png", "b.png", "a.png", "d.png", "c.png"};
    const float priorities[] = {0.2f, 0.9f, 0.5f, 0.9f, 0.7f};
    const unsigned reasons[] = {1, 2, 0, 4, 1};
    for (size_t i = 0; i < 5; ++i) {
        images[i].file = files[i];
        images[i].priority = priorities[i];
        images[i].reasons = reasons[i];
    }
    // a.png has no reason: not a candidate although its priority is higher than e.png's.
    EXPECT_EQ(rank_candidates(images), (std::vector<size_t>{1, 3, 4, 0}));
}

RgbImage gradient(uint32_t w, uint32_t h, int seed) {
    RgbImage im{w, h, std::vector<uint8_t>(size_t{w} * h * 3)};
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(0, 255);
    // Blocks of random grey: a different layout per seed.
    std::vector<int> blocks(16 * 16);
    for (auto& b : blocks) b = d(rng);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            const int v = blocks[(y * 16 / h) * 16 + x * 16 / w];
            for (int c = 0; c < 3; ++c) im.pixels[(size_t{y} * w + x) * 3 + c] = static_cast<uint8_t>(v);
        }
    return im;
}

TEST(MineDhash, KnownBitsAndRobustness) {
    // Brightness rising left to right: every cell darker than its right neighbour, all 64 bits.
    RgbImage ramp{90, 80, std::vector<uint8_t>(90 * 80 * 3)};
    for (uint32_t y = 0; y < 80; ++y)
        for (uint32_t x = 0; x < 90; ++x)
            for (int c = 0; c < 3; ++c) ramp.pixels[(size_t{y} * 90 + x) * 3 + c] = static_cast<uint8_t>(x * 2);
    EXPECT_EQ(dhash64(ramp), ~uint64_t{0});
    // Falling: none.
    for (auto& v : ramp.pixels) v = static_cast<uint8_t>(255 - v);
    EXPECT_EQ(dhash64(ramp), uint64_t{0});
    // A flat image: no cell darker than the next.
    EXPECT_EQ(dhash64(RgbImage{10, 10, std::vector<uint8_t>(300, 77)}), uint64_t{0});
    EXPECT_EQ(dhash64(RgbImage{}), uint64_t{0});
    // A 1x1 image repeats its pixel: no crash, no difference.
    EXPECT_EQ(dhash64(RgbImage{1, 1, {1, 2, 3}}), uint64_t{0});

    // Slightly brighter and with noise: within a few bits; another scene: far.
    const RgbImage a = gradient(320, 240, 1);
    RgbImage brighter = a;
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> noise(-3, 3);
    for (auto& v : brighter.pixels) v = static_cast<uint8_t>(std::clamp(int(v) + 10 + noise(rng), 0, 255));
    EXPECT_LE(hamming_distance(dhash64(a), dhash64(brighter)), 4);
    EXPECT_GT(hamming_distance(dhash64(a), dhash64(gradient(320, 240, 2))), 16);
}

TEST(MineDhash, HexRoundTripAndHamming) {
    EXPECT_EQ(dhash_hex(0x0123456789abcdefULL), "0123456789abcdef");
    EXPECT_EQ(dhash_from_hex("0123456789abcdef"), 0x0123456789abcdefULL);
    EXPECT_EQ(dhash_from_hex("0123456789ABCDEF"), std::nullopt);
    EXPECT_EQ(dhash_from_hex("123"), std::nullopt);
    EXPECT_EQ(hamming_distance(0, ~uint64_t{0}), 64);
    EXPECT_EQ(hamming_distance(0b1011, 0b0001), 2);
}

TEST(MineSelection, NearDuplicatesAreSkippedAgainstChosenAndEarlier) {
    std::vector<ImageScores> images(5);
    const uint64_t hashes[] = {0x0, 0x3, 0xFFFF0000, 0xFFFF0001, 0xF0F0F0F0F0F0F0F0ULL};
    for (size_t i = 0; i < 5; ++i) {
        images[i].file = "f" + std::to_string(i) + ".png";
        images[i].dhash = hashes[i];
        images[i].reasons = 1;
    }
    const std::vector<size_t> ranked = {0, 1, 2, 3, 4};
    Selection s = select_diverse(images, ranked, 0, 2, {});
    EXPECT_EQ(s.chosen, (std::vector<size_t>{0, 2, 4}));
    ASSERT_EQ(s.duplicates.size(), 2u);
    EXPECT_EQ(s.duplicates[0], (std::pair<size_t, std::string>{1, "f0.png"}));  // 2 bits from f0
    EXPECT_EQ(s.duplicates[1], (std::pair<size_t, std::string>{3, "f2.png"}));

    // The limit counts chosen images only; duplicates do not use the budget.
    s = select_diverse(images, ranked, 2, 2, {});
    EXPECT_EQ(s.chosen, (std::vector<size_t>{0, 2}));
    EXPECT_EQ(s.duplicates.size(), 1u);

    // An image mined by an earlier run blocks its near-duplicates.
    const MinedImage earlier[] = {{"old.png", 0x1}};
    s = select_diverse(images, ranked, 0, 2, earlier);
    EXPECT_EQ(s.chosen, (std::vector<size_t>{2, 4}));
    EXPECT_EQ(s.duplicates[0].second, "old.png");

    // Off: everything in rank order.
    s = select_diverse(images, ranked, 0, -1, earlier);
    EXPECT_EQ(s.chosen, ranked);
    // Distance 0: only identical hashes.
    images[1].dhash = 0;
    s = select_diverse(images, ranked, 0, 0, {});
    EXPECT_EQ(s.chosen, (std::vector<size_t>{0, 2, 3, 4}));
}

TEST(MineShard, ParseAndSplit) {
    Shard s = parse_shard("2/3");
    EXPECT_EQ(s.index, 2u);
    EXPECT_EQ(s.count, 3u);
    EXPECT_EQ(shard_text(s), "2/3");
    for (const char* bad : {"0/3", "4/3", "1/0", "3", "a/b", "1/3x", "/3", "1/", "-1/3"})
        EXPECT_THROW(parse_shard(bad), Error) << bad;
    // Every position in exactly one shard, sizes within one of each other.
    for (size_t n : {1u, 2u, 3u, 7u}) {
        std::vector<size_t> sizes(n, 0);
        for (size_t i = 0; i < 100; ++i) {
            size_t owners = 0;
            for (size_t k = 1; k <= n; ++k)
                if (in_shard(i, Shard{k, n})) {
                    ++owners;
                    ++sizes[k - 1];
                }
            EXPECT_EQ(owners, 1u);
        }
        EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1u);
    }
}

TEST(MineStability, IouOfTheMaskAtTwoThresholds) {
    // Threshold 0.5, delta 1: pixels above sigmoid(1) = 0.731 over pixels above sigmoid(-1) = 0.269.
    const std::vector<float> p = {0.9f, 0.8f, 0.6f, 0.5f, 0.3f, 0.2f, 0.1f, 0.74f};
    EXPECT_FLOAT_EQ(mask_stability_score(p, 0.5, 1.0), 3.0f / 6.0f);
    // A wide delta: only the surest pixels over almost all.
    EXPECT_FLOAT_EQ(mask_stability_score(p, 0.5, 2.0), 1.0f / 7.0f);  // sigmoid(2) = 0.881, sigmoid(-2) = 0.119
    // A sure mask is stable; an empty one is 0.
    EXPECT_FLOAT_EQ(mask_stability_score(std::vector<float>{0.99f, 0.99f, 0.01f}, 0.5, 1.0), 1.0f);
    EXPECT_EQ(mask_stability_score(std::vector<float>{0.01f, 0.02f}, 0.5, 1.0), 0.0f);
    // Another mask threshold moves both thresholds in logit space: t = 0.8 -> sigmoid(logit(0.8) +- 1)
    // = 0.916 and 0.595.
    EXPECT_FLOAT_EQ(mask_stability_score(p, 0.8, 1.0), 0.0f);  // none above 0.916, four above 0.595
    EXPECT_FLOAT_EQ(mask_stability_score(std::vector<float>{0.95f, 0.9f, 0.6f, 0.59f}, 0.8, 1.0), 1.0f / 3.0f);
}

TEST(MineFiles, ScoresLineRoundTrip) {
    const QueryScore q[] = {{0.55f, 0.8f}, {0.45f, -1.0f}};
    ImageScores s = score_image("sub/x y.png", 0xfeedface12345678ULL, 0.47f, false, q, 0.5, params());
    json line = {{"file", s.file}, {"mine", image_scores_to_json(s)}};
    ImageScores back = image_scores_from_json(json::parse(line.dump()), "scores.jsonl", 7);
    EXPECT_EQ(back.file, s.file);
    EXPECT_EQ(back.dhash, s.dhash);
    EXPECT_EQ(back.presence, s.presence);
    EXPECT_EQ(back.kept, s.kept);
    EXPECT_EQ(back.borderline, s.borderline);
    EXPECT_EQ(back.nearest_gap, s.nearest_gap);
    EXPECT_EQ(back.min_stability, s.min_stability);
    EXPECT_EQ(back.priority, s.priority);
    EXPECT_EQ(back.reasons, s.reasons);
    EXPECT_EQ(back.reasons,
              unsigned{MineReason_ambiguous_presence | MineReason_borderline_instance | MineReason_unstable_mask});
    // Not a mine line: the error names the file and line.
    try {
        image_scores_from_json(json{{"file", "a.png"}}, "scores.jsonl", 7);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("scores.jsonl:7"), std::string::npos) << e.what();
    }
    line["mine"]["reasons"] = {"bogus"};
    EXPECT_THROW(image_scores_from_json(line, "s", 1), Error);
}

}  // namespace
}  // namespace chickenseg
