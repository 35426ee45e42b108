#include "stream/ffmpeg/hw_decoder.h"

extern "C" {
#include <libavutil/hwcontext.h>
}

#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

std::string known_types() {
    std::string names;
    for (auto t = av_hwdevice_iterate_types(AV_HWDEVICE_TYPE_NONE); t != AV_HWDEVICE_TYPE_NONE;
         t = av_hwdevice_iterate_types(t))
        names += std::string(names.empty() ? "" : ", ") + av_hwdevice_get_type_name(t);
    return names.empty() ? "none in this FFmpeg build" : names;
}

// The pixel format the decoder gives on a device of `type`, or NONE when it cannot decode there.
AVPixelFormat device_format(const AVCodec* decoder, AVHWDeviceType type) {
    for (int i = 0;; ++i) {
        const AVCodecHWConfig* config = avcodec_get_hw_config(decoder, i);
        if (!config) return AV_PIX_FMT_NONE;
        if ((config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && config->device_type == type)
            return config->pix_fmt;
    }
}

// FFmpeg offers the formats it can decode this stream to; the device's when it can, else (a
// profile the device does not support) the software one, remembered for the summary.
AVPixelFormat choose_format(AVCodecContext* codec, const AVPixelFormat* offered) {
    auto* hw = static_cast<ffmpeg::HwDecoder*>(codec->opaque);
    for (const AVPixelFormat* p = offered; *p != AV_PIX_FMT_NONE; ++p)
        if (*p == hw->pix_fmt) return *p;
    hw->fell_back = true;
    return avcodec_default_get_format(codec, offered);
}

}  // namespace

std::string ffmpeg::check_hwaccel_name(const std::string& name) {
    if (name == "auto" || name == "none" || av_hwdevice_find_type_by_name(name.c_str()) != AV_HWDEVICE_TYPE_NONE)
        return {};
    return "unknown hardware decoder '" + name +
           "' (expected auto, none or a device type of this FFmpeg: " + known_types() + ")";
}

void ffmpeg::attach_hw_decoder(AVCodecContext* codec, const AVCodec* decoder, const std::string& choice,
                               HwDecoder& hw) {
    if (choice == "none") return;
    std::string problem = check_hwaccel_name(choice);
    if (!problem.empty()) throw Error("--hwaccel: " + problem);
    std::vector<AVHWDeviceType> candidates;
    if (choice == "auto") {
        for (auto t = av_hwdevice_iterate_types(AV_HWDEVICE_TYPE_NONE); t != AV_HWDEVICE_TYPE_NONE;
             t = av_hwdevice_iterate_types(t))
            candidates.push_back(t);
    } else {
        candidates.push_back(av_hwdevice_find_type_by_name(choice.c_str()));
    }
    std::string tried;
    for (AVHWDeviceType type : candidates) {
        const std::string name = av_hwdevice_get_type_name(type);
        const AVPixelFormat format = device_format(decoder, type);
        if (format == AV_PIX_FMT_NONE) {
            // auto tries only the types that can decode this codec; a named one says why not.
            if (choice != "auto") tried = name + ": " + decoder->name + " cannot be decoded there";
            continue;
        }
        AVBufferRef* device = nullptr;
        int rc = av_hwdevice_ctx_create(&device, type, nullptr, nullptr, 0);
        if (rc < 0) {
            tried += (tried.empty() ? "" : ", ") + name + ": " + error_text(rc);
            continue;
        }
        codec->hw_device_ctx = device;  // the codec context owns the reference now
        codec->opaque = &hw;
        codec->get_format = choose_format;
        hw.pix_fmt = format;
        hw.name = name;
        hw.note = "decoding " + std::string(decoder->name) + " on " + name + " (--hwaccel " + choice + ")";
        return;
    }
    hw.note = "--hwaccel " + choice + ": no hardware decoder for " + decoder->name + " here" +
              (tried.empty() ? "" : " (" + tried + ")") + "; decoding in software";
}

}  // namespace chickenseg
