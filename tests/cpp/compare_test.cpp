// The promotion gate: relative vs absolute improvement, the strict boundaries
// (exactly 5% and a pass rate of exactly 0.9 reject), undefined metrics, missing
// negatives, incomparable files; and reading metrics files (chickenseg.metrics/1).
#include <gtest/gtest.h>

#include "chickenseg/core/error.h"
#include "chickenseg/eval/compare.h"
#include "chickenseg/eval/saco_metrics.h"

namespace chickenseg {
namespace {

// A metrics document as `chickenseg eval` writes it (cgF1/pmF1 as fractions).
json metrics_doc(json cgf1, json pass_rate, const std::string& gt_sha = "aa") {
    json doc = {{"schema", kMetricsSchema},
                {"tool", "chickenseg 0.1.0 (test)"},
                {"score_threshold", 0.5},
                {"convention", {{"epsilon", "official"}}},
                {"inputs",
                 {{"gt", {{"path", "val.json"}, {"sha256", gt_sha}}},
                  {"predictions", {{"path", "pred.json"}, {"sha256", "cc"}}}}},
                {"segm", {{"cgF1", cgf1}, {"cgF1@0.5", 0.6}, {"cgF1@0.75", 0.4}, {"pmF1", 0.7}}},
                {"image_level", {{"IL_MCC", 0.8}, {"IL_precision", 0.9}, {"IL_recall", 0.95}, {"IL_FPR", 0.05}}},
                {"negatives",
                 {{"image_count", 10},
                  {"pass_rate", pass_rate},
                  {"presence_source", "presence_file"},
                  {"presence", {{"mean", 0.05}, {"p50", 0.01}, {"p95", 0.2}, {"max", 0.6}}},
                  {"hallucinations", {{"count", 1}, {"images", json::array()}}}}}};
    if (cgf1.is_null()) doc["segm"]["undefined"] = {{"cgF1", "IL_MCC undefined: no negative pairs"}};
    return doc;
}

MetricsSummary summary(json cgf1, json pass_rate, const std::string& file = "m.json") {
    MetricsSummary m = metrics_summary_from_json(metrics_doc(cgf1, pass_rate), file, IouType::segm);
    m.sha256 = "sha-of-" + file;
    return m;
}

const GateCheck& check_named(const GateDecision& d, const std::string& name) {
    for (const auto& c : d.checks)
        if (c.name == name) return c;
    throw std::runtime_error("no check " + name);
}

TEST(MetricsSummary, ReadsTheEvalSchemaAndScalesF1x100) {
    MetricsSummary m = summary(0.412, 0.95);
    ASSERT_TRUE(m.cgf1);
    EXPECT_DOUBLE_EQ(*m.cgf1, 41.2);
    EXPECT_DOUBLE_EQ(*m.cgf1_50, 60.0);
    EXPECT_DOUBLE_EQ(*m.pmf1, 70.0);
    EXPECT_DOUBLE_EQ(*m.il_mcc, 0.8);
    EXPECT_DOUBLE_EQ(*m.il_fpr, 0.05);
    EXPECT_TRUE(m.has_iou_type);
    EXPECT_TRUE(m.has_negatives);
    EXPECT_DOUBLE_EQ(*m.pass_rate, 0.95);
    EXPECT_DOUBLE_EQ(*m.presence_p95, 0.2);
    EXPECT_DOUBLE_EQ(*m.hallucinations, 1);
    EXPECT_EQ(*m.gt_sha256, "aa");
    EXPECT_FALSE(m.dataset_version);
}

TEST(MetricsSummary, NullMetricKeepsTheFilesReason) {
    MetricsSummary m = summary(nullptr, 0.95);
    EXPECT_FALSE(m.cgf1);
    EXPECT_EQ(m.undefined_reasons.at("cgF1"), "IL_MCC undefined: no negative pairs");
}

TEST(MetricsSummary, DatasetVersionIsPickedUpWhenPresent) {
    json doc = metrics_doc(0.4, 0.95);
    doc["dataset_version"] = "v3-abc";
    EXPECT_EQ(*metrics_summary_from_json(doc, "m.json", IouType::segm).dataset_version, "v3-abc");
}

TEST(MetricsSummary, RejectsOtherSchemasAndWrongTypesWithThePath) {
    json doc = metrics_doc(0.4, 0.95);
    doc["schema"] = "chickenseg.saco/1";
    try {
        metrics_summary_from_json(doc, "base.json", IouType::segm);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "base.json");
        EXPECT_EQ(e.place().field, "schema");
    }
    doc = metrics_doc(0.4, 0.95);
    doc["segm"]["cgF1"] = "high";
    try {
        metrics_summary_from_json(doc, "base.json", IouType::segm);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().field, "segm.cgF1");
        EXPECT_NE(std::string(e.what()).find("expected a number or null"), std::string::npos);
    }
    EXPECT_THROW(metrics_summary_from_json(json::array(), "x.json", IouType::segm), Error);
}

