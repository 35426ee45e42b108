#include "chickenseg/stream/stream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/core/jsonl_file.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/runtime/predict.h"
#include "chickenseg/stream/mjpeg_preview.h"
#include "chickenseg/stream/video_writer.h"
#include "stream/stream_frame.h"

namespace chickenseg {
namespace {

using Clock = std::chrono::steady_clock;

// Adds the milliseconds since `started` to `total`.
void add_ms(double& total, Clock::time_point started) {
    total += std::chrono::duration<double, std::milli>(Clock::now() - started).count();
}

// One run: the outputs, the tracker and the counters, advanced one frame at a time.
class StreamRun {
public:
    StreamRun(const Engine& engine, const StreamParams& params, double fps, const StreamLog& log)
        : engine_(engine), params_(params), log_(log), fps_(fps) {
        const ModelPackage& pkg = engine.package();
        prompt_ = params.prompt.empty() ? 0 : engine.prompt_index(params.prompt);
        concept_ = pkg.prompts.at(prompt_);
        TrackerParams tp = params.tracker;
        const double high = params.detect.score_threshold >= 0 ? params.detect.score_threshold : pkg.score_threshold;
        tp.high_threshold = static_cast<float>(high);
        tp.low_threshold = std::min(tp.low_threshold, tp.high_threshold);
        tp.new_track_threshold = static_cast<float>(std::min(1.0, high + 0.1));  // ByteTrack's det_thresh
        tracker_ = ByteTracker(tp);
        detect_ = params.detect;
        detect_.score_threshold = tp.low_threshold;  // the second stage needs the unsure ones
        detect_.masks = params.masks || !params.video_out.empty() || params.preview_port >= 0;
        if (!params.jsonl.empty()) jsonl_.emplace(params.jsonl, false);
        if (params.preview_port >= 0) {
            preview_ = std::make_unique<MjpegPreview>(params.preview_port);
            log_("stream: preview at " + preview_->url());
        }
    }

    void process(VideoFrame& in);
    void finish();
    StreamSummary& summary() { return summary_; }

private:
    bool detection_due(const VideoFrame& in);
    void detect(const VideoFrame& in, StreamFrame& out);
    void keep_keyframe(const VideoFrame& in, const StreamFrame& out);
    void draw_outputs(VideoFrame& in, const StreamFrame& out);
    void report_progress();

