#include "stream/video_plugin.h"

extern "C" {
#include <libavdevice/version.h>
#include <libavutil/imgutils.h>
}

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <vector>

#include "chickenseg/core/error.h"
#include "stream/ffmpeg/ffmpeg_support.h"
#include "stream/ffmpeg/hw_decoder.h"
#include "stream/image_sequence.h"

namespace chickenseg {
namespace {

using Clock = std::chrono::steady_clock;

// image2's glob pattern for a folder: the extension of its first picture (sorted).
std::string sequence_pattern(const std::filesystem::path& dir) {
    return (dir / ("*" + folder_pictures(dir).front().extension().string())).string();
}

// libavdevice (V4L2 cameras) is loaded here, at run time and RTLD_LOCAL, not linked: it needs
// libavfilter, which brings Debian's reference BLAS (libblas.so.3, through pocketsphinx). Linked,
// that BLAS sat in the process's global scope before the LibTorch plugin loaded, and LibTorch's
// calls to the BLAS functions it carries itself (sgemm_) went to it: every matrix product of the
// model, the CPU attention kernel's included, ran several times slower (docs/runtime.md). Loaded
// locally, its symbols stay out of everyone else's way. Returns the error, empty when loaded.
const std::string& register_devices() {
    static const std::string error = [] {
        const std::string name = "libavdevice.so." AV_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR);
        void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            const char* e = dlerror();
            return name + ": " + (e ? e : "cannot load");
        }
        auto register_all = reinterpret_cast<void (*)()>(dlsym(lib, "avdevice_register_all"));
        if (!register_all) return name + ": no avdevice_register_all";
        register_all();
        return std::string();
    }();
    return error;
}

}  // namespace

namespace ffmpeg {
void quiet_logs() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}
}  // namespace ffmpeg

// A file, camera, RTSP or HTTP stream, or image sequence (image2), decoded by FFmpeg.
class FfmpegInput final : public VideoInput {
public:
    FfmpegInput(const VideoSourceParams& params, std::function<bool()> stop);
    ~FfmpegInput() override {
        if (format) avformat_close_input(&format);
    }
    bool read(VideoFrame& frame) override { return receive(frame); }
    uint32_t width() const override { return width_; }
    uint32_t height() const override { return height_; }
    double fps() const override { return fps_; }
    std::string description() const override;
    std::string hwaccel() const override { return hw.fell_back ? "" : hw.name; }
    std::string hwaccel_note() const override;

private:
    VideoSourceParams params;
    SourceKind kind = SourceKind::file;
    std::function<bool()> stop;
    Clock::time_point deadline = Clock::time_point::max();
    bool timed_out = false;

    AVFormatContext* format = nullptr;
    ffmpeg::HwDecoder hw;  // before codec, which points to it: destroyed after it
    ffmpeg::CodecContextPtr codec;
    ffmpeg::FramePtr frame{av_frame_alloc()};
    ffmpeg::FramePtr transferred{av_frame_alloc()};  // a device frame copied to memory
    ffmpeg::PacketPtr packet{av_packet_alloc()};
    ffmpeg::SwsPtr sws;
    int stream = -1;
    AVRational time_base{1, 1};
    double fps_ = 0;
    int64_t decoded = 0;
    int64_t first_pts = AV_NOPTS_VALUE;
    bool draining = false;
    int read_error = 0;  // a live source's failed read, reported once the decoder is drained
    uint32_t width_ = 0, height_ = 0;

    static int interrupt(void* opaque) {
        auto* self = static_cast<FfmpegInput*>(opaque);
        if (self->stop && self->stop()) return 1;
        if (Clock::now() > self->deadline) {
            self->timed_out = true;
            return 1;
        }
        return 0;
    }
    void arm(double seconds) {
        timed_out = false;
        deadline = seconds > 0 ? Clock::now() +
                                     std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds))
                               : Clock::time_point::max();
    }
    [[noreturn]] void fail(const std::string& what, int code) const;
    void open_input();
    void open_decoder();
    bool receive(VideoFrame& out);
    void convert(const AVFrame* src, VideoFrame& out);
};

