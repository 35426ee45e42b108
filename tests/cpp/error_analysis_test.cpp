// Error analysis on hand-made masks: each failure detector (ghosting,
// fragmentation, bleeding) on cases that must and must not fire; the per-image
// analysis and its worst-first order; the overlay drawing; the HTML report
// (escaping, links, determinism, stale overlays removed).
#include <gtest/gtest.h>

#include <filesystem>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/eval/error_analysis.h"
#include "chickenseg/eval/html_report.h"
#include "chickenseg/eval/overlay.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kH = 40, kW = 60;

// Rectangle [x0, x1) x [y0, y1) as an RLE on a kH x kW image.
Rle rect(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, uint32_t h = kH, uint32_t w = kW) {
    std::vector<uint8_t> m(static_cast<size_t>(h) * w, 0);
    for (uint32_t x = x0; x < x1; ++x)
        for (uint32_t y = y0; y < y1; ++y) m[static_cast<size_t>(x) * h + y] = 1;  // column-major
    return rle_encode(m, h, w);
}

MaskOverlaps overlaps(std::vector<Rle> dets, std::vector<Rle> gts, std::vector<uint8_t> crowd = {}) {
    if (crowd.empty()) crowd.assign(gts.size(), 0);
    return compute_mask_overlaps(dets, gts, crowd);
}

TEST(MaskOverlaps, AreasIntersectionsAndCrowdIou) {
    MaskOverlaps ov = overlaps({rect(0, 0, 10, 10), rect(5, 0, 15, 10)}, {rect(0, 0, 10, 10), rect(30, 0, 40, 10)});
    EXPECT_EQ(ov.det_area, (std::vector<uint64_t>{100, 100}));
    EXPECT_EQ(ov.inter(0, 0), 100u);
    EXPECT_EQ(ov.inter(1, 0), 50u);
    EXPECT_EQ(ov.inter(1, 1), 0u);
    EXPECT_DOUBLE_EQ(ov.iou(0, 0), 1.0);
    EXPECT_DOUBLE_EQ(ov.iou(1, 0), 50.0 / 150.0);
    MaskOverlaps crowd = overlaps({rect(0, 0, 10, 10)}, {rect(0, 0, 40, 40)}, {1});
    EXPECT_DOUBLE_EQ(crowd.iou(0, 0), 1.0);  // intersection / area(detection)
    EXPECT_THROW(overlaps({rect(0, 0, 1, 1)}, {rect(0, 0, 1, 1, 10, 10)}), Error);
    EXPECT_THROW(compute_mask_overlaps(std::vector<Rle>{}, std::vector<Rle>{rect(0, 0, 1, 1)}, std::vector<uint8_t>{}),
                 Error);
}

TEST(Ghosting, EveryDetectionOnANegativeImage) {
    MaskOverlaps ov = overlaps({rect(0, 0, 5, 5), rect(20, 20, 30, 30)}, {});
    std::vector<DetectionPairing> pairing(2);
    auto f = detect_ghosting(ov, pairing, {});
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].type, FailureType::ghosting);
    EXPECT_EQ(f[1].detections, std::vector<uint32_t>{1});
    EXPECT_NE(f[0].detail.find("no chicken"), std::string::npos);
}

TEST(Ghosting, UnmatchedDetectionFarFromEveryGt) {
    // GT at the left; det 0 matches it, det 1 half-overlaps (IoU 1/3, not a ghost),
    // det 2 is in empty space (ghost), det 3 barely touches (IoU 0.05 < 0.1: ghost).
    Rle gt = rect(0, 0, 10, 10);
    MaskOverlaps ov =
        overlaps({rect(0, 0, 10, 10), rect(5, 0, 15, 10), rect(40, 20, 50, 30), rect(9, 0, 19, 10)}, {gt});
    std::vector<DetectionPairing> pairing(4);
    pairing[0] = {0, 1.0};
    auto f = detect_ghosting(ov, pairing, {});
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].detections, std::vector<uint32_t>{2});
    EXPECT_DOUBLE_EQ(f[0].measure, 0.0);
    EXPECT_EQ(f[1].detections, std::vector<uint32_t>{3});
    EXPECT_NEAR(f[1].measure, 10.0 / 190.0, 1e-12);
    // A stricter threshold no longer calls the barely-touching one a ghost.
    ErrorAnalysisParams p;
    p.ghost_max_iou = 0.05;
    EXPECT_EQ(detect_ghosting(ov, pairing, p).size(), 1u);
}

