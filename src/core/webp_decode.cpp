// WebP decoding with libwebp's animation decoder, the way Pillow drives it (see
// webp_decode.h). Pillow 13's _webp.c: WebPAnimDecoderNew(data, NULL), so the
// default options (MODE_RGBA, no threads); WebPAnimDecoderGetNext for the first
// frame; the canvas bytes read with raw mode RGBA or RGBX; convert("RGB") keeps
// the first three bytes of each pixel.
#include "webp_decode.h"

#include <webp/decode.h>
#include <webp/demux.h>

#include <memory>

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace {

struct AnimDecoderDelete {
    void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};
struct DemuxDelete {
    void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};

std::string size_text(uint64_t w, uint64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

const char* status_text(VP8StatusCode status) {
    switch (status) {
        case VP8_STATUS_OK:
            return "ok";
        case VP8_STATUS_OUT_OF_MEMORY:
            return "out of memory";
        case VP8_STATUS_INVALID_PARAM:
            return "invalid parameter";
        case VP8_STATUS_BITSTREAM_ERROR:
            return "bitstream error";
        case VP8_STATUS_UNSUPPORTED_FEATURE:
            return "unsupported feature";
        case VP8_STATUS_SUSPENDED:
            return "suspended";
        case VP8_STATUS_USER_ABORT:
            return "aborted";
        case VP8_STATUS_NOT_ENOUGH_DATA:
            return "not enough data";
    }
    return "unknown status";
}

// WebPAnimDecoderNew returned null: asks the demuxer whether it refuses the file
// (error path only). A file cut short never gets here: read_image_info refuses a
// file shorter than its RIFF size, and the demuxer reads no further than that.
[[noreturn]] void throw_demux_error(const WebPData& data, const std::string& name) {
    WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
    std::unique_ptr<WebPDemuxer, DemuxDelete> demux(WebPDemuxPartial(&data, &state));
    if (!demux || state != WEBP_DEMUX_DONE)
        throw Error(
            "corrupt WebP: libwebp's demuxer refuses its chunks (a chunk larger than the RIFF "
            "data, a missing or misplaced image chunk, or a frame outside the canvas)",
            name);
    throw Error("cannot decode WebP pixels: libwebp's animation decoder cannot be created for this file", name);
}

// WebPAnimDecoderGetNext failed on the first frame: decodes that frame alone to
// get libwebp's status for the message (error path only).
[[noreturn]] void throw_frame_error(const WebPAnimDecoder* decoder, const std::string& name) {
    std::string reason = "the first frame does not decode";
    const WebPDemuxer* demux = WebPAnimDecoderGetDemuxer(decoder);
    WebPIterator frame;
    if (demux != nullptr && WebPDemuxGetFrame(demux, 1, &frame)) {
        WebPDecoderConfig config;
        if (WebPInitDecoderConfig(&config)) {
            config.output.colorspace = MODE_RGBA;
            const VP8StatusCode status = WebPDecode(frame.fragment.bytes, frame.fragment.size, &config);
            WebPFreeDecBuffer(&config.output);
            if (status != VP8_STATUS_OK) reason += std::string(" (libwebp: ") + status_text(status) + ")";
        }
        WebPDemuxReleaseIterator(&frame);
    }
    throw Error("cannot decode WebP pixels: " + reason, name);
}

}  // namespace

RgbImage webp_decode_rgb(std::span<const uint8_t> webp, uint32_t width, uint32_t height, const std::string& name) {
    WebPData data;
    WebPDataInit(&data);
    data.bytes = webp.data();
    data.size = webp.size();

    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options))
        throw Error("cannot decode WebP pixels: libwebpdemux's ABI differs from the headers built against", name);
    options.color_mode = MODE_RGBA;  // Pillow passes no options: these are the defaults
    options.use_threads = 0;
    std::unique_ptr<WebPAnimDecoder, AnimDecoderDelete> decoder(WebPAnimDecoderNew(&data, &options));
    if (!decoder) throw_demux_error(data, name);

    WebPAnimInfo info;
    if (!WebPAnimDecoderGetInfo(decoder.get(), &info))
        throw Error("cannot decode WebP pixels: libwebp gives no canvas information", name);
    if (info.canvas_width != width || info.canvas_height != height)
        throw Error("cannot decode WebP pixels: libwebp reads a " + size_text(info.canvas_width, info.canvas_height) +
                        " canvas, the header says " + size_text(width, height),
                    name);

    uint8_t* canvas = nullptr;  // canvas_width * canvas_height * 4 bytes, owned by the decoder
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(decoder.get(), &canvas, &timestamp) || canvas == nullptr)
        throw_frame_error(decoder.get(), name);

    RgbImage image;
    image.width = width;
    image.height = height;
    const size_t pixels = size_t{width} * height;
    image.pixels.resize(pixels * 3);
    uint8_t* out = image.pixels.data();
    for (size_t i = 0; i < pixels; ++i, canvas += 4, out += 3) {
        out[0] = canvas[0];
        out[1] = canvas[1];
        out[2] = canvas[2];
    }
    return image;
}

}  // namespace chickenseg
