// The embedded demo dataset: synthetic barn scenes (straw and wooden planks,
// chickens, and the things a chicken detector must learn to ignore), rendered
// deterministically from a seed and written in two annotation forms, LabelMe and
// YOLO segmentation, plus the label map that `data convert` needs. It lets every
// command be tried, and tested, without downloading data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "chickenseg/core/geometry.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"

namespace chickenseg {

inline constexpr const char* kSampleSchema = "chickenseg.sample/1";

struct SampleParams {
    int images = 120;      // number of scenes, >= 1
    uint64_t seed = 0;     // same seed and size -> same bytes
    uint32_t width = 640;  // pixels, 64..4096
    uint32_t height = 480;
    // Share of scenes by kind; the rest are hard negatives. Counts are rounded,
    // positives first, so 120 scenes give 72 / 12 / 36.
    double positive_fraction = 0.6;
    double ambiguous_fraction = 0.1;
};

// What a scene is for: a positive holds at least one chicken; a hard negative
// holds none (straw only, feeders, eggs, ducks); an ambiguous scene holds an
// "unknown bird" (dark, blurred), which the label map excludes.
enum class SceneKind { positive, hard_negative, ambiguous };
const char* scene_kind_name(SceneKind k);

// How an object is annotated in LabelMe. YOLO always gets `outline`.
enum class SampleShapeType { polygon, rectangle, circle };

struct SampleObject {
    std::string label;  // as written: "chicken", "Chicken", "hen", "egg", ...
    SampleShapeType shape_type = SampleShapeType::polygon;
    Polygon outline;             // the annotation as a pixel polygon (box / circle / silhouette)
    Polygon silhouette;          // the pixels drawn: outline polygon clipped to the image
    std::vector<double> points;  // LabelMe points (flat x,y): polygon vertices, 2 rectangle corners,
                                 // or circle centre + rim point
    bool cut_at_border = false;  // part of the object lies outside the image
};

struct SampleScene {
    std::string stem;  // "barn_0001"
    SceneKind kind = SceneKind::positive;
    bool jpeg = false;  // written as .jpg instead of .png
    // Negatives without objects: false -> no LabelMe JSON / no YOLO .txt at all,
    // true -> a JSON with an empty shapes list / an empty .txt (both forms occur in real data).
    bool write_empty_annotation = true;
    RgbImage image;
    std::vector<SampleObject> objects;  // back to front (drawing order)
    std::string file_name() const { return stem + (jpeg ? ".jpg" : ".png"); }
};

// Throws Error when the params are out of range.
void check_sample_params(const SampleParams& params);

// The kind of every scene, in order: exact counts, shuffled by the seed.
std::vector<SceneKind> sample_scene_kinds(const SampleParams& params);

// Renders scene `index` (0-based) alone: it depends only on the seed, the size and
// its kind, so scenes can be rendered in any order or in parallel.
SampleScene render_sample_scene(const SampleParams& params, int index, SceneKind kind);

// YOLO classes in classes.txt order, and the label map text.
const std::vector<std::string>& sample_yolo_classes();
std::string sample_label_map_yaml();

struct SampleSummary {
    std::filesystem::path out_dir;
    int images = 0;
    int positives = 0;
    int hard_negatives = 0;
    int ambiguous = 0;
    int png = 0;
    int jpeg = 0;
    int without_annotation_file = 0;          // negatives with no JSON / no .txt
    std::map<std::string, int> label_counts;  // objects per label as written in LabelMe
    std::map<std::string, int> shape_type_counts;
    int cut_at_border = 0;
};
json sample_summary_to_json(const SampleSummary& s);

// Writes the whole sample under `out_dir` (see docs/data.md "sample"):
//   labelme/<stem>.{png,jpg} + <stem>.json, yolo/images/, yolo/labels/, yolo/classes.txt,
//   label_map.yaml, README.md, sample.json (the parameters and counts; marks the folder
//   as a sample so a later run may replace it).
// The folder is built beside `out_dir` and renamed into place, so it is either the
// complete new sample or left as it was. Throws Error when `out_dir` exists, is not
// empty and is not a previous sample, or is a previous sample holding any file the
// sample did not write (user files are never deleted).
SampleSummary write_sample_dataset(const std::filesystem::path& out_dir, const SampleParams& params);

}  // namespace chickenseg
