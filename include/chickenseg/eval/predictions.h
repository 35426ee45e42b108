// Model outputs that `eval` reads: the COCO results list (REFERENCE §2) and the
// optional image-level presence file that `predict` writes beside it.
//
// predictions.json: [{"image_id", "category_id", "segmentation": RLE {size, counts}
// or polygons, "bbox": [x, y, w, h], "score"}, ...]. The order of the file is kept:
// it decides tie-breaks in the matching, exactly as in the official evaluator.
//
// presence.json: {"schema": "chickenseg.presence/1", "presence": {"<image_id>": score}}.
//
// Every bad record is an Error naming the file, the line when known and the JSON
// path (`predictions[12].score`). Python's json module writes bare NaN / Infinity,
// which is not JSON: those are found and reported as "NaN score" with their line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

inline constexpr const char* kPresenceSchema = "chickenseg.presence/1";

struct Prediction {
    size_t index = 0;  // position in the file: predictions[index]
    int64_t image_id = 0;
    int64_t category_id = 1;   // kept for the record; ignored by the metrics (one concept per pair)
    bool has_mask = false;     // segmentation given (RLE or polygons)
    CompressedRle mask;        // at the image's size, checked; polygons rasterised as pycocotools
                               // does; held compressed (rle_decompress where used); empty
                               // (h = w = 0) below PredictionReadParams::masks_from_score
    BoxXywh bbox{0, 0, 0, 0};  // as given, else the mask's tight box (as pycocotools' loadRes)
    bool bbox_given = false;
    double score = 0;  // in [0, 1]
};

struct PredictionSet {
    std::string file;                     // path as given, for messages
    std::vector<Prediction> predictions;  // file order
};

struct PredictionReadParams {
    // Each record must carry a segmentation (needed for segm IoU). When false a
    // record may carry only a bbox (bbox-only evaluation).
    bool require_masks = true;
    // Threads decoding RLE strings (0 = all cores). Well-formed files take a fast
    // path (a strict JSON scanner specialised for results lists, decoding in
    // parallel); anything unusual or wrong falls back to the general parser, which
    // produces the error messages. Both give the same PredictionSet.
    unsigned threads = 0;
    bool allow_fast_path = true;  // false: always the general parser (tests compare the two)
    // Masks of predictions scoring below this are checked (a malformed one is still an
    // error) but not kept: the metrics never match them. 0 keeps every mask.
    double masks_from_score = 0;
};

// Parses and checks against the ground truth: image ids must exist in `gt`, RLE
// sizes must equal the image's [height, width], scores must be finite and in [0, 1],
// bbox must be 4 finite numbers with w, h >= 0. `text` is the whole file content.
PredictionSet predictions_from_text(std::string_view text, const std::string& file, const SacoDataset& gt,
                                    const PredictionReadParams& params = {});
PredictionSet read_predictions(const std::filesystem::path& path, const SacoDataset& gt,
                               const PredictionReadParams& params = {});

struct PresenceScores {
    std::string file;
    std::unordered_map<int64_t, double> by_image;  // image id -> presence in [0, 1]
};

// Checks the schema string, that keys are integer image ids of `gt` and scores are
// finite numbers in [0, 1].
PresenceScores presence_from_text(std::string_view text, const std::string& file, const SacoDataset& gt);
PresenceScores read_presence(const std::filesystem::path& path, const SacoDataset& gt);

// Parses JSON text strictly, except that Python's bare NaN, Infinity and -Infinity
// tokens are reported as Error("NaN score ...", file, line, "predictions[12].score")
// (the JSON path of the token, the root named `root_name`) instead of a generic
// syntax error. The value is called by its key when that is "score", else
// `value_name` ("presence score"), else "value". Other syntax errors are
// reported as read_json_file does.
json parse_json_rejecting_nonfinite(std::string_view text, const std::string& file, const std::string& root_name,
                                    const std::string& value_name = {});

}  // namespace chickenseg
