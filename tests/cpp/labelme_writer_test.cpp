#include "chickenseg/data/labelme_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/mask_polygons.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/labelme_reader.h"
#include "test_support.h"

using namespace chickenseg;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kW = 320, kH = 240;

// Column-major mask of the pixels whose centres lie in any of the ellipses (cx, cy, rx, ry).
Rle ellipses(std::initializer_list<std::array<double, 4>> shapes) {
    std::vector<uint8_t> px(static_cast<size_t>(kW) * kH, 0);
    for (uint32_t x = 0; x < kW; ++x)
        for (uint32_t y = 0; y < kH; ++y)
            for (const auto& e : shapes) {
                const double u = (x + 0.5 - e[0]) / e[2], v = (y + 0.5 - e[1]) / e[3];
                if (u * u + v * v <= 1) px[static_cast<size_t>(x) * kH + y] = 1;
            }
    return rle_encode(px, kH, kW);
}

double iou(const Rle& a, const Rle& b) {
    return rle_iou(std::span<const Rle>(&a, 1), std::span<const Rle>(&b, 1), {})[0];
}

struct ReadBack {
    LabelMeFile file;
    std::vector<SourceObject> objects;
    Diagnostics diagnostics;
};

ReadBack read_back(const fs::path& path) {
    ReadBack r;
    auto file = read_labelme_file(path, "out.json", r.diagnostics);
    EXPECT_TRUE(file.has_value());
    if (!file) return r;
    r.file = *file;
    EXPECT_TRUE(r.file.image_width && r.file.image_height);
    r.objects = labelme_to_source_objects(r.file, r.file.image_width.value_or(kW), r.file.image_height.value_or(kH),
                                          "out.json", r.diagnostics);
    return r;
}

Rle object_mask(const SourceObject& o) {
    EXPECT_FALSE(o.segmentation.is_rle);
    return rle_from_polygons(o.segmentation.polygons, kH, kW);
}

// The field of the Error that `fn` throws, or "" when it throws none.
template <class Fn>
std::string error_field(Fn fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.place().field;
    }
    return "";
}

}  // namespace

// Detections as the runtime writes them: masks to polygons, one instance each (a mask cut in
// two parts keeps its parts together), read back by the project's LabelMe reader.
TEST(LabelmeWriter, MasksRoundTripThroughTheReader) {
    test::TempDir dir;
    const std::vector<Rle> masks = {
        ellipses({{80, 90, 50, 35}}),                       // one part
        ellipses({{220, 80, 30, 20}, {270, 150, 25, 18}}),  // two parts: one instance
        ellipses({{300, 220, 40, 40}}),                     // cut off by the image's corner
        ellipses({{150, 200, 12, 8}}),
    };
    const std::vector<std::string> labels = {"chicken", "chicken", "hen", "chicken"};
    std::vector<LabelmeShape> shapes;
    for (size_t i = 0; i < masks.size(); ++i) {
        LabelmeShape s;
        s.label = labels[i];
        s.polygons = rle_to_polygons(masks[i]);
        s.description = "score 0.9" + std::to_string(i);
        shapes.push_back(std::move(s));
    }
    ASSERT_EQ(shapes[1].polygons.size(), 2u);
    const fs::path json_path = dir.path / "labels" / "cam1" / "frame.json";
    write_labelme_file(json_path, dir.path / "images" / "cam1" / "frame.jpg", kW, kH, shapes);

    ReadBack r = read_back(json_path);
    EXPECT_TRUE(r.diagnostics.empty()) << (r.diagnostics.empty() ? "" : r.diagnostics.items()[0].text());
    EXPECT_EQ(r.file.image_path, "../../images/cam1/frame.jpg");
    EXPECT_EQ(r.file.image_width, kW);
    EXPECT_EQ(r.file.image_height, kH);
    EXPECT_EQ(r.file.shapes.size(), 5u);  // one shape per polygon
    ASSERT_EQ(r.objects.size(), masks.size());
    for (size_t i = 0; i < masks.size(); ++i) {
        EXPECT_EQ(r.objects[i].label, labels[i]);
        EXPECT_EQ(r.objects[i].segmentation.polygons.size(), shapes[i].polygons.size());
        const double v = iou(object_mask(r.objects[i]), masks[i]);
        EXPECT_GE(v, 0.95) << "instance " << i;
        std::printf("instance %zu: %zu polygon(s), IoU %.4f\n", i, shapes[i].polygons.size(), v);
    }
}

