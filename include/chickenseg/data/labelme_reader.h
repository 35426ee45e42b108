// LabelMe annotation files (one JSON per image):
//   { "shapes": [ {"label", "points": [[x, y], ...], "shape_type", "group_id", "mask"} ],
//     "imagePath", "imageWidth", "imageHeight", "imageData" }
// Shape types: polygon (>= 3 points; also what a null/absent shape_type means),
// rectangle (2 opposite corners, any order), circle (centre, then a rim point),
// mask (base64 PNG in `mask`, its top-left pixel at the integer part of the
// first of the 2 `points`, as LabelMe pastes it: becomes an RLE segmentation).
// line, linestrip, point and points have no area: ignored with a warning.
// Shapes with the same label and the same non-null group_id form ONE instance
// (several polygons, or the union of masks), as LabelMe's own exporters do.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/source_image.h"

namespace chickenseg {

enum class LabelMeShapeType { polygon, rectangle, circle, mask, line, linestrip, point, points };
// Whether the shape has an area (polygon, rectangle, circle, mask) and so becomes an object.
bool labelme_shape_has_area(LabelMeShapeType type);

struct LabelMeShape {
    std::string label;  // trimmed
    LabelMeShapeType type = LabelMeShapeType::polygon;
    std::string type_name;  // as written ("polygon" when absent)
    std::vector<std::array<double, 2>> points;
    std::optional<long long> group_id;
    std::string mask_base64;  // mask shapes only
    std::string path;         // JSON path, e.g. "shapes[3]"
};

struct LabelMeFile {
    std::string image_path;  // imagePath with '\\' turned into '/' (LabelMe on Windows writes '\\')
    std::optional<uint32_t> image_width, image_height;
    std::string image_data;  // base64 imageData, not decoded; empty when absent or null
    std::vector<LabelMeShape> shapes;
    bool reviewed = false;  // flags.reviewed is true: an annotator saved it (`chickenseg annotate`)
};

// Checks types and point counts. Every problem adds an error naming file and
// JSON path (all of them, not only the first); bad shapes are left out.
LabelMeFile parse_labelme(const json& doc, const std::string& file, Diagnostics& diagnostics);
// Reads and parses; a file that is not JSON adds one error (with line and column).
std::optional<LabelMeFile> read_labelme_file(const std::filesystem::path& path, const std::string& file,
                                             Diagnostics& diagnostics);

// The objects in pixels of a width x height image: rectangles and circles
// become polygons, masks RLE, group_id groups merge. Points up to
// kPixelTolerance outside the image are clamped with a warning, farther is an
// error; circles are clipped to the image silently once centre and rim point
// are inside; a mask must lie inside the image and match its rectangle's size.
std::vector<SourceObject> labelme_to_source_objects(const LabelMeFile& labelme, uint32_t width, uint32_t height,
                                                    const std::string& file, Diagnostics& diagnostics);

}  // namespace chickenseg
