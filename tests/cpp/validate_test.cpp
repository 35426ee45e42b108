// data validate: every rule on small hand-made SA-Co documents, each problem
// reported with its file and JSON path, all problems collected in one pass.
#include "test_support.h"
#include "chickenseg/data/validate.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <webp/encode.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/rle.h"

namespace fs = std::filesystem;
using namespace chickenseg;

using chickenseg::test::TempDir;

namespace {

// Image 1 (100x80) holds a 20x30 rectangle; image 2 is a negative.
json good_doc() {
    return {
        {"images",
         {{{"id", 1},
           {"file_name", "a/one.jpg"},
           {"width", 100},
           {"height", 80},
           {"text_input", "chicken"},
           {"is_instance_exhaustive", 1}},
          {{"id", 2},
           {"file_name", "a/two.jpg"},
           {"width", 100},
           {"height", 80},
           {"text_input", "chicken"},
           {"is_instance_exhaustive", 1}}}},
        {"annotations",
         {{{"id", 7},
           {"image_id", 1},
           {"category_id", 1},
           {"segmentation", {{10, 10, 30, 10, 30, 40, 10, 40}}},
           {"bbox", {10, 10, 20, 30}},
           {"area", 600},
           {"iscrowd", 0}}}},
        {"categories", {{{"id", 1}, {"name", "chicken"}}}},
    };
}

Diagnostics check(const json& doc, const ValidateParams& params = {}) {
    Diagnostics d;
    validate_saco_json(doc, "ds.json", params, d);
    return d;
}

std::string dump(const Diagnostics& d) {
    std::string s;
    for (const auto& i : d.items()) s += (i.severity == Severity::error ? "E " : "W ") + i.text() + "\n";
    return s;
}

// True when `d` has a diagnostic of `severity` at `path` whose message contains `part`.
bool has(const Diagnostics& d, Severity severity, const std::string& path, const std::string& part) {
    return std::any_of(d.items().begin(), d.items().end(), [&](const Diagnostic& i) {
        return i.severity == severity && i.place.field == path && i.place.file == "ds.json" &&
               i.message.find(part) != std::string::npos;
    });
}

// Applies `edit` to a good document and expects exactly one error, at `path`, containing `part`.
void expect_one_error(const std::function<void(json&)>& edit, const std::string& path, const std::string& part) {
    json doc = good_doc();
    edit(doc);
    Diagnostics d = check(doc);
    EXPECT_EQ(d.error_count(), 1u) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, path, part)) << "wanted " << path << ": " << part << "\n" << dump(d);
}

json& ann(json& doc) { return doc["annotations"][0]; }

}  // namespace

TEST(Validate, GoodDocumentHasNoProblems) {
    Diagnostics d;
    ValidatedFile f = validate_saco_json(good_doc(), "ds.json", {}, d);
    EXPECT_TRUE(d.empty()) << dump(d);
    EXPECT_TRUE(f.parsed);
    EXPECT_EQ(f.images, 2u);
    EXPECT_EQ(f.positives, 1u);
    EXPECT_EQ(f.negatives, 1u);
    EXPECT_EQ(f.file_names, (std::vector<std::string>{"a/one.jpg", "a/two.jpg"}));
}

TEST(Validate, IdsMustBeUniqueIntegers) {
    expect_one_error([](json& d) { d["images"][1]["id"] = 1.5; }, "images[1].id", "expected an integer");
    expect_one_error([](json& d) { d["images"][1]["id"] = "2"; }, "images[1].id", "expected an integer");
    expect_one_error([](json& d) { d["images"][1]["id"] = 1; }, "images[1].id",
                     "duplicate image id 1 (first at images[0])");
    expect_one_error([](json& d) { ann(d).erase("id"); }, "annotations[0].id", "missing required field");
    expect_one_error(
        [](json& d) {
            json twin = ann(d);
            d["annotations"].push_back(twin);
            d["images"][1]["is_instance_exhaustive"] = 1;
        },
        "annotations[1].id", "duplicate annotation id 7 (first at annotations[0])");
}

