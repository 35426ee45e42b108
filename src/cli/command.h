// How a subcommand plugs into the tool: each src/cli/cmd_*.cpp file declares its
// options and what runs when it is chosen, registered by a static CommandRegistrar.
// CLI files parse and print; the work is done by the library.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "chickenseg/core/json_file.h"

namespace chickenseg::cli {

// Runs the chosen command after parsing; returns the exit code (0 ok, 1 failure).
using Runner = std::function<int()>;

struct CommandSpec {
    std::string group;        // "" for a top-level command, else e.g. "data"
    std::string name;         // e.g. "convert"
    std::string description;  // one line for --help
    int order = 100;          // position in --help
    // Adds options to `cmd` and returns what runs when it is chosen.
    std::function<Runner(CLI::App& cmd)> setup;
};

struct CommandRegistrar {
    explicit CommandRegistrar(CommandSpec spec);
};

// Options every command has (set on the top-level app).
struct GlobalOptions {
    bool json = false;   // print machine-readable JSON on stdout instead of tables
    bool quiet = false;  // no progress display
};
const GlobalOptions& global_options();

// Prints `value` as JSON on stdout (2-space indent).
void print_json(const json& value);

// Ends the process with `code` once everything is written: flushes stdout and stderr
// and skips freeing the heap (as clang does after compiling). For commands that end
// holding hundreds of thousands of allocations, whose freeing was a measurable part of an
// eval (bench/eval_bench.py). Only data may be left behind: open files must already be closed.
[[noreturn]] void exit_without_teardown(int code);

// Builds the whole command tree and runs it; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace chickenseg::cli
