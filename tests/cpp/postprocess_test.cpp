// The runtime's post-processing (runtime/postprocess.h): scores, kept queries, boxes, and the
// mask resize straight to RLE, whose fast path must equal the per-pixel reference exactly.
// (tests/python/test_postprocess_torch.py checks both against PyTorch's own ops.)
#include "chickenseg/runtime/postprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

TEST(Postprocess, SelectQueriesKeepsAtThresholdHighestFirstTiesInQueryOrder) {
    // 0.5 exactly is kept at threshold 0.5 (>=), as the reference compares.
    std::vector<float> scores{0.5f, 0.95f, 0.01f, 0.95f, 0.7f};
    auto kept = select_queries(scores, 0.5);
    ASSERT_EQ(kept.size(), 4u);
    EXPECT_EQ(kept[0].query, 1);
    EXPECT_EQ(kept[1].query, 3);  // the same score: query order
    EXPECT_EQ(kept[2].query, 4);
    EXPECT_EQ(kept[3].query, 0);
    EXPECT_EQ(kept[3].score, 0.5f);
    EXPECT_TRUE(select_queries(scores, 0.96).empty());
    EXPECT_EQ(select_queries(scores, 0.0).size(), scores.size());
    // Compared in float32: a threshold between two floats keeps what a float32 tensor >= it keeps.
    EXPECT_EQ(select_queries(std::vector<float>{0.3f}, 0.30000000000000004).size(), 1u);
}

TEST(Postprocess, BoxToPixels) {
    std::vector<float> xyxy{0.25f, 0.5f, 0.75f, 1.0f};
    BoxXywh b = box_to_pixels(xyxy, 200, 100);
    EXPECT_DOUBLE_EQ(b[0], 50);
    EXPECT_DOUBLE_EQ(b[1], 50);
    EXPECT_DOUBLE_EQ(b[2], 100);
    EXPECT_DOUBLE_EQ(b[3], 50);
    EXPECT_THROW(box_to_pixels(std::vector<float>{1, 2, 3}, 1, 1), Error);
}

// Smooth blobs (what a mask head gives) plus noise near the threshold, as probabilities.
std::vector<float> blob_probabilities(uint32_t h, uint32_t w, unsigned seed, float noise) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> out(size_t{h} * w);
    const float cx = u(rng) * w, cy = u(rng) * h, r = 1.0f + u(rng) * std::max(h, w) / 2.0f;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            const float d = std::hypot(x - cx, y - cy);
            out[size_t{y} * w + x] = 1.0f / (1.0f + std::exp(-((r - d) * 0.7f + noise * (u(rng) - 0.5f))));
        }
    return out;
}

TEST(Postprocess, FastMaskResizeEqualsThePerPixelReference) {
    struct Size {
        uint32_t mh, mw, oh, ow;
    };
    const Size sizes[] = {{32, 32, 240, 320},   {32, 32, 17, 9}, {56, 56, 1080, 1920},
                          {8, 8, 8, 8},         {1, 1, 5, 7},    {5, 1, 30, 3},
                          {288, 288, 300, 200}, {32, 32, 1, 1},  {16, 24, 1000, 3}};
    size_t foreground = 0, background = 0;
    for (const auto& s : sizes)
        for (unsigned seed = 0; seed < 6; ++seed)
            for (float noise : {0.0f, 0.5f, 8.0f}) {
                std::vector<float> p = blob_probabilities(s.mh, s.mw, seed * 31 + s.mh, noise);
                for (float threshold : {0.5f, 0.2f, 0.9f}) {
                    Rle fast = mask_probabilities_to_rle(p, s.mh, s.mw, s.oh, s.ow, threshold);
                    Rle ref = mask_probabilities_to_rle_reference(p, s.mh, s.mw, s.oh, s.ow, threshold);
                    ASSERT_EQ(fast, ref) << s.mh << "x" << s.mw << " -> " << s.oh << "x" << s.ow << " seed " << seed;
                    ASSERT_EQ(fast.h, s.oh);
                    ASSERT_EQ(fast.w, s.ow);
                    const uint64_t area = rle_area(fast);
                    foreground += area > 0;
                    background += area < uint64_t{s.oh} * s.ow;
                }
            }
    // Both kinds of pixels were produced (a path that returned empty masks would pass otherwise).
    EXPECT_GT(foreground, 50u);
    EXPECT_GT(background, 50u);
}

