// The annotator's pieces that need no model: the click's choice among candidate masks, the
// folder's path checks and LabelMe names, annotations read, checked and saved (also by two
// threads at once). The server itself: tests/python/test_annotate.py.
#include <gtest/gtest.h>

#include <thread>

#include "chickenseg/annotate/annotate_folder.h"
#include "chickenseg/annotate/click_mask.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "test_support.h"

namespace chickenseg {
namespace {

using test::TempDir;

Rle mask_from_rect(uint32_t h, uint32_t w, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1) {
    std::vector<uint8_t> m(size_t{h} * w, 0);
    for (uint32_t x = x0; x < x1; ++x)
        for (uint32_t y = y0; y < y1; ++y) m[size_t{x} * h + y] = 1;
    return rle_encode(m, h, w);
}

Detection detection(int query, float score, Rle mask) {
    Detection d;
    d.query = query;
    d.score = score;
    d.mask = std::move(mask);
    return d;
}

TEST(ClickMask, ContainsReadsColumnMajorRuns) {
    const Rle m = mask_from_rect(6, 8, 2, 1, 5, 4);  // x 2..4, y 1..3
    for (uint32_t x = 0; x < 8; ++x)
        for (uint32_t y = 0; y < 6; ++y) EXPECT_EQ(rle_contains(m, x, y), x >= 2 && x < 5 && y >= 1 && y < 4) << x << y;
    EXPECT_FALSE(rle_contains(m, 8, 0));
    EXPECT_FALSE(rle_contains(m, 0, 6));
}

TEST(ClickMask, ChoosesTheHighestScoringMaskContainingTheClick) {
    ImageDetections all;
    all.detections.push_back(detection(0, 0.9f, mask_from_rect(10, 10, 0, 0, 3, 3)));   // elsewhere
    all.detections.push_back(detection(4, 0.2f, mask_from_rect(10, 10, 4, 4, 9, 9)));   // big, low score
    all.detections.push_back(detection(2, 0.05f, mask_from_rect(10, 10, 5, 5, 7, 7)));  // inside, lower
    all.detections.push_back(detection(1, 0.2f, mask_from_rect(10, 10, 5, 5, 8, 8)));   // tie: lower query wins
    const Detection* d = choose_click_detection(all, 6, 6);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->query, 1);
    d = choose_click_detection(all, 8, 8);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->query, 4);
    EXPECT_EQ(choose_click_detection(all, 9, 0), nullptr);  // no mask there: nothing invented
}

TEST(ClickMask, InnerPixelIsDeepInsideTheMask) {
    const auto p = mask_inner_pixel(mask_from_rect(20, 30, 10, 4, 21, 15));  // 11 x 11 square
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, (std::pair<uint32_t, uint32_t>{15, 9}));
    EXPECT_FALSE(mask_inner_pixel(mask_from_rect(5, 5, 0, 0, 0, 0)));
    const auto edge = mask_inner_pixel(mask_from_rect(5, 5, 4, 4, 5, 5));  // one pixel in the corner
    ASSERT_TRUE(edge);
    EXPECT_EQ(*edge, (std::pair<uint32_t, uint32_t>{4, 4}));
}

struct Folder {
    TempDir dir;
    std::filesystem::path root;
    Folder() : root(dir.path / "to_annotate") {
        std::filesystem::create_directories(root / "cam");
        const RgbImage image{40, 30, std::vector<uint8_t>(40 * 30 * 3, 90)};
        write_png(root / "a.png", image);
        write_jpeg(root / "a.jpg", image);
        write_png(root / "cam" / "b.png", image);
        write_png(dir.path / "outside.png", image);
        std::filesystem::create_symlink(dir.path / "outside.png", root / "link.png");
    }
};

TEST(AnnotateFolder, ListsImagesWithTheirLabelmeNames) {
    Folder f;
    AnnotateFolder folder(f.root);
    const auto images = folder.images();
    std::vector<std::string> names;
    for (const auto& im : images) names.push_back(im.file + "=" + im.labelme);
    EXPECT_EQ(names, (std::vector<std::string>{"a.jpg=a.json", "a.png=a.png.json", "cam/b.png=cam/b.json",
                                               "link.png=link.json"}));
    EXPECT_EQ(images[0].width, 40u);
    EXPECT_EQ(images[0].height, 30u);
    EXPECT_EQ(folder.reviewed_count(), 0u);
}

TEST(AnnotateFolder, RefusesPathsOutsideTheFolder) {
    Folder f;
    AnnotateFolder folder(f.root);
    for (const std::string& bad :
         std::vector<std::string>{"../outside.png", "/etc/passwd", "cam/../a.png", "./a.png", "cam//b.png", "",
                                  "cam\\b.png", std::string("a.png\0x", 7), "link.png"}) {
        try {
            folder.image(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const RequestError& e) {
            EXPECT_EQ(e.status(), 403) << bad;
        }
    }
    try {
        folder.image("nothere.png");
        ADD_FAILURE();
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 404);
    }
    EXPECT_EQ(folder.image("cam/b.png").file, "cam/b.png");
}

