// The files of a mining run (private to the mine layer): the scores JSONL's lines and header,
// the state file, and the step shared by a run and a merge (choose, then write the outputs).
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "chickenseg/mine/mine.h"

namespace chickenseg {

inline constexpr const char* kMineScoresSchema = "chickenseg.mine-scores/1";

// The "mine" object of a scores line, and back (Error naming file and line otherwise).
json image_scores_to_json(const ImageScores& scores);
ImageScores image_scores_from_json(const json& line, const std::string& file, long line_number);

// The header line: what a resumed run must match and a merge must find equal across shards.
// "shard" is left out of `settings` so that shards of one run compare equal.
struct ScoresHeader {
    json settings;  // inbox, package, model, prompt, thresholds, scoring parameters
    Shard shard;
};
json scores_header_to_json(const ScoresHeader& header);
ScoresHeader scores_header_from_json(const json& line, const std::string& file);

// What a scores file holds: its header, whether its run finished, the images scored without
// error (an image that failed and was scored when resumed counts as scored). The file is cut
// after its last complete line when `cut_partial`.
struct ScoresFileState {
    bool present = false;   // the file exists and has a header
    bool complete = false;  // its run finished
    ScoresHeader header;
    std::unordered_set<std::string> finished;
    std::unordered_set<std::string> failed;  // failed and not scored since
};
ScoresFileState read_scores_file_state(const std::filesystem::path& path, bool cut_partial);

// The state file: every image chosen so far.
std::vector<MinedImage> read_mine_state(const std::filesystem::path& out);

// Reads the scores files (one per shard, or the run's own), chooses, and writes the images,
// LabelMe files, the state, mining.json and mining.html into params.out; fills the summary's
// counts of the choice and the outputs, adds the images whose outputs failed to `failed`, and
// with count_file_errors also the images the files record as failed (a merge).
void choose_and_write(const std::vector<std::filesystem::path>& scores_files, const json& settings,
                      const MineParams& params, MineSummary& summary, bool count_file_errors);

// mining.html from mining.json's document and the chosen images' thumbnails (base64 JPEG, or
// empty where there is none).
std::string mining_html(const json& report, const std::vector<std::string>& thumbnails);

}  // namespace chickenseg