TEST(Validate, ReferencesMustResolve) {
    expect_one_error([](json& d) { ann(d)["image_id"] = 9; }, "annotations[0].image_id", "image_id 9 names no image");
    expect_one_error([](json& d) { ann(d)["category_id"] = 2; }, "annotations[0].category_id",
                     "category_id 2 is not in categories");
    expect_one_error([](json& d) { ann(d).erase("category_id"); }, "annotations[0].category_id", "missing");
    expect_one_error([](json& d) { d.erase("categories"); }, "categories", "missing required field");
    expect_one_error([](json& d) { d["categories"] = json::array(); }, "categories", "at least one category");
    expect_one_error([](json& d) { d["categories"][0]["name"] = ""; }, "categories[0].name", "non-empty string");
}

TEST(Validate, EveryImageNeedsTheSacoFields) {
    expect_one_error([](json& d) { d["images"][1].erase("text_input"); }, "images[1].text_input",
                     "every image, positive or negative");
    expect_one_error([](json& d) { d["images"][0]["text_input"] = ""; }, "images[0].text_input",
                     "non-empty noun phrase");
    expect_one_error([](json& d) { d["images"][0]["text_input"] = "  "; }, "images[0].text_input",
                     "non-empty noun phrase");
    expect_one_error([](json& d) { d["images"][0]["is_instance_exhaustive"] = 2; }, "images[0].is_instance_exhaustive",
                     "expected 0 or 1, found 2");
    expect_one_error([](json& d) { d["images"][0].erase("is_instance_exhaustive"); },
                     "images[0].is_instance_exhaustive", "missing required field");
    expect_one_error([](json& d) { d["images"][0]["is_pixel_exhaustive"] = 3; }, "images[0].is_pixel_exhaustive",
                     "expected 0 or 1");
    expect_one_error([](json& d) { d["images"][0]["width"] = 0; }, "images[0].width", "positive pixel size");
    expect_one_error([](json& d) { d["images"][0]["file_name"] = "../up.jpg"; }, "images[0].file_name",
                     "relative to the image root");
    expect_one_error([](json& d) { d["images"][1]["file_name"] = "a/one.jpg"; }, "images[1]",
                     "duplicate (file_name, text_input) pair");
    // The same file with another noun phrase is a legitimate second SA-Co entry.
    json doc = good_doc();
    doc["images"][1]["file_name"] = "a/one.jpg";
    doc["images"][1]["text_input"] = "rooster";
    EXPECT_EQ(check(doc).error_count(), 0u);
}

TEST(Validate, PolygonsMustBeWellFormedAndInsideTheImage) {
    expect_one_error(
        [](json& d) {
            ann(d)["segmentation"] = {{10, 10, 30, 10}};
        },
        "annotations[0].segmentation[0]", "at least 3 points");
    expect_one_error(
        [](json& d) {
            ann(d)["segmentation"] = {{10, 10, 30, 10, 30, 40, 10}};
        },
        "annotations[0].segmentation[0]", "even number");
    expect_one_error([](json& d) { ann(d)["segmentation"][0][3] = "x"; }, "annotations[0].segmentation[0][3]",
                     "expected a number");
    expect_one_error([](json& d) { ann(d)["segmentation"] = json::array(); }, "annotations[0].segmentation",
                     "at least one polygon");
    expect_one_error([](json& d) { ann(d)["segmentation"] = {5}; }, "annotations[0].segmentation[0]",
                     "expected a polygon");
    expect_one_error([](json& d) { ann(d)["segmentation"] = "poly"; }, "annotations[0].segmentation",
                     "expected polygons");
    // 1.5 px past the right edge: outside the 1 px tolerance.
    expect_one_error(
        [](json& d) {
            ann(d)["segmentation"] = {{80, 10, 101.5, 10, 101.5, 40, 80, 40}};
            ann(d)["bbox"] = {80, 10, 21.5, 30};
            ann(d)["area"] = 645;
        },
        "annotations[0].segmentation[0]", "point 1 (101.5, 10) lies outside the 100x80 image");
    // 0.9 px past the edge is within tolerance.
    json doc = good_doc();
    ann(doc)["segmentation"] = {{80, 10, 100.9, 10, 100.9, 40, 80, 40}};
    ann(doc)["bbox"] = {80, 10, 20.9, 30};
    ann(doc)["area"] = 627;
    EXPECT_EQ(check(doc).error_count(), 0u) << dump(check(doc));
}

