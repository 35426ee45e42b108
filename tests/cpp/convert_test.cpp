#include "chickenseg/data/convert.h"

#include <gtest/gtest.h>

#include "chickenseg/core/base64.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/dataset_layout.h"
#include "convert_fixtures.h"

using namespace chickenseg;
namespace fs = std::filesystem;
using fixtures::TempDir;
using fixtures::write_test_jpeg;
using fixtures::write_test_png;
using fixtures::write_text;

namespace {

std::vector<std::string> messages(const ConvertReport& r, Severity s) {
    std::vector<std::string> out;
    for (const auto& d : r.diagnostics.items())
        if (d.severity == s) out.push_back(d.text());
    return out;
}

bool any_contains(const std::vector<std::string>& texts, const std::string& needle) {
    for (const auto& t : texts)
        if (t.find(needle) != std::string::npos) return true;
    return false;
}

std::string all(const std::vector<std::string>& texts) {
    std::string s;
    for (const auto& t : texts) s += t + "\n";
    return s;
}

ConvertParams params_for(const fs::path& input, const fs::path& output) {
    ConvertParams p;
    p.input = input;
    p.output = output;
    p.show_progress = false;
    return p;
}

// YOLO: images/ + labels/ + classes.txt, like the real chicken-egg export.
void make_yolo(const TempDir& d) {
    write_text(d / "yolo/classes.txt", "Chicken\nEgg\n");
    write_test_png(d / "yolo/images/b.png", 200, 100);
    write_text(d / "yolo/labels/b.txt", "0 0.1 0.2 0.5 0.2 0.5 0.6 0.1 0.6\n1 0.5 0.5 0.1 0.1\n0 0.75 0.5 0.5 1.0\n");
    write_test_jpeg(d / "yolo/images/a.png", 40, 30);  // a .png holding JPEG bytes
    write_text(d / "yolo/labels/a.txt", "1 0.5 0.5 0.2 0.2\n");
    write_test_png(d / "yolo/images/c.png", 10, 10);  // no label file: a negative
    write_test_png(d / "yolo/images/e.png", 10, 10);
    write_text(d / "yolo/labels/e.txt", "");  // empty label file: a negative
}

std::string shapes_json(const std::string& image_path, const std::string& shapes, int w = 64, int h = 48) {
    return R"({"version": "5.4.1", "flags": {}, "imagePath": ")" + image_path + R"(", "imageWidth": )" +
           std::to_string(w) + R"(, "imageHeight": )" + std::to_string(h) + R"(, "imageData": null, "shapes": [)" +
           shapes + "]}";
}

std::string poly(const std::string& label, const std::string& extra = "") {
    return R"({"label": ")" + label +
           R"(", "points": [[2, 2], [30, 2], [30, 20], [2, 20]], "shape_type": "polygon", "group_id": null)" + extra +
           "}";
}

}  // namespace

TEST(DatasetLayout, LabelCandidates) {
    EXPECT_EQ(label_file_candidates("images/chicken/a.jpg", ".json"),
              (std::vector<std::string>{"labels/chicken/a.json", "labels/a.json", "images/chicken/a.json"}));
    EXPECT_EQ(label_file_candidates("images/a.b.png", ".txt"),
              (std::vector<std::string>{"labels/a.b.txt", "images/a.b.txt"}));
    EXPECT_EQ(label_file_candidates("train/images/x/a.jpg", ".txt"),
              (std::vector<std::string>{"train/labels/x/a.txt", "train/labels/a.txt", "train/images/x/a.txt"}));
    EXPECT_EQ(label_file_candidates("a.jpg", ".json"), std::vector<std::string>{"a.json"});
}

TEST(DatasetLayout, ScanSkipsHiddenAndNonLabels) {
    TempDir d;
    write_test_png(d / "images/a.PNG", 4, 4);
    write_text(d / "labels/a.txt", "");
    write_text(d / "classes.txt", "x\n");
    write_text(d / "README.txt", "hello\n");
    write_text(d / ".cache/b.txt", "");
    write_text(d / "out.txt", "");
    DatasetFolder f = scan_dataset_folder(d.path(), ".txt", {d / "out.txt"});
    EXPECT_EQ(f.images, std::vector<std::string>{"images/a.PNG"});
    EXPECT_EQ(f.label_files, std::vector<std::string>{"labels/a.txt"});
    EXPECT_THROW(scan_dataset_folder(d / "missing", ".txt"), Error);
}

