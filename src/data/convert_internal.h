// Private to the convert files of src/data (convert.cpp: the label mapping into SA-Co,
// convert_collect.cpp: reading each source format into Items): what the readers hand over.
// The readers know nothing of the label map, so a new source format touches only them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/diagnostics.h"
#include "chickenseg/data/convert.h"
#include "chickenseg/data/source_image.h"

namespace chickenseg::convert_internal {

// One image as read from the source, before label mapping.
struct Item {
    std::string file_name;  // relative to the image root
    std::string display;    // how messages name the image
    SourceFormat format = SourceFormat::yolo;
    uint32_t width = 0, height = 0;
    std::vector<SourceObject> objects;
    std::optional<std::vector<uint8_t>> embedded;  // LabelMe imageData of a missing image file
    bool reviewed = false;                         // LabelMe: its label file has flags.reviewed == true
};

struct Context {
    const ConvertParams& params;
    std::filesystem::path image_root;
    Diagnostics& diagnostics;
    std::vector<std::filesystem::path> skip;  // files in the input folder that are not data (output, label map, ...)
};

void collect_yolo(Context& ctx, std::vector<Item>& items);
void collect_labelme(Context& ctx, std::vector<Item>& items);
void collect_coco(Context& ctx, std::vector<Item>& items);

}  // namespace chickenseg::convert_internal
