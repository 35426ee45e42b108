#include "stream/video_plugin.h"

#include <cmath>
#include <unistd.h>

#include "chickenseg/core/error.h"
#include "stream/ffmpeg/ffmpeg_support.h"

namespace chickenseg {
namespace {

// Milliseconds: fine enough for any camera, and within MPEG-4 Part 2's 16-bit time base.
constexpr AVRational kTimeBase{1, 1000};

}  // namespace

// One MP4 (or the container the extension names) written through a temporary file.
class FfmpegOutput final : public VideoOutput {
public:
    explicit FfmpegOutput(const VideoWriterParams& params);
    ~FfmpegOutput() override;
    void write(const RgbImage& frame, double time) override;
    void close() override;
    const std::string& codec() const override { return codec_name; }
    int64_t frames() const override { return frames_; }

private:
    VideoWriterParams params;
    std::filesystem::path temp;
    std::string codec_name;
    AVFormatContext* format = nullptr;
    AVStream* stream = nullptr;
    ffmpeg::CodecContextPtr codec_;
    ffmpeg::FramePtr frame{av_frame_alloc()};
    ffmpeg::PacketPtr packet{av_packet_alloc()};
    ffmpeg::SwsPtr sws;
    int64_t frames_ = 0;
    int64_t last_pts = -1;
    int64_t frame_duration = 40;  // in the time base: one frame at the nominal rate
    bool closed = false;