TEST(DetectFormat, FromContents) {
    TempDir d;
    make_yolo(d);
    EXPECT_EQ(detect_input_format(d / "yolo"), InputFormat::yolo);
    write_text(d / "lm/a.json", "{}");
    EXPECT_EQ(detect_input_format(d / "lm"), InputFormat::labelme);
    EXPECT_EQ(detect_input_format(d / "lm/a.json"), InputFormat::coco);
    write_text(d / "lm/b.txt", "");
    EXPECT_THROW(detect_input_format(d / "lm"), Error);  // both kinds, no classes file
    write_text(d / "txt/b.txt", "");
    EXPECT_THROW(detect_input_format(d / "txt"), Error);  // no classes.txt
    EXPECT_THROW(detect_input_format(d / "nothing"), Error);
    EXPECT_EQ(input_format_from_name("yolo"), InputFormat::yolo);
    EXPECT_FALSE(input_format_from_name("voc").has_value());
}

TEST(ConvertYolo, CountsGeometryAndIds) {
    TempDir d;
    make_yolo(d);
    ConvertParams p = params_for(d / "yolo", d / "out/saco.json");
    p.unknown_labels = UnknownLabelPolicy::background;
    ConvertResult r = build_saco_dataset(p);
    ASSERT_TRUE(r.report.ok()) << all(messages(r.report, Severity::error));
    const SacoDataset& ds = r.dataset;
    ASSERT_EQ(ds.images.size(), 4u);
    EXPECT_EQ(ds.images[0].file_name, "images/a.png");
    EXPECT_EQ(ds.images[0].id, 1);
    EXPECT_EQ(ds.images[0].width, 40u);
    EXPECT_EQ(ds.images[1].file_name, "images/b.png");
    EXPECT_EQ(ds.images[1].id, 2);
    EXPECT_EQ(ds.images[3].file_name, "images/e.png");
    for (const auto& im : ds.images) {
        EXPECT_EQ(im.text_input, "chicken");
        EXPECT_EQ(im.is_instance_exhaustive, 1);
        EXPECT_EQ(im.extra["source"], "yolo");
    }
    ASSERT_EQ(ds.annotations.size(), 2u);
    const SacoAnnotation& a = ds.annotations[0];
    EXPECT_EQ(a.id, 1);
    EXPECT_EQ(a.image_id, 2);
    EXPECT_EQ(a.category_id, 1);
    EXPECT_EQ(a.iscrowd, 0);
    ASSERT_EQ(a.segmentation.polygons.size(), 1u);
    EXPECT_EQ(a.segmentation.polygons[0],
              (Polygon{0.1 * 200, 0.2 * 100, 0.5 * 200, 0.2 * 100, 0.5 * 200, 0.6 * 100, 0.1 * 200, 0.6 * 100}));
    EXPECT_NEAR(a.bbox[0], 20, 1e-9);
    EXPECT_NEAR(a.bbox[2], 80, 1e-9);
    EXPECT_NEAR(a.bbox[3], 40, 1e-9);
    EXPECT_EQ(a.area, static_cast<double>(rle_area(rle_from_polygons(a.segmentation.polygons, 100, 200))));
    EXPECT_GT(a.area, 0);
    EXPECT_EQ(ds.annotations[1].segmentation.polygons[0], (Polygon{100, 0, 200, 0, 200, 100, 100, 100}));
    EXPECT_EQ(r.report.positives, 1u);
    EXPECT_EQ(r.report.negatives, 3u);
    EXPECT_EQ(r.report.source_format, "yolo");
    ASSERT_EQ(ds.categories.size(), 1u);
    EXPECT_EQ(ds.categories[0].name, "chicken");
    EXPECT_EQ(ds.top["chickenseg"]["schema"], "chickenseg.saco/1");
    EXPECT_EQ(ds.top["chickenseg"]["source_format"], "yolo");
    ASSERT_EQ(r.report.labels.size(), 2u);
    EXPECT_EQ(r.report.labels[0].label, "Chicken");
    EXPECT_EQ(r.report.labels[0].mapped_to, "chicken");
    EXPECT_EQ(r.report.labels[0].objects, 2u);
    EXPECT_EQ(r.report.labels[0].images, 1u);
    EXPECT_EQ(r.report.labels[1].label, "Egg");
    EXPECT_EQ(r.report.labels[1].mapped_to, "background");
    EXPECT_EQ(r.report.labels[1].images, 2u);
}

