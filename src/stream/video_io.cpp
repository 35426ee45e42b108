// VideoSource and VideoWriter: FFmpeg's, from the plugin (video_plugin.h), when it loads;
// otherwise image sequences are read with the project's own decoder (stream/image_sequence.h),
// so `chickenseg stream` runs on a folder of frames, and every other source and the MP4 writer
// are one clear error saying what is missing.
#include <dlfcn.h>

#include <optional>

#include "chickenseg/core/error.h"
#include "runtime/backend_plugin.h"
#include "stream/image_sequence.h"
#include "stream/video_plugin.h"

namespace chickenseg {
namespace {

struct LoadedVideoPlugin {
    const VideoPluginApi* api = nullptr;
    std::string why;  // when api is null
};

LoadedVideoPlugin load_video_plugin() {
    std::string looked;
    const std::filesystem::path path = find_plugin(kVideoPluginFile, {}, looked);
    if (path.empty()) return {nullptr, std::string(kVideoPluginFile) + " was not found (looked in: " + looked + ")"};
    try {
        void* handle = open_plugin(path);
        auto abi = reinterpret_cast<VideoPluginAbiVersionFn>(dlsym(handle, "chickenseg_video_abi_version"));
        auto api = reinterpret_cast<VideoPluginApiFn>(dlsym(handle, "chickenseg_video_plugin"));
        if (!abi || !api) return {nullptr, path.string() + " is not a chickenseg video plugin"};
        if (abi() != kVideoPluginAbiVersion)
            return {nullptr, path.string() + " was built for interface version " + std::to_string(abi()) +
                                 ", this program uses " + std::to_string(kVideoPluginAbiVersion) +
                                 ": rebuild chickenseg (scripts/setup)"};
        return {api(), ""};
    } catch (const Error& e) {
        return {nullptr, e.what()};
    }
}

[[noreturn]] void missing(const std::string& what) {
    throw Error(what + ": " + video_support_problem() +
                "; it reads only image sequences (a folder of pictures, or a pattern such as frames/%05d.png) and "
                "writes no video");
}

}  // namespace

const VideoPluginApi* video_plugin(std::string* why) {
    static const LoadedVideoPlugin loaded = load_video_plugin();
    if (why) *why = loaded.why;
    return loaded.api;
}

bool video_support_available() { return video_plugin() != nullptr; }

std::string video_support_problem() {
    std::string why;
    if (video_plugin(&why)) return "";
    return "this chickenseg has no FFmpeg (" + why +
           "; build it with Debian's libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libavdevice-dev "
           "installed)";
}

std::string check_hwaccel_name(const std::string& name) {
    if (const VideoPluginApi* plugin = video_plugin()) return plugin->check_hwaccel_name(name);
    return name == "auto" || name == "none" ? ""
                                            : "unknown hardware decoder '" + name +
                                                  "' (expected auto, none: without FFmpeg there are no device types)";
}

struct VideoSource::Impl {
    SourceKind kind = SourceKind::image_sequence;
    std::string note;
    std::unique_ptr<VideoInput> input;      // FFmpeg's
    std::optional<ImageSequence> sequence;  // without FFmpeg
};

VideoSource::VideoSource(const VideoSourceParams& params, std::function<bool()> should_stop)
    : impl_(std::make_unique<Impl>()) {
    impl_->kind = source_kind(params.url);
    if (const VideoPluginApi* plugin = video_plugin()) {
        impl_->input.reset(plugin->open_input(params, std::move(should_stop)));
        return;
    }
    if (impl_->kind != SourceKind::image_sequence) missing(params.url);
    if (!check_hwaccel_name(params.hwaccel).empty()) throw Error("--hwaccel: " + check_hwaccel_name(params.hwaccel));
    // A script may ask for auto on every machine; here it can only mean software, said once.
    if (params.hwaccel == "auto")
        impl_->note = "--hwaccel auto: no hardware decoder without FFmpeg; decoding the pictures in software";
    impl_->sequence.emplace(params.url);
}
VideoSource::~VideoSource() = default;
bool VideoSource::read(VideoFrame& frame) {
    return impl_->input ? impl_->input->read(frame) : impl_->sequence->read(frame);
}
uint32_t VideoSource::width() const { return impl_->input ? impl_->input->width() : impl_->sequence->width(); }
uint32_t VideoSource::height() const { return impl_->input ? impl_->input->height() : impl_->sequence->height(); }
double VideoSource::fps() const { return impl_->input ? impl_->input->fps() : ImageSequence::kFps; }
SourceKind VideoSource::kind() const { return impl_->kind; }
std::string VideoSource::description() const {
    return impl_->input ? impl_->input->description() : impl_->sequence->description();
}
std::string VideoSource::hwaccel() const { return impl_->input ? impl_->input->hwaccel() : ""; }
std::string VideoSource::hwaccel_note() const { return impl_->input ? impl_->input->hwaccel_note() : impl_->note; }

struct VideoWriter::Impl {
    std::unique_ptr<VideoOutput> output;
};
VideoWriter::VideoWriter(const VideoWriterParams& params) : impl_(std::make_unique<Impl>()) {
    const VideoPluginApi* plugin = video_plugin();
    if (!plugin) missing(params.path.string());
    impl_->output.reset(plugin->open_output(params));
}
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(const RgbImage& frame, double time) { impl_->output->write(frame, time); }
void VideoWriter::close() { impl_->output->close(); }
const std::string& VideoWriter::codec() const { return impl_->output->codec(); }
int64_t VideoWriter::frames() const { return impl_->output->frames(); }

}  // namespace chickenseg