// What field and message metrics_summary_from_json gives for `doc` ("" when it accepts it).
std::pair<std::string, std::string> refusal(const json& doc) {
    try {
        metrics_summary_from_json(doc, "m.json", IouType::segm);
    } catch (const Error& e) {
        return {e.place().field, e.what()};
    }
    return {"", ""};
}

TEST(MetricsSummary, EveryMetricMustLieInItsRange) {
    // A hand-edited file claiming cgF1 = 1e308 and a pass rate of 5 was promoted.
    json doc = metrics_doc(0.4, 0.95);
    doc["segm"]["cgF1"] = 1e308;
    auto [field, what] = refusal(doc);
    EXPECT_EQ(field, "segm.cgF1");
    EXPECT_NE(what.find("expected a number in [-1, 1], found 1e+308"), std::string::npos) << what;
    EXPECT_EQ(refusal(metrics_doc(0.4, 5.0)).first, "negatives.pass_rate");
    struct Case {
        std::vector<std::string> path;
        json value;
    };
    for (const Case& c : std::vector<Case>{{{"segm", "cgF1"}, -1.01},
                                           {{"segm", "cgF1@0.75"}, 1.5},
                                           {{"segm", "pmF1"}, -0.1},
                                           {{"image_level", "IL_MCC"}, 1.2},
                                           {{"image_level", "IL_FPR"}, -0.5},
                                           {{"negatives", "presence", "mean"}, 1.5},
                                           {{"negatives", "presence", "max"}, -1},
                                           {{"negatives", "image_count"}, 2.5},
                                           {{"negatives", "image_count"}, -1},
                                           {{"negatives", "hallucinations", "count"}, 11},
                                           {{"score_threshold"}, 2}}) {
        json bad = metrics_doc(0.4, 0.95);
        json* v = &bad;
        std::string path;
        for (const auto& k : c.path) {
            v = &(*v)[k];
            path += (path.empty() ? "" : ".") + k;
        }
        *v = c.value;
        EXPECT_EQ(refusal(bad).first, path) << path << " = " << c.value.dump() << ": " << refusal(bad).second;
    }
    // The extremes are fine: cgF1 -1 (MCC -1) and 1, a pass rate of 0, presence 1.
    json edge = metrics_doc(-1.0, 0.0);
    edge["negatives"]["presence"]["max"] = 1.0;
    EXPECT_EQ(refusal(edge).first, "");
    EXPECT_EQ(refusal(metrics_doc(1.0, 1.0)).first, "");
}

TEST(MetricsSummary, OnlyFilesWrittenByEvalAreRead) {
    json doc = metrics_doc(0.4, 0.95);
    doc.erase("tool");
    auto [field, what] = refusal(doc);
    EXPECT_EQ(field, "tool");
    EXPECT_NE(what.find("not written by `chickenseg eval`"), std::string::npos) << what;
    doc["tool"] = "my-script";
    EXPECT_EQ(refusal(doc).first, "tool");
    doc = metrics_doc(0.4, 0.95);
    doc["inputs"].erase("predictions");
    EXPECT_EQ(refusal(doc).first, "inputs.predictions.sha256");
    doc = metrics_doc(0.4, 0.95);
    doc.erase("inputs");
    EXPECT_EQ(refusal(doc).first, "inputs.gt.sha256");
    doc = metrics_doc(0.4, 0.95);
    doc["convention"]["epsilon"] = "generous";
    EXPECT_EQ(refusal(doc).first, "convention.epsilon");
}

