// The stream's video input and output in a build without FFmpeg: image sequences are read with
// the project's own decoder (stream/image_sequence.h), so `chickenseg stream` runs on a folder of
// frames; every other source and the MP4 writer are one clear error.
#include <optional>

#include "chickenseg/core/error.h"
#include "chickenseg/stream/video_source.h"
#include "chickenseg/stream/video_writer.h"
#include "stream/image_sequence.h"

namespace chickenseg {
namespace {

[[noreturn]] void missing(const std::string& what) {
    throw Error(what +
                ": chickenseg was built without FFmpeg, so it reads only image sequences (a folder of "
                "pictures, or a pattern such as frames/%05d.png) and writes no video (install "
                "libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libavdevice-dev and rebuild)");
}

}  // namespace

bool video_support_available() { return false; }

struct VideoSource::Impl {
    SourceKind kind = SourceKind::image_sequence;
    std::string note;
    std::optional<ImageSequence> sequence;
};

VideoSource::VideoSource(const VideoSourceParams& params, std::function<bool()>) : impl_(std::make_unique<Impl>()) {
    impl_->kind = source_kind(params.url);
    if (impl_->kind != SourceKind::image_sequence) missing(params.url);
    if (!check_hwaccel_name(params.hwaccel).empty()) throw Error("--hwaccel: " + check_hwaccel_name(params.hwaccel));
    // A script may ask for auto on every machine; here it can only mean software, said once.
    if (params.hwaccel == "auto")
        impl_->note =
            "--hwaccel auto: no hardware decoder in a build without FFmpeg; decoding the pictures in software";
    impl_->sequence.emplace(params.url);
}
VideoSource::~VideoSource() = default;
bool VideoSource::read(VideoFrame& frame) { return impl_->sequence->read(frame); }
uint32_t VideoSource::width() const { return impl_->sequence->width(); }
uint32_t VideoSource::height() const { return impl_->sequence->height(); }
double VideoSource::fps() const { return ImageSequence::kFps; }
SourceKind VideoSource::kind() const { return impl_->kind; }
std::string VideoSource::description() const { return impl_->sequence->description(); }
std::string VideoSource::hwaccel() const { return {}; }
std::string VideoSource::hwaccel_note() const { return impl_->note; }
std::string check_hwaccel_name(const std::string& name) {
    return name == "auto" || name == "none"
               ? ""
               : "unknown hardware decoder '" + name +
                     "' (expected auto, none: this build has no FFmpeg, so no device types)";
}

struct VideoWriter::Impl {
    std::string codec;
};
VideoWriter::VideoWriter(const VideoWriterParams& params) { missing(params.path.string()); }
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(const RgbImage&, double) {}
void VideoWriter::close() {}
const std::string& VideoWriter::codec() const { return impl_->codec; }
int64_t VideoWriter::frames() const { return 0; }

}  // namespace chickenseg
