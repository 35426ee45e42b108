// `chickenseg eval` end to end: exit codes, table, --json, --out, error messages.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_support.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using chickenseg::test::CliResult;
using chickenseg::test::run_chickenseg;

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

class CliEval : public ::testing::Test {
protected:
    void SetUp() override {
        // 3 images 4x3: image 1 has a chicken (left half), 2 and 3 are negatives.
        json gt = {{"images", json::array()},
                   {"annotations", json::array()},
                   {"categories", {{{"id", 1}, {"name", "chicken"}}}}};
        for (int id : {1, 2, 3})
            gt["images"].push_back({{"id", id},
                                    {"file_name", "im" + std::to_string(id) + ".jpg"},
                                    {"width", 4},
                                    {"height", 3},
                                    {"text_input", "chicken"},
                                    {"is_instance_exhaustive", 1}});
        gt["annotations"].push_back({{"id", 1},
                                     {"image_id", 1},
                                     {"category_id", 1},
                                     {"segmentation", {{"size", {3, 4}}, {"counts", {0, 6, 6}}}},
                                     {"bbox", {0, 0, 2, 3}},
                                     {"area", 6},
                                     {"iscrowd", 0}});
        write("gt.json", gt.dump(1));
        json preds = json::array();
        preds.push_back({{"image_id", 1},
                         {"category_id", 1},
                         {"segmentation", {{"size", {3, 4}}, {"counts", {0, 6, 6}}}},
                         {"bbox", {0, 0, 2, 3}},
                         {"score", 0.9}});
        preds.push_back({{"image_id", 2},
                         {"category_id", 1},
                         {"segmentation", {{"size", {3, 4}}, {"counts", {0, 3, 9}}}},
                         {"bbox", {0, 0, 1, 3}},
                         {"score", 0.7}});
        write("pred.json", preds.dump(1));
    }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; }
    std::string p(const std::string& name) const { return (dir / name).string(); }
    chickenseg::test::TempDir temp;  // removed after each test
    const fs::path dir = temp.path;
};

