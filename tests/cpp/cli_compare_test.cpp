// End to end: `chickenseg compare` on the real binary. Exit status is the decision
// (0 promote, 1 reject, 2 usage); --json prints the decision document; a promotion
// tags the registry (v1, v2, ...), a rejection leaves it alone; metrics files
// written by `chickenseg eval` itself are read (the schema round trip).
#include <gtest/gtest.h>

#include <filesystem>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/rle.h"
#include "cli_support.h"

namespace fs = std::filesystem;
using namespace chickenseg;
using namespace chickenseg::test;  // CliResult, run_chickenseg, Stderr, TempDir

namespace {

// A metrics document in the shape `chickenseg eval` writes (cgF1 as a fraction).
std::string metrics(double cgf1, double pass_rate, bool negatives = true) {
    json doc = {
        {"schema", "chickenseg.metrics/1"},
        {"tool", "chickenseg 0.1.0 (test)"},
        {"score_threshold", 0.5},
        {"convention", {{"epsilon", "official"}}},
        {"inputs",
         {{"gt", {{"path", "val.json"}, {"sha256", "abc"}}}, {"predictions", {{"path", "p.json"}, {"sha256", "def"}}}}},
        {"segm", {{"cgF1", cgf1}, {"cgF1@0.5", cgf1}, {"cgF1@0.75", cgf1}, {"pmF1", cgf1}}},
        {"image_level", {{"IL_MCC", 0.9}, {"IL_precision", 0.9}, {"IL_recall", 1.0}, {"IL_FPR", 0.1}}}};
    if (negatives)
        doc["negatives"] = {{"image_count", 10},
                            {"pass_rate", pass_rate},
                            {"presence", {{"mean", 0.05}, {"p95", 0.3}, {"max", 0.7}}},
                            {"hallucinations", {{"count", 1}}}};
    return doc.dump(2);
}

TEST(CliCompare, ExitStatusIsTheDecision) {
    TempDir d;
    write_file_atomic(d / "base.json", metrics(0.40, 0.95));
    write_file_atomic(d / "good.json", metrics(0.45, 0.95));
    write_file_atomic(d / "exact.json", metrics(0.42, 0.95));
    write_file_atomic(d / "noneg.json", metrics(0.60, 0.0, false));

    CliResult promote = run_chickenseg("compare " + (d / "base.json") + " " + (d / "good.json"));
    EXPECT_EQ(promote.code, 0) << promote.out;
    EXPECT_NE(promote.out.find("decision: PROMOTE"), std::string::npos);
    EXPECT_NE(promote.out.find("relative +12.50% (candidate 45.00 vs baseline 40.00)"), std::string::npos);

    CliResult exact = run_chickenseg("compare " + (d / "base.json") + " " + (d / "exact.json"));
    EXPECT_EQ(exact.code, 1) << exact.out;
    EXPECT_NE(exact.out.find("decision: REJECT"), std::string::npos);

    // +5 points absolute is not more than 5; with --min-improvement 4 it is.
    EXPECT_EQ(run_chickenseg("compare --improvement absolute " + (d / "base.json") + " " + (d / "good.json")).code, 1);
    EXPECT_EQ(run_chickenseg("compare --improvement absolute --min-improvement 4 " + (d / "base.json") + " " +
                             (d / "good.json"))
                  .code,
              0);
    // The pass rate is 0.95: a minimum of 0.95 rejects.
    EXPECT_EQ(run_chickenseg("compare --min-pass-rate 0.95 " + (d / "base.json") + " " + (d / "good.json")).code, 1);

    CliResult noneg = run_chickenseg("compare " + (d / "base.json") + " " + (d / "noneg.json"));
    EXPECT_EQ(noneg.code, 1);
    EXPECT_NE(noneg.out.find("no negatives section"), std::string::npos);
}

TEST(CliCompare, UsageErrorsExitTwoAndBadFilesOne) {
    TempDir d;
    write_file_atomic(d / "base.json", metrics(0.40, 0.95));
    EXPECT_EQ(run_chickenseg("compare " + (d / "base.json")).code, 2);
    EXPECT_EQ(run_chickenseg("compare " + (d / "base.json") + " " + (d / "missing.json")).code, 2);
    EXPECT_EQ(run_chickenseg("compare --improvement percent " + (d / "base.json") + " " + (d / "base.json")).code, 2);
    EXPECT_EQ(run_chickenseg("compare --min-pass-rate 1.5 " + (d / "base.json") + " " + (d / "base.json")).code, 2);
    // --registry needs --candidate-name and --checkpoint.
    EXPECT_EQ(
        run_chickenseg("compare --registry " + (d / "r.json") + " " + (d / "base.json") + " " + (d / "base.json")).code,
        2);
    EXPECT_EQ(run_chickenseg("compare --registry " + (d / "r.json") + " --candidate-name x " + (d / "base.json") + " " +
                             (d / "base.json"))
                  .code,
              2);
    EXPECT_FALSE(fs::exists(d / "r.json"));

    json broken = json::parse(metrics(0.4, 0.95));
    broken["segm"]["cgF1"] = "x";
    write_file_atomic(d / "broken.json", broken.dump());
    CliResult bad = run_chickenseg("compare " + (d / "base.json") + " " + (d / "broken.json"));
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find("broken.json: segm.cgF1: expected a number or null"), std::string::npos) << bad.out;
    write_file_atomic(d / "other.json", "{\"schema\": \"chickenseg.saco/1\"}");
    CliResult other = run_chickenseg("compare " + (d / "base.json") + " " + (d / "other.json"));
    EXPECT_EQ(other.code, 1);
    EXPECT_NE(other.out.find("not a metrics file"), std::string::npos);
}

