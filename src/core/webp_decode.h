// WebP pixel decoding with libwebp's animation decoder (WebPAnimDecoder, from
// libwebpdemux), the path Pillow takes for every WebP file (WebPImagePlugin.py,
// _webp.c), so that decode_image gives the bytes of PIL's
// Image.open(p).convert("RGB"). Private to src/core.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "chickenseg/core/image.h"

namespace chickenseg {

// Decodes the first frame of `webp` to RGB in its stored orientation (EXIF is not
// applied here). `width` x `height` is the canvas read_image_info found (the VP8X
// canvas, or the VP8/VP8L frame size); the caller checks the pixel limit first,
// since the animation decoder allocates the canvas when it is created. As Pillow
// does:
// - WebPAnimDecoderNew with the default options: colour mode MODE_RGBA (not
//   premultiplied), no threads;
// - the first frame, as WebPAnimDecoderGetNext gives it: decoded onto a canvas
//   cleared to transparent black (0, 0, 0, 0), so canvas pixels the frame does
//   not cover are black, and pixels of alpha 0 keep the RGB the bitstream holds;
// - convert("RGB") keeps R, G and B and drops alpha (no blending with a
//   background colour; the ANIM background colour is ignored, as by Pillow).
// Throws Error naming `name`: "corrupt WebP: ..." when libwebp's demuxer refuses
// the chunks, "cannot decode WebP pixels: ..." (with libwebp's status, e.g.
// "bitstream error") when the frame data does not decode.
RgbImage webp_decode_rgb(std::span<const uint8_t> webp, uint32_t width, uint32_t height, const std::string& name);

}  // namespace chickenseg