TEST(ConvertYolo, UnknownLabelIsOneErrorListingWhereAndHowOften) {
    TempDir d;
    make_yolo(d);
    ConvertReport r = convert_dataset(params_for(d / "yolo", d / "out.json"));
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.written);
    EXPECT_FALSE(fs::exists(d / "out.json"));
    auto errs = messages(r, Severity::error);
    ASSERT_EQ(errs.size(), 1u) << all(errs);
    EXPECT_NE(errs[0].find("unknown label \"Egg\": 2 object(s) in 2 image(s), first at"), std::string::npos) << errs[0];
    EXPECT_NE(errs[0].find("labels/a.txt:1"), std::string::npos);
    EXPECT_NE(errs[0].find("labels/b.txt:2"), std::string::npos);
}

TEST(ConvertYolo, ExcludePolicyDropsImages) {
    TempDir d;
    make_yolo(d);
    ConvertParams p = params_for(d / "yolo", d / "o.json");
    p.unknown_labels = UnknownLabelPolicy::exclude;
    ConvertResult r = build_saco_dataset(p);
    ASSERT_TRUE(r.report.ok());
    EXPECT_EQ(r.dataset.images.size(), 2u);
    EXPECT_EQ(r.report.excluded.at("unknown_label"), 2u);
    ASSERT_EQ(r.report.excluded_images.size(), 2u);
    EXPECT_EQ(r.report.excluded_images[0].file_name, "images/a.png");
    EXPECT_EQ(r.report.excluded_images[0].reason, "unknown label \"Egg\"");
}

TEST(ConvertYolo, LabelMapMakesEggBackgroundAndOutputIsDeterministic) {
    TempDir d;
    make_yolo(d);
    write_text(d / "map.yaml", "concept: chicken\nbackground: [egg]\n");
    ConvertParams p = params_for(d / "yolo", d / "out/a.json");
    p.label_map = d / "map.yaml";
    ConvertReport r1 = convert_dataset(p);
    ASSERT_TRUE(r1.ok());
    EXPECT_TRUE(r1.written);
    p.output = d / "out/b.json";
    ConvertReport r2 = convert_dataset(p);
    ASSERT_TRUE(r2.ok());
    std::string a = read_file(d / "out/a.json"), b = read_file(d / "out/b.json");
    EXPECT_EQ(a, b);
    SacoDataset ds = read_saco_json(d / "out/a.json");
    EXPECT_EQ(ds.images.size(), 4u);
    EXPECT_EQ(ds.annotations.size(), 2u);
    json j = json::parse(a);
    EXPECT_EQ(j["chickenseg"]["concept"], "chicken");
    EXPECT_EQ(j["images"][0]["source"], "yolo");
}

TEST(ConvertYolo, BadInputsAreAllReportedAndNothingIsWritten) {
    TempDir d;
    make_yolo(d);
    write_text(d / "yolo/labels/b.txt", "0 0.5 0.5 0.1\n7 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1 0.1 0.2\n");
    write_text(d / "yolo/labels/orphan.txt", "0 0.5 0.5 0.1 0.1\n");
    write_text(d / "yolo/images/junk.jpg", "<!DOCTYPE html><html></html>");
    std::string png = read_file(d / "yolo/images/c.png");
    write_text(d / "yolo/images/trunc.png", png.substr(0, png.size() - 20));
    write_test_jpeg(d / "yolo/images/e.jpg", 10, 10);  // e.png and e.jpg share labels/e.txt
    ConvertParams p = params_for(d / "yolo", d / "out.json");
    p.unknown_labels = UnknownLabelPolicy::background;
    ConvertReport r = convert_dataset(p);
    EXPECT_FALSE(r.written);
    EXPECT_FALSE(fs::exists(d / "out.json"));
    auto errs = messages(r, Severity::error);
    std::string text = all(errs);
    EXPECT_TRUE(any_contains(errs, "labels/b.txt:1: expected `class cx cy w h`")) << text;
    EXPECT_TRUE(any_contains(errs, "labels/b.txt:2: class id 7 is out of range")) << text;
    EXPECT_TRUE(any_contains(errs, "labels/b.txt:3: expected")) << text;
    EXPECT_TRUE(any_contains(errs, "labels/orphan.txt: label file without image")) << text;
    EXPECT_TRUE(any_contains(errs, "images/junk.jpg: not an image")) << text;
    EXPECT_TRUE(any_contains(errs, "images/trunc.png: truncated")) << text;
    EXPECT_TRUE(any_contains(errs, "labels/e.txt: several images share this label file's name")) << text;
    EXPECT_EQ(errs.size(), 7u) << text;
}

