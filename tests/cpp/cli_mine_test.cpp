// `chickenseg mine` without a model: the parser and the checks made before the engine loads,
// and --merge over hand-written shard scores (ranking, duplicates, outputs, the state).
#include <gtest/gtest.h>

#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/mine/mine.h"
#include "cli_support.h"

namespace chickenseg {
namespace {

using namespace chickenseg::test;  // CliResult, run_chickenseg, Stderr, TempDir

TEST(CliMine, HelpListsTheOptions) {
    CliResult r = run_chickenseg("mine --help");
    EXPECT_EQ(r.code, 0) << r.out;
    for (const char* flag : {"--package", "--images", "--out", "--limit", "--shard", "--merge", "--presence-band",
                             "--instance-margin", "--stability-delta", "--min-stability", "--max-hash-distance",
                             "--no-dedup", "--copy", "--backend", "--device", "--batch-size", "--threads", "--prompt"})
        EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
    for (const char* flag :
         {"--use-cluster", "--shards", "--cluster-backend", "--num-gpus", "--dry-run", "--wait", "slurm.KEY=VALUE"})
        EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST(CliMine, BadArgumentsAreRefusedBeforeTheEngine) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "inbox");
    std::filesystem::create_directories(dir.path / "pkg");  // not a package: never opened by these
    const std::string pkg = dir / "pkg", inbox = dir / "inbox";
    CliResult r = run_chickenseg("mine --images " + inbox + " --out " + (dir / "o"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("give --package and --images"), std::string::npos) << r.out;
    r = run_chickenseg("mine --merge " + inbox + " --package " + pkg + " --out " + (dir / "o"));
    EXPECT_EQ(r.code, 2) << r.out;  // CLI11: excludes
    r = run_chickenseg("mine --package " + pkg + " --images " + inbox + " --out " + (dir / "o") + " --shard 0/2");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("expected K/N"), std::string::npos) << r.out;
    r = run_chickenseg("mine --package " + pkg + " --images " + inbox + " --out " + (dir / "o") +
                       " --presence-band 0.2,0.3,0.4");
    EXPECT_EQ(r.code, 2) << r.out;
    r = run_chickenseg("mine --package " + pkg + " --images " + inbox + " --out " + inbox + "/sub");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("inside the inbox"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path / "inbox" / "sub"));
    r = run_chickenseg("mine --merge " + inbox + " --out " + (dir / "o"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("no mining scores here"), std::string::npos) << r.out;
}

TEST(CliMine, ClusterUsageIsCheckedBeforeAnythingIsSubmitted) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "inbox");
    std::filesystem::create_directories(dir.path / "pkg");  // not a package
    const std::string base =
        "mine --package " + (dir / "pkg") + " --images " + (dir / "inbox") + " --out " + (dir / "o");
    for (const char* bad :
         {" --use-cluster 1", " --use-cluster 1 --shards 0", " --use-cluster 1 --shards -2",
          " --use-cluster 1 --shards x", " --use-cluster 2 --shards 2", " --use-cluster 1 --shards 2 --shard 1/2",
          " --use-cluster 1 --shards 2 partition=cpu", " --use-cluster 1 --shards 2 --cluster-backend pbs",
          " --shards 2", " --wait", " --dry-run", " slurm.partition=cpu"}) {
        CliResult r = run_chickenseg(base + bad);
        EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
    }
    CliResult r = run_chickenseg(base + " --wait");
    EXPECT_NE(r.out.find("--wait goes with --use-cluster 1"), std::string::npos) << r.out;
    // A folder that is not a package would fail every shard: refused before the request is written.
    r = run_chickenseg(base + " --use-cluster 1 --shards 2 --dry-run");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("manifest.json"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path / "o" / ".mine-cluster" / "request.json"));
}

// One scores line as a mining run writes it (no detections).
json line(const std::string& file, float presence, float priority, const char* dhash, const char* reason) {
    json reasons = json::array();
    if (*reason) reasons.push_back(reason);
    return {{"file", file},
            {"width", 8},
            {"height", 6},
            {"pairs",
             {{{"image_id", 1},
               {"prompt", "chicken"},
               {"presence", presence},
               {"gated", presence < 0.5},
               {"detections", json::array()}}}},
            {"mine",
             {{"dhash", dhash},
              {"presence", presence},
              {"kept", 0},
              {"borderline", 0},
              {"nearest_gap", nullptr},
              {"min_stability", nullptr},
              {"terms", {{"presence", 3 * priority}, {"instance", 0}, {"mask", 0}}},
              {"priority", priority},
              {"reasons", reasons}}}};
}

void write_shard(const std::filesystem::path& dir, const std::string& shard, const json& settings,
                 const std::vector<json>& lines, bool complete) {
    std::filesystem::create_directories(dir);
    std::string text =
        json{{"schema", "chickenseg.mine-scores/1"}, {"shard", shard}, {"settings", settings}}.dump() + "\n";
    for (const auto& l : lines) text += l.dump() + "\n";
    if (complete) text += "{\"complete\":true}\n";
    write_file_atomic(dir / kMineScoresFile, text);
}

