// End to end: `chickenseg data split | validate | holdout | stats` on the real
// binary: exit codes 0/1/2, outputs written atomically (no temporary files left),
// identical bytes on a rerun, nothing written on error, inputs untouched.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"
#include "cli_support.h"

namespace fs = std::filesystem;
using namespace chickenseg;
using namespace chickenseg::test;  // CliResult, run_chickenseg, Stderr, TempDir

namespace {

std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

// 40 images in two pens: every third image negative, the rest with 1-3 rectangles.
json dataset_doc() {
    json images = json::array(), anns = json::array();
    int ann_id = 1;
    for (int i = 1; i <= 40; ++i) {
        images.push_back({{"id", i},
                          {"file_name", (i % 2 ? "penA/" : "penB/") + std::to_string(i) + ".jpg"},
                          {"width", 64},
                          {"height", 48},
                          {"text_input", "chicken"},
                          {"is_instance_exhaustive", 1}});
        if (i % 3 == 0) continue;
        for (int k = 0; k < 1 + i % 3; ++k)
            anns.push_back({{"id", ann_id++},
                            {"image_id", i},
                            {"category_id", 1},
                            {"segmentation", {{2, 2, 12, 2, 12, 22, 2, 22}}},
                            {"bbox", {2, 2, 10, 20}},
                            {"area", 200},
                            {"iscrowd", 0}});
    }
    return {{"info", {{"description", "cli test"}}},
            {"images", images},
            {"annotations", anns},
            {"categories", {{{"id", 1}, {"name", "chicken"}}}}};
}

std::string write_dataset(const TempDir& dir, const json& doc, const std::string& name = "all.json") {
    write_json_file(dir.path / name, doc);
    return dir / name;
}

}  // namespace

TEST(CliDataOps, SplitWritesTwoValidFilesAndRerunsGiveTheSameBytes) {
    TempDir dir;
    const std::string all = write_dataset(dir, dataset_doc());
    const std::string input_before = read_file(all);
    CliResult r = run_chickenseg("data split --dataset " + all + " --out " + (dir / "out1") + " --seed 5");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("train"), std::string::npos) << r.out;
    EXPECT_EQ(listing(dir.path / "out1"), (std::set<std::string>{"chicken_train.json", "chicken_val.json"}));
    r = run_chickenseg("data split --dataset " + all + " --out " + (dir / "out2") + " --seed 5");
    ASSERT_EQ(r.code, 0) << r.out;
    for (const char* name : {"chicken_train.json", "chicken_val.json"})
        EXPECT_EQ(read_file(dir.path / "out1" / name), read_file(dir.path / "out2" / name)) << name;
    EXPECT_EQ(read_file(all), input_before);

    const SacoDataset train = read_saco_json(dir.path / "out1" / "chicken_train.json");
    const SacoDataset val = read_saco_json(dir.path / "out1" / "chicken_val.json");
    EXPECT_EQ(train.images.size(), 32u);
    EXPECT_EQ(val.images.size(), 8u);
    EXPECT_GT(val.negative_count(), 0u);
    EXPECT_GT(val.positive_count(), 0u);
    EXPECT_EQ(train.top, json({{"info", dataset_doc()["info"]}}));  // top level copied

    // The two outputs validate together (no image in both, both kinds in each).
    r = run_chickenseg("data validate --dataset " + (dir / "out1/chicken_train.json") + " --dataset " +
                       (dir / "out1/chicken_val.json"));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("valid: 2 file(s)"), std::string::npos) << r.out;
}

TEST(CliDataOps, SplitJsonSummaryAndNames) {
    TempDir dir;
    const std::string all = write_dataset(dir, dataset_doc());
    CliResult r = run_chickenseg(
        "--json data split --dataset " + all + " --out " + (dir / "o") +
            " --train-ratio 0.5 --group-regex '^(pen.)/\\d*([0-9])' --train-name t.json --val-name v.json",
        Stderr::Drop);
    ASSERT_EQ(r.code, 1) << r.out;  // pens mix positives and negatives: no negative group
    r = run_chickenseg("--json data split --dataset " + all + " --out " + (dir / "o") +
                           " --train-ratio 0.5 --train-name t.json --val-name v.json",
                       Stderr::Drop);
    ASSERT_EQ(r.code, 0) << r.out;
    json j = parse_json_text(r.out, "stdout");
    EXPECT_EQ(j["input"]["images"], 40);
    EXPECT_EQ(j["train"]["images"], 20);
    EXPECT_EQ(j["train_file"], (dir.path / "o" / "t.json").string());
    EXPECT_EQ(listing(dir.path / "o"), (std::set<std::string>{"t.json", "v.json"}));
}

TEST(CliDataOps, SplitUsageErrorsExitTwoAndWriteNothing) {
    TempDir dir;
    const std::string all = write_dataset(dir, dataset_doc());
    const std::string out = dir / "out";
    EXPECT_EQ(run_chickenseg("data split --dataset " + all).code, 2);
    EXPECT_EQ(run_chickenseg("data split --dataset " + all + " --out " + out + " --train-ratio 1.5").code, 2);
    EXPECT_EQ(run_chickenseg("data split --dataset " + all + " --out " + out + " --train-ratio 0").code, 2);
    EXPECT_EQ(run_chickenseg("data split --dataset " + all + " --out " + out + " --group-regex '(unclosed'").code, 2);
    EXPECT_EQ(
        run_chickenseg("data split --dataset " + all + " --out " + out + " --train-name x.json --val-name x.json").code,
        2);
    EXPECT_FALSE(fs::exists(out));
}

