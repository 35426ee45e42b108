// A transcription of Pillow 13's Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal_8bpc / Vertical_8bpc, ImagingResampleInner) for 3-channel 8-bit
// images and the bilinear filter. The double arithmetic is written in Pillow's order, so the
// weights, and therefore the bytes, are the same.
#include "chickenseg/runtime/image_resize.h"

#include <cmath>
#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kBilinearSupport = 1.0;

double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

// Per output position: the first input index, the count of inputs, and `ksize` fixed-point
// weights (zeros past the count).
struct Coefficients {
    int ksize = 0;
    std::vector<int> bounds;       // 2 per output: xmin, count
    std::vector<int32_t> weights;  // ksize per output
};

Coefficients precompute(int in_size, double in0, double in1, int out_size) {
    double scale = (in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = kBilinearSupport * filterscale;
    Coefficients c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.bounds.resize(static_cast<size_t>(out_size) * 2);
    c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
    std::vector<double> k(c.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        double ss = 1.0 / filterscale;
        int xmin = static_cast<int>(center - support + 0.5);  // truncation, as C's (int)
        if (xmin < 0) xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; ++x) {
            double w = bilinear_filter((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; ++x)
            if (ww != 0.0) k[x] /= ww;
        for (int x = xmax; x < c.ksize; ++x) k[x] = 0;
        c.bounds[xx * 2] = xmin;
        c.bounds[xx * 2 + 1] = xmax;
        for (int x = 0; x < c.ksize; ++x) {
            double scaled = k[x] * (1 << kPrecisionBits);
            c.weights[static_cast<size_t>(xx) * c.ksize + x] =
                static_cast<int32_t>(k[x] < 0 ? -0.5 + scaled : 0.5 + scaled);
        }
    }
    return c;
}

uint8_t clip8(int32_t v) {
    v >>= kPrecisionBits;
    return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Rows [row0, row0 + rows) of `in` resized horizontally to out_w.
RgbImage resample_horizontal(const RgbView& in, int row0, int rows, int out_w, const Coefficients& c) {
    RgbImage out{static_cast<uint32_t>(out_w), static_cast<uint32_t>(rows), {}};
    out.pixels.resize(static_cast<size_t>(out_w) * rows * 3);
    const ptrdiff_t step = in.pixel_stride, ch = in.channel_stride;
    for (int y = 0; y < rows; ++y) {
        const uint8_t* src = in.pixel(0, static_cast<uint32_t>(y + row0));
        uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * out_w * 3;
        for (int xx = 0; xx < out_w; ++xx) {
            int xmin = c.bounds[xx * 2], count = c.bounds[xx * 2 + 1];
            const int32_t* k = c.weights.data() + static_cast<size_t>(xx) * c.ksize;
            int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < count; ++x) {
                const uint8_t* p = src + (x + xmin) * step;
                s0 += p[0] * k[x];
                s1 += p[ch] * k[x];
                s2 += p[2 * ch] * k[x];
            }
            dst[xx * 3] = clip8(s0);
            dst[xx * 3 + 1] = clip8(s1);
            dst[xx * 3 + 2] = clip8(s2);
        }
    }
    return out;
}

// `in` resized vertically to out_h; bounds are relative to `in`'s first row.
RgbImage resample_vertical(const RgbView& in, int out_h, const Coefficients& c, int row_shift) {
    RgbImage out{in.width, static_cast<uint32_t>(out_h), {}};
    const size_t row_bytes = static_cast<size_t>(in.width) * 3;
    out.pixels.resize(row_bytes * out_h);
    for (int yy = 0; yy < out_h; ++yy) {
        int ymin = c.bounds[yy * 2] - row_shift, count = c.bounds[yy * 2 + 1];
        const int32_t* k = c.weights.data() + static_cast<size_t>(yy) * c.ksize;
        uint8_t* dst = out.pixels.data() + yy * row_bytes;
        const uint8_t* first = in.pixel(0, static_cast<uint32_t>(ymin));
        if (in.packed()) {  // a row is row_bytes contiguous bytes: one loop over them
            for (size_t i = 0; i < row_bytes; ++i) {
                int32_t s = 1 << (kPrecisionBits - 1);
                for (int y = 0; y < count; ++y) s += first[y * in.row_stride + static_cast<ptrdiff_t>(i)] * k[y];
                dst[i] = clip8(s);
            }
            continue;
        }
        for (uint32_t x = 0; x < in.width; ++x)
            for (int ch = 0; ch < 3; ++ch) {
                const uint8_t* p = first + x * in.pixel_stride + ch * in.channel_stride;
                int32_t s = 1 << (kPrecisionBits - 1);
                for (int y = 0; y < count; ++y) s += p[y * in.row_stride] * k[y];
                dst[x * 3 + ch] = clip8(s);
            }
    }
    return out;
}

// The view's pixels as an image of their own.
RgbImage copy_of(const RgbView& v) {
    RgbImage out{v.width, v.height, std::vector<uint8_t>(static_cast<size_t>(v.width) * v.height * 3)};
    uint8_t* dst = out.pixels.data();
    for (uint32_t y = 0; y < v.height; ++y)
        for (uint32_t x = 0; x < v.width; ++x, dst += 3) {
            const uint8_t* p = v.pixel(x, y);
            dst[0] = p[0];
            dst[1] = p[v.channel_stride];
            dst[2] = p[2 * v.channel_stride];
        }
    return out;
}

}  // namespace

RgbImage resize_bilinear(const RgbImage& image, uint32_t width, uint32_t height) {
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
        throw Error("pixel buffer holds " + std::to_string(image.pixels.size()) + " bytes, expected " +
                    std::to_string(static_cast<size_t>(image.width) * image.height * 3) + " (width x height x 3)");
    return resize_bilinear(rgb_view(image), width, height);
}

RgbImage resize_bilinear(const RgbView& image, uint32_t width, uint32_t height) {
    if (image.width == 0 || image.height == 0 || !image.data) throw Error("cannot resize an empty image");
    if (width == 0 || height == 0) throw Error("cannot resize to an empty image");
    if (width == image.width && height == image.height) return copy_of(image);  // Pillow copies too

    Coefficients horiz = precompute(image.width, 0, image.width, width);
    Coefficients vert = precompute(image.height, 0, image.height, height);
    const bool need_horizontal = width != image.width;
    const bool need_vertical = height != image.height;
    // Pillow 13 runs the vertical pass first when the height shrinks by more than twice as
    // many pixels as the width (a smaller image for the horizontal pass); the rounding after
    // the first pass makes the order visible in the bytes. (Older Pillow always went
    // horizontal first; the project pins Pillow 13.)
    const int64_t height_cut = static_cast<int64_t>(image.height) - height;
    const int64_t width_cut = static_cast<int64_t>(image.width) - width;
    const bool horizontal_first = !(height_cut > 0 && height_cut > width_cut * 2);

    // Each pass reads the view (the source, in place) or the previous pass's image.
    if (horizontal_first) {
        if (!need_horizontal) return resample_vertical(image, height, vert, 0);
        // The horizontal pass covers only the rows the vertical pass reads.
        const int first_row = need_vertical ? vert.bounds[0] : 0;
        const int last_row =
            need_vertical ? vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1] : static_cast<int>(image.height);
        RgbImage across = resample_horizontal(image, first_row, last_row - first_row, width, horiz);
        return need_vertical ? resample_vertical(rgb_view(across), height, vert, first_row) : across;
    }
    RgbImage down = resample_vertical(image, height, vert, 0);
    return need_horizontal ? resample_horizontal(rgb_view(down), 0, height, width, horiz) : down;
}

}  // namespace chickenseg