TEST(LabelmeWriter, WritesLabelmeFiveFormat) {
    test::TempDir dir;
    LabelmeShape one;
    one.label = "chicken";
    one.polygons = {{10, 10, 20, 10, 15, 18.123456}};
    one.description = "score 0.812";
    one.flags = {{"occluded", true}, {"reviewed", false}};
    LabelmeShape two;
    two.label = "chicken";
    two.polygons = {{30, 30, 40, 30, 35, 38}, {50, 50, 60, 50, 55, 58}};
    LabelmeShape given;
    given.label = "hen";
    given.polygons = {{1, 1, 5, 1, 3, 4}};
    given.group_id = 7;
    const std::vector<LabelmeShape> shapes = {one, two, given};
    const fs::path path = dir.path / "a.json";
    write_labelme_file(path, dir.path / "a.png", 80, 64, shapes, {{"night", true}});

    const std::string text = read_file(path);
    EXPECT_EQ(text.back(), '\n');
    const auto doc = nlohmann::ordered_json::parse(text);
    std::vector<std::string> keys;
    for (const auto& [k, v] : doc.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"version", "flags", "shapes", "imagePath", "imageData", "imageHeight",
                                              "imageWidth"}));
    EXPECT_EQ(doc["version"], kLabelmeVersion);
    EXPECT_EQ(doc["flags"], nlohmann::ordered_json({{"night", true}}));
    EXPECT_EQ(doc["imagePath"], "a.png");
    EXPECT_TRUE(doc["imageData"].is_null());
    EXPECT_EQ(doc["imageHeight"], 64);
    EXPECT_EQ(doc["imageWidth"], 80);
    ASSERT_EQ(doc["shapes"].size(), 4u);
    const auto& s0 = doc["shapes"][0];
    std::vector<std::string> shape_keys;
    for (const auto& [k, v] : s0.items()) shape_keys.push_back(k);
    EXPECT_EQ(shape_keys,
              (std::vector<std::string>{"label", "points", "group_id", "description", "shape_type", "flags", "mask"}));
    EXPECT_EQ(s0["label"], "chicken");
    EXPECT_EQ(s0["points"], nlohmann::ordered_json::parse("[[10.0, 10.0], [20.0, 10.0], [15.0, 18.12]]"));
    EXPECT_TRUE(s0["group_id"].is_null());  // a lone polygon: null, as labelme writes it
    EXPECT_EQ(s0["description"], "score 0.812");
    EXPECT_EQ(s0["shape_type"], "polygon");
    EXPECT_EQ(s0["flags"], nlohmann::ordered_json({{"occluded", true}, {"reviewed", false}}));
    EXPECT_TRUE(s0["mask"].is_null());
    // Two polygons without a group_id get one above every id in the file.
    EXPECT_EQ(doc["shapes"][1]["group_id"], 8);
    EXPECT_EQ(doc["shapes"][2]["group_id"], 8);
    EXPECT_EQ(doc["shapes"][3]["group_id"], 7);
    EXPECT_EQ(doc["shapes"][1]["description"], "");

    // The reader takes every field labelme writes without a word, and merges the group.
    ReadBack r = read_back(path);
    EXPECT_TRUE(r.diagnostics.empty()) << (r.diagnostics.empty() ? "" : r.diagnostics.items()[0].text());
    ASSERT_EQ(r.objects.size(), 3u);
    EXPECT_EQ(r.objects[1].segmentation.polygons.size(), 2u);
    EXPECT_EQ(r.objects[2].label, "hen");
}

TEST(LabelmeWriter, SameGroupIdDifferentLabelsStayApart) {
    test::TempDir dir;
    LabelmeShape a, b;
    a.label = "chicken";
    b.label = "egg";
    a.polygons = {{1, 1, 9, 1, 5, 8}};
    b.polygons = {{11, 11, 19, 11, 15, 18}};
    a.group_id = b.group_id = 3;
    const std::vector<LabelmeShape> shapes = {a, b};
    write_labelme_file(dir.path / "a.json", dir.path / "a.png", kW, kH, shapes);
    ReadBack r = read_back(dir.path / "a.json");
    ASSERT_EQ(r.objects.size(), 2u);  // the reader groups by (label, group_id)
}

TEST(LabelmeWriter, ImagePathRelativeToTheJsonFolder) {
    test::TempDir dir;
    LabelmeShape s;
    s.label = "chicken";
    s.polygons = {{1, 1, 9, 1, 5, 8}};
    const std::vector<LabelmeShape> shapes = {s};
    auto image_path_of = [&](const fs::path& json, const fs::path& image) {
        write_labelme_file(json, image, kW, kH, shapes);
        return read_json_file(json)["imagePath"].get<std::string>();
    };
    EXPECT_EQ(image_path_of(dir.path / "x.json", dir.path / "img" / "a b.jpg"), "img/a b.jpg");
    EXPECT_EQ(image_path_of(dir.path / "l" / "x.json", dir.path / "img" / "a.jpg"), "../img/a.jpg");
    EXPECT_EQ(image_path_of(dir.path / "l" / "x.json", dir.path / "l" / "." / "a.jpg"), "a.jpg");
    // A relative image path is taken from the working folder, like any path.
    const fs::path relative = fs::relative(dir.path / "img" / "a.jpg");
    EXPECT_EQ(image_path_of(dir.path / "l" / "x.json", relative), "../img/a.jpg");
}

