// End to end: `chickenseg data sample` writes the same bytes for a seed, honours
// --size, rejects bad options with exit 2, and its output converts with
// `data convert` (both the LabelMe and the YOLO form) into the expected dataset.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/saco.h"
#include "cli_support.h"

namespace fs = std::filesystem;
using namespace chickenseg;
using namespace chickenseg::test;  // CliResult, run_chickenseg, Stderr, TempDir

TEST(CliDataSample, SameSeedSameBytesDifferentSeedDifferentBytes) {
    TempDir t;
    std::string a = (t.path / "a").string(), b = (t.path / "b").string(), c = (t.path / "c").string();
    ASSERT_EQ(run_chickenseg("data sample --out " + a + " --count 8 --seed 5 --size 200x150").code, 0);
    ASSERT_EQ(run_chickenseg("-q data sample --out " + b + " --count 8 --seed 5 --size 200x150").code, 0);
    ASSERT_EQ(run_chickenseg("-q data sample --out " + c + " --count 8 --seed 6 --size 200x150").code, 0);
    auto ta = test::file_tree(a);
    EXPECT_EQ(ta, test::file_tree(b));
    EXPECT_NE(ta, test::file_tree(c));
    EXPECT_TRUE(ta.count("label_map.yaml"));
    EXPECT_TRUE(ta.count("README.md"));
    EXPECT_TRUE(ta.count("yolo/classes.txt"));
    for (const auto& [rel, bytes] : ta) {
        if (rel.rfind("labelme/", 0) != 0 || fs::path(rel).extension() == ".json") continue;
        ImageInfo info = read_image_info(fs::path(a) / rel);
        EXPECT_EQ(info.width, 200u) << rel;
        EXPECT_EQ(info.height, 150u) << rel;
    }
}

TEST(CliDataSample, JsonSummaryAndUsageErrors) {
    TempDir t;
    CliResult r = run_chickenseg("--json data sample --out " + (t.path / "s").string() + " --count 10 --size 128x96");
    ASSERT_EQ(r.code, 0) << r.out;
    json j = json::parse(r.out);
    EXPECT_EQ(j["images"], 10);
    EXPECT_EQ(j["positives"], 6);
    EXPECT_EQ(j["ambiguous"], 1);
    EXPECT_EQ(j["hard_negatives"], 3);
    EXPECT_EQ(j["png"].get<int>() + j["jpeg"].get<int>(), 10);

    EXPECT_EQ(run_chickenseg("data sample --out " + (t.path / "x").string() + " --size 640by480").code, 2);
    EXPECT_EQ(run_chickenseg("data sample --out " + (t.path / "x").string() + " --count 0").code, 2);
    EXPECT_EQ(run_chickenseg("data sample --count 3").code, 2);  // --out is required
    CliResult small = run_chickenseg("data sample --out " + (t.path / "x").string() + " --size 10x10");
    EXPECT_EQ(small.code, 1);
    EXPECT_NE(small.out.find("64x64"), std::string::npos) << small.out;
    EXPECT_FALSE(fs::exists(t.path / "x"));
    // A folder with someone else's files is never overwritten.
    fs::create_directories(t.path / "mine");
    write_file_atomic(t.path / "mine/keep.txt", "x");
    CliResult refused = run_chickenseg("data sample --out " + (t.path / "mine").string() + " --count 2");
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.out.find("not empty"), std::string::npos) << refused.out;
    EXPECT_EQ(read_file(t.path / "mine/keep.txt"), "x");
}