// Source values within a few ulps of the threshold (the rows the fast path cannot place by the
// exact blend's side alone, and must evaluate as the reference does) and just beyond its margin.
TEST(Postprocess, FastMaskResizeEqualsTheReferenceAtTheThreshold) {
    std::mt19937 rng(7);
    for (float threshold : {0.5f, 0.3f}) {
        // Within the fast path's margin (1e-6) and just outside it.
        std::uniform_real_distribution<float> near(threshold - 3e-6f, threshold + 3e-6f);
        std::uniform_real_distribution<float> wide(threshold - 0.2f, threshold + 0.2f);
        for (int trial = 0; trial < 20; ++trial) {
            std::vector<float> p(32 * 32);
            for (size_t i = 0; i < p.size(); ++i) p[i] = (trial % 2 == 0 || i % 3 == 0) ? near(rng) : wide(rng);
            for (auto [oh, ow] : {std::pair<uint32_t, uint32_t>{480, 640}, {1080, 1920}, {333, 97}}) {
                Rle fast = mask_probabilities_to_rle(p, 32, 32, oh, ow, threshold);
                ASSERT_EQ(fast, mask_probabilities_to_rle_reference(p, 32, 32, oh, ow, threshold)) << trial;
                for (size_t k = 1; k + 1 < fast.counts.size(); ++k) ASSERT_GT(fast.counts[k], 0u);
                // Both kinds of pixels, in many runs (values this close to the threshold flip often).
                EXPECT_GT(rle_area(fast), 0u);
                EXPECT_LT(rle_area(fast), uint64_t{oh} * ow);
                EXPECT_GT(fast.counts.size(), 100u);
            }
        }
    }
}

TEST(Postprocess, MaskResizeOfAConstantMaskIsOneRun) {
    std::vector<float> ones(32 * 32, 0.99f), zeros(32 * 32, 0.01f);
    EXPECT_EQ(mask_probabilities_to_rle(ones, 32, 32, 100, 50, 0.5f).counts, (std::vector<uint32_t>{0, 5000}));
    EXPECT_EQ(mask_probabilities_to_rle(zeros, 32, 32, 100, 50, 0.5f).counts, (std::vector<uint32_t>{5000}));
}

TEST(Postprocess, ResizeKeepsValuesOnTheSameSizeAndInterpolatesBetween) {
    std::vector<float> v{0.0f, 1.0f, 2.0f, 3.0f};  // 2x2
    EXPECT_EQ(resize_bilinear_f32(v, 2, 2, 2, 2), v);
    std::vector<float> up = resize_bilinear_f32(v, 2, 2, 4, 4);
    ASSERT_EQ(up.size(), 16u);
    EXPECT_FLOAT_EQ(up[0], 0.0f);   // clamped at the corner
    EXPECT_FLOAT_EQ(up[1], 0.25f);  // a quarter of the way to the right neighbour
    EXPECT_FLOAT_EQ(up[15], 3.0f);
}

TEST(Postprocess, MaskResizeRejectsBadSizes) {
    std::vector<float> p(16, 0.5f);
    EXPECT_THROW(mask_probabilities_to_rle(p, 4, 5, 10, 10, 0.5f), Error);        // 16 values for 4x5
    EXPECT_THROW(mask_probabilities_to_rle(p, 4, 4, 0, 10, 0.5f), Error);         // empty output
    EXPECT_THROW(mask_probabilities_to_rle(p, 4, 4, 70000, 70000, 0.5f), Error);  // > 2^32 - 1 pixels
}

}  // namespace
}  // namespace chickenseg
