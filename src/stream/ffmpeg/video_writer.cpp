#include "chickenseg/stream/video_writer.h"

#include <cmath>
#include <unistd.h>

#include "chickenseg/core/error.h"
#include "stream/ffmpeg/ffmpeg_support.h"

namespace chickenseg {
namespace {

// Milliseconds: fine enough for any camera, and within MPEG-4 Part 2's 16-bit time base.
constexpr AVRational kTimeBase{1, 1000};

}  // namespace

struct VideoWriter::Impl {
    VideoWriterParams params;
    std::filesystem::path temp;
    std::string codec_name;
    AVFormatContext* format = nullptr;
    AVStream* stream = nullptr;
    ffmpeg::CodecContextPtr codec;
    ffmpeg::FramePtr frame{av_frame_alloc()};
    ffmpeg::PacketPtr packet{av_packet_alloc()};
    ffmpeg::SwsPtr sws;
    int64_t frames = 0;
    int64_t last_pts = -1;
    int64_t frame_duration = 40;  // in the time base: one frame at the nominal rate
    bool closed = false;

    ~Impl() {
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

void VideoWriter::Impl::open() {
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
    codec.reset(avcodec_alloc_context3(encoder));
    // H.264 and MPEG-4 4:2:0 need even sizes; an odd last row or column is cut.
    codec->width = static_cast<int>(params.width & ~1u);
    codec->height = static_cast<int>(params.height & ~1u);
    codec->pix_fmt = AV_PIX_FMT_YUV420P;
    codec->time_base = kTimeBase;
    const double fps = params.fps > 0 ? params.fps : 25;
    codec->framerate = av_d2q(fps, 1000);
    frame_duration = std::max<int64_t>(1, std::llround(1000 / fps));
    codec->gop_size = std::max(1, static_cast<int>(std::lround(fps)) * 2);
    if (format->oformat->flags & AVFMT_GLOBALHEADER) codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary* opts = nullptr;
    if (codec_name == "libx264") {
        av_dict_set(&opts, "preset", "veryfast", 0);
        av_dict_set(&opts, "crf", "23", 0);
    } else {
        codec->bit_rate = static_cast<int64_t>(codec->width) * codec->height * 4;
    }
    rc = avcodec_open2(codec.get(), encoder, &opts);
    av_dict_free(&opts);
    if (rc < 0) fail("open the " + codec_name + " encoder", rc);
    avcodec_parameters_from_context(stream->codecpar, codec.get());
    stream->time_base = kTimeBase;
    if ((rc = avio_open(&format->pb, temp.c_str(), AVIO_FLAG_WRITE)) < 0) fail("create " + temp.string(), rc);
    if ((rc = avformat_write_header(format, nullptr)) < 0) fail("write the MP4 header", rc);
    frame->format = codec->pix_fmt;
    frame->width = codec->width;
    frame->height = codec->height;
    if ((rc = av_frame_get_buffer(frame.get(), 0)) < 0) fail("allocate a frame", rc);
    sws.reset(sws_getContext(codec->width, codec->height, AV_PIX_FMT_RGB24, codec->width, codec->height,
                             AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
}

void VideoWriter::Impl::encode(AVFrame* f) {
    int rc = avcodec_send_frame(codec.get(), f);
    if (rc < 0) fail("encode a frame", rc);
    for (;;) {
        rc = avcodec_receive_packet(codec.get(), packet.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
        if (rc < 0) fail("encode a frame", rc);
        // Without a duration the MP4's last sample lasts 0 and players (and ffprobe) skip it.
        if (packet->duration <= 0) packet->duration = frame_duration;
        av_packet_rescale_ts(packet.get(), codec->time_base, stream->time_base);
        packet->stream_index = stream->index;
        rc = av_interleaved_write_frame(format, packet.get());
        if (rc < 0) fail("write a frame", rc);
    }
}

VideoWriter::VideoWriter(const VideoWriterParams& params) : impl_(std::make_unique<Impl>()) {
    ffmpeg::quiet_logs();
    impl_->params = params;
    if (params.width < 2 || params.height < 2)
        throw Error(params.path.string() + ": frames of " + std::to_string(params.width) + "x" +
                    std::to_string(params.height) + " cannot be encoded (expected at least 2x2)");
    impl_->open();
}

VideoWriter::~VideoWriter() = default;

void VideoWriter::write(const RgbImage& image, double time) {
    Impl& m = *impl_;
    if (m.closed) throw Error(m.params.path.string() + ": the video is already closed");
    if (image.width != m.params.width || image.height != m.params.height)
        throw Error(m.params.path.string() + ": frame of " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + ", expected " + std::to_string(m.params.width) + "x" +
                    std::to_string(m.params.height));
    int rc = av_frame_make_writable(m.frame.get());
    if (rc < 0) m.fail("allocate a frame", rc);
    const uint8_t* src[4] = {image.pixels.data(), nullptr, nullptr, nullptr};
    const int src_stride[4] = {static_cast<int>(image.width * 3), 0, 0, 0};
    sws_scale(m.sws.get(), src, src_stride, 0, m.codec->height, m.frame->data, m.frame->linesize);
    int64_t pts = std::llround(time * 1000);
    if (pts <= m.last_pts) pts = m.last_pts + 1;
    m.last_pts = m.frame->pts = pts;
    m.encode(m.frame.get());
    ++m.frames;
}

void VideoWriter::close() {
    Impl& m = *impl_;
    if (m.closed) return;
    m.encode(nullptr);
    int rc = av_write_trailer(m.format);
    if (rc < 0) m.fail("write the MP4 trailer", rc);
    if ((rc = avio_closep(&m.format->pb)) < 0) m.fail("close " + m.temp.string(), rc);
    std::error_code ec;
    std::filesystem::rename(m.temp, m.params.path, ec);
    if (ec)
        throw Error(m.params.path.string() + ": cannot rename the finished video into place (" + ec.message() + ")");
    m.closed = true;
}

const std::string& VideoWriter::codec() const { return impl_->codec_name; }
int64_t VideoWriter::frames() const { return impl_->frames; }

}  // namespace chickenseg