TEST(ConvertYolo, MissingClassNamesIsAnError) {
    TempDir d;
    make_yolo(d);
    fs::remove(d / "yolo/classes.txt");
    ConvertParams p = params_for(d / "yolo", d / "o.json");
    p.format = InputFormat::yolo;
    EXPECT_THROW(build_saco_dataset(p), Error);
    write_text(d / "names.yaml", "names: {0: chicken, 1: egg}\n");
    p.classes = d / "names.yaml";
    p.unknown_labels = UnknownLabelPolicy::background;
    EXPECT_TRUE(build_saco_dataset(p).report.ok());
}

// LabelMe in the raw_data layout: images/chicken, images/not_chicken, labels/ (mirrored and flat).
TEST(ConvertLabelMe, RawDataLayoutWithLabelMap) {
    TempDir d;
    fs::path root = d / "raw_data";
    write_test_jpeg(root / "images/chicken/c1.jpg", 64, 48);
    write_text(root / "labels/chicken/c1.json",
               shapes_json("../../images/chicken/c1.jpg", poly("Hen") + "," + poly(" chicken ") + "," + poly("egg")));
    write_test_jpeg(root / "images/chicken/c2.jpg", 64, 48);
    write_text(root / "labels/c2.json", shapes_json("../images/chicken/c2.jpg", poly("rooster")));  // flat labels/
    write_test_jpeg(root / "images/chicken/c3.jpg", 64, 48);
    write_text(root / "labels/c3.json", shapes_json("../images/chicken/c3.jpg", poly("unknown bird")));
    write_test_jpeg(root / "images/not_chicken/n1.jpg", 64, 48);
    write_text(root / "labels/not_chicken/n1.json", shapes_json("../../images/not_chicken/n1.jpg", poly("chicken")));
    write_test_jpeg(root / "images/not_chicken/n2.jpg", 64, 48);  // no label file
    write_test_jpeg(root / "images/chicken/c4.jpg", 64, 48);
    write_text(root / "labels/chicken/c4.json", shapes_json("../../images/chicken/c4.jpg", poly("egg")));
    write_text(d / "map.yaml",
               "concept: chicken\nsynonyms: [rooster, hen]\nbackground: [egg]\nambiguous: [\"unknown bird\"]\n");

    ConvertParams p = params_for(root, d / "out.json");
    p.label_map = d / "map.yaml";
    ConvertResult r = build_saco_dataset(p);
    ASSERT_TRUE(r.report.ok()) << all(messages(r.report, Severity::error));
    EXPECT_EQ(r.report.source_format, "labelme");
    std::vector<std::string> names;
    for (const auto& im : r.dataset.images) names.push_back(im.file_name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"images/chicken/c1.jpg", "images/chicken/c2.jpg", "images/chicken/c4.jpg",
                                        "images/not_chicken/n1.jpg", "images/not_chicken/n2.jpg"}));
    EXPECT_EQ(r.report.positives, 2u);
    EXPECT_EQ(r.report.negatives, 3u);
    EXPECT_EQ(r.report.annotations, 3u);  // Hen + chicken in c1, rooster in c2
    EXPECT_EQ(r.report.excluded.at("ambiguous_label"), 1u);
    EXPECT_EQ(r.report.excluded_images.at(0).file_name, "images/chicken/c3.jpg");
    auto warns = messages(r.report, Severity::warning);
    EXPECT_TRUE(any_contains(warns, "images/not_chicken/n1.jpg: image is in a not_chicken folder but has 1 object"))
        << all(warns);
    EXPECT_EQ(r.dataset.images[0].extra["source"], "labelme");
    // The rectangle-like polygon: bbox and area exact.
    const SacoAnnotation& a = r.dataset.annotations[0];
    EXPECT_EQ(a.bbox, (BoxXywh{2, 2, 28, 18}));
    EXPECT_EQ(a.area, static_cast<double>(rle_area(rle_from_polygons(a.segmentation.polygons, 48, 64))));
}

