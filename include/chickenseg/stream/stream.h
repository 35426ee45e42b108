// `chickenseg stream`: live video (or a file) through the engine. A decoding thread
// (frame_grabber.h) feeds the main thread, which per frame either runs the detector (vision
// encoder + decoder, with presence gating) and associates its detections to the tracks, or
// moves the tracks with their motion model (tracker.h); then writes the frame's JSONL line,
// draws the overlay and encodes it into the MP4, and keeps the key frames for
// `chickenseg mine`. A stop request (SIGINT/SIGTERM in the tool) ends the loop after the frame
// in hand: the JSONL holds only whole lines and the MP4 is finalised.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "chickenseg/core/json_file.h"
#include "chickenseg/runtime/engine.h"
#include "chickenseg/stream/frame_grabber.h"
#include "chickenseg/stream/tracker.h"

namespace chickenseg {

struct StreamParams {
    FrameGrabberParams input = frame_grabber_default_params();
    std::string prompt;  // one of the package's prompts; "" = its first
    // score_threshold: the tracker's high threshold (first-stage detections, births);
    // -1 takes the package's. Queries down to tracker.low_threshold are kept for the second stage.
    DetectParams detect = detect_default_params();
    TrackerParams tracker = tracker_default_params();
    int detect_every = 0;    // > 0: run the detector on every N-th processed frame
    double detect_hz = 1.0;  // otherwise: when 1 / detect_hz seconds of stream time have passed
    // > 0: run the detector early, before its turn, when the tracker's doubt
    // (ByteTracker::max_position_uncertainty) exceeds this; 0 = never early.
    double early_uncertainty = 0;
    bool masks = false;                   // the masks as COCO RLE in the JSONL lines of detection frames
    std::filesystem::path jsonl;          // one line per processed frame ("" = none)
    std::filesystem::path video_out;      // overlay MP4 ("" = none)
    std::string video_codec;              // "" = libx264 when present, else mpeg4
    std::filesystem::path keyframes_dir;  // JPEGs for chickenseg mine ("" = none)
    int preview_port = -1;                // MJPEG preview on 127.0.0.1:port (0: any free port; -1: none)
    int keyframe_every = 10;              // every M-th detection frame is a key frame
    double keyframe_presence_low = 0.4;   // and every detection frame whose presence is in
    double keyframe_presence_high = 0.6;  // this band (the "ambiguous" band of mine)
    double progress_seconds = 5;          // a progress line on the log this often (0 = none)
};
StreamParams stream_default_params();
// Throws Error naming the setting that is out of range.
void check_stream_params(const StreamParams& params);

struct StreamSummary {
    std::string source;       // the source's description
    std::string video_codec;  // of --video-out, "" when none
    int64_t decoded = 0;      // frames read from the source
    int64_t processed = 0;    // frames with a JSONL line (decoded - dropped, unless stopped)
    int64_t dropped = 0;      // live source: frames replaced by newer ones
    int64_t detection_frames = 0;
    int64_t early_detections = 0;  // of them, run early because the tracker was unsure
    int64_t gated_frames = 0;      // detection frames gated as "no <concept>"
    int64_t tracks = 0;            // ids issued
    int64_t keyframes = 0;
    int reconnects = 0;
    double gap_seconds = 0;
    double seconds = 0;    // wall time of the loop
    double fps = 0;        // processed / seconds
    bool stopped = false;  // ended by a stop request, not by the end of the source
    EngineTimings timings;
    // Milliseconds summed over the run, per stage: decoding (in the decoding thread), detection
    // (pre-processing and the engine), tracking, the JSONL line, drawing, encoding (MP4 and key
    // frames). stream_summary_to_json also gives them per frame.
    double decode_ms = 0;
    double detect_ms = 0;
    double track_ms = 0;
    double jsonl_ms = 0;
    double draw_ms = 0;
    double encode_ms = 0;
    // End-to-end latency per processed frame: from the frame leaving the decoder (or, paced, its
    // release) to its JSONL line written, overlay and key frame done; percentiles over the run.
    double latency_p50_ms = 0;
    double latency_p95_ms = 0;
};
json stream_summary_to_json(const StreamSummary& summary);

using StreamLog = std::function<void(const std::string&)>;

// Runs on the frames of `grabber` (opened by the caller, so that a bad source is reported
// before the engine loads) until the source ends, `stop` becomes true, or an Error (a live
// source given up on, an output that cannot be written), after which the outputs written so
// far are still finalised. Throws Error for bad params and unwritable outputs before any frame.
StreamSummary run_stream(const Engine& engine, FrameGrabber& grabber, const StreamParams& params,
                         const std::atomic<bool>& stop, const StreamLog& log);

}  // namespace chickenseg
