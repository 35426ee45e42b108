#include "pixels.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "chickenseg/core/error.h"

namespace chickenseg::python {

RgbView rgb_view_of(const PixelView& v) {
    if (v.height <= 0 || v.width <= 0)
        throw Error("an empty image (" + std::to_string(v.height) + " x " + std::to_string(v.width) +
                    " pixels): expected at least 1 x 1");
    const uint64_t pixels = static_cast<uint64_t>(v.height) * static_cast<uint64_t>(v.width);
    if (v.height > UINT32_MAX || v.width > UINT32_MAX || pixels > kImageMaxDecodePixels)
        throw Error("an image of " + std::to_string(v.height) + " x " + std::to_string(v.width) +
                    " pixels: more than the " + std::to_string(kImageMaxDecodePixels) +
                    " pixels the runtime accepts (Pillow's limit, as for image files)");
    RgbView view;
    view.width = static_cast<uint32_t>(v.width);
    view.height = static_cast<uint32_t>(v.height);
    view.row_stride = v.strides[0];
    view.pixel_stride = v.strides[1];
    // B, G, R in memory: start at R (the third byte) and step backwards.
    view.data = v.bgr ? v.data + 2 * v.strides[2] : v.data;
    view.channel_stride = v.bgr ? -v.strides[2] : v.strides[2];
    return view;
}

void rle_to_row_major(const Rle& rle, uint8_t* out) {
    rle_check(rle);
    const uint64_t h = rle.h, w = rle.w;
    uint64_t pos = 0;  // column-major position: x = pos / h, y = pos % h
    for (size_t i = 0; i < rle.counts.size(); ++i) {
        uint64_t run = rle.counts[i];
        if (i % 2 == 0) {  // zeros: the output already holds them
            pos += run;
            continue;
        }
        while (run > 0) {
            const uint64_t x = pos / h, y = pos % h;
            const uint64_t n = std::min(run, h - y);  // the part of the run in column x
            uint8_t* p = out + y * w + x;
            for (uint64_t k = 0; k < n; ++k, p += w) *p = 1;
            pos += n;
            run -= n;
        }
    }
}

}  // namespace chickenseg::python
