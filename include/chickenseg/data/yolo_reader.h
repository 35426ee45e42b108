// YOLO label files: one `.txt` per image, one object per line, coordinates
// normalised to [0, 1] of the image's displayed width and height.
//   detection:     class cx cy w h                (5 fields)
//   segmentation:  class x1 y1 x2 y2 ... xn yn    (1 + 2n fields, n >= 3;
//                  Label Studio writes boxes as 4-corner polygons: 9 fields)
// Class names come from `classes.txt` (one per line, line i = class i) or
// `data.yaml` (`names:` as a list or an {id: name} map). An empty or missing
// label file means no objects.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/data/source_image.h"

namespace chickenseg {

struct YoloClassNames {
    std::vector<std::string> names;  // index = class id
    std::string file;                // where they were read from
};

// classes.txt: names trimmed; trailing blank lines ignored; a blank line
// before the last name is an error (it would shift every later class id).
YoloClassNames parse_yolo_classes_txt(std::string_view text, const std::string& file);
// data.yaml: `names` as a list, or a map whose keys are exactly 0..n-1; `nc`,
// when present, must equal the number of names. Other keys are ignored.
YoloClassNames parse_yolo_data_yaml(const std::string& text, const std::string& file);
// Chooses the parser by extension (.yaml / .yml: data.yaml, otherwise classes.txt).
YoloClassNames read_yolo_class_names(const std::filesystem::path& path);
// classes.txt, else data.yaml, else dataset.yaml in `root`; empty when none exists.
std::filesystem::path find_yolo_class_file(const std::filesystem::path& root);

struct YoloObject {
    size_t class_id = 0;
    bool is_box = false;     // a 5-field detection line
    std::vector<double> xy;  // normalised polygon x1, y1, ... (a box as its 4 corners, clockwise from top-left)
    long line = 0;           // 1-based
};

// Parses one label file. Each bad line adds an error naming file and line and
// what was expected (field count, a number, a class id below class_count,
// coordinates within [0, 1] +- kNormalizedTolerance) and is skipped; good
// lines are returned. Blank lines are skipped; a UTF-8 BOM and CRLF are accepted.
std::vector<YoloObject> parse_yolo_labels(std::string_view text, const std::string& file, size_t class_count,
                                          Diagnostics& diagnostics);

// The objects in pixels of a width x height image, labelled with the class names.
std::vector<SourceObject> yolo_to_source_objects(const std::vector<YoloObject>& objects, const YoloClassNames& classes,
                                                 uint32_t width, uint32_t height, const std::string& file);

}  // namespace chickenseg