TEST(Ghosting, DetectionOnACrowdRegionIsNotAGhost) {
    MaskOverlaps ov = overlaps({rect(2, 2, 6, 6)}, {rect(0, 0, 30, 30)}, {1});
    std::vector<DetectionPairing> pairing(1);
    EXPECT_TRUE(detect_ghosting(ov, pairing, {}).empty());
}

TEST(Fragmentation, TwoPiecesInsideOneGt) {
    Rle gt = rect(0, 0, 20, 20);
    MaskOverlaps ov = overlaps({rect(0, 0, 10, 20), rect(10, 0, 20, 20), rect(40, 0, 50, 10)}, {gt});
    auto f = detect_fragmentation(ov, {});
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].type, FailureType::fragmentation);
    EXPECT_EQ(f[0].detections, (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(*f[0].gt, 0u);
    EXPECT_DOUBLE_EQ(f[0].measure, 2.0);
}

TEST(Fragmentation, NeedsEachPieceMostlyInsideAndEnoughPieces) {
    Rle gt = rect(0, 0, 20, 20);
    // Piece 1 is 10x20 but only 40% inside the GT (x 12..32): not a fragment.
    MaskOverlaps ov = overlaps({rect(0, 0, 10, 20), rect(12, 0, 37, 20)}, {gt});
    EXPECT_TRUE(detect_fragmentation(ov, {}).empty());
    // Exactly 50% inside counts (>=).
    MaskOverlaps half = overlaps({rect(0, 0, 10, 20), rect(10, 0, 30, 20)}, {gt});
    EXPECT_EQ(detect_fragmentation(half, {}).size(), 1u);
    ErrorAnalysisParams three;
    three.fragment_min_count = 3;
    EXPECT_TRUE(detect_fragmentation(half, three).empty());
    // Pieces of a crowd region are not fragmentation.
    MaskOverlaps crowd = overlaps({rect(0, 0, 10, 20), rect(10, 0, 20, 20)}, {gt}, {1});
    EXPECT_TRUE(detect_fragmentation(crowd, {}).empty());
}

TEST(Bleeding, MatchedMaskMuchLargerThanItsGt) {
    Rle gt = rect(0, 0, 10, 10);  // 100 px
    // det 0: 20x10 covering the GT plus 100 px outside: ratio 2.0, outside 1.0, IoU 0.5.
    MaskOverlaps ov = overlaps({rect(0, 0, 20, 10)}, {gt});
    std::vector<DetectionPairing> pairing{{0, ov.iou(0, 0)}};
    auto f = detect_bleeding(ov, pairing, {});
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].type, FailureType::bleeding);
    EXPECT_DOUBLE_EQ(f[0].measure, 2.0);
    EXPECT_NE(f[0].detail.find("2.00x"), std::string::npos);
}

TEST(Bleeding, NotForSlightlyLargerUnpairedOrMisplacedMasks) {
    Rle gt = rect(0, 0, 10, 10);
    // 12x10: ratio 1.2 < 1.5.
    MaskOverlaps small = overlaps({rect(0, 0, 12, 10)}, {gt});
    std::vector<DetectionPairing> p1{{0, small.iou(0, 0)}};
    EXPECT_TRUE(detect_bleeding(small, p1, {}).empty());
    // Large but not paired with the GT.
    MaskOverlaps big = overlaps({rect(0, 0, 20, 10)}, {gt});
    std::vector<DetectionPairing> none(1);
    EXPECT_TRUE(detect_bleeding(big, none, {}).empty());
    // Paired but IoU below bleed_min_iou.
    std::vector<DetectionPairing> weak{{0, 0.05}};
    EXPECT_TRUE(detect_bleeding(big, weak, {}).empty());
    // Ratio reached exactly (1.5) with the extra area outside: fires (>=).
    MaskOverlaps edge = overlaps({rect(0, 0, 15, 10)}, {gt});
    std::vector<DetectionPairing> pe{{0, edge.iou(0, 0)}};
    EXPECT_EQ(detect_bleeding(edge, pe, {}).size(), 1u);
    // A stricter outside ratio stops it.
    ErrorAnalysisParams strict;
    strict.bleed_min_outside_ratio = 0.6;
    EXPECT_TRUE(detect_bleeding(edge, pe, strict).empty());
}