TEST(ConvertLabelMe, ImagesBesideLabelsAndSizeMismatchWarning) {
    TempDir d;
    write_test_png(d / "ds/a.png", 64, 48);
    write_text(d / "ds/a.json", shapes_json("a.png", poly("chicken"), 640, 480));
    write_test_png(d / "ds/sub/b.png", 64, 48);
    write_text(d / "ds/sub/b.json", shapes_json("b.png", poly("chicken")));
    ConvertResult r = build_saco_dataset(params_for(d / "ds", d / "ds/out.json"));
    ASSERT_TRUE(r.report.ok()) << all(messages(r.report, Severity::error));
    EXPECT_EQ(r.dataset.images.size(), 2u);
    EXPECT_EQ(r.dataset.images[1].file_name, "sub/b.png");
    auto warns = messages(r.report, Severity::warning);
    EXPECT_TRUE(any_contains(warns, "a.json: imageWidth/imageHeight: imageWidth x imageHeight 640x480 differs"))
        << all(warns);
}

TEST(ConvertLabelMe, OutputInsideTheInputFolderIsNotReadBack) {
    TempDir d;
    write_test_png(d / "ds/a.png", 64, 48);
    write_text(d / "ds/a.json", shapes_json("a.png", poly("chicken")));
    ConvertParams p = params_for(d / "ds", d / "ds/saco.json");
    ASSERT_TRUE(convert_dataset(p).ok());
    ConvertReport again = convert_dataset(p);  // saco.json is not a LabelMe file: it must be skipped
    EXPECT_TRUE(again.ok()) << all(messages(again, Severity::error));
}

// A folder `mine` wrote (mined.jsonl at its root) counts only the files an annotator saved
// (flag reviewed: true); pre-filled files and images without one are excluded, listed.
TEST(ConvertLabelMe, MinedFolderTakesOnlyReviewedFiles) {
    TempDir d;
    auto flagged = [](const std::string& image, const std::string& shapes, const std::string& flags) {
        std::string j = shapes_json(image, shapes);
        return j.replace(j.find(R"("flags": {})"), 11, R"("flags": )" + flags);
    };
    for (const char* name : {"a", "b", "c", "d"}) write_test_png(d / "ds" / (std::string(name) + ".png"), 64, 48);
    write_text(d / "ds/a.json", flagged("a.png", poly("chicken"), R"({"unstable_mask": true, "reviewed": true})"));
    write_text(d / "ds/b.json", flagged("b.png", poly("chicken"), R"({"unstable_mask": true})"));  // pre-filled
    write_text(d / "ds/c.json", flagged("c.png", "", R"({"confirmed_negative": true, "reviewed": true})"));
    write_text(d / "ds/mined.jsonl", "{}\n");
    write_text(d / "ds/mining.json", R"({"chosen": []})");  // mine's report: not a label file

    ConvertResult r = build_saco_dataset(params_for(d / "ds", d / "out.json"));
    ASSERT_TRUE(r.report.ok()) << all(messages(r.report, Severity::error));
    EXPECT_TRUE(r.report.reviewed_only);
    ASSERT_EQ(r.dataset.images.size(), 2u);
    EXPECT_EQ(r.dataset.images[0].file_name, "a.png");
    EXPECT_EQ(r.dataset.images[1].file_name, "c.png");
    EXPECT_EQ(r.dataset.annotations.size(), 1u);
    EXPECT_EQ(r.report.excluded.at("not_reviewed"), 2u);
    ASSERT_EQ(r.report.excluded_images.size(), 2u);
    EXPECT_EQ(r.report.excluded_images[0].file_name, "b.png");
    EXPECT_EQ(r.report.excluded_images[1].file_name, "d.png");

    ConvertParams any = params_for(d / "ds", d / "out.json");
    any.reviewed = ReviewedPolicy::any;
    ConvertResult all_files = build_saco_dataset(any);
    EXPECT_FALSE(all_files.report.reviewed_only);
    EXPECT_EQ(all_files.dataset.images.size(), 4u);

    fs::remove(d / "ds/mined.jsonl");
    fs::remove(d / "ds/mining.json");
    EXPECT_EQ(build_saco_dataset(params_for(d / "ds", d / "out.json")).dataset.images.size(), 4u);
    ConvertParams only = params_for(d / "ds", d / "out.json");
    only.reviewed = ReviewedPolicy::only;
    EXPECT_EQ(build_saco_dataset(only).dataset.images.size(), 2u);
    EXPECT_EQ(reviewed_policy_from_name("only"), ReviewedPolicy::only);
    EXPECT_FALSE(reviewed_policy_from_name("maybe"));
}

