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

TEST(Postprocess, SigmoidInFloat) {
    EXPECT_EQ(sigmoid_f32(0.0f), 0.5f);
    EXPECT_NEAR(sigmoid_f32(2.0f), 0.880797, 1e-6);
    EXPECT_EQ(sigmoid_f32(-200.0f), 0.0f);
    EXPECT_EQ(sigmoid_f32(200.0f), 1.0f);
}

TEST(Postprocess, SelectQueriesKeepsAtThresholdHighestFirstTiesInQueryOrder) {
    // sigmoid(0) * 1.0 = 0.5 exactly: kept at threshold 0.5 (>=), as the reference compares.
    std::vector<float> logits{0.0f, 3.0f, -5.0f, 3.0f, 1.0f};
    auto kept = select_queries(logits, 1.0f, 0.5);
    ASSERT_EQ(kept.size(), 4u);
    EXPECT_EQ(kept[0].query, 1);
    EXPECT_EQ(kept[1].query, 3);  // the same score: query order
    EXPECT_EQ(kept[2].query, 4);
    EXPECT_EQ(kept[3].query, 0);
    EXPECT_EQ(kept[3].score, 0.5f);
    // The presence multiplies every score: at 0.5 nothing reaches 0.5 but a sure query.
    EXPECT_TRUE(select_queries(logits, 0.5f, 0.5).empty());
    EXPECT_EQ(select_queries(logits, 0.5f, 0.0).size(), logits.size());
    EXPECT_FLOAT_EQ(select_queries(logits, 0.5f, 0.0)[0].score, sigmoid_f32(3.0f) * 0.5f);
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

// Smooth blobs (what a mask head gives) plus noise near zero (where the threshold cuts).
std::vector<float> blob_logits(uint32_t h, uint32_t w, unsigned seed, float noise) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> out(size_t{h} * w);
    const float cx = u(rng) * w, cy = u(rng) * h, r = 1.0f + u(rng) * std::max(h, w) / 2.0f;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            const float d = std::hypot(x - cx, y - cy);
            out[size_t{y} * w + x] = (r - d) * 0.7f + noise * (u(rng) - 0.5f);
        }
    return out;
}

TEST(Postprocess, FastMaskResizeEqualsThePerPixelReference) {
    struct Size {
        uint32_t mh, mw, oh, ow;
    };
    const Size sizes[] = {{32, 32, 240, 320}, {32, 32, 17, 9},   {56, 56, 1080, 1920}, {8, 8, 8, 8},
                          {1, 1, 5, 7},       {5, 1, 30, 3},     {288, 288, 300, 200}, {32, 32, 1, 1},
                          {16, 24, 1000, 3}};
    size_t foreground = 0, background = 0;
    for (const auto& s : sizes)
        for (unsigned seed = 0; seed < 6; ++seed)
            for (float noise : {0.0f, 0.5f, 8.0f}) {
                std::vector<float> logits = blob_logits(s.mh, s.mw, seed * 31 + s.mh, noise);
                for (float threshold : {0.5f, 0.2f, 0.9f}) {
                    Rle fast = mask_logits_to_rle(logits, s.mh, s.mw, s.oh, s.ow, threshold);
                    Rle ref = mask_logits_to_rle_reference(logits, s.mh, s.mw, s.oh, s.ow, threshold);
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

TEST(Postprocess, MaskResizeOfAConstantMaskIsOneRun) {
    std::vector<float> ones(32 * 32, 5.0f), zeros(32 * 32, -5.0f);
    EXPECT_EQ(mask_logits_to_rle(ones, 32, 32, 100, 50, 0.5f).counts, (std::vector<uint32_t>{0, 5000}));
    EXPECT_EQ(mask_logits_to_rle(zeros, 32, 32, 100, 50, 0.5f).counts, (std::vector<uint32_t>{5000}));
}

TEST(Postprocess, MaskResizeRejectsBadSizes) {
    std::vector<float> logits(16, 0.0f);
    EXPECT_THROW(mask_logits_to_rle(logits, 4, 5, 10, 10, 0.5f), Error);   // 16 logits for 4x5
    EXPECT_THROW(mask_logits_to_rle(logits, 4, 4, 0, 10, 0.5f), Error);    // empty output
    EXPECT_THROW(mask_logits_to_rle(logits, 4, 4, 70000, 70000, 0.5f), Error);  // > 2^32 - 1 pixels
}

}  // namespace
}  // namespace chickenseg
