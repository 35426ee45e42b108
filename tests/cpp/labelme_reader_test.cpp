#include "chickenseg/data/labelme_reader.h"

#include <gtest/gtest.h>

#include "chickenseg/core/base64.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/rle.h"
#include "convert_fixtures.h"

using namespace chickenseg;

namespace {

LabelMeFile parse_ok(const std::string& text) {
    Diagnostics d;
    LabelMeFile f = parse_labelme(json::parse(text), "a.json", d);
    EXPECT_TRUE(d.empty()) << (d.empty() ? "" : d.items()[0].text());
    return f;
}

std::string shape(const std::string& label, const std::string& type, const std::string& points,
                  const std::string& extra = "") {
    return R"({"label": ")" + label + R"(", "shape_type": ")" + type + R"(", "points": )" + points + extra + "}";
}

std::string doc(const std::vector<std::string>& shapes) {
    std::string s = R"({"imagePath": "a.jpg", "imageWidth": 100, "imageHeight": 50, "shapes": [)";
    for (size_t i = 0; i < shapes.size(); ++i) s += (i ? "," : "") + shapes[i];
    return s + "]}";
}

std::vector<SourceObject> objects(const std::string& text, Diagnostics& d, uint32_t w = 100, uint32_t h = 50) {
    LabelMeFile f = parse_labelme(json::parse(text), "a.json", d);
    return labelme_to_source_objects(f, w, h, "a.json", d);
}

// A w x h PNG whose pixel (x, y) is white where on(x, y).
template <class Fn>
std::string mask_png_base64(uint32_t w, uint32_t h, Fn on) {
    RgbImage im;
    im.width = w;
    im.height = h;
    im.pixels.assign(static_cast<size_t>(w) * h * 3, 0);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x)
            if (on(x, y))
                for (int c = 0; c < 3; ++c) im.pixels[(static_cast<size_t>(y) * w + x) * 3 + c] = 255;
    std::string png = encode_png(im);
    return base64_encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(png.data()), png.size()));
}

}  // namespace

TEST(LabelMeParse, FieldsAndShapeTypes) {
    LabelMeFile f = parse_ok(R"({
        "version": "5.4.1", "flags": {},
        "imagePath": "..\\images\\chicken\\a.jpg", "imageWidth": 640, "imageHeight": 480, "imageData": null,
        "shapes": [
          {"label": " hen ", "points": [[1,2],[3,4],[5,1]], "group_id": null, "shape_type": "polygon", "flags": {}},
          {"label": "hen", "points": [[1,2],[3,4],[5,1]], "shape_type": null, "group_id": 7},
          {"label": "egg", "points": [[10,10],[2,3]], "shape_type": "rectangle"},
          {"label": "hen", "points": [[10,10],[12,10]], "shape_type": "circle"},
          {"label": "x", "points": [[1,1],[2,2],[3,3],[4,4]], "shape_type": "linestrip"},
          {"label": "x", "points": [[1,1]], "shape_type": "point"}
        ]})");
    EXPECT_EQ(f.image_path, "../images/chicken/a.jpg");
    EXPECT_EQ(f.image_width, 640u);
    EXPECT_EQ(f.image_height, 480u);
    EXPECT_TRUE(f.image_data.empty());
    ASSERT_EQ(f.shapes.size(), 6u);
    EXPECT_EQ(f.shapes[0].label, "hen");
    EXPECT_EQ(f.shapes[0].type, LabelMeShapeType::polygon);
    EXPECT_FALSE(f.shapes[0].group_id.has_value());
    EXPECT_EQ(f.shapes[1].type, LabelMeShapeType::polygon);  // null shape_type = polygon
    EXPECT_EQ(f.shapes[1].group_id, 7);
    EXPECT_EQ(f.shapes[2].type, LabelMeShapeType::rectangle);
    EXPECT_EQ(f.shapes[3].type, LabelMeShapeType::circle);
    EXPECT_EQ(f.shapes[4].type, LabelMeShapeType::linestrip);
    EXPECT_EQ(f.shapes[5].path, "shapes[5]");
    EXPECT_FALSE(labelme_shape_has_area(f.shapes[5].type));
}

