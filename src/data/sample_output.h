// Private: how the sample generators (the still scenes of sample.cpp, the animated barn of
// sample_video.cpp) take over their --out folder. A folder is replaced only when it holds a
// previous output of the same generator (its marker file with its schema) and nothing else,
// so a user's files are never deleted; the new output is built beside it and renamed into
// place, so the folder is either the complete new output or what was there before.
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include "chickenseg/core/json_file.h"

namespace chickenseg::sample_detail {

struct SampleOutputKind {
    std::string marker;  // written last; marks the folder as this generator's ("sample.json")
    std::string schema;  // its "schema" value
    std::string what;    // for messages: "sample", "sample video"
    // The paths (relative, generic form, folders included) a previous output wrote, from its marker.
    std::function<std::set<std::string>(const json& marker)> files;
};

// True when `out_dir` holds a previous output to replace; false when it does not exist or is
// empty. Throws Error naming `out_dir_arg` when it is not a folder, holds something else, or
// holds a previous output plus a file it did not write.
bool check_sample_out_dir(const std::filesystem::path& out_dir, const std::filesystem::path& out_dir_arg,
                          const SampleOutputKind& kind);
// The folder the output is built in, beside `out_dir` (".NAME.partial-PID").
std::filesystem::path sample_staging_dir(const std::filesystem::path& out_dir);
// The finished staging folder takes the place of `out_dir` (and of a previous output).
void sample_swap_in(const std::filesystem::path& staging, const std::filesystem::path& out_dir, bool replace);

}  // namespace chickenseg::sample_detail
