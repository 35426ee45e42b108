// Where the project's Python lives (the virtualenv the README's set-up creates).
// The C++ tool runs the Python model package through it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace chickenseg {

// $CHICKENSEG_PYTHON if set, else <source dir>/.venv/bin/python if it exists, else "python3".
std::string project_python();

struct CommandResult {
    int exit_code = -1;   // -1 when the command could not be started
    std::string output;   // stdout and stderr together
};

// Runs argv (no shell), capturing its output. Never throws for a failing command.
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace chickenseg
