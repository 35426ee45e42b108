// LabelMe 5 annotation files (one JSON per image) written from polygons, so that annotators
// open the tool's detections in the real `labelme` program, and `chickenseg data convert`
// (labelme_reader.h) reads them back to the same instances.
//
// The file is what labelme 5.x itself saves, keys in its order:
//   { "version", "flags": {}, "shapes": [ {"label", "points": [[x, y], ...], "group_id",
//     "description", "shape_type": "polygon", "flags": {}, "mask": null} ],
//     "imagePath", "imageData": null, "imageHeight", "imageWidth" }
// One LabelmeShape (one detection) may have several polygons (the parts of a mask cut in
// two, rle_to_polygons): each becomes a "polygon" shape, all with the same label and
// group_id, which the project's reader and labelme's own exporters (labelme2coco) merge into
// one instance. Polygons have no holes (LabelMe has none). Coordinates are pixels in COCO's
// convention (the one rle_from_polygon rasterises: pixel (x, y) covers [x, x+1] x [y, y+1]),
// written rounded to 1/100 pixel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chickenseg/core/geometry.h"

namespace chickenseg {

// The version written in the file: the labelme release these files are checked against
// (tests/python/test_labelme_writer.py); labelme itself does not check it.
inline constexpr const char* kLabelmeVersion = "5.11.4";

// One instance to write. (Not the reader's LabelMeShape, which is one JSON shape.)
struct LabelmeShape {
    std::string label;              // non-empty, no surrounding whitespace (readers trim it)
    std::vector<Polygon> polygons;  // at least one; each [x1, y1, x2, y2, ...], >= 3 points
    // Shapes with the same label and group_id are one instance. Without one, an instance of
    // several polygons gets the smallest id above every id in the file (so its polygons stay
    // together); a single polygon is written with null, as labelme writes a lone shape.
    std::optional<long long> group_id;
    std::string description;            // free text shown in labelme (e.g. the score)
    std::map<std::string, bool> flags;  // labelme's per-shape check boxes
};

// Writes the LabelMe file `json_path` (atomically; missing folders are created) for the
// width x height image at `image_path`, which is written relative to the JSON file's folder
// with '/' separators (as labelme does: it opens the image from there). Paths are compared
// lexically after making them absolute: symbolic links are not resolved.
// Throws Error naming the file and the field (`shapes[i].polygons[j]` of the span given)
// for a size outside 1..1,000,000, an empty or untrimmed label, an instance without
// polygons, a polygon with an odd number of values or fewer than 3 points, a coordinate
// that is not finite or lies outside [0, width] x [0, height], or two instances with the
// same label and group_id (they would be read back as one).
void write_labelme_file(const std::filesystem::path& json_path, const std::filesystem::path& image_path, uint32_t width,
                        uint32_t height, std::span<const LabelmeShape> shapes,
                        const std::map<std::string, bool>& image_flags = {});

}  // namespace chickenseg