TEST(AnalyseImageFailures, RunsAllThreeInOrder) {
    Rle gt = rect(0, 0, 20, 20);
    MaskOverlaps ov = overlaps({rect(0, 0, 10, 20), rect(10, 0, 20, 20), rect(40, 30, 50, 40)}, {gt});
    std::vector<DetectionPairing> pairing(3);
    pairing[0] = {0, ov.iou(0, 0)};  // IoU 0.5: a TP
    auto f = analyse_image_failures(ov, pairing, {});
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].type, FailureType::ghosting);
    EXPECT_EQ(f[1].type, FailureType::fragmentation);
}

// A dataset of 4 images: clean, fragmented + ghost, negative with a ghost, not exhaustive.
struct Fixture {
    SacoDataset gt;
    PredictionSet preds;
};

Fixture make_fixture() {
    Fixture fx;
    auto image = [&](int64_t id, const std::string& name, int exhaustive) {
        SacoImage im;
        im.id = id;
        im.file_name = name;
        im.width = kW;
        im.height = kH;
        im.text_input = "chicken";
        im.is_instance_exhaustive = exhaustive;
        fx.gt.images.push_back(im);
    };
    auto annotation = [&](int64_t id, int64_t image_id, Rle mask) {
        SacoAnnotation a;
        a.id = id;
        a.image_id = image_id;
        a.segmentation.is_rle = true;
        a.segmentation.rle = rle_compress(mask);
        a.bbox = rle_to_bbox(mask);
        a.area = static_cast<double>(rle_area(mask));
        fx.gt.annotations.push_back(a);
    };
    auto prediction = [&](int64_t image_id, Rle mask, double score) {
        Prediction p;
        p.index = fx.preds.predictions.size();
        p.image_id = image_id;
        p.has_mask = true;
        p.mask = rle_compress(mask);
        p.bbox = rle_to_bbox(mask);
        p.score = score;
        fx.preds.predictions.push_back(p);
    };
    fx.gt.categories.push_back({1, "chicken", json::object()});
    image(1, "clean.png", 1);
    image(2, "bad <one>.png", 1);
    image(3, "empty.png", 1);
    image(4, "partial.png", 0);
    annotation(10, 1, rect(0, 0, 10, 10));
    annotation(20, 2, rect(0, 0, 20, 20));
    annotation(40, 4, rect(0, 0, 10, 10));
    prediction(1, rect(0, 0, 10, 10), 0.9);
    prediction(2, rect(0, 0, 10, 20), 0.8);
    prediction(2, rect(10, 0, 20, 20), 0.7);
    prediction(2, rect(40, 20, 50, 30), 0.6);
    prediction(2, rect(45, 25, 55, 35), 0.3);  // below the threshold: ignored
    prediction(3, rect(30, 10, 40, 20), 0.95);
    prediction(4, rect(40, 20, 50, 30), 0.9);  // not exhaustive: not analysed
    fx.preds.file = "preds.json";
    return fx;
}