TEST(LabelMeParse, EveryBadShapeIsReportedWithItsJsonPath) {
    Diagnostics d;
    LabelMeFile f = parse_labelme(json::parse(R"({"imagePath": 3, "imageWidth": -4, "shapes": [
        {"label": "hen", "points": [[1,2],[3,4]], "shape_type": "polygon"},
        {"label": "hen", "points": [[1,2],[3,4],[5,6]], "shape_type": "rectangle"},
        {"label": "hen", "points": [[1,2],["a",4],[5,6]]},
        {"points": [[1,2],[3,4],[5,6]]},
        {"label": "hen", "points": [[1,2],[3,4],[5,6]], "shape_type": "blob"},
        {"label": "hen", "points": [[1,2],[3,4]], "shape_type": "mask"},
        {"label": "hen", "points": [[1,2],[3,4],[5,6]], "group_id": "g"},
        {"label": "hen", "points": [[1,2],[3,4],[5,6]]},
        7
    ]})"),
                                  "dir/a.json", d);
    std::vector<std::string> fields;
    for (const auto& i : d.items()) {
        EXPECT_EQ(i.severity, Severity::error);
        EXPECT_EQ(i.place.file, "dir/a.json");
        fields.push_back(i.place.field);
    }
    EXPECT_EQ(fields, (std::vector<std::string>{"imagePath", "imageWidth", "shapes[0].points", "shapes[1].points",
                                                "shapes[2].points[1]", "shapes[3].label", "shapes[4].shape_type",
                                                "shapes[5].mask", "shapes[6].group_id", "shapes[8]"}));
    EXPECT_NE(d.items()[2].message.find("at least 3 points, found 2"), std::string::npos);
    ASSERT_EQ(f.shapes.size(), 1u);  // only the good one
    EXPECT_EQ(f.shapes[0].path, "shapes[7]");
}

TEST(LabelMeParse, NotALabelMeFile) {
    Diagnostics d;
    parse_labelme(json::parse(R"({"images": []})"), "coco.json", d);
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_EQ(d.items()[0].place.field, "shapes");
    Diagnostics d2;
    parse_labelme(json::parse("[1]"), "x.json", d2);
    EXPECT_EQ(d2.error_count(), 1u);
}

TEST(LabelMeRead, MalformedJsonHasLine) {
    fixtures::TempDir dir;
    fixtures::write_text(dir / "a.json", "{\n  \"shapes\": [\n  }\n");
    Diagnostics d;
    EXPECT_FALSE(read_labelme_file(dir / "a.json", "a.json", d).has_value());
    ASSERT_EQ(d.error_count(), 1u);
    EXPECT_EQ(d.items()[0].place.file, "a.json");
    EXPECT_EQ(d.items()[0].place.line, 3);
    EXPECT_NE(d.items()[0].message.find("malformed JSON"), std::string::npos);
}

TEST(LabelMeObjects, RectangleAnyCornerOrderAndPolygon) {
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "rectangle", "[[30, 40], [10, 5]]"),
                             shape("hen", "polygon", "[[0, 0], [100, 0], [50, 50]]")}),
                        d);
    EXPECT_TRUE(d.empty());
    ASSERT_EQ(objs.size(), 2u);
    EXPECT_EQ(objs[0].segmentation.polygons, (std::vector<Polygon>{{10, 5, 30, 5, 30, 40, 10, 40}}));
    EXPECT_EQ(objs[0].place.field, "shapes[0]");
    EXPECT_EQ(objs[1].segmentation.polygons, (std::vector<Polygon>{{0, 0, 100, 0, 50, 50}}));
}

TEST(LabelMeObjects, CircleBecomesPolygonClippedToImage) {
    Diagnostics d;
    auto objs =
        objects(doc({shape("hen", "circle", "[[50, 25], [60, 25]]"), shape("hen", "circle", "[[2, 2], [2, 30]]")}), d);
    EXPECT_TRUE(d.empty());
    ASSERT_EQ(objs.size(), 2u);
    const Polygon& p = objs[0].segmentation.polygons.at(0);
    EXPECT_GE(p.size(), 80u);
    EXPECT_NEAR(polygon_area(p), 3.14159265 * 100, 3.14159265 * 100 * 0.005);
    for (size_t i = 0; i < p.size(); i += 2) EXPECT_NEAR(std::hypot(p[i] - 50, p[i + 1] - 25), 10, 1e-9);
    for (double v : objs[1].segmentation.polygons.at(0)) {
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, 100.0);
    }
}