TEST(Gate, RelativeImprovementAboveFivePercentPromotes) {
    GateDecision d = decide_promotion(summary(0.40, 0.95), summary(0.43, 0.95), GateParams{});
    EXPECT_TRUE(d.promote);
    ASSERT_TRUE(d.improvement);
    EXPECT_NEAR(*d.improvement, 7.5, 1e-9);  // (43 - 40) / 40
    EXPECT_TRUE(d.reasons.empty());
    EXPECT_NE(check_named(d, "cgF1 improvement").detail.find("relative +7.50%"), std::string::npos);
}

TEST(Gate, ExactlyFivePercentRelativeRejects) {
    // 40 -> 42 is exactly +5%: not MORE than 5%.
    GateDecision d = decide_promotion(summary(0.40, 0.95), summary(0.42, 0.95), GateParams{});
    EXPECT_FALSE(d.promote);
    EXPECT_NEAR(*d.improvement, 5.0, 1e-9);
    EXPECT_FALSE(check_named(d, "cgF1 improvement").passed);
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_NE(d.reasons[0].find("cgF1 improvement"), std::string::npos);
    // A hair above passes.
    EXPECT_TRUE(decide_promotion(summary(0.40, 0.95), summary(0.4201, 0.95), GateParams{}).promote);
}

TEST(Gate, AbsoluteModeComparesPoints) {
    GateParams p;
    p.improvement = ImprovementMode::absolute;
    // +3 points is +7.5% relative but not more than 5 points.
    GateDecision d = decide_promotion(summary(0.40, 0.95), summary(0.43, 0.95), p);
    EXPECT_FALSE(d.promote);
    EXPECT_NEAR(*d.improvement, 3.0, 1e-9);
    EXPECT_NE(check_named(d, "cgF1 improvement").detail.find("absolute +3.00 points"), std::string::npos);
    // Exactly 5 points rejects, 5.1 promotes.
    EXPECT_FALSE(decide_promotion(summary(0.40, 0.95), summary(0.45, 0.95), p).promote);
    EXPECT_TRUE(decide_promotion(summary(0.40, 0.95), summary(0.451, 0.95), p).promote);
    // A low baseline: +2 points is +20% relative (promotes) but not 5 points (rejects).
    EXPECT_TRUE(decide_promotion(summary(0.10, 0.95), summary(0.12, 0.95), GateParams{}).promote);
    EXPECT_FALSE(decide_promotion(summary(0.10, 0.95), summary(0.12, 0.95), p).promote);
}

TEST(Gate, PassRateMustBeMoreThanTheMinimum) {
    GateDecision exact = decide_promotion(summary(0.40, 0.95), summary(0.50, 9.0 / 10.0), GateParams{});
    EXPECT_FALSE(exact.promote);
    EXPECT_FALSE(check_named(exact, "hard-negative pass rate").passed);
    EXPECT_TRUE(check_named(exact, "cgF1 improvement").passed);
    EXPECT_TRUE(decide_promotion(summary(0.40, 0.95), summary(0.50, 0.91), GateParams{}).promote);
    EXPECT_FALSE(decide_promotion(summary(0.40, 0.95), summary(0.50, 0.5), GateParams{}).promote);
    // Only the candidate's pass rate matters.
    EXPECT_TRUE(decide_promotion(summary(0.40, 0.1), summary(0.50, 0.95), GateParams{}).promote);
}

TEST(Gate, MissingNegativesSectionRejectsAndSaysWhy) {
    MetricsSummary cand = summary(0.50, 0.95);
    cand.has_negatives = false;
    cand.pass_rate.reset();
    GateDecision d = decide_promotion(summary(0.40, 0.95), cand, GateParams{});
    EXPECT_FALSE(d.promote);
    ASSERT_EQ(d.reasons.size(), 2u);  // the pass rate and the mean presence are both unknown
    EXPECT_NE(d.reasons[0].find("no negatives section"), std::string::npos);
    EXPECT_NE(d.reasons[1].find("hard-negative mean presence: the candidate metrics have no negatives section"),
              std::string::npos)
        << d.reasons[1];

    json doc = metrics_doc(0.5, 0.95);
    doc.erase("negatives");
    MetricsSummary read = metrics_summary_from_json(doc, "c.json", IouType::segm);
    EXPECT_FALSE(read.has_negatives);
    EXPECT_FALSE(decide_promotion(summary(0.40, 0.95), read, GateParams{}).promote);
}

