// `chickenseg mine`: finds the images of an inbox the model is unsure about and prepares them
// for annotation (docs/mine.md). The inbox (a folder, recursive) is only read. Everything goes
// to one output folder:
//   mine-scores.jsonl  one line per scored image (predict's JSONL record + its "mine" scores),
//                      after a header line; written as images finish, so a killed run
//                      resumes; a last line {"complete": true} marks a finished run
//   mined.jsonl        the state: every image chosen so far (re-runs skip them, and do not
//                      choose near-duplicates of them)
//   <relative path>    each chosen image, hard-linked (copied where a link cannot be made),
//                      with <stem>.json beside it: LabelMe, the model's detections as polygons
//   mining.json        the run: settings, every scored image's scores, the chosen list with
//                      reasons, the near-duplicates skipped, the presence histogram
//   mining.html        the same for people: one page, no external assets, thumbnails inline
// A shard run (--shard K/N) only scores its slice; `chickenseg mine --merge` ranks the shards'
// scores together and writes the rest.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/convert.h"
#include "chickenseg/mine/scoring.h"
#include "chickenseg/mine/shard.h"
#include "chickenseg/runtime/engine.h"

namespace chickenseg {

inline constexpr const char* kMineScoresFile = "mine-scores.jsonl";
inline constexpr const char* kMineStateFile = kMinedStateFile;  // its presence marks a mined folder for convert
inline constexpr const char* kMineReportFile = "mining.json";
inline constexpr const char* kMineHtmlFile = "mining.html";

struct MineParams {
    MineScoreParams score = mine_score_default_params();
    // Overrides of the package's thresholds (negative: the package's). Detections kept at
    // score_threshold pre-fill the LabelMe files; an image below presence_threshold has none.
    double score_threshold = -1;
    double presence_threshold = -1;
    double mask_threshold = -1;
    std::string prompt;          // the concept ("" = the package's first prompt)
    size_t limit = 100;          // images to choose (0 = every candidate)
    int max_hash_distance = 10;  // dHash bits within which two images are near-duplicates (-1: off)
    std::filesystem::path out;   // the output folder (to_annotate/)
    Shard shard;                 // 1/1: the whole inbox, chosen and written; else scores only
    size_t batch_size = 1;       // images per vision encoder run
    unsigned threads = 0;        // image decoding workers (0 = the cores)
    bool copy = false;           // copy the chosen images even where a hard link would do
    bool thumbnails = true;      // JPEG thumbnails inside mining.html
    bool progress = true;        // images/s and ETA on stderr
};
MineParams mine_default_params();

struct MineSummary {
    size_t images = 0;         // in the inbox
    size_t already_mined = 0;  // skipped: chosen by an earlier run
    size_t in_shard = 0;       // this run's images (after the shard and the state)
    size_t scored = 0;         // run now
    size_t resumed = 0;        // taken from an unfinished run's scores
    size_t failed = 0;         // bad images (reported, skipped)
    size_t candidates = 0;     // images with at least one reason
    size_t chosen = 0;
    size_t duplicates = 0;     // candidates skipped as near-duplicates
    size_t linked = 0;         // chosen images hard-linked (the others copied)
    bool scores_only = false;  // a shard run: nothing chosen yet
    double seconds = 0;
    std::vector<std::pair<std::string, std::string>> errors;  // file, message (the first 100)
};
json mine_summary_to_json(const MineSummary& summary);

// Checks before any work: the output folder is not the inbox or inside it, and it can be
// made and written. Throws Error naming the path.
void check_mine_output(const std::filesystem::path& inbox, const std::filesystem::path& out);

// Scores the inbox's images (this shard of them) with the engine, then, unless this is a
// shard run, chooses and writes the outputs. Throws Error for what stops the whole run; a bad
// image is counted and reported instead.
MineSummary run_mine(const Engine& engine, const std::filesystem::path& inbox, const MineParams& params);

// Joins finished shard runs (their output folders): checks that they are shards 1..N of one
// inbox, model and settings, then chooses and writes the outputs into params.out as one run
// over the whole inbox would. The selection settings (limit, duplicates, copy, thumbnails) are
// params'; the scoring settings are the shards'.
MineSummary merge_mine(const std::vector<std::filesystem::path>& shard_dirs, const MineParams& params);

}  // namespace chickenseg
