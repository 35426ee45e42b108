// SA-Co metrics on hand-computed cases (REFERENCE §3), under both epsilon
// conventions. Masks are axis-aligned rectangles, so every IoU is exact.
#include "chickenseg/eval/saco_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

constexpr uint32_t kH = 20, kW = 40;

Rle rect(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1) {
    std::vector<uint8_t> m(kH * kW, 0);
    for (uint32_t x = x0; x < x1; ++x)
        for (uint32_t y = y0; y < y1; ++y) m[x * kH + y] = 1;  // column-major
    return rle_encode(m, kH, kW);
}

struct Builder {
    SacoDataset gt;
    PredictionSet preds;
    int64_t next_ann = 1;

    Builder& image(int64_t id, int exhaustive = 1) {
        SacoImage im;
        im.id = id;
        im.file_name = "im" + std::to_string(id) + ".jpg";
        im.width = kW;
        im.height = kH;
        im.text_input = "chicken";
        im.is_instance_exhaustive = exhaustive;
        gt.images.push_back(im);
        return *this;
    }
    Builder& object(int64_t image_id, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, int crowd = 0) {
        SacoAnnotation a;
        a.id = next_ann++;
        a.image_id = image_id;
        a.segmentation.is_rle = true;
        a.segmentation.rle = rle_compress(rect(x0, y0, x1, y1));
        a.bbox = {double(x0), double(y0), double(x1 - x0), double(y1 - y0)};
        a.iscrowd = crowd;
        gt.annotations.push_back(a);
        return *this;
    }
    Builder& pred(int64_t image_id, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, double score) {
        Prediction p;
        p.index = preds.predictions.size();
        p.image_id = image_id;
        p.has_mask = true;
        p.mask = rle_compress(rect(x0, y0, x1, y1));
        p.bbox = {double(x0), double(y0), double(x1 - x0), double(y1 - y0)};
        p.bbox_given = true;
        p.score = score;
        preds.predictions.push_back(p);
        return *this;
    }
    EvalResult eval(EpsilonConvention e, unsigned threads = 1) const {
        EvalParams params;
        params.epsilon = e;
        params.threads = threads;
        return evaluate_saco(gt, preds, nullptr, params, "gt.json");
    }
};

constexpr auto kNone = EpsilonConvention::none;
constexpr auto kOfficial = EpsilonConvention::official;

double off_f1(double tp, double fp, double fn) {
    double p = tp / (tp + fp + 1e-4), r = tp / (tp + fn + 1e-4);
    return 2 * p * r / (p + r + 1e-4);
}

TEST(IouThresholds, MatchNumpyLinspace) {
    const auto& t = iou_thresholds();
    ASSERT_EQ(t.size(), 10u);
    EXPECT_EQ(t[0], 0.5);
    EXPECT_EQ(t[2], 0.6);
    EXPECT_EQ(t[8], 0.8999999999999999);  // numpy.linspace(0.5, 0.95, 10)[8], not 0.9
    EXPECT_EQ(t[5], 0.75);
    EXPECT_EQ(t[9], 0.95);
}

TEST(SacoMetrics, AllPositiveSetLeavesMccUndefinedWithoutEpsilon) {
    // Image 1: perfect prediction. Image 2: GT, no prediction.
    Builder b;
    b.image(1).image(2).object(1, 0, 0, 10, 10).object(2, 0, 0, 10, 10).pred(1, 0, 0, 10, 10, 0.9);
    EvalResult r = b.eval(kNone);
    EXPECT_EQ(r.image_level.tp, 1u);
    EXPECT_EQ(r.image_level.fn, 1u);
    EXPECT_EQ(r.image_level.tn + r.image_level.fp, 0u);
    EXPECT_FALSE(r.image_level.mcc.value);
    EXPECT_NE(r.image_level.mcc.reason.find("no negative pairs"), std::string::npos);
    EXPECT_FALSE(r.image_level.fpr.value);
    ASSERT_TRUE(r.segm);
    EXPECT_DOUBLE_EQ(*r.segm->pm_f1.value, 2.0 / 3.0);  // TP 1, FP 0, FN 1 at every threshold
    EXPECT_FALSE(r.segm->cgf1.value);
    EXPECT_DOUBLE_EQ(*r.segm->positive_macro_f1.value, 1.0);  // only image 1 has GT and predictions
    EXPECT_FALSE(r.negatives);

    EvalResult o = b.eval(kOfficial);
    EXPECT_DOUBLE_EQ(*o.image_level.mcc.value, 0.0);  // 0 / (0 + 1e-6)
    EXPECT_DOUBLE_EQ(*o.segm->cgf1.value, 0.0);
    EXPECT_DOUBLE_EQ(*o.segm->pm_f1.value, off_f1(1, 0, 1));
}

