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
    int exit_code = -1;  // -1 when the command could not be started
    std::string output;  // stdout and stderr together
};

enum class Capture {
    all,          // stdout and stderr into CommandResult::output
    stdout_only,  // stdout captured; stderr goes to ours (progress stays visible)
    none,         // both inherited (the child talks to the user directly)
};

// Runs argv (no shell). Never throws for a failing command; exit_code -1 when it
// could not be started. `extra_env` entries ("NAME=value") are added to our environment. While
// the child runs, SIGINT and SIGQUIT are ignored here (as system(3) does): Ctrl-C stops the
// child, which this process then reaps (exit_code 128 + signal, or what the child returns).
CommandResult run_command(const std::vector<std::string>& argv, Capture capture = Capture::all,
                          const std::vector<std::string>& extra_env = {});

// argv that runs the project's Python model package: python -m chickenseg_model ARGS...
// (with <source dir>/python on PYTHONPATH so a foreign CHICKENSEG_PYTHON finds it too).
std::vector<std::string> model_package_argv(const std::vector<std::string>& args);
std::vector<std::string> model_package_env();

}  // namespace chickenseg