TEST_F(CliEval, TableAndExitZero) {
    CliResult r = run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("pred.json"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("cgF1"), std::string::npos);
    EXPECT_NE(r.out.find("IL_MCC"), std::string::npos);
    EXPECT_NE(r.out.find("confusion     TP 1  FP 1  TN 1  FN 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("epsilon convention: official"), std::string::npos);
    EXPECT_NE(r.out.find("hard negatives: 2 images"), std::string::npos);
    EXPECT_NE(r.out.find("verdict"), std::string::npos);
}

TEST_F(CliEval, JsonAndOutAreTheSameAndReproducible) {
    CliResult a = run_chickenseg("--json eval --gt " + p("gt.json") + " --pred " + p("pred.json") +
                                 " --per-image --out " + p("m.json"));
    ASSERT_EQ(a.code, 0) << a.out;
    json j = json::parse(a.out);
    EXPECT_EQ(j, json::parse(slurp(dir / "m.json")));
    EXPECT_EQ(j["schema"], "chickenseg.metrics/1");
    EXPECT_EQ(j["inputs"]["gt"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(j["images"].size(), 3u);
    EXPECT_EQ(j["images"][0]["segm"]["matches"][0]["iou"], 1.0);
    // pmF1 = 1 (the FP is on a negative), IL: TP 1, FP 1, TN 1, FN 0.
    EXPECT_NEAR(j["segm"]["pmF1"].get<double>(), 1.0, 2e-4);
    EXPECT_EQ(j["negatives"]["verdict"], "fail");
    std::string first = slurp(dir / "m.json");
    ASSERT_EQ(
        run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("pred.json") + " --per-image --out " + p("m.json"))
            .code,
        0);
    EXPECT_EQ(first, slurp(dir / "m.json"));
}

TEST_F(CliEval, FailOnNegatives) {
    std::string base = "eval --gt " + p("gt.json") + " --pred " + p("pred.json");
    EXPECT_EQ(run_chickenseg(base + " --fail-on-negatives").code, 1);
    // Relaxed thresholds: 1 of 2 negatives clean, mean presence 0.35, which must be strictly
    // below --max-mean-presence (the plan's criterion, as compare's gate).
    EXPECT_EQ(run_chickenseg(base + " --fail-on-negatives --min-pass-rate 0.5 --max-mean-presence 0.35").code, 1);
    CliResult ok = run_chickenseg(base + " --fail-on-negatives --min-pass-rate 0.5 --max-mean-presence 0.36");
    EXPECT_EQ(ok.code, 0) << ok.out;
    EXPECT_NE(ok.out.find("PASS"), std::string::npos);
}

TEST_F(CliEval, NegativesOnlyNeedsAHoldoutWithoutInstances) {
    CliResult r = run_chickenseg("eval --negatives-only --gt " + p("gt.json") + " --pred " + p("pred.json"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("--negatives-only expects a hard-negative holdout"), std::string::npos) << r.out;

    json holdout = json::parse(slurp(dir / "gt.json"));
    holdout["annotations"] = json::array();
    write("holdout.json", holdout.dump());
    CliResult ok =
        run_chickenseg("--json eval --negatives-only --gt " + p("holdout.json") + " --pred " + p("pred.json"));
    ASSERT_EQ(ok.code, 0) << ok.out;
    json j = json::parse(ok.out);
    EXPECT_FALSE(j.contains("segm"));
    EXPECT_EQ(j["negatives"]["image_count"], 3);
    EXPECT_EQ(j["negatives"]["presence_source"], "max_prediction_score");
}

TEST_F(CliEval, EpsilonNoneGivesNullsWithReasons) {
    CliResult r =
        run_chickenseg("--json eval --epsilon none --iou-type bbox --gt " + p("gt.json") + " --pred " + p("pred.json"));
    ASSERT_EQ(r.code, 0) << r.out;
    json j = json::parse(r.out);
    EXPECT_FALSE(j.contains("segm"));
    EXPECT_EQ(j["convention"]["epsilon"], "none");
    // IL: TP 1, FP 1, TN 1, FN 0: MCC = (1 - 0) / sqrt(2 * 1 * 2 * 1) = 0.5.
    EXPECT_DOUBLE_EQ(j["image_level"]["IL_MCC"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(j["bbox"]["cgF1"].get<double>(), 0.5);
    CliResult t = run_chickenseg("eval --epsilon none --gt " + p("gt.json") + " --pred " + p("gt.json"));
    EXPECT_EQ(t.code, 1);  // a GT file is not a results list
}

TEST_F(CliEval, BadInputsNameFileRecordAndLine) {
    write("nan.json",
          "[\n{\"image_id\": 1, \"segmentation\": {\"size\": [3, 4], \"counts\": [12]}, \"score\": NaN}\n]");
    CliResult r = run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("nan.json"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find(p("nan.json") + ":2: predictions[0].score: NaN score"), std::string::npos) << r.out;

    write("unknown.json", R"([{"image_id": 9, "segmentation": {"size": [3, 4], "counts": [12]}, "score": 0.5}])");
    CliResult u = run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("unknown.json"));
    EXPECT_EQ(u.code, 1);
    EXPECT_NE(u.out.find("predictions[0].image_id: image id 9 is not an image of the ground truth"), std::string::npos)
        << u.out;

    json dup = json::parse(slurp(dir / "gt.json"));
    dup["images"][2]["id"] = 1;
    write("dup.json", dup.dump());
    CliResult d = run_chickenseg("eval --gt " + p("dup.json") + " --pred " + p("pred.json"));
    EXPECT_EQ(d.code, 1);
    EXPECT_NE(d.out.find(p("dup.json") + ": images[2].id: duplicate image id 1"), std::string::npos) << d.out;
}

TEST_F(CliEval, UsageErrorsExitTwo) {
    EXPECT_EQ(run_chickenseg("eval --gt " + p("gt.json")).code, 2);  // --pred missing
    EXPECT_EQ(run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("pred.json") + " --iou-type mask").code, 2);
    EXPECT_EQ(run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("pred.json") + " --epsilon tiny").code, 2);
    EXPECT_EQ(run_chickenseg("eval --gt " + p("gt.json") + " --pred " + p("pred.json") + " --score-threshold 1.5").code,
              2);
}

}  // namespace