TEST(CliCompare, JsonDecisionDocumentAndRegistry) {
    TempDir d;
    write_file_atomic(d / "base.json", metrics(0.40, 0.95));
    write_file_atomic(d / "good.json", metrics(0.45, 0.95));
    write_file_atomic(d / "better.json", metrics(0.50, 0.99));
    write_file_atomic(d / "worse.json", metrics(0.30, 0.95));
    std::string reg = d / "models/registry.json";
    // The promoted checkpoint folder, as `chickenseg train` writes it (training.json holds the
    // dataset version); the registry records both.
    write_file_atomic(d / "run/best/training.json", R"({"epoch": 3, "dataset_version": {"version_id": "ds-v7"}})");
    reg += " --checkpoint " + (d / "run/best");

    CliResult a = run_chickenseg(
        "--json compare --registry " + reg + " --candidate-name run-1 " + (d / "base.json") + " " + (d / "good.json"),
        Stderr::Drop);
    ASSERT_EQ(a.code, 0) << a.out;
    json doc = parse_json_text(a.out, "stdout");
    EXPECT_EQ(doc["schema"], "chickenseg.compare/1");
    EXPECT_EQ(doc["decision"], "promote");
    EXPECT_EQ(doc["registry"]["tag"], "production-candidate-v1");
    EXPECT_NEAR(doc["gate"]["improvement"].get<double>(), 12.5, 1e-9);
    EXPECT_EQ(doc["gate"]["improvement_mode"], "relative");

    CliResult b = run_chickenseg("compare --registry " + reg + " --candidate-name run-2 " + (d / "base.json") + " " +
                                 (d / "better.json"));
    EXPECT_EQ(b.code, 0);
    EXPECT_NE(b.out.find("registered as production-candidate-v2"), std::string::npos) << b.out;

    const std::string reg_file = d / "models/registry.json";
    std::string before = read_file(reg_file);
    CliResult rejected = run_chickenseg(
        "--json compare --registry " + reg + " --candidate-name run-3 " + (d / "base.json") + " " + (d / "worse.json"),
        Stderr::Drop);
    EXPECT_EQ(rejected.code, 1);
    json rdoc = parse_json_text(rejected.out, "stdout");
    EXPECT_EQ(rdoc["decision"], "reject");
    EXPECT_TRUE(rdoc["registry"]["tag"].is_null());
    EXPECT_FALSE(rdoc["reasons"].empty());
    EXPECT_EQ(read_file(reg_file), before);

    // Re-running a promotion does not mint a new tag.
    CliResult again = run_chickenseg("compare --registry " + reg + " --candidate-name run-2 " + (d / "base.json") +
                                     " " + (d / "better.json"));
    EXPECT_EQ(again.code, 0);
    EXPECT_NE(again.out.find("already registered as production-candidate-v2"), std::string::npos);
    json r = read_json_file(reg_file);
    ASSERT_EQ(r["models"].size(), 2u);
    EXPECT_EQ(r["models"][1]["checkpoint"], (d / "run/best"));
    EXPECT_EQ(r["models"][1]["dataset_version"], "ds-v7");
    EXPECT_EQ(r["models"][1]["name"], "run-2");
    EXPECT_EQ(r["models"][1]["candidate_metrics"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_NEAR(r["models"][1]["candidate_metrics"]["cgF1"].get<double>(), 50.0, 1e-9);

    // Custom prefix.
    CliResult staged = run_chickenseg("compare --registry " + reg + " --candidate-name run-2 --tag-prefix staging " +
                                      (d / "base.json") + " " + (d / "better.json"));
    EXPECT_NE(staged.out.find("registered as staging-v1"), std::string::npos) << staged.out;
}

TEST(CliCompare, AForgedOrForeignMetricsFileIsAnErrorNotAPromotion) {
    // cgF1 = 1e308 and a pass rate of 5 were promoted.
    TempDir d;
    write_file_atomic(d / "base.json", metrics(0.40, 0.95));
    json forged = json::parse(metrics(0.45, 0.95));
    forged["segm"]["cgF1"] = 1e308;
    write_file_atomic(d / "forged.json", forged.dump(1));
    CliResult r = run_chickenseg("compare " + (d / "base.json") + " " + (d / "forged.json"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("forged.json: segm.cgF1: expected a number in [-1, 1], found 1e+308"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("PROMOTE"), std::string::npos) << r.out;
    write_file_atomic(d / "rate.json", metrics(0.45, 5.0));
    r = run_chickenseg("compare " + (d / "base.json") + " " + (d / "rate.json"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("rate.json: negatives.pass_rate: expected a number in [0, 1], found 5"), std::string::npos)
        << r.out;
    json foreign = json::parse(metrics(0.45, 0.95));
    foreign.erase("tool");
    write_file_atomic(d / "foreign.json", foreign.dump());
    r = run_chickenseg("compare " + (d / "base.json") + " " + (d / "foreign.json"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("foreign.json: tool: not written by `chickenseg eval`"), std::string::npos) << r.out;
}

TEST(CliCompare, MeanPresenceOnNegativesIsPartOfTheGate) {
    TempDir d;
    write_file_atomic(d / "base.json", metrics(0.40, 0.95));
    json hallucinating = json::parse(metrics(0.45, 1.0));
    hallucinating["negatives"]["presence"]["mean"] = 0.2;
    write_file_atomic(d / "cand.json", hallucinating.dump());
    CliResult r = run_chickenseg("compare " + (d / "base.json") + " " + (d / "cand.json"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("its mean presence on the negatives below 0.1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[FAIL] hard-negative mean presence: candidate 0.2000"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("negatives: presence mean"), std::string::npos) << r.out;
    EXPECT_EQ(run_chickenseg("compare --max-mean-presence 0.25 " + (d / "base.json") + " " + (d / "cand.json")).code,
              0);
    EXPECT_EQ(run_chickenseg("compare --max-mean-presence 0.2 " + (d / "base.json") + " " + (d / "cand.json")).code, 1);
    EXPECT_EQ(run_chickenseg("compare --no-mean-presence-check " + (d / "base.json") + " " + (d / "cand.json")).code,
              0);
    EXPECT_EQ(run_chickenseg("compare --max-mean-presence 1.5 " + (d / "base.json") + " " + (d / "cand.json")).code, 2);
}

TEST(CliCompare, ARegistryThatIsAFolderOrACheckpointThatIsMissingIsNamed) {
    TempDir d;
    write_file_atomic(d / "base.json", metrics(0.40, 0.95));
    write_file_atomic(d / "good.json", metrics(0.45, 0.95));
    write_file_atomic(d / "run/best/training.json", R"({"dataset_version": {"version_id": "v1"}})");
    fs::create_directories(d.path / "registry");
    CliResult r = run_chickenseg("compare --registry " + (d / "registry") + " --candidate-name a --checkpoint " +
                                 (d / "run/best") + " " + (d / "base.json") + " " + (d / "good.json"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find((d / "registry") + ": is a folder, expected a file"), std::string::npos) << r.out;
    r = run_chickenseg("compare --registry " + (d / "r.json") + " --candidate-name a --checkpoint " + (d / "run/nope") +
                       " " + (d / "base.json") + " " + (d / "good.json"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("run/nope: expected the promoted model's checkpoint folder"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("PROMOTE"), std::string::npos) << r.out;  // checked before the gate
    EXPECT_FALSE(fs::exists(d / "r.json"));
}

// GT: 2 positive images (one 10x10 chicken each) and 2 negatives, 40x40 pixels.
std::string gt_doc() {
    json images = json::array(), anns = json::array();
    for (int id = 1; id <= 4; ++id)
        images.push_back({{"id", id},
                          {"file_name", "img" + std::to_string(id) + ".png"},
                          {"width", 40},
                          {"height", 40},
                          {"text_input", "chicken"},
                          {"is_instance_exhaustive", 1}});
    for (int id = 1; id <= 2; ++id)
        anns.push_back({{"id", id},
                        {"image_id", id},
                        {"category_id", 1},
                        {"segmentation", json::array({json::array({5, 5, 15, 5, 15, 15, 5, 15})})},
                        {"bbox", {5, 5, 10, 10}},
                        {"area", 100},
                        {"iscrowd", 0}});
    return json{{"images", images}, {"annotations", anns}, {"categories", {{{"id", 1}, {"name", "chicken"}}}}}.dump();
}

json prediction(int image_id, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, double score) {
    std::vector<uint8_t> m(40 * 40, 0);
    for (uint32_t x = x0; x < x1; ++x)
        for (uint32_t y = y0; y < y1; ++y) m[x * 40 + y] = 1;
    Rle r = rle_encode(m, 40, 40);
    return {{"image_id", image_id},
            {"category_id", 1},
            {"score", score},
            {"segmentation", {{"size", {40, 40}}, {"counts", rle_to_string(r)}}},
            {"bbox", {x0, y0, x1 - x0, y1 - y0}}};
}

TEST(CliCompare, ReadsMetricsWrittenByEval) {
    TempDir d;
    write_file_atomic(d / "val.json", gt_doc());
    // Baseline finds both chickens (one loosely) and fires on a negative image; candidate is right everywhere.
    write_file_atomic(d / "base_pred.json",
                      json::array({prediction(1, 5, 5, 15, 15, 0.9), prediction(2, 5, 5, 15, 12, 0.9),
                                   prediction(3, 20, 20, 30, 30, 0.8)})
                          .dump());
    write_file_atomic(d / "cand_pred.json",
                      json::array({prediction(1, 5, 5, 15, 15, 0.9), prediction(2, 5, 5, 15, 15, 0.9)}).dump());
    ASSERT_EQ(run_chickenseg("eval --gt " + (d / "val.json") + " --pred " + (d / "base_pred.json") + " --out " +
                             (d / "base.json"))
                  .code,
              0);
    ASSERT_EQ(run_chickenseg("eval --gt " + (d / "val.json") + " --pred " + (d / "cand_pred.json") + " --out " +
                             (d / "cand.json"))
                  .code,
              0);
    CliResult c = run_chickenseg("--json compare " + (d / "base.json") + " " + (d / "cand.json"), Stderr::Drop);
    ASSERT_EQ(c.code, 0) << c.out;
    json doc = parse_json_text(c.out, "stdout");
    EXPECT_EQ(doc["decision"], "promote");
    EXPECT_DOUBLE_EQ(doc["gate"]["pass_rate"].get<double>(), 1.0);
    EXPECT_GT(doc["gate"]["candidate_cgF1"].get<double>(), 90.0);
    EXPECT_TRUE(doc["gate"]["checks"][0]["passed"].get<bool>());  // same GT digest
    // The other way round: the baseline's ghost on a negative makes the pass rate 0.5.
    CliResult back = run_chickenseg("compare " + (d / "cand.json") + " " + (d / "base.json"));
    EXPECT_EQ(back.code, 1);
    EXPECT_NE(back.out.find("[FAIL] hard-negative pass rate: candidate 0.5000 over 2 negative images"),
              std::string::npos)
        << back.out;
}

}  // namespace
