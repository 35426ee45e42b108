#include "pixels.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "chickenseg/core/error.h"

namespace chickenseg::python {

RgbImage rgb_from_pixels(const PixelView& v) {
    if (v.height <= 0 || v.width <= 0)
        throw Error("an empty image (" + std::to_string(v.height) + " x " + std::to_string(v.width) +
                    " pixels): expected at least 1 x 1");
    const uint64_t pixels = static_cast<uint64_t>(v.height) * static_cast<uint64_t>(v.width);
    if (v.height > UINT32_MAX || v.width > UINT32_MAX || pixels > kImageMaxDecodePixels)
        throw Error("an image of " + std::to_string(v.height) + " x " + std::to_string(v.width) +
                    " pixels: more than the " + std::to_string(kImageMaxDecodePixels) +
                    " pixels the runtime accepts (Pillow's limit, as for image files)");
    RgbImage image;
    image.width = static_cast<uint32_t>(v.width);
    image.height = static_cast<uint32_t>(v.height);
    image.pixels.resize(pixels * 3);
    uint8_t* out = image.pixels.data();
    const int64_t row_bytes = v.width * 3;
    const bool packed_pixels = v.strides[2] == 1 && v.strides[1] == 3;
    if (packed_pixels && !v.bgr && v.strides[0] == row_bytes) {
        std::memcpy(out, v.data, static_cast<size_t>(pixels * 3));
        return image;
    }
    const int r = v.bgr ? 2 : 0, b = v.bgr ? 0 : 2;
    for (int64_t y = 0; y < v.height; ++y) {
        const uint8_t* row = v.data + y * v.strides[0];
        uint8_t* dst = out + y * row_bytes;
        if (packed_pixels && !v.bgr) {
            std::memcpy(dst, row, static_cast<size_t>(row_bytes));
        } else if (packed_pixels) {
            for (int64_t x = 0; x < v.width; ++x, row += 3, dst += 3) {
                dst[0] = row[2];
                dst[1] = row[1];
                dst[2] = row[0];
            }
        } else {
            for (int64_t x = 0; x < v.width; ++x, row += v.strides[1], dst += 3) {
                dst[0] = row[r * v.strides[2]];
                dst[1] = row[v.strides[2]];
                dst[2] = row[b * v.strides[2]];
            }
        }
    }
    return image;
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
