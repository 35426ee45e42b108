// The stream's video input and output with FFmpeg live in a plugin, libchickenseg-ffmpeg.so
// (src/stream/ffmpeg/), loaded at run time like the LibTorch backend, not linked into the tool.
// Why: FFmpeg's libraries bring about a hundred more (codecs, Debian's reference BLAS through
// libavfilter, Debian's OpenMP runtime through libswresample -> libsoxr) into every process that
// links them, before main. That OpenMP runtime then served LibTorch too, with the spin setting it
// had read at start-up rather than the one the engine sets before it loads (backend_plugin.cpp),
// and the model's idle threads spun on the cores the image decoders needed. Loaded as a plugin,
// FFmpeg is in the process only when a video is read or written, and after that setting.
//
// VideoSource and VideoWriter (video_io.cpp) use the plugin when it loads; without it they read
// image sequences with the project's own decoder and say what is missing for the rest.
#pragma once

#include <functional>
#include <string>

#include "chickenseg/stream/video_source.h"
#include "chickenseg/stream/video_writer.h"

namespace chickenseg {

inline constexpr const char* kVideoPluginFile = "libchickenseg-ffmpeg.so";
// Raised whenever VideoInput, VideoOutput or VideoPluginApi change.
inline constexpr int kVideoPluginAbiVersion = 1;

// One opened source (VideoSource's contract, video_source.h).
class VideoInput {
public:
    virtual ~VideoInput() = default;
    virtual bool read(VideoFrame& frame) = 0;
    virtual uint32_t width() const = 0;
    virtual uint32_t height() const = 0;
    virtual double fps() const = 0;
    virtual std::string description() const = 0;
    virtual std::string hwaccel() const = 0;
    virtual std::string hwaccel_note() const = 0;
};

// One video being written (VideoWriter's contract, video_writer.h).
class VideoOutput {
public:
    virtual ~VideoOutput() = default;
    virtual void write(const RgbImage& frame, double time) = 0;
    virtual void close() = 0;
    virtual const std::string& codec() const = 0;
    virtual int64_t frames() const = 0;
};

// What the plugin offers. The functions throw Error as VideoSource and VideoWriter document.
struct VideoPluginApi {
    VideoInput* (*open_input)(const VideoSourceParams& params, std::function<bool()> should_stop);
    VideoOutput* (*open_output)(const VideoWriterParams& params);
    std::string (*check_hwaccel_name)(const std::string& name);  // "" when the name is usable
};

// The plugin's two entry points.
using VideoPluginAbiVersionFn = int (*)();
using VideoPluginApiFn = const VideoPluginApi* (*)();

// The loaded plugin, loaded on first use (searched like the LibTorch backend: $CHICKENSEG_PLUGIN_DIR,
// the program's folder, <that folder>/../lib/chickenseg); nullptr when it is not there or does
// not load, and `why` (if given) then says which, for an error message.
const VideoPluginApi* video_plugin(std::string* why = nullptr);

}  // namespace chickenseg
