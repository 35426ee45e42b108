// One image's annotation as the annotator edits it: the instances (each one or more polygons,
// one LabelMe "polygon" shape per polygon) and the image-level flags, read from and written to
// the LabelMe file beside the image, and its JSON form in the annotator's HTTP API:
//   {"width", "height", "exists", "flags": {name: bool},
//    "shapes": [{"label", "group_id" (null or integer), "description",
//                "polygons": [[x1, y1, x2, y2, ...], ...]}]}
// The saved file is exactly what the annotator left: the instances and flags the page sends,
// with "reviewed" set (kReviewedFlag); a confirmed negative ("no chicken") is a file with no
// shapes and kNegativeFlag set, which `data convert` reads as a negative image (an image whose
// LabelMe file has no shape is a negative).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/labelme_writer.h"

namespace chickenseg {

inline constexpr const char* kReviewedFlag = "reviewed";
inline constexpr const char* kNegativeFlag = "confirmed_negative";

struct Annotation {
    uint32_t width = 0;  // the image's size (upright), what the coordinates are in
    uint32_t height = 0;
    bool exists = false;  // the LabelMe file exists (false: none yet, nothing pre-filled)
    std::map<std::string, bool> flags;
    std::vector<LabelmeShape> shapes;
};

// Reads the LabelMe file `path` (a missing file is an empty annotation). Shapes with the same
// label and a group_id are one instance; a "rectangle" becomes its 4-corner polygon. Throws
// Error naming the file and field for what cannot be edited here (other shape types: circles,
// lines, points, masks) or is not a LabelMe file.
Annotation read_annotation(const std::filesystem::path& path, uint32_t width, uint32_t height);

json annotation_to_json(const Annotation& annotation);

// The annotation a save request sends, checked against the image's size: every polygon
// inside it (write_labelme_file's checks), flags booleans, no shape when kNegativeFlag is
// set. Throws Error naming the field (`shapes[2].polygons[0]`).
Annotation annotation_from_json(const json& body, uint32_t width, uint32_t height);

// Writes it (atomically) as a LabelMe file for the image, kReviewedFlag set.
void write_annotation(const std::filesystem::path& path, const std::filesystem::path& image, Annotation annotation);

}  // namespace chickenseg