TEST(AnalyseErrors, CountsSortsWorstFirstAndSkipsNonExhaustive) {
    Fixture fx = make_fixture();
    ErrorAnalysis a = analyse_errors(fx.gt, "val.json", fx.preds, nullptr);
    EXPECT_EQ(a.images_analysed, 3u);
    EXPECT_EQ(a.images_skipped, 1u);
    ASSERT_EQ(a.images.size(), 3u);
    // Image 2: 3 kept, 1 TP (IoU 0.5), 2 FP, 0 FN, ghost + fragmentation -> severity 4.
    EXPECT_EQ(a.images[0].image_id, 2);
    EXPECT_EQ(a.images[0].detections.size(), 3u);
    EXPECT_EQ(a.images[0].tp, 1u);
    EXPECT_EQ(a.images[0].fp, 2u);
    EXPECT_EQ(a.images[0].fn, 0u);
    EXPECT_EQ(a.images[0].failures.size(), 2u);
    EXPECT_EQ(a.images[0].severity(), 4u);
    EXPECT_TRUE(a.images[0].gts[0].found);
    // Image 3: negative, one ghost + one FP -> severity 2.
    EXPECT_EQ(a.images[1].image_id, 3);
    EXPECT_TRUE(a.images[1].negative);
    EXPECT_EQ(a.images[1].severity(), 2u);
    EXPECT_EQ(a.images[2].image_id, 1);
    EXPECT_EQ(a.images[2].severity(), 0u);
    EXPECT_EQ(a.by_type[static_cast<size_t>(FailureType::ghosting)].failures, 2u);
    EXPECT_EQ(a.by_type[static_cast<size_t>(FailureType::ghosting)].images, 2u);
    EXPECT_EQ(a.by_type[static_cast<size_t>(FailureType::fragmentation)].failures, 1u);
    EXPECT_EQ(a.by_type[static_cast<size_t>(FailureType::bleeding)].failures, 0u);
    EXPECT_EQ(a.images_with_failures, 2u);
    EXPECT_EQ(a.tp, 2u);
    EXPECT_EQ(a.fp, 3u);
    EXPECT_TRUE(a.cgf1.has_value());
    EXPECT_TRUE(a.il_mcc.has_value());
    json j = error_analysis_to_json(a, 2);
    EXPECT_EQ(j["images_shown"], 2);
    EXPECT_EQ(j["failures"]["ghosting"]["failures"], 2);
    EXPECT_EQ(j["images"][0]["failures"][1]["predictions"], json::array({1, 2}));
    EXPECT_EQ(j["images"][0]["failures"][1]["annotation_id"], 20);
}

TEST(Overlay, DownscaleKeepsAspectAndAverages) {
    RgbImage img{1600, 100, std::vector<uint8_t>(1600 * 100 * 3, 0)};
    for (uint32_t x = 0; x < 1600; x += 2)
        for (uint32_t y = 0; y < 100; ++y) img.pixels[(y * 1600 + x) * 3] = 200;
    RgbImage small = downscale_to_width(img, 800);
    EXPECT_EQ(small.width, 800u);
    EXPECT_EQ(small.height, 50u);
    EXPECT_EQ(small.pixels[0], 100);  // average of 200 and 0
    RgbImage same = downscale_to_width(img, 2000);
    EXPECT_EQ(same.width, 1600u);
}

TEST(Overlay, DrawsFillOutlineGtAndLabel) {
    RgbImage img{kW, kH, std::vector<uint8_t>(kW * kH * 3, 100)};
    OverlayStyle style;
    std::vector<Rle> gts{rect(0, 0, 20, 20)};
    std::vector<Rle> dets{rect(30, 10, 50, 30)};
    std::vector<std::string> labels{"1"};  // short, so the label is not pushed left
    draw_overlay(img, gts, dets, labels, style);
    auto px = [&](uint32_t x, uint32_t y) {
        const uint8_t* p = &img.pixels[(y * kW + x) * 3];
        return Rgb{p[0], p[1], p[2]};
    };
    EXPECT_EQ(px(0, 5), style.gt_colour);            // GT outline (left edge)
    EXPECT_EQ(px(1, 5), style.gt_colour);            // 2 px thick
    EXPECT_EQ(px(10, 10), (Rgb{100, 100, 100}));     // GT inside untouched
    EXPECT_EQ(px(40, 29), style.prediction_colour);  // prediction outline (bottom edge)
    Rgb fill = px(45, 25);
    EXPECT_EQ(fill[0], static_cast<uint8_t>(std::lround(100 * 0.55 + 255 * 0.45)));
    EXPECT_EQ(fill[1], static_cast<uint8_t>(std::lround(100 * 0.55)));
    EXPECT_EQ(px(30, 10), (Rgb{0, 0, 0}));        // the label's box sits at the mask's top-left
    EXPECT_EQ(px(59, 39), (Rgb{100, 100, 100}));  // far from every mask and the label
    EXPECT_NE(label_glyph('7'), nullptr);
    EXPECT_EQ(label_glyph('x'), label_glyph('X'));  // lower case drawn as upper case
    EXPECT_NE(label_glyph('x'), nullptr);
    EXPECT_EQ(label_glyph('~'), nullptr);
    std::vector<std::string> wrong{"a", "b"};
    EXPECT_THROW(draw_overlay(img, gts, dets, wrong, style), Error);
}