TEST(Validate, RleMustMatchTheImage) {
    // A 100x80 image (h=80, w=100) with a 20x30 block.
    std::vector<uint8_t> mask(80 * 100, 0);
    for (int x = 10; x < 30; ++x)
        for (int y = 10; y < 40; ++y) mask[x * 80 + y] = 1;
    const Rle rle = rle_encode(mask, 80, 100);
    auto with_rle = [&](json counts, json size) {
        return [=](json& d) {
            ann(d)["segmentation"] = {{"size", size}, {"counts", counts}};
            ann(d)["bbox"] = {10, 10, 20, 30};
            ann(d)["area"] = 600;
        };
    };
    json good = good_doc();
    with_rle(rle_to_string(rle), {80, 100})(good);
    EXPECT_TRUE(check(good).empty()) << dump(check(good));
    json uncompressed = good_doc();
    with_rle(rle.counts, {80, 100})(uncompressed);
    EXPECT_TRUE(check(uncompressed).empty()) << dump(check(uncompressed));

    expect_one_error(with_rle(rle_to_string(rle), {100, 80}), "annotations[0].segmentation.size",
                     "does not match the image's [height, width] [80, 100]");
    std::vector<uint32_t> short_counts = rle.counts;
    short_counts.back() -= 1;
    expect_one_error(with_rle(short_counts, {80, 100}), "annotations[0].segmentation.counts", "");
    expect_one_error(with_rle(json::array({-1, 8001}), {80, 100}), "annotations[0].segmentation.counts[0]",
                     "non-negative integer run length");
    expect_one_error(with_rle(rle_to_string(rle), "80x100"), "annotations[0].segmentation.size", "[height, width]");
    expect_one_error(
        [](json& d) {
            ann(d)["segmentation"] = {{"size", {80, 100}}};
        },
        "annotations[0].segmentation.counts", "missing required field");
}

TEST(Validate, BboxMustFitTheSegmentation) {
    json doc = good_doc();
    ann(doc)["bbox"] = {10.9, 9.1, 19.5, 30.6};  // every edge within 1 px
    EXPECT_EQ(check(doc).error_count(), 0u) << dump(check(doc));
    expect_one_error(
        [](json& d) {
            ann(d)["bbox"] = {12, 10, 18, 30};
        },
        "annotations[0].bbox", "does not match the segmentation's tight box [10, 10, 20, 30]");
    expect_one_error(
        [](json& d) {
            ann(d)["bbox"] = {10, 10, 20};
        },
        "annotations[0].bbox", "expected [x, y, width, height]");
    expect_one_error([](json& d) { ann(d)["bbox"] = {10, 10, -20, 30}; }, "annotations[0].bbox", "non-negative width");
    expect_one_error([](json& d) { ann(d).erase("bbox"); }, "annotations[0].bbox", "missing required field");
}

TEST(Validate, AreaMustBePositiveAndOffAreasWarn) {
    expect_one_error([](json& d) { ann(d)["area"] = 0; }, "annotations[0].area", "positive area");
    expect_one_error([](json& d) { ann(d)["area"] = "600"; }, "annotations[0].area", "expected a number");
    expect_one_error([](json& d) { ann(d).erase("area"); }, "annotations[0].area", "missing required field");
    json doc = good_doc();
    ann(doc)["area"] = 660;  // 10% above the polygon's 600
    Diagnostics d = check(doc);
    EXPECT_EQ(d.error_count(), 0u) << dump(d);
    EXPECT_EQ(d.warning_count(), 1u) << dump(d);
    EXPECT_TRUE(has(d, Severity::warning, "annotations[0].area", "polygon area 600")) << dump(d);
    // Within 1% of the polygon area: no warning.
    ann(doc)["area"] = 605;
    EXPECT_TRUE(check(doc).empty()) << dump(check(doc));
}

