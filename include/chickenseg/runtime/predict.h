// Prediction over many images (`chickenseg predict`): images decoded and pre-processed on
// worker threads while the engine runs on the previous batch, results written as they come
// (JSONL, LabelMe files, overlay pictures) and at the end (COCO results + presence JSON, the
// format `chickenseg model predict` writes, which `chickenseg eval` reads).
//
// A bad image (unreadable, not an image, truncated, too large, another size than the dataset
// says) is reported with its path and the run goes on; the summary counts them and the command
// exits 1. A killed run resumes from its JSONL file (--resume) without redoing finished images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/runtime/engine.h"
#include "chickenseg/runtime/predict_job.h"

namespace chickenseg {

// One detection as written: the mask held as COCO's counts string.
struct DetectionRecord {
    float score = 0;
    BoxXywh bbox{};
    CompressedRle mask;  // empty (0x0) when masks were not computed
};

struct PairRecord {
    int64_t image_id = 0;
    std::string prompt;
    float presence = 0;
    bool gated = false;
    std::vector<DetectionRecord> detections;  // score descending
};

// One image file's results (one JSONL line).
struct ImageRecord {
    std::string file;
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<PairRecord> pairs;
    std::string error;  // not empty: the image failed and `pairs` is empty
};

json image_record_to_json(const ImageRecord& record);
// Throws Error naming `file` and `line` when the line is not one image_record_to_json wrote.
ImageRecord image_record_from_json(const json& line, const std::string& file, long line_number);

struct PredictParams {
    DetectParams detect = detect_default_params();
    size_t batch_size = 1;              // images per vision encoder run (1 to the package's batch.max)
    unsigned threads = 0;               // decoding and pre-processing workers (0 = the cores)
    bool stop_on_error = false;         // stop at the first bad image instead of going on
    bool resume = false;                // skip the images the JSONL file already holds
    std::filesystem::path results;      // COCO results JSON ("" = not written)
    std::filesystem::path presence;     // presence JSON ("" = beside results: <stem>.presence.json)
    std::filesystem::path jsonl;        // one line per image as it finishes ("" = none)
    std::filesystem::path labelme_dir;  // one LabelMe JSON per image, mirroring the input folders
    std::filesystem::path overlay_dir;  // one JPEG per image with the detections drawn
    bool progress = true;               // images/s and ETA on stderr
};
PredictParams predict_default_params();

struct PredictSummary {
    size_t images = 0;     // in the job
    size_t predicted = 0;  // run now
    size_t resumed = 0;    // taken from the JSONL file
    size_t failed = 0;
    size_t pairs = 0;
    size_t gated = 0;
    size_t detections = 0;
    double seconds = 0;                                       // wall time of the run (engine loaded before)
    double images_per_second = 0;                             // predicted / seconds
    std::vector<std::pair<std::string, std::string>> errors;  // file, message (the first 100)
    EngineTimings timings;                                    // engine stages, summed
};
json predict_summary_to_json(const PredictSummary& summary);

// The presence file's path when PredictParams::presence is empty.
std::filesystem::path default_presence_path(const std::filesystem::path& results);

// Runs work() (decoding and preparing the image at `path`) and returns its failure as one line,
// "" when it succeeded: an Error's own message, or out of memory / another exception named with
// the path. predict and mine record it and go on with the next image.
std::string image_failure(const std::filesystem::path& path, const std::function<void()>& work);

// Makes the folder and proves a file can be created in it (then removes it): permission bits,
// a read-only file system or a file in the way are found before hours of work. Throws Error
// ("cannot create the <what> folder", "cannot write into the <what> folder") naming it.
void check_writable_folder(const std::filesystem::path& dir, const std::string& what);

// Where an image's LabelMe file goes under a folder: <dir>/<file's folders>/<stem>.json.
std::filesystem::path labelme_path(const std::filesystem::path& dir, const std::string& file);

// What a LabelMe file says beside the detections (chickenseg mine: why the image was chosen).
struct LabelmeNotes {
    std::map<std::string, bool> image_flags;  // labelme's image-level check boxes
    std::string shape_note;                   // appended to each shape's description
};

// The LabelMe JSON of an image's detections (polygons traced from the masks; the score in
// each shape's description), pointing at the image by a path relative to the JSON's folder.
// Written atomically; throws Error naming the file.
void write_labelme_record(const std::filesystem::path& json_path, const std::filesystem::path& image_path,
                          const ImageRecord& record, const LabelmeNotes& notes = {});

// Checks every output before any work: each file's folder exists or can be made and takes a
// new file, each output folder can be made and written. Throws Error naming the path. Also
// refuses a job whose LabelMe or overlay outputs would collide (a.jpg and a.png in one folder).
void check_predict_outputs(const PredictJob& job, const PredictParams& params);

// Runs the job; writes what the params name. Throws Error for what stops the whole run (the
// engine, an output that cannot be written, --on-error stop); a bad image is counted instead.
PredictSummary run_predict(const Engine& engine, const PredictJob& job, const PredictParams& params);

}  // namespace chickenseg