TEST(Overlay, MaskResampledToTheScaledImage) {
    std::vector<uint8_t> m = resample_mask(rect(0, 0, 30, 40), 30, 20);  // left half, halved
    EXPECT_EQ(m[0 * 30 + 14], 1);
    EXPECT_EQ(m[19 * 30 + 14], 1);
    EXPECT_EQ(m[10 * 30 + 15], 0);
}

TEST(HtmlReport, EscapesText) {
    EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    EXPECT_EQ(overlay_link(-3), "overlays/-3.png");
}

class ReportFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("chickenseg_report_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "images");
        for (const auto& im : fx_.gt.images) {
            RgbImage img{im.width, im.height, std::vector<uint8_t>(static_cast<size_t>(im.width) * im.height * 3, 90)};
            write_png(dir_ / "images" / im.file_name, img);
        }
    }
    void TearDown() override { fs::remove_all(dir_); }
    Fixture fx_ = make_fixture();
    fs::path dir_;
};

TEST_F(ReportFiles, WritesPageAndOverlaysDeterministically) {
    ErrorAnalysis a = analyse_errors(fx_.gt, "val.json", fx_.preds, nullptr);
    ReportParams params;
    ReportOutput out = write_error_report(a, fx_.gt, fx_.preds, dir_ / "images", dir_ / "report", params);
    EXPECT_EQ(out.cards, 3u);
    EXPECT_EQ(out.overlays, 3u);
    std::string html = read_file(dir_ / "report" / "index.html");
    for (int64_t id : {1, 2, 3}) {
        EXPECT_TRUE(fs::exists(dir_ / "report" / overlay_link(id)));
        EXPECT_NE(html.find("src=\"" + overlay_link(id) + "\""), std::string::npos);
    }
    EXPECT_NE(html.find("bad &lt;one&gt;.png"), std::string::npos);
    EXPECT_EQ(html.find("bad <one>"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_LT(html.find("image 2:"), html.find("image 3:"));  // worst first
    EXPECT_LT(html.find("image 3:"), html.find("image 1:"));
    RgbImage overlay = decode_image(dir_ / "report" / overlay_link(2));
    EXPECT_EQ(overlay.width, kW);

    std::string png_before = read_file(dir_ / "report" / overlay_link(2));
    write_error_report(a, fx_.gt, fx_.preds, dir_ / "images", dir_ / "report", params);
    EXPECT_EQ(read_file(dir_ / "report" / "index.html"), html);
    EXPECT_EQ(read_file(dir_ / "report" / overlay_link(2)), png_before);

    // With --limit 1, the overlays of images no longer shown are removed; other files stay.
    write_file_atomic(dir_ / "report" / "overlays" / "notes.png.txt", "keep");
    params.limit = 1;
    ReportOutput limited = write_error_report(a, fx_.gt, fx_.preds, dir_ / "images", dir_ / "report", params);
    EXPECT_EQ(limited.cards, 1u);
    EXPECT_TRUE(fs::exists(dir_ / "report" / overlay_link(2)));
    EXPECT_FALSE(fs::exists(dir_ / "report" / overlay_link(1)));
    EXPECT_TRUE(fs::exists(dir_ / "report" / "overlays" / "notes.png.txt"));
    EXPECT_NE(read_file(dir_ / "report" / "index.html").find("showing the 1 worst"), std::string::npos);
}

TEST_F(ReportFiles, MissingOrMissizedImageIsAnErrorNamingTheFile) {
    ErrorAnalysis a = analyse_errors(fx_.gt, "val.json", fx_.preds, nullptr);
    fs::remove(dir_ / "images" / "clean.png");
    try {
        write_error_report(a, fx_.gt, fx_.preds, dir_ / "images", dir_ / "report", {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("clean.png"), std::string::npos);
    }
    write_png(dir_ / "images" / "clean.png", RgbImage{10, 10, std::vector<uint8_t>(300, 0)});
    try {
        write_error_report(a, fx_.gt, fx_.preds, dir_ / "images", dir_ / "report", {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("10x10 pixels but the ground truth says 60x40"), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(dir_ / "report" / "index.html"));
}

}  // namespace
}  // namespace chickenseg
