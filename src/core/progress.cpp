#include "chickenseg/core/progress.h"

#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cstdio>

namespace chickenseg {

namespace {
std::atomic<bool> g_enabled{true};
}

void Progress::set_enabled_globally(bool enabled) { g_enabled = enabled; }

Progress::Progress(std::string label, size_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && g_enabled),
      tty_(::isatty(2) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::tick(size_t n) {
    done_ += n;
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    auto since = now - last_draw_;
    // Redraw a terminal bar at most 10 times a second; log lines every 5 seconds.
    if ((tty_ && since > std::chrono::milliseconds(100)) || (!tty_ && since > std::chrono::seconds(5))) {
        last_draw_ = now;
        draw(false);
    }
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    // Only report work that took a noticeable time: quick runs stay quiet.
    if (enabled_ && std::chrono::steady_clock::now() - start_ > std::chrono::milliseconds(500)) draw(true);
}

void Progress::draw(bool final) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    // Items per second and the time left at that rate, once there is a rate to speak of.
    char rate[64] = "";
    if (done_ > 0 && secs > 0) {
        double per_second = static_cast<double>(done_) / secs;
        if (final || done_ >= total_)
            std::snprintf(rate, sizeof rate, ", %.1f/s", per_second);
        else
            std::snprintf(rate, sizeof rate, ", %.1f/s, ETA %.0fs", per_second,
                          static_cast<double>(total_ - done_) / per_second);
    }
    if (tty_) {
        int width = 30;
        int filled = total_ ? static_cast<int>(width * std::min(done_, total_) / total_) : width;
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(static_cast<size_t>(width), '.');
        std::fprintf(stderr, "\r%s [%s] %zu/%zu %.1fs%s\033[K%s", label_.c_str(), bar.c_str(), done_, total_, secs,
                     rate, final ? "\n" : "");
    } else {
        std::fprintf(stderr, "%s: %zu/%zu (%.1fs%s)\n", label_.c_str(), done_, total_, secs, rate);
    }
    std::fflush(stderr);
}

}  // namespace chickenseg