TEST(AnnotateFolder, SavesExactlyWhatWasSentAndReadsItBack) {
    Folder f;
    AnnotateFolder folder(f.root);
    const json body = {{"shapes",
                        {{{"label", "chicken"}, {"polygons", {{1, 1, 10, 1, 10, 10}, {20, 20, 30, 20, 30, 28}}}},
                         {{"label", "chicken"}, {"group_id", nullptr}, {"polygons", {{2, 2, 5, 2, 5, 5}}}}}},
                       {"flags", {{"unstable_mask", true}}}};
    const AnnotateImage saved = folder.save("cam/b.png", body);
    EXPECT_TRUE(saved.reviewed);
    EXPECT_FALSE(saved.negative);
    EXPECT_EQ(folder.reviewed_count(), 1u);
    const Annotation back = folder.read("cam/b.png");
    EXPECT_TRUE(back.exists);
    EXPECT_EQ(back.flags, (std::map<std::string, bool>{{"reviewed", true}, {"unstable_mask", true}}));
    ASSERT_EQ(back.shapes.size(), 2u);
    EXPECT_EQ(back.shapes[0].polygons.size(), 2u);  // one instance of two polygons (a group_id)
    EXPECT_EQ(back.shapes[1].polygons, (std::vector<Polygon>{{2, 2, 5, 2, 5, 5}}));
    const json file = read_json_file(f.root / "cam" / "b.json");
    EXPECT_EQ(file["imagePath"], "b.png");
    EXPECT_EQ(file["shapes"].size(), 3u);
}

TEST(AnnotateFolder, ANegativeHasNoShapes) {
    Folder f;
    AnnotateFolder folder(f.root);
    const AnnotateImage im = folder.save("a.png", {{"shapes", json::array()}, {"flags", {{kNegativeFlag, true}}}});
    EXPECT_TRUE(im.negative);
    EXPECT_EQ(read_json_file(f.root / "a.png.json")["shapes"], json::array());
    try {
        folder.save("a.png", {{"shapes", {{{"label", "chicken"}, {"polygons", {{1, 1, 9, 1, 9, 9}}}}}},
                              {"flags", {{kNegativeFlag, true}}}});
        ADD_FAILURE();
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find(kNegativeFlag), std::string::npos);
    }
}

TEST(AnnotateFolder, BadAnnotationsAreRefusedAndTheFileKept) {
    Folder f;
    AnnotateFolder folder(f.root);
    folder.save("a.jpg", {{"shapes", json::array()}, {"flags", json::object()}});
    const std::string before = read_file(f.root / "a.json");
    for (const json& shapes : {json{{{"label", "chicken"}, {"polygons", {{1, 1, 99, 1, 9, 9}}}}},  // outside
                               json{{{"label", "chicken"}, {"polygons", {{1, 1, 9}}}}},
                               json{{{"label", 3}, {"polygons", {{1, 1, 9, 1, 9, 9}}}}}, json{"x"}}) {
        try {
            folder.save("a.jpg", {{"shapes", shapes}, {"flags", json::object()}});
            ADD_FAILURE() << shapes;
        } catch (const RequestError& e) {
            EXPECT_EQ(e.status(), 400) << shapes;
        }
    }
    EXPECT_EQ(read_file(f.root / "a.json"), before);
}

TEST(AnnotateFolder, UneditableShapesAreAConflictNamingTheField) {
    Folder f;
    write_file_atomic(f.root / "a.json",
                      R"({"imagePath": "a.jpg", "shapes": [{"label": "chicken", "points": [[1, 1], [4, 4]],
        "shape_type": "rectangle"}, {"label": "chick", "points": [[5, 5], [7, 7]], "shape_type": "circle"}]})");
    AnnotateFolder folder(f.root);
    try {
        folder.read("a.jpg");
        ADD_FAILURE();
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 409);
        EXPECT_NE(std::string(e.what()).find("shapes[1].shape_type"), std::string::npos) << e.what();
    }
    write_file_atomic(f.root / "a.json",
                      R"({"imagePath": "a.jpg", "shapes": [{"label": "chicken", "points": [[1, 1], [4, 4]],
        "shape_type": "rectangle"}]})");
    EXPECT_EQ(folder.read("a.jpg").shapes.at(0).polygons.at(0), (Polygon{1, 1, 4, 1, 4, 4, 1, 4}));
}

TEST(AnnotateFolder, ConcurrentSavesOfOneImageLeaveOneWholeFile) {
    Folder f;
    AnnotateFolder folder(f.root);
    auto writer = [&](int w) {
        for (int k = 0; k < 20; ++k) {
            json polygons = json::array();
            for (int i = 0; i < 1 + 50 * w; ++i) polygons.push_back({1, 1, 10 + w, 1, 10 + w, 10});
            folder.save(
                "cam/b.png",
                {{"shapes", {{{"label", "chicken"}, {"description", "w" + std::to_string(w)}, {"polygons", polygons}}}},
                 {"flags", json::object()}});
        }
    };
    std::thread a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    const json file = read_json_file(f.root / "cam" / "b.json");
    const std::string who = file["shapes"][0]["description"];
    EXPECT_EQ(file["shapes"].size(), who == "w0" ? 1u : 51u);
    for (const auto& e : std::filesystem::directory_iterator(f.root / "cam"))
        EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(AnnotateFolder, AFolderWithoutImagesIsAnError) {
    TempDir dir;
    EXPECT_THROW(AnnotateFolder folder(dir.path), Error);
    EXPECT_THROW(AnnotateFolder folder(dir.path / "missing"), Error);
}

}  // namespace
}  // namespace chickenseg
