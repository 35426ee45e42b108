// The stream's video input and output in a build without FFmpeg: every use is one clear error.
#include "chickenseg/core/error.h"
#include "chickenseg/stream/video_source.h"
#include "chickenseg/stream/video_writer.h"

namespace chickenseg {
namespace {

[[noreturn]] void missing(const std::string& what) {
    throw Error(what +
                ": chickenseg was built without FFmpeg, so it cannot read or write video (install "
                "libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libavdevice-dev and rebuild)");
}

}  // namespace

bool video_support_available() { return false; }

struct VideoSource::Impl {};
VideoSource::VideoSource(const VideoSourceParams& params, std::function<bool()>) { missing(params.url); }
VideoSource::~VideoSource() = default;
bool VideoSource::read(VideoFrame&) { return false; }
uint32_t VideoSource::width() const { return 0; }
uint32_t VideoSource::height() const { return 0; }
double VideoSource::fps() const { return 0; }
SourceKind VideoSource::kind() const { return SourceKind::file; }
std::string VideoSource::description() const { return {}; }
std::string VideoSource::hwaccel() const { return {}; }
std::string VideoSource::hwaccel_note() const { return {}; }
std::string check_hwaccel_name(const std::string& name) {
    return name == "auto" || name == "none" ? "" : "unknown hardware decoder '" + name + "' (this build has no FFmpeg)";
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
