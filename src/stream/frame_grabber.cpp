#include "chickenseg/stream/frame_grabber.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "chickenseg/core/error.h"
#include "chickenseg/core/text_format.h"

namespace chickenseg {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double steady_seconds() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

}  // namespace

FrameGrabberParams frame_grabber_default_params() { return FrameGrabberParams{}; }

FrameGrabber::FrameGrabber(const FrameGrabberParams& params, const std::atomic<bool>& stop, Log log)
    : params_(params), stop_(stop), log_(std::move(log)) {
    live_ = source_is_live(source_kind(params_.source.url));
    source_ = std::make_unique<VideoSource>(params_.source, [this] { return halted(); });
    description_ = source_->description();
    fps_ = source_->fps();
    if (!source_->hwaccel_note().empty()) log_("stream: " + source_->hwaccel_note());
    thread_ = std::thread([this] { run(); });
}

FrameGrabber::~FrameGrabber() { halt(); }

void FrameGrabber::halt() {
    {
        std::lock_guard lock(mutex_);  // so that a waiting decoder cannot miss it
        halt_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

FrameGrabberStats FrameGrabber::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool FrameGrabber::push(VideoFrame&& frame) {
    frame.index += index_offset_;
    frame.time += time_offset_;
    last_index_ = frame.index;
    last_time_ = frame.time;
    std::unique_lock lock(mutex_);
    ++stats_.decoded;
    if (live_ || params_.realtime) {  // a paced file drops like a camera
        // The newest frame replaces the one the model has not taken yet.
        while (!queue_.empty()) {
            pending_drops_ += 1 + queue_.front().dropped_before;
            pending_gap_ += queue_.front().gap_before;
            ++stats_.dropped;
            queue_.pop_front();
        }
    } else {
        changed_.wait(lock, [&] { return queue_.size() < params_.file_queue || halted(); });
        if (halted()) return false;
    }
    frame.dropped_before = pending_drops_;
    frame.gap_before = pending_gap_;
    pending_drops_ = 0;
    pending_gap_ = 0;
    queue_.push_back(std::move(frame));
    changed_.notify_all();
    return true;
}

// Reopens a lost live source with backoff; false when it gives up (error_ set) or is stopped.
bool FrameGrabber::reconnect(const std::string& why) {
    const auto lost_at = Clock::now();
    double wait = params_.backoff_initial;
    std::string last = why;
    for (int attempt = 1; attempt <= params_.max_reconnects && !halted(); ++attempt) {
        log_("stream: lost " + params_.source.url + " (" + last + "); reconnecting in " + format_fixed(wait, 1) +
             " s (try " + std::to_string(attempt) + " of " + std::to_string(params_.max_reconnects) + ")");
        {
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, std::chrono::duration<double>(wait), [&] { return halted(); });
        }
        if (halted()) return false;
        try {
            source_ = std::make_unique<VideoSource>(params_.source, [this] { return halted(); });
        } catch (const Error& e) {
            last = e.what();
            wait = std::min(wait * 2, params_.backoff_max);
            continue;
        }
        const double gap = seconds_since(lost_at);
        log_("stream: reconnected to " + params_.source.url + " after " + format_fixed(gap, 1) + " s");
        index_offset_ = last_index_ + 1;
        time_offset_ = last_time_ + gap;
        std::lock_guard lock(mutex_);
        ++stats_.reconnects;
        stats_.gap_seconds += gap;
        pending_gap_ += gap;
        return true;
    }
    if (!halted()) {
        std::lock_guard lock(mutex_);
        error_ = "gave up on " + params_.source.url + " after " + std::to_string(params_.max_reconnects) +
                 " reconnect tries (last: " + last + ")";
    }
    return false;
}

void FrameGrabber::run() {
    for (;;) {
        std::string why;
        try {
            VideoFrame frame;
            for (;;) {
                const auto started = Clock::now();
                if (halted() || !source_->read(frame)) break;
                const double ms = 1000 * seconds_since(started);
                {
                    std::lock_guard lock(mutex_);
                    stats_.decode_ms += ms;
                }
                if (params_.realtime && !live_ && !wait_until_due(frame.time)) break;
                frame.arrived = steady_seconds();
                if (!push(std::move(frame))) break;
            }
            why = "the stream ended";
        } catch (const Error& e) {
            why = e.what();
            if (!live_ && !halted()) {
                std::lock_guard lock(mutex_);
                error_ = why;
            }
        }
        if (halted() || !live_ || !reconnect(why)) break;
    }
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
}

// Paced reading: waits until the frame's time has passed since the first frame; false when halted.
bool FrameGrabber::wait_until_due(double frame_time) {
    if (!paced_start_) paced_start_ = steady_seconds() - frame_time;
    const double due = *paced_start_ + frame_time;
    std::unique_lock lock(mutex_);
    // In short steps: the stop flag is set by a signal handler, which cannot notify.
    while (!halted() && steady_seconds() < due)
        changed_.wait_for(lock, std::chrono::duration<double>(std::min(0.05, due - steady_seconds())));
    return !halted();
}

bool FrameGrabber::next(VideoFrame& frame) {
    std::unique_lock lock(mutex_);
    for (;;) {
        // Polled as well as notified: the stop flag is set by a signal handler, which cannot notify.
        changed_.wait_for(lock, std::chrono::milliseconds(100), [&] { return !queue_.empty() || finished_; });
        if (stop_) return false;
        if (!queue_.empty()) break;
        if (finished_) {
            if (!error_.empty()) throw Error(error_);
            return false;
        }
    }
    frame = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return true;
}

}  // namespace chickenseg
