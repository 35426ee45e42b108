// Progress for long work, on stderr: a bar redrawn in place on a terminal,
// a line every few seconds otherwise, nothing when disabled (--quiet, --json).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace chickenseg {

class Progress {
public:
    Progress(std::string label, size_t total, bool enabled = true);
    ~Progress();
    void tick(size_t n = 1);
    void finish();

    // Process-wide switch, set by the CLI's --quiet / --json.
    static void set_enabled_globally(bool enabled);

private:
    void draw(bool final);
    std::string label_;
    size_t total_;
    size_t done_ = 0;
    bool enabled_;
    bool tty_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace chickenseg