TEST(LabelMeObjects, OutsideByAPixelIsClampedFartherIsAnError) {
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "polygon", "[[-0.5, 0], [100.9, 0], [50, 50.5]]"),
                             shape("hen", "polygon", "[[0, 0], [101.5, 0], [50, 50]]"),
                             shape("hen", "rectangle", "[[0, 0], [10, -3]]")}),
                        d);
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_EQ(objs[0].segmentation.polygons[0], (Polygon{0, 0, 100, 0, 50, 50}));
    ASSERT_EQ(d.items().size(), 3u);
    EXPECT_EQ(d.items()[0].severity, Severity::warning);
    EXPECT_EQ(d.items()[0].place.field, "shapes[0]");
    EXPECT_NE(d.items()[0].message.find("3 point(s)"), std::string::npos);
    EXPECT_EQ(d.items()[1].severity, Severity::error);
    EXPECT_EQ(d.items()[1].place.field, "shapes[1]");
    EXPECT_NE(d.items()[1].message.find("(101.5, 0) lies 1.5 px outside the 100x50 image"), std::string::npos);
    EXPECT_EQ(d.items()[2].severity, Severity::error);
    EXPECT_EQ(d.items()[2].place.field, "shapes[2]");
}

TEST(LabelMeObjects, LinesAndPointsIgnoredWithWarning) {
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "line", "[[0, 0], [500, 500]]"), shape("hen", "point", "[[1, 1]]"),
                             shape("hen", "linestrip", "[[1, 1], [2, 2], [3, 3]]")}),
                        d);
    EXPECT_TRUE(objs.empty());
    EXPECT_EQ(d.error_count(), 0u);
    EXPECT_EQ(d.warning_count(), 3u);
    EXPECT_NE(d.items()[0].message.find("\"line\" has no area"), std::string::npos);
}

TEST(LabelMeObjects, GroupIdJoinsShapesOfOneLabel) {
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "polygon", "[[0, 0], [10, 0], [5, 5]]", R"(, "group_id": 1)"),
                             shape("egg", "polygon", "[[0, 0], [10, 0], [5, 5]]", R"(, "group_id": 1)"),
                             shape("hen", "rectangle", "[[20, 20], [30, 30]]", R"(, "group_id": 1)"),
                             shape("hen", "polygon", "[[40, 0], [50, 0], [45, 5]]", R"(, "group_id": 2)"),
                             shape("hen", "polygon", "[[60, 0], [70, 0], [65, 5]]")}),
                        d);
    EXPECT_TRUE(d.empty());
    ASSERT_EQ(objs.size(), 4u);
    EXPECT_EQ(objs[0].label, "hen");
    EXPECT_EQ(objs[0].segmentation.polygons.size(), 2u);  // the polygon and the rectangle
    EXPECT_EQ(objs[0].segmentation.polygons[1], (Polygon{20, 20, 30, 20, 30, 30, 20, 30}));
    EXPECT_EQ(objs[1].label, "egg");
    EXPECT_EQ(objs[2].segmentation.polygons.size(), 1u);
    EXPECT_EQ(objs[3].segmentation.polygons.size(), 1u);
}