// --video: the animated barn with its ground truth; its options need it, --count excludes it.
TEST(CliDataSample, VideoWritesFramesAndGroundTruth) {
    TempDir t;
    const std::string out = (t.path / "v").string();
    CliResult r = run_chickenseg("--json data sample --video --out " + out + " --frames 12 --fps 6 --size 96x64");
    ASSERT_EQ(r.code, 0) << r.out;
    json j = json::parse(r.out);
    EXPECT_EQ(j["frames"], 12);
    EXPECT_GT(j["chickens"].get<int>(), 0);
    EXPECT_TRUE(fs::exists(t.path / "v/img1/000012.jpg"));
    EXPECT_TRUE(fs::exists(t.path / "v/gt/gt.txt"));
    ImageInfo info = read_image_info(t.path / "v/img1/000001.jpg");
    EXPECT_EQ(info.width, 96u);
    EXPECT_EQ(info.height, 64u);
    CliResult gt = run_chickenseg("-q data sample --video --gt-only --out " + (t.path / "g").string() +
                                  " --frames 12 --fps 6 --size 96x64");
    ASSERT_EQ(gt.code, 0) << gt.out;
    EXPECT_FALSE(fs::exists(t.path / "g/img1"));
    EXPECT_EQ(read_file(t.path / "g/gt/gt.txt"), read_file(t.path / "v/gt/gt.txt"));

    const std::string x = " --out " + (t.path / "x").string();
    EXPECT_EQ(run_chickenseg("data sample --video --count 3" + x).code, 2);
    EXPECT_EQ(run_chickenseg("data sample --frames 3" + x).code, 2);
    EXPECT_EQ(run_chickenseg("data sample --gt-only" + x).code, 2);
    EXPECT_EQ(run_chickenseg("data sample --video --frames 0" + x).code, 2);
    EXPECT_EQ(run_chickenseg("data sample --video --fps 0" + x).code, 2);
    EXPECT_EQ(run_chickenseg("data sample --video --fps fast" + x).code, 2);
    CliResult small = run_chickenseg("data sample --video --size 10x10" + x);
    EXPECT_EQ(small.code, 1);
    EXPECT_NE(small.out.find("64x64"), std::string::npos) << small.out;
    EXPECT_FALSE(fs::exists(t.path / "x"));
    // A still sample is not a sample video: never replaced by one.
    ASSERT_EQ(run_chickenseg("-q data sample --out " + (t.path / "s").string() + " --count 2 --size 96x64").code, 0);
    CliResult refused = run_chickenseg("data sample --video --out " + (t.path / "s").string() + " --frames 2");
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.out.find("no previous chickenseg sample video (no video.json)"), std::string::npos)
        << refused.out;
}

// The demo path: sample -> convert. Both annotation forms give the same dataset:
// ambiguous scenes excluded, hard negatives kept as negatives, every positive scene a
// positive image, and the same masks (YOLO is normalised to 6 decimals: IoU ~ 1).
TEST(CliDataSample, ConvertsInBothFormsToTheSameDataset) {
    TempDir t;
    fs::path raw = t.path / "raw";
    ASSERT_EQ(run_chickenseg("-q data sample --out " + raw.string() + " --count 30 --seed 2").code, 0);
    json meta = read_json_file(raw / "sample.json");
    size_t positives = 0, negatives = 0, chickens = 0;
    for (const auto& s : meta["scenes"]) {
        if (s["kind"] == "ambiguous") continue;
        (s["kind"] == "positive" ? positives : negatives)++;
        for (const auto& l : s["labels"]) {
            std::string label = l;
            chickens +=
                label == "chicken" || label == "Chicken" || label == "hen" || label == "rooster" || label == "chick";
        }
    }
    fs::path lm = t.path / "labelme.json", yo = t.path / "yolo.json";
    // `data convert INPUT --label-map MAP --out OUT`.
    CliResult a = run_chickenseg("-q data convert " + (raw / "labelme").string() + " --label-map " +
                                 (raw / "label_map.yaml").string() + " --out " + lm.string());
    ASSERT_EQ(a.code, 0) << a.out;
    CliResult b = run_chickenseg("-q data convert " + (raw / "yolo").string() + " --label-map " +
                                 (raw / "label_map.yaml").string() + " --out " + yo.string());
    ASSERT_EQ(b.code, 0) << b.out;
    SacoDataset dl = read_saco_json(lm), dy = read_saco_json(yo);
    EXPECT_EQ(dl.images.size(), positives + negatives);
    EXPECT_EQ(dl.positive_count(), positives);
    EXPECT_EQ(dl.negative_count(), negatives);
    EXPECT_EQ(dl.annotations.size(), chickens);
    ASSERT_EQ(dy.images.size(), dl.images.size());
    ASSERT_EQ(dy.annotations.size(), dl.annotations.size());
    std::map<int64_t, const SacoImage*> yimg;
    for (const auto& im : dy.images) yimg[im.id] = &im;
    for (size_t i = 0; i < dl.images.size(); ++i)
        EXPECT_EQ(fs::path(dl.images[i].file_name).filename(), fs::path(dy.images[i].file_name).filename());
    for (size_t i = 0; i < dl.annotations.size(); ++i) {
        const auto& al = dl.annotations[i];
        const auto& ay = dy.annotations[i];
        ASSERT_EQ(al.image_id, ay.image_id);
        const SacoImage& im = *yimg[ay.image_id];
        std::vector<Rle> ml{segmentation_to_rle(al.segmentation, im.height, im.width)};
        std::vector<Rle> my{segmentation_to_rle(ay.segmentation, im.height, im.width)};
        EXPECT_GT(rle_iou(ml, my, {})[0], 0.97) << im.file_name << " annotation " << i;
    }
}