    void release() {
        if (format) {
            if (format->pb) avio_closep(&format->pb);
            avformat_free_context(format);
        }
        if (!closed && !temp.empty()) {
            std::error_code ec;
            std::filesystem::remove(temp, ec);
        }
    }
    [[noreturn]] void fail(const std::string& what, int code) const {
        throw Error(params.path.string() + ": cannot " + what + " (" + ffmpeg::error_text(code) + ")");
    }
    void open();
    void encode(AVFrame* f);
};

void FfmpegOutput::open() {
    const AVCodec* encoder = nullptr;
    if (!params.codec.empty()) {
        encoder = avcodec_find_encoder_by_name(params.codec.c_str());
        if (!encoder) throw Error(params.path.string() + ": this FFmpeg build has no encoder '" + params.codec + "'");
    } else {
        encoder = avcodec_find_encoder_by_name("libx264");
        if (!encoder) encoder = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
        if (!encoder) throw Error(params.path.string() + ": this FFmpeg build has neither libx264 nor mpeg4 encoders");
    }
    codec_name = encoder->name;
    temp = params.path.parent_path() / ("." + params.path.filename().string() + ".tmp" + std::to_string(::getpid()));
    // The container from the target's extension (the temporary name has none); MP4 otherwise.
    const AVOutputFormat* container = av_guess_format(nullptr, params.path.filename().c_str(), nullptr);
    int rc = avformat_alloc_output_context2(&format, container, container ? nullptr : "mp4", temp.c_str());
    if (rc < 0) fail("start a video file", rc);
    stream = avformat_new_stream(format, nullptr);
    codec_.reset(avcodec_alloc_context3(encoder));
    // H.264 and MPEG-4 4:2:0 need even sizes; an odd last row or column is cut.
    codec_->width = static_cast<int>(params.width & ~1u);
    codec_->height = static_cast<int>(params.height & ~1u);
    codec_->pix_fmt = AV_PIX_FMT_YUV420P;
    codec_->time_base = kTimeBase;
    const double fps = params.fps > 0 ? params.fps : 25;
    codec_->framerate = av_d2q(fps, 1000);
    frame_duration = std::max<int64_t>(1, std::llround(1000 / fps));
    codec_->gop_size = std::max(1, static_cast<int>(std::lround(fps)) * 2);
    if (format->oformat->flags & AVFMT_GLOBALHEADER) codec_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary* opts = nullptr;
    if (codec_name == "libx264") {
        av_dict_set(&opts, "preset", "veryfast", 0);
        av_dict_set(&opts, "crf", "23", 0);
    } else {
        codec_->bit_rate = static_cast<int64_t>(codec_->width) * codec_->height * 4;
    }
    rc = avcodec_open2(codec_.get(), encoder, &opts);
    av_dict_free(&opts);
    if (rc < 0) fail("open the " + codec_name + " encoder", rc);
    avcodec_parameters_from_context(stream->codecpar, codec_.get());
    stream->time_base = kTimeBase;
    if ((rc = avio_open(&format->pb, temp.c_str(), AVIO_FLAG_WRITE)) < 0) fail("create " + temp.string(), rc);
    if ((rc = avformat_write_header(format, nullptr)) < 0) fail("write the MP4 header", rc);
    frame->format = codec_->pix_fmt;
    frame->width = codec_->width;
    frame->height = codec_->height;
    if ((rc = av_frame_get_buffer(frame.get(), 0)) < 0) fail("allocate a frame", rc);
    sws.reset(sws_getContext(codec_->width, codec_->height, AV_PIX_FMT_RGB24, codec_->width, codec_->height,
                             AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
}

void FfmpegOutput::encode(AVFrame* f) {
    int rc = avcodec_send_frame(codec_.get(), f);
    if (rc < 0) fail("encode a frame", rc);
    for (;;) {
        rc = avcodec_receive_packet(codec_.get(), packet.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
        if (rc < 0) fail("encode a frame", rc);
        // Without a duration the MP4's last sample lasts 0 and players (and ffprobe) skip it.
        if (packet->duration <= 0) packet->duration = frame_duration;
        av_packet_rescale_ts(packet.get(), codec_->time_base, stream->time_base);
        packet->stream_index = stream->index;
        rc = av_interleaved_write_frame(format, packet.get());
        if (rc < 0) fail("write a frame", rc);
    }
}

FfmpegOutput::FfmpegOutput(const VideoWriterParams& p) {
    ffmpeg::quiet_logs();
    params = p;
    if (p.width < 2 || p.height < 2)
        throw Error(p.path.string() + ": frames of " + std::to_string(p.width) + "x" + std::to_string(p.height) +
                    " cannot be encoded (expected at least 2x2)");
    try {
        open();
    } catch (...) {
        release();  // the destructor does not run for a constructor that throws
        throw;
    }
}

FfmpegOutput::~FfmpegOutput() { release(); }

void FfmpegOutput::write(const RgbImage& image, double time) {
    if (closed) throw Error(params.path.string() + ": the video is already closed");
    if (image.width != params.width || image.height != params.height)
        throw Error(params.path.string() + ": frame of " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + ", expected " + std::to_string(params.width) + "x" +
                    std::to_string(params.height));
    int rc = av_frame_make_writable(frame.get());
    if (rc < 0) fail("allocate a frame", rc);
    const uint8_t* src[4] = {image.pixels.data(), nullptr, nullptr, nullptr};
    const int src_stride[4] = {static_cast<int>(image.width * 3), 0, 0, 0};
    sws_scale(sws.get(), src, src_stride, 0, codec_->height, frame->data, frame->linesize);
    int64_t pts = std::llround(time * 1000);
    if (pts <= last_pts) pts = last_pts + 1;
    last_pts = frame->pts = pts;
    encode(frame.get());
    ++frames_;
}

void FfmpegOutput::close() {
    if (closed) return;
    encode(nullptr);
    int rc = av_write_trailer(format);
    if (rc < 0) fail("write the MP4 trailer", rc);
    if ((rc = avio_closep(&format->pb)) < 0) fail("close " + temp.string(), rc);
    std::error_code ec;
    std::filesystem::rename(temp, params.path, ec);
    if (ec) throw Error(params.path.string() + ": cannot rename the finished video into place (" + ec.message() + ")");
    closed = true;
}

VideoOutput* open_ffmpeg_output(const VideoWriterParams& params) { return new FfmpegOutput(params); }

}  // namespace chickenseg