TEST(ConvertLabelMe, NeverOverwritesAnInput) {
    TempDir d;
    write_test_png(d / "ds/a.png", 64, 48);
    std::string label = shapes_json("a.png", poly("chicken"));
    write_text(d / "ds/a.json", label);
    EXPECT_THROW(convert_dataset(params_for(d / "ds", d / "ds/a.json")), Error);
    EXPECT_EQ(read_file(d / "ds/a.json"), label);
    write_text(d / "map.yaml", "background: [egg]\n");
    ConvertParams p = params_for(d / "ds", d / "map.yaml");
    p.label_map = d / "map.yaml";
    EXPECT_THROW(convert_dataset(p), Error);
    EXPECT_EQ(read_file(d / "map.yaml"), "background: [egg]\n");
}

TEST(ConvertLabelMe, StaleImagePathFallsBackToTheSameName) {
    TempDir d;
    write_test_png(d / "ds/a.png", 64, 48);
    write_text(d / "ds/a.json", shapes_json("C:/Users/x/Desktop/a.png", poly("chicken")));
    ConvertResult r = build_saco_dataset(params_for(d / "ds", d / "out.json"));
    // An absolute (Windows) path points outside the dataset folder: an error, not a guess.
    EXPECT_FALSE(r.report.ok());
    EXPECT_TRUE(
        any_contains(messages(r.report, Severity::error), "imagePath \"C:/Users/x/Desktop/a.png\" points outside"));
    write_text(d / "ds/a.json", shapes_json("old_name.png", poly("chicken")));
    r = build_saco_dataset(params_for(d / "ds", d / "out.json"));
    ASSERT_TRUE(r.report.ok()) << all(messages(r.report, Severity::error));
    EXPECT_EQ(r.dataset.annotations.size(), 1u);
    EXPECT_TRUE(any_contains(messages(r.report, Severity::warning), "imagePath \"old_name.png\" not found; using"));
}

TEST(ConvertLabelMe, EmbeddedImageDataIsUsedAndWrittenOut) {
    TempDir d;
    std::string png = encode_png(fixtures::grey_image(64, 48));
    std::string b64 = base64_encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(png.data()), png.size()));
    std::string text = shapes_json("pics/gone.png", poly("chicken"));
    json j = json::parse(text);
    j["imageData"] = b64;
    write_text(d / "ds/gone.json", j.dump());
    ConvertParams p = params_for(d / "ds", d / "out/train.json");
    ConvertReport r = convert_dataset(p);
    ASSERT_TRUE(r.ok()) << all(messages(r, Severity::error));
    EXPECT_EQ(r.embedded_images, 1u);
    fs::path written = d / "out/train_embedded_images/pics/gone.png";
    EXPECT_EQ(r.embedded_images_dir, (d / "out/train_embedded_images").string());
    ASSERT_TRUE(fs::exists(written));
    EXPECT_EQ(read_file(written), png);
    SacoDataset ds = read_saco_json(d / "out/train.json");
    ASSERT_EQ(ds.images.size(), 1u);
    EXPECT_EQ(ds.images[0].file_name, "pics/gone.png");
    EXPECT_EQ(ds.images[0].width, 64u);
    EXPECT_FALSE(fs::exists(d / "ds/pics/gone.png"));  // the input folder is never written to
}

