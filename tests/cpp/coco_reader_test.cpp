#include "chickenseg/data/coco_reader.h"

#include <gtest/gtest.h>

#include "chickenseg/core/rle.h"
#include "convert_fixtures.h"

using namespace chickenseg;

namespace {

json base_doc() {
    return json::parse(R"({
      "images": [{"id": 7, "file_name": "sub\\a.jpg", "width": 20, "height": 10},
                 {"id": 3, "file_name": "b.jpg", "width": 20, "height": 10}],
      "categories": [{"id": 1, "name": "Chicken"}, {"id": 2, "name": "egg"}],
      "annotations": []})");
}

}  // namespace

TEST(CocoReader, PolygonsRleCrowdAndBboxOnly) {
    json d = base_doc();
    std::vector<uint8_t> mask(200, 0);
    mask[5 * 10 + 2] = 1;  // column 5, row 2
    Rle rle = rle_encode(mask, 10, 20);
    d["annotations"] = json::array({
        {{"id", 1}, {"image_id", 7}, {"category_id", 1}, {"segmentation", {{1, 1, 5, 1, 5, 5}}}, {"iscrowd", 0}},
        {{"id", 2},
         {"image_id", 7},
         {"category_id", 2},
         {"segmentation", {{"size", {10, 20}}, {"counts", rle_to_string(rle)}}},
         {"iscrowd", 1}},
        {{"id", 3}, {"image_id", 3}, {"category_id", 1}, {"segmentation", json::array()}, {"bbox", {2, 3, 4, 5}}},
        {{"id", 4}, {"image_id", 3}, {"category_id", 1}, {"bbox", {0, 0, 1, 1}}},
    });
    Diagnostics diag;
    CocoFile f = parse_coco(d, "c.json", diag);
    ASSERT_TRUE(diag.empty()) << diag.items()[0].text();
    ASSERT_EQ(f.images.size(), 2u);
    EXPECT_EQ(f.images[0].file_name, "sub/a.jpg");
    EXPECT_EQ(f.images[0].id, 7);
    EXPECT_EQ(f.images[0].width, 20u);
    ASSERT_EQ(f.images[0].objects.size(), 2u);
    EXPECT_EQ(f.images[0].objects[0].label, "Chicken");
    EXPECT_EQ(f.images[0].objects[0].segmentation.polygons, (std::vector<Polygon>{{1, 1, 5, 1, 5, 5}}));
    EXPECT_EQ(f.images[0].objects[0].place.field, "annotations[0]");
    EXPECT_EQ(f.images[0].objects[1].label, "egg");
    EXPECT_TRUE(f.images[0].objects[1].segmentation.is_rle);
    EXPECT_EQ(rle_decompress(f.images[0].objects[1].segmentation.rle), rle);
    EXPECT_EQ(f.images[0].objects[1].iscrowd, 1);
    ASSERT_EQ(f.images[1].objects.size(), 2u);
    EXPECT_EQ(f.images[1].objects[0].segmentation.polygons, (std::vector<Polygon>{{2, 3, 6, 3, 6, 8, 2, 8}}));
    EXPECT_EQ(f.images[1].objects[1].segmentation.polygons, (std::vector<Polygon>{{0, 0, 1, 0, 1, 1, 0, 1}}));
}

TEST(CocoReader, EveryProblemNamesItsJsonPath) {
    json d = base_doc();
    d["images"].push_back({{"id", 7}, {"file_name", "c.jpg"}, {"width", 20}, {"height", 10}});
    d["images"].push_back({{"id", 8}, {"file_name", "d.jpg"}, {"width", 0}, {"height", 10}});
    d["categories"].push_back({{"id", 1}, {"name", "dup"}});
    d["annotations"] = json::array({
        {{"image_id", 99}, {"category_id", 1}, {"segmentation", {{1, 1, 5, 1, 5, 5}}}},
        {{"image_id", 7}, {"category_id", 5}, {"segmentation", {{1, 1, 5, 1, 5, 5}}}},
        {{"image_id", 7}, {"category_id", 1}, {"segmentation", {{1, 1, 5, 1}}}},
        {{"image_id", 7}, {"category_id", 1}, {"segmentation", {{1, 1, 5, 1, 5, 5}}}, {"iscrowd", 2}},
        {{"image_id", 7}, {"category_id", 1}, {"segmentation", {{"size", {5, 5}}, {"counts", "0"}}}},
        {{"image_id", 7}, {"category_id", 1}},
        {{"image_id", 7}, {"category_id", 1}, {"segmentation", {{1, 1, 5, 1, 5, 5}}}},
    });
    Diagnostics diag;
    CocoFile f = parse_coco(d, "c.json", diag);
    std::vector<std::string> fields;
    for (const auto& i : diag.items()) {
        EXPECT_EQ(i.severity, Severity::error);
        EXPECT_EQ(i.place.file, "c.json");
        fields.push_back(i.place.field);
    }
    EXPECT_EQ(fields, (std::vector<std::string>{"categories[2].id", "images[2].id", "images[3].width",
                                                "annotations[0].image_id", "annotations[1].category_id",
                                                "annotations[2].segmentation[0]", "annotations[3].iscrowd",
                                                "annotations[4].segmentation.size", "annotations[5].segmentation"}));
    ASSERT_EQ(f.images.size(), 2u);
    EXPECT_EQ(f.images[0].objects.size(), 1u);  // only the last annotation is good
}

TEST(CocoReader, MissingListsAndMalformedJson) {
    Diagnostics diag;
    parse_coco(json::parse(R"({"images": []})"), "c.json", diag);
    EXPECT_EQ(diag.error_count(), 2u);  // annotations, categories

    fixtures::TempDir dir;
    fixtures::write_text(dir / "c.json", "{\"images\": [}");
    Diagnostics d2;
    EXPECT_FALSE(read_coco_file(dir / "c.json", "c.json", d2).has_value());
    ASSERT_EQ(d2.error_count(), 1u);
    EXPECT_EQ(d2.items()[0].place.line, 1);
}
