// Checks SA-Co dataset files for schema and meaning, collecting every problem
// (with its file and JSON path) instead of stopping at the first: ids, references,
// the SA-Co image fields, segmentations inside their images, bbox and area
// consistent with the masks, image files on disk, and (for several files, e.g.
// train + val) that each holds negatives and positives and no image is in two.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/core/json_file.h"

namespace chickenseg {

struct ValidateParams {
    // When set, every file_name must exist under it and its size (after EXIF
    // orientation) must equal width/height. Empty: image files are not looked at.
    std::filesystem::path image_root;
    // With image_root: also decode every image in full (core's decode_image, Pillow's pixels),
    // not only its header, so corrupt pixel data is found here and not in predict or after a
    // training epoch. JPEG, PNG, BMP, GIF and WebP are decoded; TIFF, whose pixels the C++
    // decoder does not read, gets a warning that only its header was checked.
    bool decode = false;
    // How far polygon points may lie outside the image, and how far the bbox edges
    // may be from the segmentation's tight box, in pixels (the same slack as convert).
    double pixel_tolerance = 1.0;
    // Relative difference between `area` and the mask area above which a warning is given.
    double area_tolerance = 0.01;
};

// What one file holds, for the checks across files.
struct ValidatedFile {
    std::string file;
    bool parsed = false;  // the JSON could be read and has an images list
    size_t images = 0;
    size_t positives = 0;  // images with at least one non-crowd annotation
    size_t negatives = 0;
    std::vector<std::string> file_names;  // images[i].file_name ("" where missing)
};

// Checks one parsed SA-Co document; `file` names it in the diagnostics.
// `single_file`: report "no negatives"/"no positives" as warnings (for several
// files validate_saco_files reports them as errors instead).
ValidatedFile validate_saco_json(const json& doc, const std::string& file, const ValidateParams& params,
                                 Diagnostics& diagnostics, bool single_file = true);

// Reads and checks each file (a file that cannot be read or parsed is one error),
// then, for two or more files, the checks across them.
Diagnostics validate_saco_files(const std::vector<std::filesystem::path>& files, const ValidateParams& params);

// {"valid": bool, "files": [...], "errors": [{file, path, message[, line]}], "warnings": [...]}.
json validation_report_to_json(const Diagnostics& diagnostics, const std::vector<std::filesystem::path>& files);

}  // namespace chickenseg