void FfmpegInput::fail(const std::string& what, int code) const {
    if (stop && stop()) throw Error(params.url + ": stopped");
    if (timed_out)
        throw Error(
            params.url + ": no answer within " +
            std::to_string(static_cast<int>(std::ceil(what == "open" ? params.open_timeout : params.read_timeout))) +
            " s (expected a video stream)");
    if (what == "open" && (code == AVERROR_INVALIDDATA || code == AVERROR(EINVAL)))
        throw Error(params.url + ": not a video (FFmpeg: " + ffmpeg::error_text(code) + ")");
    throw Error(params.url + ": cannot " + what + " (" + ffmpeg::error_text(code) + ")");
}

void FfmpegInput::open_input() {
    std::string url = params.url;
    const AVInputFormat* input = nullptr;
    AVDictionary* opts = nullptr;
    if (kind == SourceKind::rtsp) av_dict_set(&opts, "rtsp_transport", params.rtsp_transport.c_str(), 0);
    if (kind == SourceKind::image_sequence) {
        input = av_find_input_format("image2");
        if (std::filesystem::is_directory(url)) {
            url = sequence_pattern(url);
            av_dict_set(&opts, "pattern_type", "glob", 0);
        }
    }
    if (kind == SourceKind::device) {
        if (const std::string& error = register_devices(); !error.empty())
            throw Error(url + ": cannot read cameras without FFmpeg's device library (" + error +
                        "; Debian: libavdevice59)");
        input = av_find_input_format("video4linux2");
    }
    if (kind == SourceKind::file && !std::filesystem::exists(url)) {
        av_dict_free(&opts);
        throw Error(url + ": no such file (expected a video file)");
    }
    format = avformat_alloc_context();
    format->interrupt_callback = {&FfmpegInput::interrupt, this};
    arm(params.open_timeout);
    int rc = avformat_open_input(&format, url.c_str(), input, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        format = nullptr;  // freed by avformat_open_input
        fail("open", rc);
    }
    // FFmpeg shows a text file as a video of its characters (the tty demuxer): not a video here.
    if (std::string(format->iformat->name) == "tty") fail("open", AVERROR_INVALIDDATA);
    if ((rc = avformat_find_stream_info(format, nullptr)) < 0) fail("open", rc);
}

void FfmpegInput::open_decoder() {
    const AVCodec* decoder = nullptr;
    stream = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
    if (stream < 0)
        throw Error(params.url + ": not a video (no video stream in the " + format->iformat->name + " input)");
    if (!decoder) throw Error(params.url + ": no decoder for its video codec in this FFmpeg build");
    AVStream* s = format->streams[stream];
    codec.reset(avcodec_alloc_context3(decoder));
    avcodec_parameters_to_context(codec.get(), s->codecpar);
    codec->thread_count = 0;  // FFmpeg's choice
    ffmpeg::attach_hw_decoder(codec.get(), decoder, params.hwaccel, hw);
    int rc = avcodec_open2(codec.get(), decoder, nullptr);
    if (rc < 0) fail("open the decoder", rc);
    time_base = s->time_base;
    const AVRational rate = av_guess_frame_rate(format, s, nullptr);
    fps_ = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    width_ = static_cast<uint32_t>(codec->width);
    height_ = static_cast<uint32_t>(codec->height);
}

