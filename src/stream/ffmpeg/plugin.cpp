// The entry points of libchickenseg-ffmpeg.so (stream/video_plugin.h): the stream's video input
// and output with FFmpeg, loaded at run time so that the chickenseg tool never links FFmpeg.
#include "stream/ffmpeg/hw_decoder.h"
#include "stream/video_plugin.h"

namespace chickenseg {
VideoInput* open_ffmpeg_input(const VideoSourceParams& params, std::function<bool()> should_stop);
VideoOutput* open_ffmpeg_output(const VideoWriterParams& params);
}  // namespace chickenseg

#define CHICKENSEG_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

CHICKENSEG_PLUGIN_EXPORT int chickenseg_video_abi_version() { return chickenseg::kVideoPluginAbiVersion; }

CHICKENSEG_PLUGIN_EXPORT const chickenseg::VideoPluginApi* chickenseg_video_plugin() {
    static const chickenseg::VideoPluginApi api{chickenseg::open_ffmpeg_input, chickenseg::open_ffmpeg_output,
                                                chickenseg::ffmpeg::check_hwaccel_name};
    return &api;
}
