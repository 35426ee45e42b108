// JPEG pixel decoding with libjpeg-turbo, configured as Pillow configures it
// (src/libImaging/JpegDecode.c, JpegImagePlugin.py), so that decode_image gives the
// bytes of PIL's Image.open(p).convert("RGB"). Private to src/core.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "chickenseg/core/image.h"

namespace chickenseg {

// Decodes `jpeg` to RGB in its stored orientation (EXIF is not applied here).
// `width` x `height` is the size read_image_info found in the frame header; the
// output buffer is allocated for it before libjpeg runs, so the caller checks the
// pixel limit first. As Pillow does:
// - libjpeg's defaults: JDCT_ISLOW, fancy upsampling, block smoothing;
// - 1 component (grey) is decoded to grey and replicated to R, G and B (mode L, then
//   convert("RGB")); 3 components to RGB (libjpeg's YCbCr or RGB conversion);
//   4 components (CMYK, YCCK) to CMYK, inverted as Adobe writes it ("CMYK;I"), then
//   turned into RGB with Pillow's formula (Convert.c cmyk2rgb);
// - libjpeg warnings ("Corrupt JPEG data: ...", a scan cut short by a marker) are
//   accepted, as Pillow accepts them;
// - data that ends before the last row is refused (Pillow: "image file is
//   truncated"); once every row is read, the end of the file ends decoding quietly.
// Throws Error naming `name`: "cannot decode JPEG pixels: libjpeg: <its message>",
// "truncated image: ...", or a component count or size Pillow would not accept.
RgbImage jpeg_decode_rgb(std::span<const uint8_t> jpeg, uint32_t width, uint32_t height, const std::string& name);

}  // namespace chickenseg