TEST(Validate, IscrowdIsRequiredAndZeroOrOne) {
    expect_one_error([](json& d) { ann(d)["iscrowd"] = 2; }, "annotations[0].iscrowd", "expected 0 or 1");
    expect_one_error([](json& d) { ann(d).erase("iscrowd"); }, "annotations[0].iscrowd",
                     "official SAM 3 training loader");
}

TEST(Validate, CollectsEveryProblemInOnePass) {
    json doc = good_doc();
    doc["images"][0]["id"] = "one";
    doc["images"][1].erase("text_input");
    ann(doc)["iscrowd"] = 5;
    ann(doc)["category_id"] = 3;
    Diagnostics d = check(doc);
    EXPECT_EQ(d.error_count(), 5u) << dump(d);  // + image_id 1 now names no image
    EXPECT_TRUE(has(d, Severity::error, "images[0].id", "integer"));
    EXPECT_TRUE(has(d, Severity::error, "images[1].text_input", "missing"));
    EXPECT_TRUE(has(d, Severity::error, "annotations[0].iscrowd", "0 or 1"));
    EXPECT_TRUE(has(d, Severity::error, "annotations[0].category_id", "not in categories"));
    EXPECT_TRUE(has(d, Severity::error, "annotations[0].image_id", "names no image"));
}

TEST(Validate, TopLevelShapeErrors) {
    Diagnostics d = check(json::array());
    EXPECT_EQ(d.error_count(), 1u);
    d = check(
        json{{"images", json::object()}, {"annotations", json::array()}, {"categories", {{{"id", 1}, {"name", "c"}}}}});
    EXPECT_TRUE(has(d, Severity::error, "images", "expected a list")) << dump(d);
    d = check(json{{"images", json::array()}, {"categories", {{{"id", 1}, {"name", "c"}}}}});
    EXPECT_TRUE(has(d, Severity::error, "images", "at least one image")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "annotations", "missing required field")) << dump(d);
}

TEST(Validate, OneFileWithoutNegativesOrPositivesOnlyWarns) {
    json doc = good_doc();
    doc["images"].erase(1);
    Diagnostics d = check(doc);
    EXPECT_EQ(d.error_count(), 0u);
    EXPECT_TRUE(has(d, Severity::warning, "images", "no negative images")) << dump(d);
    json negatives_only = good_doc();
    negatives_only["annotations"] = json::array();
    EXPECT_TRUE(has(check(negatives_only), Severity::warning, "images", "no positive images"));
}

TEST(Validate, ImageFilesMustExistWithTheirSizeAfterExif) {
    TempDir dir;
    RgbImage img{100, 80, std::vector<uint8_t>(100 * 80 * 3, 128)};
    write_png(dir.path / "a" / "one.jpg", img);  // the extension does not matter, the bytes do
    write_file_atomic(dir.path / "a" / "broken.png", "not an image at all");
    json doc = good_doc();
    doc["images"][1]["file_name"] = "a/missing.jpg";
    doc["images"].push_back({{"id", 3},
                             {"file_name", "a/broken.png"},
                             {"width", 100},
                             {"height", 80},
                             {"text_input", "chicken"},
                             {"is_instance_exhaustive", 1}});
    doc["images"].push_back({{"id", 4},
                             {"file_name", "a/one.jpg"},
                             {"width", 80},
                             {"height", 100},
                             {"text_input", "hen"},
                             {"is_instance_exhaustive", 1}});
    ValidateParams params;
    params.image_root = dir.path;
    Diagnostics d = check(doc, params);
    EXPECT_EQ(d.error_count(), 3u) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[1].file_name", "image file not found")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[2].file_name", "cannot read image")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[3]", "80x100 differs from the file")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[3]", ": 100x80")) << dump(d);
}

// A PNG whose header and IEND are intact but whose pixel data (the IDAT's deflate stream) is not.
std::string png_with_corrupt_pixels(uint32_t w, uint32_t h) {
    std::string png = encode_png(RgbImage{w, h, std::vector<uint8_t>(size_t{w} * h * 3, 90)});
    size_t idat = png.find("IDAT");
    EXPECT_NE(idat, std::string::npos);
    // After "IDAT": the 2-byte zlib header, then the first deflate block's header; 0xFF there
    // is block type 3, which deflate reserves.
    for (size_t k = idat + 6; k < idat + 12; ++k) png[k] = '\xff';
    return png;
}