TEST(SacoMetrics, AllNegativeSet) {
    Builder b;
    b.image(1).image(2).image(3).pred(1, 0, 0, 5, 5, 0.9).pred(2, 0, 0, 5, 5, 0.3);
    EvalResult r = b.eval(kNone);
    EXPECT_EQ(r.image_level.fp, 1u);
    EXPECT_EQ(r.image_level.tn, 2u);
    EXPECT_FALSE(r.image_level.mcc.value);
    EXPECT_DOUBLE_EQ(*r.image_level.fpr.value, 1.0 / 3.0);
    EXPECT_FALSE(r.segm->pm_f1.value);  // no positive pair
    EXPECT_FALSE(r.segm->recall.value);
    EXPECT_DOUBLE_EQ(*r.segm->precision.value, 0.0);  // 1 FP on a negative
    EXPECT_FALSE(r.segm->positive_macro_f1.value);
    ASSERT_TRUE(r.negatives);
    EXPECT_EQ(r.negatives->image_count, 3u);
    EXPECT_EQ(r.negatives->presence_source, PresenceSource::max_prediction_score);
    EXPECT_DOUBLE_EQ(*r.negatives->pass_rate, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(*r.negatives->presence_mean, (0.9 + 0.3 + 0.0) / 3);
    EXPECT_FALSE(r.negatives->passed);

    EvalResult o = b.eval(kOfficial);
    EXPECT_DOUBLE_EQ(*o.segm->pm_f1.value, 0.0);
    EXPECT_DOUBLE_EQ(*o.image_level.fpr.value, 1.0 / (3.0 + 1e-6));
    EXPECT_FALSE(o.segm->positive_macro_f1.value);  // 0/0 in the official code too
}

TEST(SacoMetrics, EmptyPredictions) {
    Builder b;
    b.image(1).image(2).object(1, 0, 0, 10, 10).object(1, 20, 0, 30, 10);
    EvalResult r = b.eval(kNone);
    for (const auto& t : r.segm->per_threshold) {
        EXPECT_EQ(t.tp, 0u);
        EXPECT_EQ(t.fn, 2u);
        EXPECT_EQ(t.fp, 0u);
    }
    EXPECT_FALSE(r.segm->precision.value);
    EXPECT_DOUBLE_EQ(*r.segm->recall.value, 0.0);
    EXPECT_DOUBLE_EQ(*r.segm->pm_f1.value, 0.0);
    EXPECT_FALSE(r.image_level.mcc.value);  // no pair has a kept prediction
    EXPECT_EQ(r.image_level.fn, 1u);
    EXPECT_EQ(r.image_level.tn, 1u);
    EXPECT_DOUBLE_EQ(*r.negatives->pass_rate, 1.0);
    EXPECT_TRUE(r.negatives->passed);
}

TEST(SacoMetrics, ScoreExactlyAtThresholdIsKept) {
    Builder b;
    b.image(1).object(1, 0, 0, 10, 10).pred(1, 0, 0, 10, 10, 0.5).pred(1, 20, 0, 30, 10, std::nextafter(0.5, 0.0));
    EvalResult r = b.eval(kNone);
    ASSERT_EQ(r.images.size(), 1u);
    EXPECT_EQ(r.images[0].kept_count(), 1u);
    EXPECT_EQ(r.images[0].prediction_count, 2u);
    EXPECT_EQ(r.segm->per_threshold[9].tp, 1u);
    EXPECT_EQ(r.segm->per_threshold[9].fp, 0u);
}

TEST(SacoMetrics, CrowdGtIsIgnoredAndPredictionOnItStaysFalsePositive) {
    Builder b;
    b.image(1).object(1, 0, 0, 10, 10).object(1, 20, 0, 40, 20, /*crowd=*/1);
    b.pred(1, 0, 0, 10, 10, 0.9).pred(1, 20, 0, 40, 20, 0.8);
    EvalResult r = b.eval(kNone);
    EXPECT_EQ(r.images[0].gt_count, 1u);
    EXPECT_EQ(r.images[0].crowd_count, 1u);
    EXPECT_EQ(r.counts.crowd_regions, 1u);
    EXPECT_EQ(r.segm->per_threshold[0].tp, 1u);
    EXPECT_EQ(r.segm->per_threshold[0].fp, 1u);
    EXPECT_EQ(r.segm->per_threshold[0].fn, 0u);

    // An image whose only GT is crowd is a negative pair.
    Builder c;
    c.image(1).object(1, 0, 0, 10, 10, 1);
    EvalResult rc = c.eval(kNone);
    EXPECT_EQ(rc.counts.negative_pairs, 1u);
    EXPECT_EQ(rc.image_level.tn, 1u);
}

TEST(SacoMetrics, OnePredictionCoveringTwoGt) {
    // GT [0,10)x[0,10) and [10,20)x[0,10); prediction [0,20)x[0,10): IoU 0.5 with each.
    Builder b;
    b.image(1).object(1, 0, 0, 10, 10).object(1, 10, 0, 20, 10).pred(1, 0, 0, 20, 10, 0.9);
    for (auto e : {kNone, kOfficial}) {
        EvalResult r = b.eval(e);
        const auto& m = r.images[0].segm->matching;
        ASSERT_EQ(m.matches.size(), 1u);
        EXPECT_DOUBLE_EQ(m.matches[0].iou, 0.5);
        EXPECT_EQ(m.tp[0], 1u);  // 0.5 >= 0.5
        for (size_t t = 1; t < kIouThresholdCount; ++t) EXPECT_EQ(m.tp[t], 0u);
        EXPECT_EQ(m.fn_at(0), 1u);
        EXPECT_EQ(m.fn_at(1), 2u);
        EXPECT_EQ(m.fp_at(1), 1u);
        EXPECT_DOUBLE_EQ(m.best_iou_per_gt[0], 0.5);
        EXPECT_DOUBLE_EQ(m.best_iou_per_gt[1], 0.5);
        // bbox IoU is the same here.
        EXPECT_EQ(r.images[0].bbox->matching.tp, m.tp);
    }
    EvalResult r = b.eval(kNone);
    // pmF1(0.5) = 2/(2+0+1); pmF1(t>0.5) = 0; mean = (2/3)/10.
    EXPECT_DOUBLE_EQ(*r.segm->per_threshold[0].pm_f1.value, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(*r.segm->pm_f1.value, (2.0 / 3.0) / 10);
}

TEST(SacoMetrics, FalsePositivesOnNegativesStayOutOfPmF1) {
    Builder b;
    b.image(1).image(2).object(1, 0, 0, 10, 10).pred(1, 0, 0, 10, 10, 0.9).pred(2, 0, 0, 10, 10, 0.9);
    EvalResult r = b.eval(kNone);
    const auto& t = r.segm->per_threshold[0];
    EXPECT_EQ(t.fp, 1u);
    EXPECT_EQ(t.pm_fp, 0u);
    EXPECT_DOUBLE_EQ(*t.pm_f1.value, 1.0);
    EXPECT_DOUBLE_EQ(*t.precision.value, 0.5);
    EXPECT_DOUBLE_EQ(*t.f1.value, 2.0 / 3.0);
    // IL: TP 1, FP 1, TN 0, FN 0 -> MCC denominator has (TN + FN) = 0.
    EXPECT_FALSE(r.image_level.mcc.value);

    EvalResult o = b.eval(kOfficial);
    double p = 1 / (1 + 1e-4), rr = 1 / (1 + 1e-4);
    EXPECT_DOUBLE_EQ(*o.segm->pm_f1.value, 2 * p * rr / (p + rr + 1e-4));
}

TEST(SacoMetrics, CgF1IsPmF1TimesMccOnAMixedSet) {
    // 2 positive pairs (one found, one missed), 2 negatives (one clean, one with a FP).
    Builder b;
    b.image(1).image(2).image(3).image(4);
    b.object(1, 0, 0, 10, 10).object(2, 0, 0, 10, 10);
    b.pred(1, 0, 0, 10, 10, 0.9).pred(3, 0, 0, 5, 5, 0.7);
    EvalResult r = b.eval(kNone);
    // IL: TP 1, FN 1, FP 1, TN 1 -> MCC = (1 - 1) / 4 = 0.
    EXPECT_DOUBLE_EQ(*r.image_level.mcc.value, 0.0);
    EXPECT_DOUBLE_EQ(*r.image_level.precision.value, 0.5);
    EXPECT_DOUBLE_EQ(*r.image_level.recall.value, 0.5);
    EXPECT_DOUBLE_EQ(*r.segm->pm_f1.value, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(*r.segm->cgf1.value, 0.0);

    // Make the negative clean: MCC = (1*2 - 0*1) / sqrt(1*2*2*3) = 2/sqrt(12).
    Builder c = b;
    c.preds.predictions.pop_back();
    EvalResult rc = c.eval(kNone);
    double mcc = 2 / std::sqrt(12.0);
    EXPECT_DOUBLE_EQ(*rc.image_level.mcc.value, mcc);
    EXPECT_DOUBLE_EQ(*rc.segm->cgf1.value, 2.0 / 3.0 * mcc);
    EvalResult ro = c.eval(kOfficial);
    EXPECT_DOUBLE_EQ(*ro.image_level.mcc.value, 2 / (std::sqrt(12.0) + 1e-6));
    EXPECT_DOUBLE_EQ(*ro.segm->cgf1.value, off_f1(1, 0, 1) * (2 / (std::sqrt(12.0) + 1e-6)));
}

TEST(SacoMetrics, CgF1UsesPmF1NotF1WhenTheyDiffer) {
    // The cases above have MCC = 0 or no false positive on a negative image, so F1 equals pmF1
    // there and cgF1 = F1 x MCC (wrong) passed them. Here a negative image holds a false
    // positive and MCC != 0: F1, pmF1 and the two products all differ.
    // Positives 1, 2, 3 (3 missed); negatives 4 (a false positive), 5, 6.
    Builder b;
    for (int64_t id = 1; id <= 6; ++id) b.image(id);
    b.object(1, 0, 0, 10, 10).object(2, 0, 0, 10, 10).object(3, 0, 0, 10, 10);
    b.pred(1, 0, 0, 10, 10, 0.9).pred(2, 0, 0, 10, 10, 0.9).pred(4, 0, 0, 10, 10, 0.8);
    EvalResult r = b.eval(kNone);
    // IL: TP 2, FN 1, FP 1, TN 2 -> MCC = (2*2 - 1*1) / sqrt(3*3*3*3) = 1/3.
    const double mcc = 1.0 / 3.0;
    EXPECT_DOUBLE_EQ(*r.image_level.mcc.value, mcc);
    const auto& t = r.segm->per_threshold[0];
    EXPECT_EQ(t.tp, 2u);
    EXPECT_EQ(t.fp, 1u);
    EXPECT_EQ(t.pm_fp, 0u);
    EXPECT_EQ(t.fn, 1u);
    EXPECT_DOUBLE_EQ(*r.segm->f1.value, 4.0 / 6.0);     // 2TP / (2TP + FP + FN)
    EXPECT_DOUBLE_EQ(*r.segm->pm_f1.value, 4.0 / 5.0);  // the negative's FP left out
    EXPECT_DOUBLE_EQ(*r.segm->cgf1.value, 4.0 / 5.0 * mcc);
    EXPECT_NE(*r.segm->cgf1.value, *r.segm->f1.value * mcc);
    for (const auto& th : r.segm->per_threshold) EXPECT_DOUBLE_EQ(*th.cgf1.value, 4.0 / 5.0 * mcc);

    EvalResult o = b.eval(kOfficial);
    const double mcc_official = 3.0 / (9.0 + 1e-6);
    EXPECT_DOUBLE_EQ(*o.image_level.mcc.value, mcc_official);
    EXPECT_DOUBLE_EQ(*o.segm->cgf1.value, off_f1(2, 0, 1) * mcc_official);
    EXPECT_DOUBLE_EQ(*o.segm->f1.value, off_f1(2, 1, 1));

    // A false positive on a positive image (image 2) counts in pmF1 too; IL is unchanged.
    Builder c = b;
    c.pred(2, 20, 0, 30, 10, 0.9);
    EvalResult rc = c.eval(kNone);
    EXPECT_DOUBLE_EQ(*rc.image_level.mcc.value, mcc);
    EXPECT_EQ(rc.segm->per_threshold[0].pm_fp, 1u);
    EXPECT_DOUBLE_EQ(*rc.segm->f1.value, 4.0 / 7.0);
    EXPECT_DOUBLE_EQ(*rc.segm->pm_f1.value, 4.0 / 6.0);
    EXPECT_DOUBLE_EQ(*rc.segm->cgf1.value, 4.0 / 6.0 * mcc);
    EXPECT_DOUBLE_EQ(*rc.bbox->cgf1.value, 4.0 / 6.0 * mcc);
}

TEST(SacoMetrics, NonExhaustivePairsAreSkipped) {
    Builder b;
    b.image(1).image(2, /*exhaustive=*/0).object(1, 0, 0, 10, 10).object(2, 0, 0, 10, 10);
    b.pred(1, 0, 0, 10, 10, 0.9).pred(2, 20, 0, 30, 10, 0.9);
    EvalResult r = b.eval(kNone);
    EXPECT_EQ(r.counts.evaluated_pairs, 1u);
    EXPECT_EQ(r.counts.skipped_not_exhaustive, 1u);
    EXPECT_EQ(r.counts.predictions_on_skipped, 1u);
    EXPECT_EQ(r.segm->per_threshold[0].fp, 0u);
    EXPECT_EQ(r.segm->per_threshold[0].fn, 0u);
    ASSERT_EQ(r.images.size(), 1u);
    EXPECT_EQ(r.images[0].image_id, 1);
}

TEST(SacoMetrics, ResultDoesNotDependOnThreads) {
    Builder b;
    for (int i = 0; i < 200; ++i) {
        b.image(i);
        if (i % 3) b.object(i, i % 20, 0, i % 20 + 10, 10);
        if (i % 4) b.pred(i, (i * 7) % 25, 0, (i * 7) % 25 + 10, 10, 0.3 + (i % 7) * 0.1);
    }
    json one = eval_result_to_json(b.eval(kOfficial, 1), {}, true);
    json four = eval_result_to_json(b.eval(kOfficial, 4), {}, true);
    EXPECT_EQ(one.dump(), four.dump());
}

TEST(SacoMetrics, NegativesOnlyRejectsGtWithInstances) {
    Builder b;
    b.image(1).image(2).object(2, 0, 0, 5, 5);
    EvalParams p;
    p.negatives_only = true;
    try {
        evaluate_saco(b.gt, b.preds, nullptr, p, "holdout.json");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "holdout.json");
        EXPECT_NE(std::string(e.what()).find("image id 2"), std::string::npos);
    }
    Builder n;
    n.image(1).image(2).pred(1, 0, 0, 5, 5, 0.2);
    EvalResult r = evaluate_saco(n.gt, n.preds, nullptr, p, "holdout.json");
    EXPECT_FALSE(r.segm);
    ASSERT_TRUE(r.negatives);
    EXPECT_DOUBLE_EQ(*r.negatives->presence_mean, 0.1);
    EXPECT_DOUBLE_EQ(*r.negatives->pass_rate, 1.0);
    EXPECT_FALSE(r.negatives->passed);  // a mean presence of exactly 0.1 is not below 0.1
    EXPECT_FALSE(r.negatives->mean_presence_ok);
}

TEST(SacoMetrics, PresenceFileDrivesNegativesAndMustCoverEveryImage) {
    Builder b;
    b.image(1).image(2).pred(1, 0, 0, 5, 5, 0.9);
    PresenceScores presence;
    presence.file = "presence.json";
    presence.by_image = {{1, 0.05}, {2, 0.01}};
    EvalParams p;
    EvalResult r = evaluate_saco(b.gt, b.preds, &presence, p, "gt.json");
    EXPECT_EQ(r.negatives->presence_source, PresenceSource::presence_file);
    EXPECT_DOUBLE_EQ(*r.negatives->presence_mean, 0.03);
    presence.by_image.erase(2);
    EXPECT_THROW(evaluate_saco(b.gt, b.preds, &presence, p, "gt.json"), Error);
}

TEST(SacoMetrics, GtChecks) {
    Builder b;
    b.image(1).image(1);
    try {
        check_eval_gt(b.gt, "gt.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.place().field, "images[1].id");
        EXPECT_NE(std::string(e.what()).find("duplicate image id 1"), std::string::npos);
    }
    Builder c;
    c.image(1).object(7, 0, 0, 1, 1);
    EXPECT_THROW(check_eval_gt(c.gt, "gt.json"), Error);
    Builder d;
    d.image(1, 2);
    EXPECT_THROW(check_eval_gt(d.gt, "gt.json"), Error);
}

TEST(SacoMetrics, JsonNamesUndefinedMetricsWithReasons) {
    Builder b;
    b.image(1).object(1, 0, 0, 10, 10).pred(1, 0, 0, 10, 10, 0.9);
    json j = eval_result_to_json(b.eval(kNone), {{"gt", "gt.json", "abc"}}, false);
    EXPECT_EQ(j["schema"], kMetricsSchema);
    EXPECT_EQ(j["convention"]["epsilon"], "none");
    EXPECT_TRUE(j["segm"]["cgF1"].is_null());
    EXPECT_TRUE(j["segm"]["undefined"]["cgF1"].is_string());
    EXPECT_TRUE(j["image_level"]["IL_MCC"].is_null());
    EXPECT_DOUBLE_EQ(j["segm"]["pmF1"].get<double>(), 1.0);
    EXPECT_EQ(j["inputs"]["gt"]["sha256"], "abc");
    EXPECT_FALSE(j.contains("images"));
    EXPECT_FALSE(j.contains("negatives"));
}

}  // namespace
}  // namespace chickenseg
