// The stream's decoding thread: reads a VideoSource ahead of the model and hands frames over
// through a small queue. A file source keeps every frame (the decoder waits when the queue is
// full); a live source never waits: when the model is behind, the queue holds only the newest
// frame and the older ones are dropped and counted (VideoFrame::dropped_before). A live source
// that fails or ends is reopened with exponential backoff, a log line per try, up to
// max_reconnects times in a row; the first frame after it carries the gap (gap_before) and
// times continue from before the loss (the new connection's clock restarts).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "chickenseg/stream/video_source.h"

namespace chickenseg {

struct FrameGrabberParams {
    VideoSourceParams source = video_source_default_params();
    int max_reconnects = 10;       // tries in a row after a live source is lost; 0 = give up at once
    double backoff_initial = 0.5;  // seconds before the first try, doubled per failed try
    double backoff_max = 10;       // the longest wait between tries
    size_t file_queue = 4;         // frames decoded ahead of the model for a file source
    // A file or image sequence read at its own frame rate, as a camera would deliver it: each
    // frame is released at its timestamp, and one the model has not taken by the next is
    // dropped. For replaying a recording and for measuring latency as a camera would see it.
    bool realtime = false;
};
FrameGrabberParams frame_grabber_default_params();

struct FrameGrabberStats {
    int64_t decoded = 0;     // frames read from the source
    int64_t dropped = 0;     // of them, replaced by a newer one before the model took them
    int reconnects = 0;      // successful reopenings
    double gap_seconds = 0;  // wall time without a stream, summed over the reconnects
    double decode_ms = 0;    // time spent reading and decoding frames
};

class FrameGrabber {
public:
    using Log = std::function<void(const std::string&)>;
    // Opens the source in the caller's thread (its errors are thrown here, as VideoSource's),
    // then starts decoding. `stop` is watched by every blocking call.
    FrameGrabber(const FrameGrabberParams& params, const std::atomic<bool>& stop, Log log);
    ~FrameGrabber();  // stops the thread and waits for it
    FrameGrabber(const FrameGrabber&) = delete;
    FrameGrabber& operator=(const FrameGrabber&) = delete;

    // The next frame; false at the end of a file or when stopped. Throws the Error that ended
    // the decoding (a file that fails to decode, a live source given up on).
    bool next(VideoFrame& frame);
    // Stops the decoding thread (frames not taken yet are neither processed nor dropped).
    void halt();
    const std::string& description() const { return description_; }  // the source as first opened
    double fps() const { return fps_; }                              // its nominal frame rate, 0 when it does not say
    bool live() const { return live_; }
    FrameGrabberStats stats() const;

private:
    void run();
    bool push(VideoFrame&& frame);
    bool wait_until_due(double frame_time);
    bool reconnect(const std::string& why);
    bool halted() const { return halt_ || stop_; }

    FrameGrabberParams params_;
    const std::atomic<bool>& stop_;
    Log log_;
    bool live_ = false;
    std::unique_ptr<VideoSource> source_;
    std::string description_;
    double fps_ = 0;
    std::atomic<bool> halt_{false};

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<VideoFrame> queue_;
    bool finished_ = false;
    std::string error_;
    FrameGrabberStats stats_;
    int64_t pending_drops_ = 0;
    double pending_gap_ = 0;
    // Continuity over reconnects: the new connection's frames are renumbered and re-timed.
    int64_t index_offset_ = 0;
    double time_offset_ = 0;
    int64_t last_index_ = -1;
    double last_time_ = 0;
    std::optional<double> paced_start_;  // realtime: the steady-clock time of frame time 0
    std::thread thread_;
};

}  // namespace chickenseg