TEST(Gate, NullMetricsRejectWithTheReason) {
    GateDecision d = decide_promotion(summary(0.40, 0.95), summary(nullptr, 0.95), GateParams{});
    EXPECT_FALSE(d.promote);
    EXPECT_FALSE(d.improvement);
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_NE(d.reasons[0].find("candidate cgF1 is undefined: IL_MCC undefined"), std::string::npos);

    EXPECT_FALSE(decide_promotion(summary(nullptr, 0.95), summary(0.5, 0.95), GateParams{}).promote);
    GateDecision null_rate = decide_promotion(summary(0.40, 0.95), summary(0.5, nullptr), GateParams{});
    EXPECT_FALSE(null_rate.promote);
    EXPECT_NE(null_rate.reasons.at(0).find("pass rate is null"), std::string::npos);
}

TEST(Gate, MeanPresenceOnNegativesMustBeStrictlyBelowTheLimit) {
    // The plan's criterion 5.2.3: mean presence < 0.1. A candidate with a perfect pass rate
    // whose presence head says 0.2 (or 0.5, the tiny model's) on images without chickens used
    // to be promoted: only kept detections were counted.
    auto with_presence = [](double mean) {
        MetricsSummary m = summary(0.50, 0.95);
        m.presence_mean = mean;
        return m;
    };
    for (double mean : {0.2, 0.5, 0.1}) {
        GateDecision d = decide_promotion(summary(0.40, 0.95), with_presence(mean), GateParams{});
        EXPECT_FALSE(d.promote) << mean;
        ASSERT_EQ(d.reasons.size(), 1u) << mean;
        EXPECT_EQ(d.reasons[0].rfind("hard-negative mean presence: candidate ", 0), 0u) << d.reasons[0];
        EXPECT_NE(d.reasons[0].find("(presence head), required below 0.1"), std::string::npos) << d.reasons[0];
        EXPECT_DOUBLE_EQ(*d.presence_mean, mean);
    }
    EXPECT_TRUE(decide_promotion(summary(0.40, 0.95), with_presence(0.0999), GateParams{}).promote);
    GateParams loose;
    loose.max_mean_presence = 0.6;
    EXPECT_TRUE(decide_promotion(summary(0.40, 0.95), with_presence(0.5), loose).promote);
    GateParams off;
    off.max_mean_presence.reset();
    GateDecision d = decide_promotion(summary(0.40, 0.95), with_presence(0.9), off);
    EXPECT_TRUE(d.promote);
    EXPECT_EQ(check_named(d, "hard-negative mean presence").detail, "not checked (switched off)");
    // A null mean (no negative images) rejects, as a null pass rate does.
    MetricsSummary no_mean = summary(0.50, 0.95);
    no_mean.presence_mean.reset();
    EXPECT_FALSE(decide_promotion(summary(0.40, 0.95), no_mean, GateParams{}).promote);
}

TEST(Gate, RelativeImprovementOverAZeroBaselineIsUndefined) {
    GateDecision d = decide_promotion(summary(0.0, 0.95), summary(0.3, 0.95), GateParams{});
    EXPECT_FALSE(d.promote);
    EXPECT_NE(d.reasons.at(0).find("baseline cgF1 is 0"), std::string::npos);
    GateParams abs;
    abs.improvement = ImprovementMode::absolute;
    EXPECT_TRUE(decide_promotion(summary(0.0, 0.95), summary(0.3, 0.95), abs).promote);
}

TEST(Gate, NegativeBaselineUsesItsMagnitude) {
    // cgF1 can be negative (MCC < 0): -10 -> -5 is +50% of |-10|.
    GateDecision d = decide_promotion(summary(-0.10, 0.95), summary(-0.05, 0.95), GateParams{});
    EXPECT_NEAR(*d.improvement, 50.0, 1e-9);
    EXPECT_TRUE(d.promote);
}

