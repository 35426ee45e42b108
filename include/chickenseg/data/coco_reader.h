// COCO instance annotation files: `images` (id, file_name, width, height),
// `annotations` (image_id, category_id, segmentation as polygons or RLE
// (compressed or not), bbox, iscrowd) and `categories` (id, name). Labels are
// the category names. An annotation without a segmentation (or with an empty
// one) uses its bbox as a 4-point polygon.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/source_image.h"

namespace chickenseg {

struct CocoImageEntry {
    int64_t id = 0;
    std::string file_name;  // as written, '\\' turned into '/'
    uint32_t width = 0;     // as declared in the file
    uint32_t height = 0;
    std::string path;                   // JSON path, e.g. "images[3]"
    std::vector<SourceObject> objects;  // pixel coordinates as written (not yet checked against the image)
};

struct CocoFile {
    std::vector<CocoImageEntry> images;  // in file order
};

// Checks types and references; every problem adds an error naming the file and
// JSON path (duplicate image ids, an image_id or category_id that names
// nothing, a polygon with fewer than 3 points or an odd number of values, RLE
// whose size differs from the image's declared size, iscrowd not 0/1).
CocoFile parse_coco(const json& doc, const std::string& file, Diagnostics& diagnostics);
std::optional<CocoFile> read_coco_file(const std::filesystem::path& path, const std::string& file,
                                       Diagnostics& diagnostics);

}  // namespace chickenseg
