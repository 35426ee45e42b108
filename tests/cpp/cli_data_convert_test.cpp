// End-to-end: the `chickenseg data convert` command line (exit codes, table, --json, errors).
#include <gtest/gtest.h>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"
#include "cli_support.h"
#include "convert_fixtures.h"

using namespace chickenseg;
namespace fs = std::filesystem;
using fixtures::TempDir;
using test::CliResult;
using test::run_chickenseg;
using test::shell_args;
using test::Stderr;

namespace {

void make_dataset(const TempDir& d) {
    fixtures::write_text(d / "yolo/classes.txt", "Chicken\nEgg\n");
    fixtures::write_test_png(d / "yolo/images/a.png", 40, 20);
    fixtures::write_text(d / "yolo/labels/a.txt", "0 0.5 0.5 0.5 0.5\n1 0.1 0.1 0.1 0.1\n");
    fixtures::write_test_png(d / "yolo/images/b.png", 40, 20);
}

}  // namespace

TEST(CliDataConvert, TableOnSuccess) {
    TempDir d;
    make_dataset(d);
    CliResult r = run_chickenseg(shell_args({"-q", "data", "convert", (d / "yolo").string(), "--out",
                                             (d / "out.json").string(), "--unknown-labels", "background"}),
                                 Stderr::Separate);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("converted yolo annotations -> "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  positives           1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"Egg\"     background"), std::string::npos) << r.out;
    SacoDataset ds = read_saco_json(d / "out.json");
    EXPECT_EQ(ds.images.size(), 2u);
    EXPECT_EQ(ds.annotations.size(), 1u);
}

TEST(CliDataConvert, JsonSummary) {
    TempDir d;
    make_dataset(d);
    fixtures::write_text(d / "map.yaml", "background: [egg]\n");
    CliResult r = run_chickenseg(
        shell_args({"--json", "data", "convert", (d / "yolo").string(), "--out", (d / "out.json").string(),
                    "--label-map", (d / "map.yaml").string(), "--concept", "Chicken"}),
        Stderr::Separate);
    ASSERT_EQ(r.code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["images"], 2);
    EXPECT_EQ(j["positives"], 1);
    EXPECT_EQ(j["negatives"], 1);
    EXPECT_EQ(j["annotations"], 1);
    EXPECT_EQ(j["concept"], "Chicken");
    EXPECT_EQ(j["written"], true);
    EXPECT_EQ(j["source_format"], "yolo");
    EXPECT_TRUE(r.err.empty()) << r.err;  // --json: no progress display
}

TEST(CliDataConvert, ErrorsExitOneAndWriteNothing) {
    TempDir d;
    make_dataset(d);
    fixtures::write_text(d / "yolo/labels/b.txt", "0 0.5 0.5 0.5\n");
    CliResult r =
        run_chickenseg(shell_args({"-q", "data", "convert", (d / "yolo").string(), "--out", (d / "out.json").string()}),
                       Stderr::Separate);
    EXPECT_EQ(r.code, 1);
    EXPECT_FALSE(fs::exists(d / "out.json"));
    EXPECT_NE(r.err.find("labels/b.txt:1: expected `class cx cy w h`"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unknown label \"Egg\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("2 problem(s) found; nothing written"), std::string::npos) << r.err;
}

TEST(CliDataConvert, UsageErrorsExitTwo) {
    TempDir d;
    make_dataset(d);
    EXPECT_EQ(run_chickenseg(shell_args({"data", "convert", (d / "yolo").string()}), Stderr::Separate).code,
              2);  // no --out
    EXPECT_EQ(
        run_chickenseg(shell_args({"data", "convert", (d / "yolo").string(), "--out", "x.json", "--format", "voc"}),
                       Stderr::Separate)
            .code,
        2);
    EXPECT_EQ(run_chickenseg(
                  shell_args({"data", "convert", (d / "yolo").string(), "--out", "x.json", "--unknown-labels", "drop"}),
                  Stderr::Separate)
                  .code,
              2);
    EXPECT_EQ(run_chickenseg(shell_args({"data", "convert"}), Stderr::Separate).code, 2);
}

TEST(CliDataConvert, DryRunAndMissingInput) {
    TempDir d;
    make_dataset(d);
    CliResult r = run_chickenseg(
        shell_args({"-q", "data", "convert", (d / "yolo").string(), "--dry-run", "--unknown-labels", "exclude"}),
        Stderr::Separate);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("dry run: nothing written"), std::string::npos);
    EXPECT_NE(r.out.find("excluded            1  (unknown_label: 1)"), std::string::npos) << r.out;
    CliResult missing =
        run_chickenseg(shell_args({"-q", "data", "convert", (d / "nope").string(), "--out", (d / "o.json").string()}),
                       Stderr::Separate);
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("input not found"), std::string::npos) << missing.err;
}
