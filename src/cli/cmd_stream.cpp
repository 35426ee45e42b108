// `chickenseg stream`: chickens in live video, a file or a camera, tracked frame after frame
// (docs/stream.md). Parsing and printing only; the work is in stream/.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>

#include "chickenseg/core/error.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/runtime/predict.h"
#include "chickenseg/stream/stream.h"
#include "chickenseg/stream/video_source.h"
#include "command.h"
#include "engine_options.h"

namespace chickenseg::cli {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_stop = true; }

// SIGINT and SIGTERM end the loop cleanly (MP4 finalised, JSONL whole); a second one kills
// the process as usual (SA_RESETHAND).
void catch_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

struct StreamOptions {
    std::string package;
    std::string input;
    std::vector<double> presence_band;
    EngineParams engine = engine_default_params();
    StreamParams params = stream_default_params();
};

// Each output's folder exists (or is made) and takes a new file, before the engine loads.
void check_stream_outputs(const StreamParams& p) {
    for (const auto& file : {p.jsonl, p.video_out}) {
        if (file.empty()) continue;
        if (std::filesystem::is_directory(file)) throw Error(file.string() + ": is a folder (expected a file name)");
        const auto dir = file.parent_path();
        check_writable_folder(dir.empty() ? "." : dir, "output");
    }
    if (!p.keyframes_dir.empty()) check_writable_folder(p.keyframes_dir, "key frames");
    if (p.jsonl.empty() && p.video_out.empty() && p.keyframes_dir.empty() && p.preview_port < 0)
        throw Error("give at least one output: --out (JSONL events), --video-out, --keyframes or --preview");
}

void print_summary(const StreamSummary& s, const StreamParams& p) {
    std::cout << "stream " << s.source << ": " << s.processed << " frames in " << format_fixed(s.seconds, 2) << " s ("
              << format_fixed(s.fps, 1) << " fps), dropped " << s.dropped << ", detections " << s.detection_frames
              << " (" << s.gated_frames << " no chicken), tracks " << s.tracks;
    if (s.reconnects)
        std::cout << ", reconnects " << s.reconnects << " (" << format_fixed(s.gap_seconds, 1) << " s lost)";
    std::cout << (s.stopped ? ", stopped by a signal\n" : "\n");
    if (!p.jsonl.empty()) std::cout << "  events    " << p.jsonl.string() << '\n';
    if (!p.video_out.empty()) std::cout << "  video     " << p.video_out.string() << " (" << s.video_codec << ")\n";
    if (!p.keyframes_dir.empty())
        std::cout << "  keyframes " << p.keyframes_dir.string() << " (" << s.keyframes << " new)\n";
}

