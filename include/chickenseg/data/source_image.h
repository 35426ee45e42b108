// What every annotation reader (LabelMe, YOLO, COCO) hands to `data convert`:
// the objects of one image in pixel coordinates of the image as displayed
// (after EXIF orientation), with their labels still as written in the source.
// Label mapping, negatives and ids are decided later, in one place (convert).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/geometry.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

enum class SourceFormat { labelme, yolo, coco };
// "labelme", "yolo", "coco": the per-image `source` field of the SA-Co output.
const char* source_format_name(SourceFormat format);

// One object instance as the source drew it.
struct SourceObject {
    std::string label;          // as written (trimmed of surrounding whitespace)
    Segmentation segmentation;  // polygons or RLE, in pixels
    int iscrowd = 0;
    ErrorPlace place;  // where it is defined (file, YOLO line, JSON path)
};

// Pixel coordinates may lie up to this far outside [0, width] x [0, height]
// (annotation tools let a click land just past the border); they are clamped
// with a warning. Farther out is an error.
inline constexpr double kPixelTolerance = 1.0;
// YOLO's normalised coordinates may lie this far outside [0, 1] (float
// rounding in exporters); they are clamped silently. Farther out is an error.
inline constexpr double kNormalizedTolerance = 1e-6;

// Clamps the polygon's points into [0, width] x [0, height]. Points outside by
// at most kPixelTolerance are clamped and one warning names the shape; a point
// farther out adds an error (the first such point, with its coordinates) and
// returns false. Non-finite coordinates are errors too.
bool clamp_polygon_to_image(Polygon& polygon, uint32_t width, uint32_t height, const ErrorPlace& place,
                            Diagnostics& diagnostics);

}  // namespace chickenseg