TEST(LabelMeObjects, MaskShapeBecomesRleAtItsRectangle) {
    // A 4x3 mask whose left column and top-right pixel are set, pasted at (10, 20).
    auto on = [](uint32_t x, uint32_t y) { return x == 0 || (x == 3 && y == 0); };
    std::string b64 = mask_png_base64(4, 3, on);
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "mask", "[[10.7, 20.2], [13.9, 22.5]]", R"(, "mask": ")" + b64 + "\"")}), d);
    ASSERT_TRUE(d.empty()) << d.items()[0].text();
    ASSERT_EQ(objs.size(), 1u);
    ASSERT_TRUE(objs[0].segmentation.is_rle);
    const Rle rle = rle_decompress(objs[0].segmentation.rle);
    EXPECT_EQ(rle.h, 50u);
    EXPECT_EQ(rle.w, 100u);
    EXPECT_EQ(rle_area(rle), 4u);
    std::vector<uint8_t> px = rle_decode(rle);
    auto at = [&](uint32_t x, uint32_t y) { return px[static_cast<size_t>(x) * 50 + y]; };
    EXPECT_EQ(at(10, 20), 1);
    EXPECT_EQ(at(10, 22), 1);
    EXPECT_EQ(at(13, 20), 1);
    EXPECT_EQ(at(13, 21), 0);
    EXPECT_EQ(at(11, 20), 0);
}

TEST(LabelMeObjects, MaskGroupedWithPolygonIsTheirUnion) {
    std::string b64 = mask_png_base64(2, 2, [](uint32_t, uint32_t) { return true; });
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "mask", "[[0, 0], [1, 1]]", R"(, "mask": ")" + b64 + R"(", "group_id": 3)"),
                             shape("hen", "rectangle", "[[10, 10], [12, 12]]", R"(, "group_id": 3)")}),
                        d);
    ASSERT_TRUE(d.empty());
    ASSERT_EQ(objs.size(), 1u);
    ASSERT_TRUE(objs[0].segmentation.is_rle);
    Rle rect = rle_from_polygons({{10, 10, 12, 10, 12, 12, 10, 12}}, 50, 100);
    EXPECT_EQ(rle_area(rle_decompress(objs[0].segmentation.rle)), 4u + rle_area(rect));
}

TEST(LabelMeObjects, MaskErrors) {
    std::string b64 = mask_png_base64(4, 3, [](uint32_t, uint32_t) { return true; });
    Diagnostics d;
    auto objs = objects(doc({shape("hen", "mask", "[[10, 20], [12, 22]]", R"(, "mask": ")" + b64 + "\""),
                             shape("hen", "mask", "[[98, 20], [101, 22]]", R"(, "mask": ")" + b64 + "\""),
                             shape("hen", "mask", "[[10, 20], [13, 22]]", R"(, "mask": "!!!!")")}),
                        d);
    EXPECT_TRUE(objs.empty());
    ASSERT_EQ(d.error_count(), 3u);
    EXPECT_NE(d.items()[0].message.find("mask PNG is 4x3 but its rectangle is 3x3"), std::string::npos);
    EXPECT_EQ(d.items()[0].place.field, "shapes[0].mask");
    EXPECT_NE(d.items()[1].message.find("inside the 100x50 image"), std::string::npos);
    EXPECT_EQ(d.items()[1].place.field, "shapes[1].points");
    EXPECT_EQ(d.items()[2].place.field, "shapes[2].mask");
}

TEST(LabelMeParse, AHugeCoordinateIsNamedNotConvertedToAnInteger) {
    // A mask corner of 1e300 was truncated and converted to long long: undefined behaviour.
    std::string b64 = mask_png_base64(4, 3, [](uint32_t, uint32_t) { return true; });
    Diagnostics d;
    LabelMeFile f =
        parse_labelme(json::parse(doc({shape("hen", "mask", "[[10, 20], [1e300, 22]]", R"(, "mask": ")" + b64 + "\""),
                                       shape("hen", "polygon", "[[0, 0], [5, -2e7], [5, 5]]"),
                                       shape("hen", "polygon", "[[0, 0], [1e7, 0], [5, 5]]")})),
                      "a.json", d);
    ASSERT_EQ(d.error_count(), 2u);
    EXPECT_EQ(d.items()[0].place.field, "shapes[0].points[1][0]");
    EXPECT_EQ(d.items()[0].message, "expected a pixel coordinate within +-1e7, found 1e+300");
    EXPECT_EQ(d.items()[1].place.field, "shapes[1].points[1][1]");
    ASSERT_EQ(f.shapes.size(), 1u);  // 1e7 itself is allowed
    EXPECT_EQ(f.shapes[0].path, "shapes[2]");
}