    const Engine& engine_;
    const StreamParams& params_;
    const StreamLog& log_;
    double fps_ = 0;  // the source's nominal rate, for the MP4's header
    size_t prompt_ = 0;
    std::string concept_;
    DetectParams detect_;
    ByteTracker tracker_;
    std::optional<JsonlWriter> jsonl_;
    std::vector<float> latencies_ms_;  // one per processed frame: 4 bytes, a day at 25 fps is 9 MB
    std::unique_ptr<VideoWriter> video_;
    std::unique_ptr<MjpegPreview> preview_;
    bool present_ = false;
    double last_detection_time_ = 0;
    int64_t last_detection_processed_ = 0;  // frames processed before the last detection frame
    StreamSummary summary_;
    Clock::time_point started_ = Clock::now();
    Clock::time_point last_progress_ = Clock::now();
};

bool StreamRun::detection_due(const VideoFrame& in) {
    if (summary_.detection_frames == 0) return true;
    if (params_.early_uncertainty > 0 && present_) {
        tracker_.predict(in.time);  // the doubt at this frame (predicting twice to one time moves nothing)
        if (tracker_.max_position_uncertainty() > params_.early_uncertainty) {
            ++summary_.early_detections;
            return true;
        }
    }
    if (params_.detect_every > 0) return summary_.processed - last_detection_processed_ >= params_.detect_every;
    // Half a microsecond of slack: timestamps of a 25 fps stream do not add up exactly.
    return in.time - last_detection_time_ >= 1.0 / params_.detect_hz - 5e-7;
}

void StreamRun::detect(const VideoFrame& in, StreamFrame& out) {
    auto started = Clock::now();
    const EngineInput input = prepare_engine_input(in.image, engine_.package());
    ImageDetections found = engine_.predict({&input, 1}, prompt_, detect_, &summary_.timings).at(0);
    add_ms(summary_.detect_ms, started);
    started = Clock::now();
    out.detection = true;
    out.presence = found.presence;
    ++summary_.detection_frames;
    last_detection_time_ = in.time;
    last_detection_processed_ = summary_.processed;
    if (found.gated) {
        ++summary_.gated_frames;
        present_ = false;
        tracker_.lose_all(in.time);
        add_ms(summary_.track_ms, started);
        return;
    }
    std::vector<TrackerDetection> detections;
    for (auto& d : found.detections) detections.push_back({d.bbox, d.score, std::move(d.mask)});
    present_ = true;
    out.tracks = tracker_.update(in.time, std::move(detections));
    add_ms(summary_.track_ms, started);
}

void StreamRun::keep_keyframe(const VideoFrame& in, const StreamFrame& out) {
    if (params_.keyframes_dir.empty() || !out.detection) return;
    const bool every = (summary_.detection_frames - 1) % params_.keyframe_every == 0;
    const bool ambiguous =
        out.presence >= params_.keyframe_presence_low && out.presence <= params_.keyframe_presence_high;
    if (!every && !ambiguous) return;
    char name[48];
    std::snprintf(name, sizeof name, "frame_%09lld.jpg", static_cast<long long>(in.index));
    const auto started = Clock::now();
    write_jpeg(params_.keyframes_dir / name, in.image, 92);
    add_ms(summary_.encode_ms, started);
    ++summary_.keyframes;
}

// The overlay, drawn once for the MP4 and the preview.
void StreamRun::draw_outputs(VideoFrame& in, const StreamFrame& out) {
    if (params_.video_out.empty() && !preview_) return;
    auto started = Clock::now();
    draw_stream_overlay(in.image, out, concept_);
    if (preview_) preview_->publish(in.image);
    add_ms(summary_.draw_ms, started);
    started = Clock::now();
    if (params_.video_out.empty()) return;
    if (!video_) {
        VideoWriterParams vp;
        vp.path = params_.video_out;
        vp.width = in.image.width;
        vp.height = in.image.height;
        vp.codec = params_.video_codec;
        vp.fps = fps_ > 0 ? fps_ : 25;
        video_ = std::make_unique<VideoWriter>(vp);
        summary_.video_codec = video_->codec();
    }
    video_->write(in.image, in.time);
    add_ms(summary_.encode_ms, started);
}

void StreamRun::process(VideoFrame& in) {
    StreamFrame out;
    out.index = in.index;
    out.time = in.time;
    out.width = in.image.width;
    out.height = in.image.height;
    out.dropped_before = in.dropped_before;
    out.gap_before = in.gap_before;
    if (detection_due(in)) {
        detect(in, out);
    } else {
        const auto started = Clock::now();
        out.tracks = tracker_.predict(in.time);
        if (!present_) out.tracks.clear();
        add_ms(summary_.track_ms, started);
    }
    out.present = present_;
    ++summary_.processed;
    summary_.tracks = tracker_.ids_issued();
    if (jsonl_) {
        const auto started = Clock::now();
        jsonl_->write(stream_frame_to_json(out, params_.masks));
        add_ms(summary_.jsonl_ms, started);
    }
    keep_keyframe(in, out);
    draw_outputs(in, out);
    if (in.arrived > 0)
        latencies_ms_.push_back(static_cast<float>(
            1000 * (std::chrono::duration<double>(Clock::now().time_since_epoch()).count() - in.arrived)));
    report_progress();
}

void StreamRun::report_progress() {
    if (params_.progress_seconds <= 0) return;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_progress_).count() < params_.progress_seconds) return;
    last_progress_ = now;
    const double s = std::chrono::duration<double>(now - started_).count();
    log_("stream: " + std::to_string(summary_.processed) + " frames (" +
         format_fixed(summary_.processed / std::max(s, 1e-9), 1) + " fps), " +
         std::to_string(summary_.detection_frames) + " detections, " + std::to_string(tracker_.tracked_count()) +
         " tracked");
}

void StreamRun::finish() {
    if (video_) video_->close();
    summary_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    summary_.fps = summary_.seconds > 0 ? summary_.processed / summary_.seconds : 0;
    if (!latencies_ms_.empty()) {
        const auto percentile = [&](double q) {
            auto nth = latencies_ms_.begin() + static_cast<long>(q * static_cast<double>(latencies_ms_.size() - 1));
            std::nth_element(latencies_ms_.begin(), nth, latencies_ms_.end());
            return static_cast<double>(*nth);
        };
        summary_.latency_p50_ms = percentile(0.5);
        summary_.latency_p95_ms = percentile(0.95);
    }
}

}  // namespace

