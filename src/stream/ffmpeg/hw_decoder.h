// Hardware decoding for the stream's video input (`--hwaccel`), where FFmpeg offers it: a
// device of the type asked for (or, for "auto", the first of the types this FFmpeg build has
// that the decoder supports and that opens here: NVDEC on an NVIDIA machine, VA-API on Intel
// and AMD...). Decoded frames then live on the device and are copied back for the RGB
// conversion; the detector needs them in memory anyway. A device that is missing or fails is
// never an error: decoding goes on in software and the note says why.
#pragma once

#include <string>

#include "stream/ffmpeg/ffmpeg_support.h"

namespace chickenseg::ffmpeg {

struct HwDecoder {
    AVPixelFormat pix_fmt = AV_PIX_FMT_NONE;  // the decoder's frames on the device; NONE: software
    std::string name;                         // the device type ("cuda"); "" = software
    std::string note;                         // a log line on what was chosen and why ("" = nothing to say)
    bool fell_back = false;                   // the stream itself could not be decoded on the device
};

// "" when `name` is auto, none or a device type this FFmpeg knows; otherwise the problem.
std::string check_hwaccel_name(const std::string& name);

// Before avcodec_open2: attaches the device `choice` asks for ("none", "auto" or a type name
// such as "cuda") to `codec` and sets its get_format callback, which keeps a pointer to `hw`
// (so `hw` must outlive `codec`). Throws Error only for a name FFmpeg does not know.
void attach_hw_decoder(AVCodecContext* codec, const AVCodec* decoder, const std::string& choice, HwDecoder& hw);

}  // namespace chickenseg::ffmpeg