TEST(Validate, DecodeFindsCorruptPixelDataTheHeaderCheckPasses) {
    TempDir dir;
    write_file_atomic(dir.path / "a" / "one.jpg", png_with_corrupt_pixels(100, 80));
    write_png(dir.path / "a" / "two.jpg", RgbImage{100, 80, std::vector<uint8_t>(100 * 80 * 3, 128)});
    ValidateParams params;
    params.image_root = dir.path;
    EXPECT_EQ(check(good_doc(), params).error_count(), 0u) << dump(check(good_doc(), params));  // headers only
    params.decode = true;
    Diagnostics d = check(good_doc(), params);
    EXPECT_EQ(d.error_count(), 1u) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[0].file_name", "cannot decode image")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[0].file_name", "one.jpg")) << dump(d);
}

// libwebp's lossless encoder output for a flat 100x80 image.
std::string lossless_webp(uint32_t w, uint32_t h) {
    const std::vector<uint8_t> rgb(size_t{w} * h * 3, 120);
    uint8_t* out = nullptr;
    const size_t n =
        WebPEncodeLosslessRGB(rgb.data(), static_cast<int>(w), static_cast<int>(h), static_cast<int>(w * 3), &out);
    EXPECT_GT(n, 25u);
    std::string webp(reinterpret_cast<const char*>(out), n);
    WebPFree(out);
    return webp;
}

TEST(Validate, DecodeReadsWebpPixelsAndOnlyTiffGetsTheHeaderWarning) {
    TempDir dir;
    const std::string good = lossless_webp(100, 80);
    // The RIFF header and the VP8L header (signature, size) intact, then garbage: the header
    // check passes, the pixels do not decode.
    std::string bad = good.substr(0, 25);
    std::mt19937 rng(5);
    while (bad.size() < good.size()) bad.push_back(static_cast<char>(rng()));
    write_file_atomic(dir.path / "a" / "one.jpg", bad);
    write_file_atomic(dir.path / "a" / "two.jpg", good);
    ValidateParams params;
    params.image_root = dir.path;
    Diagnostics headers_only = check(good_doc(), params);
    EXPECT_EQ(headers_only.error_count(), 0u) << dump(headers_only);
    params.decode = true;
    Diagnostics d = check(good_doc(), params);
    EXPECT_EQ(d.error_count(), 1u) << dump(d);
    EXPECT_EQ(d.warning_count(), 0u) << dump(d);  // no "only the header of WebP image" warning
    EXPECT_TRUE(has(d, Severity::error, "images[0].file_name", "cannot decode image")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[0].file_name", "cannot decode WebP pixels")) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[0].file_name", "one.jpg")) << dump(d);

    // TIFF: header only, and a warning saying so. A little-endian TIFF of 100x80 (two SHORT
    // size entries, no strips: only the header is read).
    std::string tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0};
    for (auto [tag, v] : {std::pair{0x0100, 100}, std::pair{0x0101, 80}}) {
        const char entry[12] = {static_cast<char>(tag & 0xFF),
                                static_cast<char>(tag >> 8),
                                3,
                                0,
                                1,
                                0,
                                0,
                                0,
                                static_cast<char>(v),
                                0,
                                0,
                                0};
        tiff.append(entry, sizeof entry);
    }
    tiff.append(4, '\0');
    tiff.append(64, '\x80');
    write_file_atomic(dir.path / "a" / "one.jpg", tiff);
    d = check(good_doc(), params);
    EXPECT_EQ(d.error_count(), 0u) << dump(d);
    EXPECT_EQ(d.warning_count(), 1u) << dump(d);
    EXPECT_TRUE(has(d, Severity::warning, "images[0].file_name", "only the header of TIFF image")) << dump(d);
}