StreamParams stream_default_params() { return StreamParams{}; }

void check_stream_params(const StreamParams& p) {
    if (p.detect_every < 0) throw Error("--detect-every " + std::to_string(p.detect_every) + ": expected N >= 1");
    if (p.detect_every == 0 && !(p.detect_hz > 0 && std::isfinite(p.detect_hz)))
        throw Error("--detect-hz " + std::to_string(p.detect_hz) + ": expected a rate > 0");
    if (p.keyframe_every < 1) throw Error("--keyframe-every " + std::to_string(p.keyframe_every) + ": expected M >= 1");
    if (!(p.keyframe_presence_low >= 0 && p.keyframe_presence_low <= p.keyframe_presence_high &&
          p.keyframe_presence_high <= 1))
        throw Error("key frame presence band: expected LOW,HIGH with 0 <= LOW <= HIGH <= 1");
    if (p.input.max_reconnects < 0)
        throw Error("--max-reconnects " + std::to_string(p.input.max_reconnects) + ": expected N >= 0");
    if (!(p.input.source.open_timeout > 0) || !(p.input.source.read_timeout > 0))
        throw Error("--timeout: expected seconds > 0");
    if (!(p.early_uncertainty >= 0 && std::isfinite(p.early_uncertainty)))
        throw Error("--early-detect " + std::to_string(p.early_uncertainty) + ": expected a value >= 0 (0 = off)");
    check_tracker_params(p.tracker);
}

json stream_summary_to_json(const StreamSummary& s) {
    const auto per_frame = [&](double ms) { return s.processed > 0 ? ms / s.processed : 0.0; };
    const auto per_decoded = [&](double ms) { return s.decoded > 0 ? ms / s.decoded : 0.0; };
    return {{"ms_per_frame",
             {{"decode", per_decoded(s.decode_ms)},
              {"detect", per_frame(s.detect_ms)},
              {"track", per_frame(s.track_ms)},
              {"jsonl", per_frame(s.jsonl_ms)},
              {"draw", per_frame(s.draw_ms)},
              {"encode", per_frame(s.encode_ms)}}},
            {"ms_per_detection", s.detection_frames > 0 ? s.detect_ms / s.detection_frames : 0.0},
            {"latency_ms", {{"p50", s.latency_p50_ms}, {"p95", s.latency_p95_ms}}},
            {"source", s.source},
            {"decoded", s.decoded},
            {"processed", s.processed},
            {"dropped", s.dropped},
            {"detection_frames", s.detection_frames},
            {"gated_frames", s.gated_frames},
            {"early_detections", s.early_detections},
            {"tracks", s.tracks},
            {"keyframes", s.keyframes},
            {"reconnects", s.reconnects},
            {"gap_seconds", s.gap_seconds},
            {"seconds", s.seconds},
            {"fps", s.fps},
            {"stopped", s.stopped},
            {"video_codec", s.video_codec}};
}

StreamSummary run_stream(const Engine& engine, FrameGrabber& grabber, const StreamParams& params,
                         const std::atomic<bool>& stop, const StreamLog& log) {
    check_stream_params(params);
    if (!params.keyframes_dir.empty()) check_writable_folder(params.keyframes_dir, "key frames");
    StreamRun run(engine, params, grabber.fps(), log);
    const auto collect = [&] {
        const FrameGrabberStats g = grabber.stats();
        StreamSummary& s = run.summary();
        s.source = grabber.description();
        s.decoded = g.decoded;
        s.dropped = g.dropped;
        s.reconnects = g.reconnects;
        s.gap_seconds = g.gap_seconds;
        s.decode_ms = g.decode_ms;
        s.stopped = stop.load();
    };
    try {
        VideoFrame frame;
        while (grabber.next(frame)) {
            run.process(frame);
            if (stop) break;
        }
    } catch (const Error&) {
        run.finish();  // what was processed stays playable
        throw;
    }
    grabber.halt();
    run.finish();
    collect();
    return run.summary();
}

}  // namespace chickenseg