void FfmpegInput::convert(const AVFrame* src, VideoFrame& out) {
    const auto w = static_cast<uint32_t>(src->width), h = static_cast<uint32_t>(src->height);
    if (decoded > 0 && (w != width_ || h != height_))
        throw Error(params.url + ": the frame size changed from " + std::to_string(width_) + "x" +
                    std::to_string(height_) + " to " + std::to_string(w) + "x" + std::to_string(h) + " at frame " +
                    std::to_string(decoded) + " (expected one size for the whole stream)");
    width_ = w;
    height_ = h;
    sws.reset(sws_getCachedContext(sws.release(), src->width, src->height, static_cast<AVPixelFormat>(src->format),
                                   src->width, src->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr));
    if (!sws) throw Error(params.url + ": cannot convert its pixel format to RGB");
    out.image.width = w;
    out.image.height = h;
    out.image.pixels.resize(static_cast<size_t>(w) * h * 3);
    uint8_t* dst[4] = {out.image.pixels.data(), nullptr, nullptr, nullptr};
    int dst_stride[4] = {static_cast<int>(w * 3), 0, 0, 0};
    sws_scale(sws.get(), src->data, src->linesize, 0, src->height, dst, dst_stride);
    int64_t pts = src->best_effort_timestamp;
    if (pts != AV_NOPTS_VALUE && first_pts == AV_NOPTS_VALUE) first_pts = pts;
    out.time = pts != AV_NOPTS_VALUE ? static_cast<double>(pts - first_pts) * av_q2d(time_base)
                                     : (fps_ > 0 ? static_cast<double>(decoded) / fps_ : static_cast<double>(decoded));
    out.index = decoded++;
    out.dropped_before = 0;
    out.gap_before = 0;
}

// One decoded frame from the packets; false at the end of the stream. A read that fails first
// drains the frames the decoder still holds, then throws.
bool FfmpegInput::receive(VideoFrame& out) {
    for (;;) {
        int rc = avcodec_receive_frame(codec.get(), frame.get());
        if (rc == 0) {
            if (hw.pix_fmt != AV_PIX_FMT_NONE && frame->format == hw.pix_fmt) {
                // On the device: copied to memory (its timestamps with it) for the RGB conversion.
                rc = av_hwframe_transfer_data(transferred.get(), frame.get(), 0);
                if (rc < 0) fail("copy a frame from the " + hw.name + " device", rc);
                av_frame_copy_props(transferred.get(), frame.get());
                convert(transferred.get(), out);
                av_frame_unref(transferred.get());
            } else {
                convert(frame.get(), out);
            }
            av_frame_unref(frame.get());
            return true;
        }
        if (rc != AVERROR_EOF && rc != AVERROR(EAGAIN)) fail("decode", rc);
        if (rc == AVERROR_EOF || draining) {
            if (read_error != 0) fail("read", read_error);
            return false;
        }
        arm(source_is_live(kind) ? params.read_timeout : 0);
        rc = av_read_frame(format, packet.get());
        if (rc < 0) {
            if (stop && stop()) fail("read", rc);
            // The end (or a broken rest) of the input: the decoder gives what it holds first.
            if (rc != AVERROR_EOF && source_is_live(kind)) read_error = rc;
            draining = true;
            avcodec_send_packet(codec.get(), nullptr);
            continue;
        }
        if (packet->stream_index == stream) {
            rc = avcodec_send_packet(codec.get(), packet.get());
            if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_INVALIDDATA) {
                av_packet_unref(packet.get());
                fail("decode", rc);
            }
        }
        av_packet_unref(packet.get());
    }
}

FfmpegInput::FfmpegInput(const VideoSourceParams& p, std::function<bool()> should_stop) {
    ffmpeg::quiet_logs();
    params = p;
    kind = source_kind(p.url);
    stop = std::move(should_stop);
    if (p.rtsp_transport != "tcp" && p.rtsp_transport != "udp")
        throw Error("rtsp transport '" + p.rtsp_transport + "': expected tcp or udp");
    try {
        open_input();
        open_decoder();
    } catch (...) {
        if (format) avformat_close_input(&format);  // the destructor does not run for a constructor that throws
        throw;
    }
}

std::string FfmpegInput::hwaccel_note() const {
    if (hw.fell_back)
        return "--hwaccel " + params.hwaccel + ": " + hw.name +
               " cannot decode this stream's profile; decoding in software";
    return hw.note;
}

std::string FfmpegInput::description() const {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.3g", fps_);
    const std::string device = hwaccel().empty() ? "" : " (" + hwaccel() + ")";
    return std::string(codec->codec->name) + device + " " + std::to_string(width_) + "x" + std::to_string(height_) +
           " " + rate + " fps (" + format->iformat->name + ")";
}

VideoInput* open_ffmpeg_input(const VideoSourceParams& params, std::function<bool()> should_stop) {
    return new FfmpegInput(params, std::move(should_stop));
}

}  // namespace chickenseg