int run_stream_command(StreamOptions& o) {
    StreamParams& p = o.params;
    if (!o.presence_band.empty()) {
        p.keyframe_presence_low = o.presence_band.at(0);
        p.keyframe_presence_high = o.presence_band.at(1);
    }
    p.input.source.url = o.input;
    p.input.source.read_timeout = p.input.source.open_timeout;  // one --timeout for both
    if (global_options().quiet || global_options().json) p.progress_seconds = 0;
    check_stream_params(p);
    check_stream_outputs(p);
    // Without FFmpeg the source reads image sequences only (it says so itself); the MP4 is
    // refused here, before the engine loads.
    if (!video_support_available() && !p.video_out.empty())
        throw Error("stream: --video-out: " + video_support_problem() + ", so it writes no video");
    catch_stop_signals();
    const auto log = [](const std::string& line) { std::cerr << line << std::endl; };
    // The source first: a bad one is reported before the engine (LibTorch) loads.
    FrameGrabber grabber(p.input, g_stop, log);
    Engine engine(o.package, o.engine);
    StreamSummary s = run_stream(engine, grabber, p, g_stop, log);
    if (global_options().json)
        print_json(stream_summary_to_json(s));
    else
        print_summary(s, p);
    return 0;
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "stream", "Track every chicken in a video file, an RTSP/HTTP stream, a camera or an image sequence", 52,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<StreamOptions>();
        StreamParams& p = o->params;
        cmd.add_option("--package", o->package, "Model package folder (chickenseg model export)")
            ->required()
            ->check(CLI::ExistingDirectory);
        cmd.add_option("--input", o->input,
                       "Video file, image folder or pattern (frames/%05d.png), rtsp://, http(s)://, /dev/videoN")
            ->required();
        cmd.add_option("--out", p.jsonl, "JSONL events: one line per processed frame, flushed");
        cmd.add_flag("--masks", p.masks, "Masks as COCO RLE in the lines of detection frames");
        cmd.add_option("--video-out", p.video_out, "Overlay MP4 (H.264 when FFmpeg has libx264, else MPEG-4)");
        cmd.add_option("--video-codec", p.video_codec, "Encoder of --video-out (default: libx264, else mpeg4)");
        cmd.add_option("--keyframes", p.keyframes_dir, "Folder for key frames (JPEG) to feed chickenseg mine");
        cmd.add_option("--preview", p.preview_port,
                       "Live preview for a browser: MJPEG on http://127.0.0.1:PORT/ (0 = any free port)")
            ->check(CLI::Range(0, 65535));
        cmd.add_option("--keyframe-every", p.keyframe_every, "Every M-th detection frame is a key frame")
            ->capture_default_str();
        cmd.add_option("--presence-band", o->presence_band,
                       "LO,HI: a detection frame whose presence is in it is a key frame")
            ->delimiter(',')
            ->expected(2)
            ->default_str(format_fixed(p.keyframe_presence_low, 2) + "," + format_fixed(p.keyframe_presence_high, 2));
        auto* every = cmd.add_option("--detect-every", p.detect_every, "Run the detector on every N-th frame")
                          ->check(CLI::Range(1, 1000000));
        cmd.add_option("--detect-hz", p.detect_hz, "Run the detector this often per second of video (default)")
            ->capture_default_str()
            ->excludes(every);
        cmd.add_option("--early-detect", p.early_uncertainty,
                       "Detect before its turn when a track's centre is this unsure (standard deviation in "
                       "units of its height; 0 = never)")
            ->capture_default_str();
        cmd.add_option("--prompt", p.prompt, "Concept prompt of the package (default: its first)");
        cmd.add_option("--min-score", p.detect.score_threshold,
                       "Tracker's high threshold (default: the package's thresholds.score)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--low-score", p.tracker.low_threshold,
                       "Detections from here to --min-score only extend tracks (ByteTrack's second stage)")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--presence-threshold", p.detect.presence_threshold,
                       "Below it a detection frame is 'no chicken' (default: the package's thresholds.presence)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--mask-threshold", p.detect.mask_threshold,
                       "On the mask probabilities (default: the package's thresholds.mask)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--max-age", p.tracker.max_age, "Seconds a track may go unseen before it ends")
            ->capture_default_str();
        cmd.add_option("--rtsp-transport", p.input.source.rtsp_transport, "tcp or udp")
            ->check(CLI::IsMember({"tcp", "udp"}))
            ->capture_default_str();
        cmd.add_flag("--realtime", p.input.realtime,
                     "Read a file at its frame rate, as a camera would deliver it (drops frames when behind)");
        // An unknown name is a usage error (exit 2); a known device that is missing here is not an
        // error at all: decoding falls back to software with a line on stderr.
        cmd.add_option("--hwaccel", p.input.source.hwaccel,
                       "Hardware decoding: none, auto (the first device FFmpeg opens here, else software) or a "
                       "device type (cuda, vaapi, qsv...)")
            ->capture_default_str()
            ->check(CLI::Validator([](std::string& v) { return check_hwaccel_name(v); }, "NAME"));
        cmd.add_option("--timeout", p.input.source.open_timeout,
                       "Seconds to connect, and that a live source may stay silent")
            ->capture_default_str();
        cmd.add_option("--max-reconnects", p.input.max_reconnects,
                       "Tries in a row to reopen a lost live source before giving up")
            ->capture_default_str();
        add_engine_options(cmd, o->engine);
        cmd.add_option("--threads", o->engine.threads, "CPU threads of the backend (0 = its default)")
            ->capture_default_str();
        return [o]() { return run_stream_command(*o); };
    }}};

}  // namespace
}  // namespace chickenseg::cli
