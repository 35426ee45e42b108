// Hard-negative stress test: statistics, percentiles (numpy's linear method) and
// the verdict at its boundaries.
#include "chickenseg/eval/negative_test.h"

#include <gtest/gtest.h>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

TEST(Percentile, MatchesNumpyLinear) {
    // numpy.percentile([0.9, 0, 0.2, 0.1], [0, 50, 95, 100]) = [0, 0.15, 0.795, 0.9]
    std::vector<double> v{0.9, 0.0, 0.2, 0.1};
    EXPECT_DOUBLE_EQ(percentile_linear(v, 0), 0.0);
    EXPECT_DOUBLE_EQ(percentile_linear(v, 50), 0.15);
    EXPECT_NEAR(percentile_linear(v, 95), 0.795, 1e-15);
    EXPECT_DOUBLE_EQ(percentile_linear(v, 100), 0.9);
    EXPECT_DOUBLE_EQ(percentile_linear({0.42}, 95), 0.42);
    EXPECT_THROW(percentile_linear({}, 50), Error);
    EXPECT_THROW(percentile_linear({1.0}, 101), Error);
}

TEST(NegativeTest, StatisticsAndHallucinations) {
    std::vector<NegativeImage> images{{1, 0, 0.01}, {2, 3, 0.95}, {3, 0, 0.02}, {4, 1, 0.7}, {5, 0, 0.7}};
    NegativeReport r = analyse_negatives(images, PresenceSource::presence_file);
    EXPECT_EQ(r.image_count, 5u);
    EXPECT_EQ(r.detections_total, 4u);
    EXPECT_DOUBLE_EQ(*r.detections_mean, 0.8);
    EXPECT_EQ(r.detections_max, 3u);
    EXPECT_EQ(r.images_with_detections, 2u);
    EXPECT_DOUBLE_EQ(*r.pass_rate, 0.6);
    EXPECT_DOUBLE_EQ(*r.presence_mean, (0.01 + 0.95 + 0.02 + 0.7 + 0.7) / 5);
    EXPECT_DOUBLE_EQ(*r.presence_p50, 0.7);
    EXPECT_DOUBLE_EQ(*r.presence_max, 0.95);
    ASSERT_EQ(r.hallucination_count, 3u);
    // Highest presence first, ties by image id.
    EXPECT_EQ(r.hallucinations[0].image_id, 2);
    EXPECT_EQ(r.hallucinations[1].image_id, 4);
    EXPECT_EQ(r.hallucinations[2].image_id, 5);
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.failures.size(), 2u);
}

TEST(NegativeTest, PassRateBoundaryIsInclusiveMeanPresenceMustBeStrictlyBelow) {
    // 10 images, 1 with a detection: pass rate exactly 0.9; presence mean exactly 0.1, which
    // the plan's criterion (mean presence < 0.1) does not accept.
    std::vector<NegativeImage> images;
    for (int i = 0; i < 10; ++i) images.push_back({i, i == 0 ? 1u : 0u, i == 0 ? 1.0 : 0.0});
    NegativeReport r = analyse_negatives(images, PresenceSource::max_prediction_score);
    EXPECT_DOUBLE_EQ(*r.pass_rate, 0.9);
    EXPECT_DOUBLE_EQ(*r.presence_mean, 0.1);
    EXPECT_TRUE(r.pass_rate_ok);
    EXPECT_FALSE(r.mean_presence_ok);
    EXPECT_FALSE(r.passed);
    ASSERT_EQ(r.failures.size(), 1u);
    EXPECT_EQ(r.failures[0], "mean presence 0.1 is not below max-mean-presence 0.1");
    EXPECT_EQ(r.hallucination_count, 1u);  // 1.0 > 0.5, reported but not failing
    // Just below the limit passes; equal within 1e-9 is equal.
    EXPECT_TRUE(mean_presence_below(0.0999999, 0.1));
    EXPECT_FALSE(mean_presence_below(0.1 - 1e-12, 0.1));
    NegativeParams loose;
    loose.max_mean_presence = 0.1000001;
    EXPECT_TRUE(analyse_negatives(images, PresenceSource::max_prediction_score, loose).passed);

    NegativeParams strict = loose;
    strict.min_pass_rate = 0.95;
    strict.hallucination_presence = 1.0;  // presence must be strictly greater
    NegativeReport s = analyse_negatives(images, PresenceSource::max_prediction_score, strict);
    EXPECT_FALSE(s.pass_rate_ok);
    EXPECT_TRUE(s.mean_presence_ok);
    EXPECT_FALSE(s.passed);
    EXPECT_EQ(s.hallucination_count, 0u);
    ASSERT_EQ(s.failures.size(), 1u);
    EXPECT_NE(s.failures[0].find("pass rate 0.9 < min-pass-rate 0.95"), std::string::npos);
}

TEST(NegativeTest, EmptySetFailsWithReason) {
    NegativeReport r = analyse_negatives({}, PresenceSource::presence_file);
    EXPECT_EQ(r.image_count, 0u);
    EXPECT_FALSE(r.pass_rate);
    EXPECT_FALSE(r.presence_mean);
    EXPECT_FALSE(r.passed);
    ASSERT_EQ(r.failures.size(), 1u);
}

TEST(NegativeTest, OrderDoesNotMatter) {
    std::vector<NegativeImage> a{{1, 0, 0.3}, {2, 2, 0.8}, {3, 0, 0.1}};
    std::vector<NegativeImage> b{a[2], a[0], a[1]};
    NegativeReport ra = analyse_negatives(a, PresenceSource::presence_file);
    NegativeReport rb = analyse_negatives(b, PresenceSource::presence_file);
    EXPECT_EQ(*ra.presence_p95, *rb.presence_p95);
    EXPECT_EQ(*ra.presence_mean, *rb.presence_mean);
    EXPECT_EQ(ra.hallucinations[0].image_id, rb.hallucinations[0].image_id);
}

}  // namespace
}  // namespace chickenseg