TEST(LabelmeWriter, ReplacesAtomicallyAndLeavesNoTemporaryFile) {
    test::TempDir dir;
    LabelmeShape s;
    s.label = "chicken";
    s.polygons = {{1, 1, 9, 1, 5, 8}};
    std::vector<LabelmeShape> shapes = {s};
    write_labelme_file(dir.path / "a.json", dir.path / "a.png", kW, kH, shapes);
    shapes.push_back(s);
    write_labelme_file(dir.path / "a.json", dir.path / "a.png", kW, kH, shapes);
    EXPECT_EQ(read_json_file(dir.path / "a.json")["shapes"].size(), 2u);
    EXPECT_EQ(test::file_tree(dir.path).size(), 1u);

    // A failed write leaves the old file as it was.
    shapes[1].label = "";
    EXPECT_THROW(write_labelme_file(dir.path / "a.json", dir.path / "a.png", kW, kH, shapes), Error);
    EXPECT_EQ(read_json_file(dir.path / "a.json")["shapes"].size(), 2u);
}

TEST(LabelmeWriter, RejectsWhatCannotBeReadBack) {
    test::TempDir dir;
    const fs::path path = dir.path / "a.json";
    auto write = [&](std::vector<LabelmeShape> shapes, uint32_t w = kW, uint32_t h = kH) {
        return error_field([&] { write_labelme_file(path, dir.path / "a.png", w, h, shapes); });
    };
    LabelmeShape ok;
    ok.label = "chicken";
    ok.polygons = {{1, 1, 9, 1, 5, 8}};
    EXPECT_EQ(write({ok}), "");

    LabelmeShape s = ok;
    s.label = "";
    EXPECT_EQ(write({ok, s}), "shapes[1].label");
    s.label = " chicken";
    EXPECT_EQ(write({s}), "shapes[0].label");
    s = ok;
    s.polygons.clear();
    EXPECT_EQ(write({s}), "shapes[0].polygons");
    s = ok;
    s.polygons.push_back({1, 1, 2, 2});  // 2 points
    EXPECT_EQ(write({s}), "shapes[0].polygons[1]");
    s.polygons.back() = {1, 1, 2, 2, 3};  // odd
    EXPECT_EQ(write({s}), "shapes[0].polygons[1]");
    s.polygons.back() = {1, 1, 2, 2, 3, kH + 0.5};  // outside the image
    EXPECT_EQ(write({s}), "shapes[0].polygons[1]");
    s.polygons.back() = {1, 1, -0.01, 2, 3, 3};
    EXPECT_EQ(write({s}), "shapes[0].polygons[1]");
    s.polygons.back() = {1, 1, std::nan(""), 2, 3, 3};
    EXPECT_EQ(write({s}), "shapes[0].polygons[1]");
    s.polygons.back() = {1, 1, 1.001, 1.001, 1.002, 1};  // one point at 1/100 px
    EXPECT_EQ(write({s}), "shapes[0].polygons[1]");
    s = ok;
    s.polygons = {{0, 0, kW, 0, kW, kH, 0, kH}};  // the border itself is inside
    EXPECT_EQ(write({s}), "");

    LabelmeShape a = ok, b = ok;
    a.group_id = b.group_id = 2;
    EXPECT_EQ(write({a, b}), "shapes[1].group_id");
    EXPECT_EQ(write({ok}, 0, kH), "imageWidth");
    EXPECT_EQ(write({ok}, 2'000'000, kH), "imageWidth");
    EXPECT_EQ(write({ok}, kW, 0), "imageHeight");
    LabelmeShape not_utf8 = ok;
    not_utf8.label = "hen\xff";
    EXPECT_THROW(write_labelme_file(path, dir.path / "a.png", kW, kH, std::vector<LabelmeShape>{not_utf8}), Error);

    try {
        write_labelme_file(path, dir.path / "a.png", kW, kH, std::vector<LabelmeShape>{s, b, a});
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, path.string());
        EXPECT_NE(std::string(e.what()).find("group_id 2"), std::string::npos) << e.what();
    }
}

TEST(LabelmeWriter, NoShapes) {
    test::TempDir dir;
    write_labelme_file(dir.path / "a.json", dir.path / "a.png", kW, kH, {});
    ReadBack r = read_back(dir.path / "a.json");
    EXPECT_TRUE(r.diagnostics.empty());
    EXPECT_TRUE(r.objects.empty());
}
