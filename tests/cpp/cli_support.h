// Support for the CLI end-to-end tests (tests/cpp/cli_*_test.cpp): run the real
// chickenseg binary (CHICKENSEG_BINARY) through the shell and capture its exit
// status and output (TempDir comes from test_support.h).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "chickenseg/core/file_io.h"
#include "test_support.h"

namespace chickenseg::test {

struct CliResult {
    int code = -1;    // exit status; -1 when the process did not exit normally
    std::string out;  // stdout (with stderr appended when merged)
    std::string err;  // stderr, only with Stderr::Separate
};

// What happens to the tool's stderr: appended to `out` (messages checked together
// with the output), kept apart in `err` (stdout then parses as --json), or dropped.
enum class Stderr { Merge, Separate, Drop };

// `s` as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Each argument quoted, joined by spaces (for arguments that may hold spaces).
inline std::string shell_args(const std::vector<std::string>& args) {
    std::string line;
    for (const auto& a : args) line += (line.empty() ? "" : " ") + shell_quote(a);
    return line;
}

// Runs `env_prefix chickenseg args` through the shell. `args` is shell text (quote
// with shell_args where needed); `env_prefix` holds VAR=value assignments.
inline CliResult run_chickenseg(const std::string& args, Stderr stderr_mode = Stderr::Merge,
                                const std::string& env_prefix = "") {
    std::filesystem::path err_file;
    std::string cmd = (env_prefix.empty() ? "" : env_prefix + " ") + shell_quote(CHICKENSEG_BINARY) + " " + args;
    switch (stderr_mode) {
        case Stderr::Merge:
            cmd += " 2>&1";
            break;
        case Stderr::Drop:
            cmd += " 2>/dev/null";
            break;
        case Stderr::Separate:
            err_file = std::filesystem::temp_directory_path() / ("chickenseg_cli_stderr_" + std::to_string(::getpid()) +
                                                                 "_" + std::to_string(next_temp_number()));
            cmd += " 2>" + shell_quote(err_file.string());
            break;
    }
    CliResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (stderr_mode == Stderr::Separate) {
        r.err = read_file(err_file);
        std::error_code ec;
        std::filesystem::remove(err_file, ec);
    }
    return r;
}

}  // namespace chickenseg::test
