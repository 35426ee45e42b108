// The files `chickenseg predict` writes from its records (private to the runtime).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chickenseg/core/image.h"
#include "chickenseg/eval/predictions.h"
#include "chickenseg/runtime/predict.h"

namespace chickenseg {

using ordered_json = nlohmann::ordered_json;
inline constexpr const char* kPresenceFileSchema = kPresenceSchema;

// The COCO results list (what `chickenseg model predict` writes and `eval` reads).
std::string coco_results_text(const std::vector<ImageRecord>& records);
// {"schema": "chickenseg.presence/1", "model", "presence": {"<id>": score}}, plus "images"
// (id, file_name, width, height, text_input) when the job made the ids.
std::string presence_text(const std::vector<ImageRecord>& records, const PredictJob& job, const std::string& model);

// Where an image's overlay picture goes under its output folder (labelme_path: predict.h).
std::filesystem::path overlay_path(const std::filesystem::path& dir, const std::string& file);

// The image with its detections drawn: masks filled, boxes, "chicken 0.93" labels, and per
// prompt a header with the count and the presence score, or "NO CHICKEN" when none.
RgbImage render_overlay(const RgbImage& image, const ImageRecord& record);

}  // namespace chickenseg