TEST(Gate, DifferentGroundTruthOrSettingsAreNotComparable) {
    MetricsSummary base = summary(0.40, 0.95);
    MetricsSummary cand = metrics_summary_from_json(metrics_doc(0.5, 0.95, "bb"), "c.json", IouType::segm);
    GateDecision d = decide_promotion(base, cand, GateParams{});
    EXPECT_FALSE(d.promote);
    EXPECT_NE(check_named(d, "comparable").detail.find("different ground truth"), std::string::npos);

    cand = summary(0.5, 0.95);
    cand.score_threshold = 0.3;
    EXPECT_FALSE(decide_promotion(base, cand, GateParams{}).promote);
    cand = summary(0.5, 0.95);
    cand.epsilon = "none";
    EXPECT_FALSE(decide_promotion(base, cand, GateParams{}).promote);
    // A bbox gate over files without bbox metrics.
    GateParams bbox;
    bbox.iou_type = IouType::bbox;
    MetricsSummary b2 = metrics_summary_from_json(metrics_doc(0.4, 0.95), "b.json", IouType::bbox);
    MetricsSummary c2 = metrics_summary_from_json(metrics_doc(0.5, 0.95), "c.json", IouType::bbox);
    GateDecision no_bbox = decide_promotion(b2, c2, bbox);
    EXPECT_FALSE(no_bbox.promote);
    EXPECT_NE(check_named(no_bbox, "comparable").detail.find("no bbox metrics"), std::string::npos);
}

TEST(Gate, SeveralFailuresAreAllReported) {
    GateDecision d = decide_promotion(summary(0.40, 0.95), summary(0.30, 0.5), GateParams{});
    EXPECT_FALSE(d.promote);
    EXPECT_EQ(d.reasons.size(), 2u);
}

TEST(Comparison, RowsHaveDeltasAndTheDocumentSaysTheDecision) {
    Comparison c = compare_metrics(summary(0.40, 0.8, "b.json"), summary(0.45, 0.95, "c.json"), GateParams{});
    ASSERT_FALSE(c.rows.empty());
    EXPECT_EQ(c.rows[0].key, "cgF1");
    EXPECT_NEAR(*c.rows[0].delta(), 5.0, 1e-9);
    json doc = comparison_to_json(c);
    EXPECT_EQ(doc["schema"], kCompareSchema);
    EXPECT_EQ(doc["decision"], "promote");
    EXPECT_EQ(doc["gate"]["improvement_mode"], "relative");
    EXPECT_NEAR(doc["gate"]["improvement"].get<double>(), 12.5, 1e-9);
    EXPECT_NEAR(doc["gate"]["baseline_cgF1"].get<double>(), 40.0, 1e-9);
    EXPECT_EQ(doc["gate"]["checks"].size(), 4u);
    EXPECT_DOUBLE_EQ(doc["gate"]["max_mean_presence"].get<double>(), 0.1);
    EXPECT_DOUBLE_EQ(doc["gate"]["presence_mean"].get<double>(), 0.05);
    EXPECT_EQ(doc["baseline"]["sha256"], "sha-of-b.json");
    std::string table = format_comparison(c);
    EXPECT_NE(table.find("decision: PROMOTE"), std::string::npos);
    EXPECT_NE(table.find("cgF1 (x100)"), std::string::npos);
    EXPECT_NE(table.find("+12.50%"), std::string::npos);
    EXPECT_NE(table.find("its mean presence on the negatives below 0.1"), std::string::npos) << table;
    EXPECT_NE(table.find("[pass] hard-negative mean presence: candidate 0.0500 (presence head), required below 0.1"),
              std::string::npos)
        << table;
}

TEST(Comparison, ImprovementModeParsing) {
    EXPECT_EQ(parse_improvement_mode("absolute"), ImprovementMode::absolute);
    EXPECT_EQ(parse_improvement_mode("relative"), ImprovementMode::relative);
    EXPECT_THROW(parse_improvement_mode("percent"), Error);
}

}  // namespace
}  // namespace chickenseg
