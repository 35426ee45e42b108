// `data convert`: raw annotations (LabelMe, YOLO, COCO) -> one SA-Co JSON for
// one concept. Every image gets text_input = the concept and
// is_instance_exhaustive = 1; objects whose label maps to the concept become
// annotations (polygons in pixels, or RLE), with bbox (tight box of the
// segmentation), area (pixels of the rasterised mask, as pycocotools counts
// them) and iscrowd. Images with no such object are the negatives. Ids are
// 1..N in file_name order, so the same input always gives the same bytes.
//
// Problems are collected, not thrown: the report lists every error and
// warning, and nothing is written when there is any error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

enum class InputFormat { auto_detect, labelme, yolo, coco };
// "auto", "labelme", "yolo", "coco".
const char* input_format_name(InputFormat format);
std::optional<InputFormat> input_format_from_name(std::string_view name);

// What to do with a label that the label map does not know.
enum class UnknownLabelPolicy { error, background, exclude };
const char* unknown_label_policy_name(UnknownLabelPolicy policy);
std::optional<UnknownLabelPolicy> unknown_label_policy_from_name(std::string_view name);

// Detects the format of `input`: a .json file is COCO; a folder holding .txt
// label files and class names (classes.txt / data.yaml at its root) is YOLO; a
// folder holding .json files is LabelMe. Throws Error saying what was found
// when it cannot tell (pass --format then).
InputFormat detect_input_format(const std::filesystem::path& input);

// Which LabelMe files count. `auto_detect`: a folder written by `chickenseg mine` (it has
// mine's state file `mined.jsonl` at its root) is read as `only`, any other as `any`.
// `only`: an image counts only if its LabelMe file has the flag `reviewed: true` (what the
// annotator's saves write); the others (pre-filled by mine and never saved, or without a
// label file) are excluded, reason "not_reviewed". LabelMe input only.
enum class ReviewedPolicy { auto_detect, only, any };
const char* reviewed_policy_name(ReviewedPolicy policy);
std::optional<ReviewedPolicy> reviewed_policy_from_name(std::string_view name);
// The name of mine's state file, whose presence marks a mined folder. Defined here, in the
// lower layer, and used by mine (chickenseg/mine/mine.h's kMineStateFile is this).
inline constexpr const char* kMinedStateFile = "mined.jsonl";

struct ConvertParams {
    std::filesystem::path input;       // dataset folder, or the COCO JSON file
    std::filesystem::path output;      // the SA-Co JSON to write
    std::filesystem::path image_root;  // file_name is relative to it; default: the input folder
                                       // (COCO: the JSON file's folder)
    InputFormat format = InputFormat::auto_detect;
    std::string concept_name;         // empty: the label map's `concept:`, else "chicken"
    std::filesystem::path label_map;  // optional label map YAML (see label_map.h)
    std::filesystem::path classes;    // YOLO class names (classes.txt or data.yaml); default:
                                      // found at the input folder's root
    UnknownLabelPolicy unknown_labels = UnknownLabelPolicy::error;
    ReviewedPolicy reviewed = ReviewedPolicy::auto_detect;
    bool dry_run = false;  // check and report; write nothing
    bool show_progress = true;
};

struct LabelCount {
    std::string label;      // as written in the source (trimmed)
    std::string role;       // concept, background, ambiguous, unknown
    std::string mapped_to;  // the concept, "background", "excluded" or "error"
    size_t objects = 0;
    size_t images = 0;
};

struct ExcludedImage {
    std::string file_name;
    std::string reason;  // "ambiguous label \"x\"" or "unknown label \"x\""
};

// An image that existed only inside a LabelMe file (imageData) and is written
// out next to the output (see ConvertReport::embedded_images_dir).
struct EmbeddedImage {
    std::string file_name;
    std::vector<uint8_t> bytes;
};

struct ConvertReport {
    std::string source_format;  // labelme, yolo, coco
    std::string concept_name;
    std::string output;
    bool written = false;
    size_t images = 0;  // in the output
    size_t positives = 0;
    size_t negatives = 0;
    size_t annotations = 0;
    std::map<std::string, size_t> excluded;  // reason kind ("ambiguous_label", "unknown_label") -> images
    std::vector<ExcludedImage> excluded_images;
    bool reviewed_only = false;       // the ReviewedPolicy resolved: only reviewed LabelMe files counted
    std::vector<LabelCount> labels;   // sorted by label
    std::string embedded_images_dir;  // where imageData images go (empty when there are none)
    size_t embedded_images = 0;
    Diagnostics diagnostics;

    bool ok() const { return diagnostics.error_count() == 0; }
    // max_warnings limits the warnings listed (all errors are always listed);
    // 0 lists none, SIZE_MAX all.
    json to_json(size_t max_warnings) const;
};

struct ConvertResult {
    SacoDataset dataset;
    ConvertReport report;
    std::vector<EmbeddedImage> embedded;
};

// Reads and converts; writes nothing. Throws Error only for unusable
// parameters (a missing input, a broken label map or class names file, a
// --concept that contradicts the label map); problems in the data go to the
// report's diagnostics.
ConvertResult build_saco_dataset(const ConvertParams& params);

// build_saco_dataset, then, when there is no error and not a dry run, writes
// the embedded images (atomically) and then the SA-Co JSON (atomically, last).
ConvertReport convert_dataset(const ConvertParams& params);

}  // namespace chickenseg
