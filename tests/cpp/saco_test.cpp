// Reading SA-Co JSON: the fast scanner (data/saco_scanner) and the general reader
// (nlohmann + saco_from_json) must give the same dataset for every file the scanner
// takes, and the scanner must hand everything else to the general reader.
#include "chickenseg/data/saco.h"

#include <gtest/gtest.h>

#include <random>

#include "chickenseg/core/error.h"
#include "data/saco_scanner.h"

namespace chickenseg {
namespace {

// A dataset with what real files hold: polygons, RLE whose strings contain escaped
// backslashes, crowd regions, negatives and extra fields at every level.
SacoDataset varied_dataset() {
    std::mt19937 rng(11);
    SacoDataset ds;
    ds.top["info"] = {{"description", "test"}, {"version", 2}};
    for (int64_t id = 1; id <= 30; ++id) {
        SacoImage im;
        im.id = id;
        im.file_name = "dir/frame_" + std::to_string(id) + ".jpg";
        im.width = 20 + static_cast<uint32_t>(id % 7);
        im.height = 150 + static_cast<uint32_t>(id % 5);
        im.text_input = "chicken";
        im.is_instance_exhaustive = id % 9 ? 1 : 0;
        if (id % 2) im.extra["sha256"] = "ab" + std::to_string(id);
        if (id % 3 == 0) im.extra["source"] = {{"path", "a/b.json"}, {"line", id}, {"scale", 0.25}};
        ds.images.push_back(im);
        if (id % 4 == 0) continue;  // a negative
        for (int k = 0; k < 3; ++k) {
            SacoAnnotation a;
            a.id = static_cast<int64_t>(ds.annotations.size()) + 1;
            a.image_id = id;
            if (k == 0) {
                a.segmentation.polygons = {{1, 1, 5.5, 1, 5, 5.25}, {7, 7, 9, 7, 9, 9.5}};
            } else {
                // Runs of up to 400 pixels: deltas need several characters, some of them '\\'.
                std::vector<uint8_t> m(size_t{im.height} * im.width);
                for (size_t p = 0; p < m.size();) {
                    size_t run = 1 + rng() % 400;
                    uint8_t v = rng() % 2;
                    for (size_t e = std::min(m.size(), p + run); p < e; ++p) m[p] = v;
                }
                a.segmentation.is_rle = true;
                a.segmentation.rle = rle_compress(rle_encode(m, im.height, im.width));
            }
            a.bbox = {1.5, 2, 3.25, 4};
            a.area = 8.5;
            a.iscrowd = k == 2 && id % 5 == 0;
            if (k == 1) a.extra["note"] = "checked";
            ds.annotations.push_back(a);
        }
    }
    SacoCategory c;
    c.id = 1;
    c.name = "chicken";
    c.extra["supercategory"] = "bird";
    ds.categories.push_back(c);
    return ds;
}

json general_read(const std::string& text) { return saco_to_json(saco_from_json(json::parse(text), "gt.json")); }

TEST(SacoScanner, ReadsWhatTheGeneralReaderReads) {
    json doc = saco_to_json(varied_dataset());
    bool saw_backslash = false;
    for (const auto& a : doc["annotations"])
        if (a["segmentation"].is_object())
            saw_backslash |= a["segmentation"]["counts"].get<std::string>().find('\\') != std::string::npos;
    ASSERT_TRUE(saw_backslash);
    for (const std::string& text : {doc.dump(), doc.dump(2)}) {
        auto fast = detail::scan_saco(text);
        ASSERT_TRUE(fast.has_value()) << "the scanner gave up on a plain file";
        EXPECT_EQ(saco_to_json(*fast), general_read(text));
        EXPECT_EQ(saco_to_json(saco_from_text(text, "gt.json")), general_read(text));
    }
}

TEST(SacoScanner, KeyOrderDoesNotMatter) {
    // Annotations before images: RLE sizes are checked once every image is known.
    json doc = saco_to_json(varied_dataset());
    std::string text = R"({"annotations": )" + doc["annotations"].dump() + R"(, "categories": )" +
                       doc["categories"].dump() + R"(, "images": )" + doc["images"].dump() + "}";
    auto fast = detail::scan_saco(text);
    ASSERT_TRUE(fast.has_value());
    EXPECT_EQ(saco_to_json(*fast), general_read(text));
}

TEST(SacoScanner, LeavesUnusualFilesToTheGeneralReader) {
    const std::string image = R"({"id": 1, "file_name": "a.jpg", "width": 4, "height": 3})";
    auto file = [&](const std::string& images, const std::string& annotations) {
        return R"({"images": [)" + images + R"(], "annotations": [)" + annotations + "]}";
    };
    // Accepted by the general reader, not taken by the scanner: same dataset.
    for (const std::string& text :
         {file(R"({"id": 1, "file_name": "h\u00fchner.jpg", "width": 4, "height": 3})", ""),
          file(R"({"id": 1, "file_name": "hühner.jpg", "width": 4, "height": 3})", ""),
          file(R"({"id": 1, "id": 2, "file_name": "a.jpg", "width": 4, "height": 3})", ""),
          file(image, R"({"id": 1, "image_id": 1, "segmentation": {"size": [3, 4], "counts": [0, 6, 6]}})")}) {
        EXPECT_FALSE(detail::scan_saco(text).has_value()) << text;
        EXPECT_EQ(saco_to_json(saco_from_text(text, "gt.json")), general_read(text)) << text;
    }
    // Rejected: the scanner gives up and the general reader names the problem.
    struct Bad {
        std::string text, message;
    };
    for (const Bad& bad : std::vector<Bad>{
             {file(image, R"({"id": 1, "image_id": 1, "segmentation": {"size": [3, 5], "counts": "0"}})"),
              "does not match the image"},
             {file(image, R"({"id": 1, "image_id": 1, "segmentation": {"size": [3, 4], "counts": "5"}})"),
              "counts sum to 5"},
             {file(R"({"id": 1, "file_name": "a.jpg", "width": 0, "height": 3})", ""), "positive pixel size"},
             {file(image, R"({"id": 1, "image_id": 1})"), "missing"},
             // Ids, sizes and flags are JSON integers, as validate requires (not 1.0, not "1").
             {file(R"({"id": 1.0, "file_name": "a.jpg", "width": 4, "height": 3})", ""),
              "images[0].id: expected an integer, found 1.0"},
             {file(R"({"id": 18446744073709551615, "file_name": "a.jpg", "width": 4, "height": 3})", ""),
              "images[0].id: expected an integer in [-9223372036854775808, 9223372036854775807]"},
             {file(image, R"({"id": 1, "image_id": 1, "iscrowd": 4294967297,
                              "segmentation": {"size": [3, 4], "counts": [0, 6, 6]}})"),
              "annotations[0].iscrowd: expected 0 or 1, found 4294967297"},
             // Polygons are x, y pairs: eval skips rasterising where nothing is matched, so an odd
             // list must be caught here, not only when a mask happens to be needed.
             {file(image, R"({"id": 1, "image_id": 1, "segmentation": [[1, 1, 3, 1, 3]]})"),
              "annotations[0].segmentation[0]: expected x, y pairs (an even number of values), found 5"},
             {file(image, "") + ",", "malformed JSON"}}) {
        EXPECT_FALSE(detail::scan_saco(bad.text).has_value()) << bad.text;
        try {
            saco_from_text(bad.text, "gt.json");
            ADD_FAILURE() << "accepted: " << bad.text;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(bad.message), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("gt.json"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace chickenseg