TEST(Validate, ImageSizeHonoursExifOrientation) {
    // A real phone photo stored 1600x1200 with EXIF orientation 6: displayed 1200x1600.
    const fs::path root =
        fs::path(CHICKENSEG_SOURCE_DIR) / ".." / "shared" / "datasets" / "chicken-egg-yolo" / "images";
    const std::string name = "038b5be1-not_damaged_77.jpg";
    ASSERT_TRUE(fs::exists(root / name)) << "real test data missing: " << root;
    json doc = good_doc();
    doc["images"][1]["file_name"] = name;
    doc["images"][1]["width"] = 1200;
    doc["images"][1]["height"] = 1600;
    doc["images"].erase(0);
    doc["annotations"] = json::array();
    ValidateParams params;
    params.image_root = root;
    Diagnostics d = check(doc, params);
    EXPECT_EQ(d.error_count(), 0u) << dump(d);
    doc["images"][0]["width"] = 1600;
    doc["images"][0]["height"] = 1200;
    d = check(doc, params);
    EXPECT_EQ(d.error_count(), 1u) << dump(d);
    EXPECT_TRUE(has(d, Severity::error, "images[0]", "after EXIF orientation 6 (stored 1600x1200)")) << dump(d);
}

TEST(Validate, SeveralFilesEachNeedBothKindsAndNoSharedImage) {
    TempDir dir;
    json train = good_doc();
    json val = good_doc();  // same ids: fine across files
    val["images"][0]["file_name"] = "b/one.jpg";
    val["images"][1]["file_name"] = "b/two.jpg";
    write_json_file(dir.path / "train.json", train);
    write_json_file(dir.path / "val.json", val);
    const std::vector<fs::path> files{dir.path / "train.json", dir.path / "val.json"};
    Diagnostics d = validate_saco_files(files, {});
    EXPECT_TRUE(d.empty()) << dump(d);

    val["images"][1]["file_name"] = "a/two.jpg";  // also in train
    val["annotations"] = json::array();           // and val has no positives
    write_json_file(dir.path / "val.json", val);
    d = validate_saco_files(files, {});
    EXPECT_EQ(d.error_count(), 2u) << dump(d);
    const std::string val_file = (dir.path / "val.json").string();
    auto found = [&](const std::string& path, const std::string& part) {
        return std::any_of(d.items().begin(), d.items().end(), [&](const Diagnostic& i) {
            return i.place.file == val_file && i.place.field == path && i.message.find(part) != std::string::npos;
        });
    };
    EXPECT_TRUE(found("images[1].file_name",
                      "image \"a/two.jpg\" is also in " + (dir.path / "train.json").string() + " (images[1])"))
        << dump(d);
    EXPECT_TRUE(found("images", "no positive images")) << dump(d);
}

TEST(Validate, UnreadableFilesAreErrorsAndTheOthersAreStillChecked) {
    TempDir dir;
    write_file_atomic(dir.path / "bad.json", "{\n  \"images\": [\n}");
    json doc = good_doc();
    ann(doc)["iscrowd"] = 7;
    write_json_file(dir.path / "good.json", doc);
    Diagnostics d = validate_saco_files({dir.path / "missing.json", dir.path / "bad.json", dir.path / "good.json"}, {});
    EXPECT_EQ(d.error_count(), 3u) << dump(d);
    EXPECT_EQ(d.items()[0].place.file, (dir.path / "missing.json").string());
    EXPECT_EQ(d.items()[1].place.file, (dir.path / "bad.json").string());
    EXPECT_EQ(d.items()[1].place.line, 3);
    EXPECT_EQ(d.items()[2].place.field, "annotations[0].iscrowd");
}

TEST(Validate, ReportJson) {
    json doc = good_doc();
    ann(doc)["area"] = 700;
    ann(doc)["iscrowd"] = 3;
    Diagnostics d = check(doc);
    json r = validation_report_to_json(d, {"ds.json"});
    EXPECT_EQ(r["valid"], false);
    EXPECT_EQ(r["files"], json::array({"ds.json"}));
    ASSERT_EQ(r["errors"].size(), 1u);
    EXPECT_EQ(r["errors"][0]["file"], "ds.json");
    EXPECT_EQ(r["errors"][0]["path"], "annotations[0].iscrowd");
    ASSERT_EQ(r["warnings"].size(), 1u);
    EXPECT_EQ(r["warnings"][0]["path"], "annotations[0].area");
    EXPECT_EQ(validation_report_to_json(Diagnostics{}, {})["valid"], true);
}
