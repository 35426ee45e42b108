// Video input for `chickenseg stream`, decoded with FFmpeg's libraries: a video file, an
// image sequence (a folder of pictures, or a printf pattern such as frames/%05d.png), an
// rtsp:// camera (TCP unless told UDP), an http(s):// stream, or a V4L2 device (/dev/video*).
// Frames come out as RGB with the stream's own timestamps (pts x time_base, in seconds).
//
// Every blocking FFmpeg call is bounded: opening must finish within open_timeout and a live
// source must deliver a packet within read_timeout, checked by FFmpeg's interrupt callback,
// which also asks the caller whether to stop (SIGINT stops a stalled read at once).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "chickenseg/core/image.h"

namespace chickenseg {

enum class SourceKind { file, image_sequence, rtsp, http, device };
const char* source_kind_name(SourceKind kind);
// From the address alone: rtsp://, http(s)://, /dev/video*, a folder or a %-pattern, else a file.
SourceKind source_kind(const std::string& url);
// A live source (camera, network stream) runs at its own pace: frames it makes while the
// model is busy are dropped, and a lost connection is retried.
bool source_is_live(SourceKind kind);

struct VideoSourceParams {
    std::string url;
    std::string rtsp_transport = "tcp";  // "tcp" or "udp"
    double open_timeout = 10;            // seconds to connect and read the stream's header
    double read_timeout = 10;            // seconds a live source may stay silent
    // Hardware decoding: "none" (software), "auto" (the first device this FFmpeg has that
    // decodes the stream here, else software) or a device type ("cuda", "vaapi", "qsv"...;
    // one that is missing or fails also falls back to software).
    std::string hwaccel = "none";
};
VideoSourceParams video_source_default_params();

struct VideoFrame {
    RgbImage image;
    int64_t index = 0;           // the frame's number in the source, from 0 (dropped frames count)
    double time = 0;             // seconds: pts x time_base (the stream's clock, not the wall clock)
    int64_t dropped_before = 0;  // frames dropped since the previous frame handed out
    double gap_before = 0;       // seconds of stream lost to a reconnect just before it
    double arrived = 0;          // steady-clock seconds when it was decoded (paced: released), for latency
};

// True when this build decodes video (FFmpeg was found at build time).
// Whether FFmpeg's video input and output are there (the plugin libchickenseg-ffmpeg.so loads);
// if not, why, as the start of an error message ("" when they are).
bool video_support_available();
std::string video_support_problem();
// "" when `name` is a valid --hwaccel (auto, none, or a device type FFmpeg knows), else what is
// wrong with it, naming the device types this FFmpeg build has.
std::string check_hwaccel_name(const std::string& name);

class VideoSource {
public:
    // Opens and reads the header. Throws Error naming the url: it does not answer within the
    // timeout, it is not a video (or holds no video stream), a codec is missing, or this build
    // has no FFmpeg. `should_stop` (may be empty) is asked during blocking calls; true
    // interrupts them (the call then throws "stopped").
    explicit VideoSource(const VideoSourceParams& params, std::function<bool()> should_stop = {});
    ~VideoSource();
    VideoSource(const VideoSource&) = delete;
    VideoSource& operator=(const VideoSource&) = delete;

    // The next frame (index and time set; dropped_before and gap_before 0). False at the end of
    // the stream. Throws Error naming the url on a read or decode failure, a timeout, or a
    // frame whose size differs from the first frame's.
    bool read(VideoFrame& frame);

    uint32_t width() const;
    uint32_t height() const;
    double fps() const;  // the stream's nominal frame rate; 0 when it does not say
    SourceKind kind() const;
    std::string description() const;  // e.g. "h264 640x480 25 fps (mov,mp4,m4a,3gp,3g2,mj2)"
    // The device decoding on ("cuda"), "" in software; and a line for the log on what
    // --hwaccel chose and why ("" when it was none).
    std::string hwaccel() const;
    std::string hwaccel_note() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chickenseg