TEST(CliDataOps, SplitFailuresExitOneAndWriteNothing) {
    TempDir dir;
    json doc = dataset_doc();
    // Only one negative: image 3 stays negative, 6, 9, ... get an annotation.
    for (int i = 6; i <= 40; i += 3) {
        json a = doc["annotations"][0];
        a["id"] = 1000 + i;
        a["image_id"] = i;
        doc["annotations"].push_back(a);
    }
    const std::string all = write_dataset(dir, doc);
    const std::string out = dir / "out";
    CliResult r = run_chickenseg("data split --dataset " + all + " --out " + out);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("found 1 negative and 39 positive"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out));

    r = run_chickenseg("data split --dataset " + (dir / "missing.json") + " --out " + out);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("missing.json"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out));

    // Writing over the input is refused; the input stays as it was.
    const std::string before = read_file(all);
    r = run_chickenseg("data split --dataset " + all + " --out " + dir.path.string() + " --train-name all.json");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("refusing to overwrite the input"), std::string::npos) << r.out;
    EXPECT_EQ(read_file(all), before);
}

TEST(CliDataOps, ValidateExitCodesAndJsonReport) {
    TempDir dir;
    json doc = dataset_doc();
    const std::string good = write_dataset(dir, doc, "good.json");
    EXPECT_EQ(run_chickenseg("data validate --dataset " + good).code, 0);
    doc["annotations"][0]["iscrowd"] = 4;
    doc["images"][2].erase("text_input");
    const std::string bad = write_dataset(dir, doc, "bad.json");
    CliResult r = run_chickenseg("data validate --dataset " + bad);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("bad.json: annotations[0].iscrowd: expected 0 or 1, found 4"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bad.json: images[2].text_input: missing required field"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("invalid: 2 error(s)"), std::string::npos) << r.out;

    r = run_chickenseg("--json data validate --dataset " + bad + " --dataset " + good, Stderr::Drop);
    EXPECT_EQ(r.code, 1);
    json j = parse_json_text(r.out, "stdout");
    EXPECT_EQ(j["valid"], false);
    // 2 errors in bad.json, plus every file_name of good.json is also in bad.json.
    EXPECT_EQ(j["errors"].size(), 42u);
    EXPECT_EQ(j["errors"][0]["file"], bad);
    EXPECT_EQ(j["errors"][0]["path"], "images[2].text_input");
    EXPECT_EQ(run_chickenseg("data validate").code, 2);
    EXPECT_EQ(run_chickenseg("data validate --dataset " + (dir / "nope.json")).code, 1);
}

TEST(CliDataOps, HoldoutWritesTheNegativesOnce) {
    TempDir dir;
    const std::string all = write_dataset(dir, dataset_doc());
    const std::string out1 = dir / "neg1.json", out2 = dir / "neg2.json";
    CliResult r = run_chickenseg("data holdout --dataset " + all + " --negatives-only --out " + out1);
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_EQ(run_chickenseg("data holdout --dataset " + all + " --negatives-only --out " + out2).code, 0);
    EXPECT_EQ(read_file(out1), read_file(out2));
    const SacoDataset neg = read_saco_json(out1);
    EXPECT_EQ(neg.images.size(), 13u);  // 3, 6, ..., 39
    EXPECT_EQ(neg.annotations.size(), 0u);
    EXPECT_EQ(listing(dir.path), (std::set<std::string>{"all.json", "neg1.json", "neg2.json"}));

    r = run_chickenseg("--json data holdout --dataset " + all + " --negatives-only --out " + out1, Stderr::Drop);
    EXPECT_EQ(parse_json_text(r.out, "stdout")["negatives"], 13);

    // --negatives-only is required (the only kind for now).
    EXPECT_EQ(run_chickenseg("data holdout --dataset " + all + " --out " + (dir / "x.json")).code, 2);
    // A dataset without negatives: exit 1, nothing written.
    r = run_chickenseg("data holdout --dataset " + out1 + " --negatives-only --out " + (dir / "again.json"));
    ASSERT_EQ(r.code, 0) << r.out;  // negatives of negatives: all of them
    json only_pos = dataset_doc();
    only_pos["images"] = json::array({only_pos["images"][0]});
    json image_1_annotations = json::array();
    for (const auto& a : only_pos["annotations"])
        if (a["image_id"] == 1) image_1_annotations.push_back(a);
    only_pos["annotations"] = image_1_annotations;
    const std::string pos = write_dataset(dir, only_pos, "pos.json");
    r = run_chickenseg("data holdout --dataset " + pos + " --negatives-only --out " + (dir / "none.json"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("no negative images to hold out"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir.path / "none.json"));
    EXPECT_EQ(run_chickenseg("data holdout --dataset " + all + " --negatives-only --out " + all).code, 1);
}

TEST(CliDataOps, StatsTableAndJson) {
    TempDir dir;
    const std::string all = write_dataset(dir, dataset_doc());
    CliResult r = run_chickenseg("data stats --dataset " + all);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("instances per image"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("penA"), std::string::npos) << r.out;
    r = run_chickenseg("--json data stats --dataset " + all, Stderr::Drop);
    ASSERT_EQ(r.code, 0);
    json j = parse_json_text(r.out, "stdout");
    EXPECT_EQ(j["images"], 40);
    EXPECT_EQ(j["negatives"], 13);
    EXPECT_EQ(j["sources"]["penA"]["images"], 20);
    EXPECT_EQ(run_chickenseg("data stats").code, 2);
    EXPECT_EQ(run_chickenseg("data stats --dataset " + (dir / "nope.json")).code, 1);
}