TEST(CliMine, MergeRanksTheShardsTogetherAndWritesTheOutputs) {
    TempDir dir;
    const auto inbox = dir.path / "inbox";
    std::filesystem::create_directories(inbox / "cam");
    for (const char* name : {"a.png", "b.png", "cam/c.png", "cam/d.png", "e.png"})
        write_png(inbox / name, RgbImage{8, 6, std::vector<uint8_t>(8 * 6 * 3, 100)});
    const json settings = {{"inbox", inbox.string()},
                           {"package", "/p"},
                           {"model", "tiny:0"},
                           {"prompt", "chicken"},
                           {"presence_band", {0.4, 0.6}},
                           {"instance_margin", 0.1},
                           {"stability_delta", 1.0},
                           {"stability_min", 0.9},
                           {"thresholds", {{"score", 0.5}, {"presence", 0.5}, {"mask", 0.5}}}};
    // d repeats b's hash but ranks below it; e has no reason.
    write_shard(dir.path / "s1", "1/2", settings,
                {line("a.png", 0.45f, 0.3f, "00000000000000ff", "ambiguous_presence"),
                 line("cam/c.png", 0.5f, 0.33f, "ffff000000000000", "ambiguous_presence"),
                 line("e.png", 0.99f, 0.01f, "0f0f0f0f0f0f0f0f", "")},
                true);
    write_shard(dir.path / "s2", "2/2", settings,
                {line("b.png", 0.42f, 0.32f, "0000ffff00000000", "ambiguous_presence"),
                 line("cam/d.png", 0.55f, 0.2f, "0000ffff00000001", "ambiguous_presence")},
                false);
    const std::string out = dir / "out";
    CliResult r = run_chickenseg("--json mine --merge " + (dir / "s1") + " " + (dir / "s2") + " --out " + out);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("has not finished"), std::string::npos) << r.out;
    write_file_atomic(dir.path / "s2" / kMineScoresFile,
                      read_file(dir.path / "s2" / kMineScoresFile) + "{\"complete\":true}\n");

    r = run_chickenseg(
        "--json mine --merge " + (dir / "s1") + " " + (dir / "s2") + " --out " + out + " --limit 2 --copy",
        Stderr::Separate);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const json summary = json::parse(r.out);
    EXPECT_EQ(summary["images"], 5);
    EXPECT_EQ(summary["candidates"], 4);
    EXPECT_EQ(summary["chosen"], 2);
    EXPECT_EQ(summary["linked"], 0);  // --copy
    const json report = read_json_file(dir.path / "out" / kMineReportFile);
    ASSERT_EQ(report["chosen"].size(), 2u);
    EXPECT_EQ(report["chosen"][0]["file"], "cam/c.png");  // priority 0.33
    EXPECT_EQ(report["chosen"][1]["file"], "b.png");      // 0.32; a.png (0.30) is past the limit
    EXPECT_EQ(report["images"].size(), 5u);
    EXPECT_EQ(report["presence_histogram"]["counts"][19], 1);  // e.png at 0.99
    EXPECT_TRUE(std::filesystem::exists(dir.path / "out" / "cam" / "c.png"));
    EXPECT_TRUE(std::filesystem::exists(dir.path / "out" / "cam" / "c.json"));
    EXPECT_FALSE(std::filesystem::exists(dir.path / "out" / "a.png"));
    const json labelme = read_json_file(dir.path / "out" / "b.json");
    EXPECT_EQ(labelme["imagePath"], "b.png");
    EXPECT_EQ(labelme["flags"]["ambiguous_presence"], true);
    EXPECT_EQ(labelme["flags"]["unstable_mask"], false);
    const std::string html = read_file(dir.path / "out" / kMineHtmlFile);
    EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);

    // Again into the same folder: b and c are mined; d repeats b (1 bit), so a is chosen.
    r = run_chickenseg("--json mine --merge " + (dir / "s1") + " " + (dir / "s2") + " --out " + out + " --limit 2",
                       Stderr::Separate);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const json again = read_json_file(dir.path / "out" / kMineReportFile);
    EXPECT_EQ(json::parse(r.out)["already_mined"], 2);
    ASSERT_EQ(again["chosen"].size(), 1u);
    EXPECT_EQ(again["chosen"][0]["file"], "a.png");
    ASSERT_EQ(again["duplicates"].size(), 1u);
    EXPECT_EQ(again["duplicates"][0]["file"], "cam/d.png");
    EXPECT_EQ(again["duplicates"][0]["duplicate_of"], "b.png");
    EXPECT_EQ(again["duplicates"][0]["distance"], 1);
    EXPECT_EQ(read_file(dir.path / "out" / kMineStateFile).size() > 0, true);
    size_t lines = 0;
    for (char c : read_file(dir.path / "out" / kMineStateFile)) lines += c == '\n';
    EXPECT_EQ(lines, 3u);

    // A shard of another run is refused.
    json other = settings;
    other["prompt"] = "hen";
    write_shard(dir.path / "s3", "2/2", other, {}, true);
    r = run_chickenseg("mine --merge " + (dir / "s1") + " " + (dir / "s3") + " --out " + (dir / "out2"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("other settings"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace chickenseg