TEST(ConvertLabelMe, BadInputs) {
    TempDir d;
    fs::path ds = d / "ds";
    write_test_png(ds / "ok.png", 64, 48);
    write_text(ds / "ok.json", shapes_json("ok.png", poly("chicken")));
    write_text(ds / "escape.json", shapes_json("../../etc/x.png", poly("chicken")));
    write_text(ds / "orphan.json", shapes_json("nowhere.png", poly("chicken")));
    write_text(ds / "broken.json", "{\"shapes\": [\n");
    write_test_png(ds / "dup.png", 64, 48);
    write_test_jpeg(ds / "dup.jpg", 64, 48);
    write_text(ds / "dup.json", shapes_json("dup.png", poly("chicken")));
    write_test_png(ds / "twice.png", 64, 48);
    write_text(ds / "twice.json", shapes_json("twice.png", poly("chicken")));
    write_text(ds / "twice2.json", shapes_json("twice.png", poly("chicken")));
    write_test_png(ds / "geo.png", 64, 48);
    write_text(ds / "geo.json",
               shapes_json("geo.png",
                           R"({"label": "chicken", "points": [[0, 0], [80, 0], [10, 10]], "shape_type": "polygon"},
                                      {"label": "chicken", "points": [[0, 0], [10, 0]], "shape_type": "polygon"})"));
    ConvertReport r = convert_dataset(params_for(ds, d / "out.json"));
    EXPECT_FALSE(r.written);
    EXPECT_FALSE(fs::exists(d / "out.json"));
    auto errs = messages(r, Severity::error);
    std::string text = all(errs);
    EXPECT_TRUE(any_contains(errs, "escape.json: imagePath: imagePath \"../../etc/x.png\" points outside")) << text;
    EXPECT_TRUE(any_contains(errs, "orphan.json: imagePath: label file without image")) << text;
    EXPECT_TRUE(any_contains(errs, "broken.json:2: malformed JSON")) << text;
    EXPECT_TRUE(any_contains(errs, "dup.json: several images share this label file's name")) << text;
    EXPECT_TRUE(any_contains(errs, "several label files name the same image")) << text;
    EXPECT_TRUE(any_contains(errs, "geo.json: shapes[0]: point 1 (80, 0) lies 16 px outside")) << text;
    EXPECT_TRUE(any_contains(errs, "geo.json: shapes[1].points: a polygon needs at least 3 points")) << text;
}

TEST(ConvertLabelMe, ConceptOptionAndLabelMapMustAgree) {
    TempDir d;
    write_test_png(d / "ds/a.png", 64, 48);
    write_text(d / "ds/a.json", shapes_json("a.png", poly("Hen")));
    ConvertParams p = params_for(d / "ds", d / "o.json");
    p.concept_name = "hen";
    ConvertResult r = build_saco_dataset(p);
    ASSERT_TRUE(r.report.ok());
    EXPECT_EQ(r.dataset.images[0].text_input, "hen");
    EXPECT_EQ(r.dataset.categories[0].name, "hen");
    EXPECT_EQ(r.report.annotations, 1u);
    write_text(d / "map.yaml", "concept: chicken\n");
    p.label_map = d / "map.yaml";
    EXPECT_THROW(build_saco_dataset(p), Error);
}

TEST(ConvertCoco, ImageRootSizesAndChecks) {
    TempDir d;
    write_test_png(d / "imgs/x/a.png", 20, 10);
    write_test_png(d / "imgs/b.png", 20, 10);
    std::vector<uint8_t> mask(200, 0);
    mask[5 * 10 + 2] = 1;
    json doc = {
        {"images",
         {{{"id", 5}, {"file_name", "x/a.png"}, {"width", 20}, {"height", 10}},
          {{"id", 9}, {"file_name", "b.png"}, {"width", 20}, {"height", 10}}}},
        {"categories", {{{"id", 1}, {"name", "Chicken"}}, {{"id", 2}, {"name", "egg"}}}},
        {"annotations",
         {{{"id", 1},
           {"image_id", 9},
           {"category_id", 1},
           {"segmentation", {{1, 1, 5, 1, 5, 5, 1, 5}}},
           {"iscrowd", 0}},
          {{"id", 2},
           {"image_id", 9},
           {"category_id", 1},
           {"segmentation", {{"size", {10, 20}}, {"counts", rle_to_string(rle_encode(mask, 10, 20))}}},
           {"iscrowd", 1}},
          {{"id", 3}, {"image_id", 5}, {"category_id", 2}, {"segmentation", {{1, 1, 5, 1, 5, 5}}}}}},
    };
    write_text(d / "ann/coco.json", doc.dump());
    ConvertParams p = params_for(d / "ann/coco.json", d / "out.json");
    p.image_root = d / "imgs";
    p.unknown_labels = UnknownLabelPolicy::background;
    ConvertResult r = build_saco_dataset(p);
    ASSERT_TRUE(r.report.ok()) << all(messages(r.report, Severity::error));
    EXPECT_EQ(r.report.source_format, "coco");
    ASSERT_EQ(r.dataset.images.size(), 2u);
    EXPECT_EQ(r.dataset.images[0].file_name, "b.png");
    EXPECT_EQ(r.dataset.images[1].file_name, "x/a.png");
    ASSERT_EQ(r.dataset.annotations.size(), 2u);
    EXPECT_EQ(r.dataset.annotations[0].bbox, (BoxXywh{1, 1, 4, 4}));
    EXPECT_EQ(r.dataset.annotations[0].area, 16);
    EXPECT_EQ(r.dataset.annotations[1].iscrowd, 1);
    EXPECT_TRUE(r.dataset.annotations[1].segmentation.is_rle);
    EXPECT_EQ(r.dataset.annotations[1].area, 1);
    EXPECT_EQ(r.dataset.annotations[1].bbox, (BoxXywh{5, 2, 1, 1}));
    EXPECT_EQ(r.dataset.images[0].extra["source"], "coco");

    // Wrong size declared, a missing image, a file_name escaping the root, a duplicate file_name.
    doc["images"][0]["width"] = 40;
    doc["images"].push_back({{"id", 10}, {"file_name", "missing.png"}, {"width", 20}, {"height", 10}});
    doc["images"].push_back({{"id", 11}, {"file_name", "../ann/coco.json"}, {"width", 20}, {"height", 10}});
    doc["images"].push_back({{"id", 12}, {"file_name", "./b.png"}, {"width", 20}, {"height", 10}});
    write_text(d / "ann/coco.json", doc.dump());
    r = build_saco_dataset(p);
    auto errs = messages(r.report, Severity::error);
    std::string text = all(errs);
    EXPECT_TRUE(any_contains(errs, "images[2].file_name: image file not found")) << text;
    EXPECT_TRUE(any_contains(errs, "images[3].file_name: file_name \"../ann/coco.json\" points outside")) << text;
    EXPECT_TRUE(any_contains(errs, "several images map to the same file_name \"b.png\"")) << text;
    EXPECT_EQ(errs.size(), 3u) << text;
    EXPECT_TRUE(any_contains(messages(r.report, Severity::warning), "width x height 40x10 differs"));
}

TEST(ConvertReportJson, ListsCountsLabelsAndDiagnostics) {
    TempDir d;
    make_yolo(d);
    ConvertParams p = params_for(d / "yolo", d / "o.json");
    p.unknown_labels = UnknownLabelPolicy::background;
    p.dry_run = true;
    ConvertReport r = convert_dataset(p);
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r.written);
    EXPECT_FALSE(fs::exists(d / "o.json"));
    json j = r.to_json(10);
    EXPECT_EQ(j["images"], 4);
    EXPECT_EQ(j["positives"], 1);
    EXPECT_EQ(j["negatives"], 3);
    EXPECT_EQ(j["annotations"], 2);
    EXPECT_EQ(j["labels"][1]["label"], "Egg");
    EXPECT_EQ(j["labels"][1]["mapped_to"], "background");
    EXPECT_EQ(j["error_count"], 0);
    EXPECT_EQ(j["written"], false);
}
