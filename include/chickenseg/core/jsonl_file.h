// JSON Lines files written as work finishes and read back to resume it (`chickenseg predict
// --jsonl --resume`, `chickenseg mine`): each line is written and flushed at once, so a killed
// run loses at most the line being written, and the reader drops that cut-off line.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "chickenseg/core/json_file.h"

namespace chickenseg {

// Appends lines to a JSONL file (or truncates it first), one flushed line per write.
class JsonlWriter {
public:
    // Throws Error naming the path when it cannot be opened.
    JsonlWriter(const std::filesystem::path& path, bool append);
    ~JsonlWriter();
    JsonlWriter(const JsonlWriter&) = delete;
    JsonlWriter& operator=(const JsonlWriter&) = delete;

    // One line (compact; text that is not UTF-8 is written with U+FFFD in its place, not an
    // exception), flushed. Throws Error naming the path when the write fails (a full disk).
    void write(const json& line);
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    std::FILE* file_ = nullptr;
};

// Calls visit(line, line_number) for every complete line of `path` in order (blank lines
// skipped), reading the file as a stream (memory does not grow with the file). A last line
// without its newline (a kill while writing it) is not visited; with `cut_partial` the file
// is cut after its last complete line so that appending continues cleanly. Returns the number
// of lines visited; a missing file visits nothing. A line that is not JSON is an Error naming
// the file and the line.
size_t read_jsonl_file(const std::filesystem::path& path, const std::function<void(const json&, long)>& visit,
                       bool cut_partial);

}  // namespace chickenseg
