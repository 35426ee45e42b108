// Running the Python model package (python/chickenseg_model) from C++: the one
// boundary between the two sides. Arguments go in, one JSON document comes back on
// stdout; progress goes straight to the user's stderr.
#pragma once

#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"

namespace chickenseg {

// Runs `python -m chickenseg_model ARGS...` and parses its stdout as JSON. Throws
// Error naming the subcommand when it cannot start, exits non-zero (its own
// "error: ..." line has then already reached stderr), or prints no JSON.
json run_model_package(const std::vector<std::string>& args);

}  // namespace chickenseg
