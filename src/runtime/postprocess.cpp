#include "chickenseg/runtime/postprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

// a * b + c rounded once, as the fused multiply-add PyTorch's CPU kernels are compiled to
// (its float32 bilinear kernel matches this bit for bit, the separate multiply and add do
// not). The product of two floats is exact in a double; the sum is rounded to a double, then
// to a float: that double rounding differs from one rounding only when the exact sum lies
// within 2^-29 ulp of a float midpoint, and a plain double costs no FMA instruction
// (the baseline x86-64 build has none, and a libm fmaf call per pixel is slow).
inline float fma_f32(float a, float b, float c) {
    return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) + static_cast<double>(c));
}

// One output index's two source indices and weights along an axis, as PyTorch's
// upsample_bilinear2d computes them for align_corners=False and no scale factor
// (area_pixel_compute_source_index, guard_index_and_lambda), in float32.
struct Tap {
    uint32_t i0 = 0;
    uint32_t i1 = 0;
    float w0 = 1;
    float w1 = 0;
};

std::vector<Tap> linear_taps(uint32_t in, uint32_t out) {
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    std::vector<Tap> taps(out);
    for (uint32_t i = 0; i < out; ++i) {
        float src = fma_f32(scale, static_cast<float>(i) + 0.5f, -0.5f);
        if (src < 0) src = 0;
        const int64_t index = std::min<int64_t>(static_cast<int64_t>(std::floor(src)), int64_t{in} - 1);
        const float lambda = std::min(std::max(src - static_cast<float>(index), 0.0f), 1.0f);
        Tap& t = taps[i];
        t.i0 = static_cast<uint32_t>(index);
        t.i1 = t.i0 + (t.i0 + 1 < in ? 1 : 0);
        t.w0 = 1.0f - lambda;
        t.w1 = lambda;
    }
    return taps;
}

// Appends pixels in column-major order and keeps COCO's alternating runs (zeros first).
class RunBuilder {
public:
    void add(bool value, uint32_t n) {
        if (n == 0) return;
        if (value != value_) {
            counts_.push_back(run_);
            run_ = 0;
            value_ = value;
        }
        run_ += n;
    }
    // One pixel per byte, 0 or 1, in column-major order. Each run's end is found with memchr,
    // which scans many bytes per instruction.
    void add_pixels(const std::vector<uint8_t>& pixels) {
        const uint8_t* at = pixels.data();
        const uint8_t* end = at + pixels.size();
        while (at < end) {
            const auto* next = static_cast<const uint8_t*>(std::memchr(at, value_ ? 0 : 1, size_t(end - at)));
            if (!next) next = end;
            run_ += static_cast<uint32_t>(next - at);
            at = next;
            if (at < end) {
                counts_.push_back(run_);
                run_ = 0;
                value_ = !value_;
            }
        }
    }
    Rle finish(uint32_t h, uint32_t w) {
        counts_.push_back(run_);
        return Rle{h, w, std::move(counts_)};
    }

private:
    std::vector<uint32_t> counts_;
    uint32_t run_ = 0;
    bool value_ = false;
};

// The values transposed to column-major (x outer), so that blending two source columns reads
// contiguous memory.
std::vector<float> by_column(std::span<const float> values, uint32_t mask_h, uint32_t mask_w) {
    std::vector<float> p(values.size());
    for (uint32_t y = 0; y < mask_h; ++y)
        for (uint32_t x = 0; x < mask_w; ++x) p[size_t{x} * mask_h + y] = values[size_t{y} * mask_w + x];
    return p;
}

void check_sizes(std::span<const float> values, uint32_t mask_h, uint32_t mask_w, uint32_t out_h, uint32_t out_w) {
    if (mask_h == 0 || mask_w == 0 || out_h == 0 || out_w == 0)
        throw Error("mask resize: sizes must be positive (mask " + std::to_string(mask_h) + "x" +
                    std::to_string(mask_w) + ", output " + std::to_string(out_h) + "x" + std::to_string(out_w) + ")");
    if (values.size() != size_t{mask_h} * mask_w)
        throw Error("mask resize: " + std::to_string(values.size()) + " values for a " + std::to_string(mask_h) + "x" +
                    std::to_string(mask_w) + " mask");
    if (uint64_t{out_h} * out_w > std::numeric_limits<uint32_t>::max())
        throw Error("mask resize: " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                    " has more pixels than COCO RLE counts hold (2^32 - 1)");
}

// The two source columns blended for every source row, as PyTorch's inner (width) step does:
// t0 * w0 + t1 * w1 with the first product fused.
void blend_columns(const std::vector<float>& p, uint32_t mask_h, const Tap& t, std::vector<float>& column) {
    const float* a = p.data() + size_t{t.i0} * mask_h;
    const float* b = p.data() + size_t{t.i1} * mask_h;
    for (uint32_t j = 0; j < mask_h; ++j) column[j] = fma_f32(a[j], t.w0, b[j] * t.w1);
}

// The outer (height) step on a blended column, the same way.
inline float blend_rows(const std::vector<float>& column, const Tap& t) {
    return fma_f32(column[t.i0], t.w0, column[t.i1] * t.w1);
}

// PyTorch resizes an output whose height + width is at most 128 with another CPU kernel (its
// channels-last one: _use_vectorized_kernel_cond_2d), which weighs the four neighbours at
// once: ((a w00 + b w01) + c w10) + d w11 with w00 = wy0 wx0 ..., fused left to right. Such
// outputs are a few thousand pixels: they are evaluated pixel by pixel that way.
constexpr uint32_t kSmallOutputSides = 128;

bool small_output(uint32_t out_h, uint32_t out_w) { return uint64_t{out_h} + out_w <= kSmallOutputSides; }

// `p` column-major (by_column), mask_h rows.
float small_value(const std::vector<float>& p, uint32_t mask_h, const Tap& ty, const Tap& tx) {
    const float a = p[size_t{tx.i0} * mask_h + ty.i0], b = p[size_t{tx.i1} * mask_h + ty.i0];
    const float c = p[size_t{tx.i0} * mask_h + ty.i1], d = p[size_t{tx.i1} * mask_h + ty.i1];
    const float w00 = ty.w0 * tx.w0, w01 = ty.w0 * tx.w1, w10 = ty.w1 * tx.w0, w11 = ty.w1 * tx.w1;
    return fma_f32(d, w11, fma_f32(c, w10, fma_f32(a, w00, b * w01)));
}

// Output rows sharing the same two source rows: between them the value is a convex
// combination of two numbers, so it lies between them.
struct Segment {
    uint32_t begin = 0;
    uint32_t end = 0;
    uint32_t i0 = 0;
    uint32_t i1 = 0;
};

std::vector<Segment> row_segments(const std::vector<Tap>& rows) {
    std::vector<Segment> segments;
    for (uint32_t y = 0; y < rows.size(); ++y) {
        if (segments.empty() || segments.back().i0 != rows[y].i0 || segments.back().i1 != rows[y].i1)
            segments.push_back({y, y, rows[y].i0, rows[y].i1});
        segments.back().end = y + 1;
    }
    return segments;
}

// How far from the threshold a value must be for every blend of it to fall on the same side,
// for values of magnitude at most 1 (side_margin scales it). One 2-tap blend as PyTorch rounds
// it, fma(a, w0, b * w1) with w0 = 1 - lambda in float32, lies within 3 float32 half-ulps of 1
// (2^-24 each: w0, b * w1 and the result) of the exact a + (b - a) lambda, and a mask passes
// through two (columns, then rows): 3.6e-7 at most, and this leaves a factor of almost 3.
// Probabilities from a barely trained model sit within 1e-5 of 0.5 over whole masks, so a wider
// margin sends most pixels to the per-pixel path.
constexpr double kSideMargin = 1e-6;

double side_margin(std::span<const float> values, float threshold) {
    double largest = std::max(1.0, std::abs(static_cast<double>(threshold)));
    for (float v : values) largest = std::max(largest, std::abs(static_cast<double>(v)));
    return kSideMargin * largest;
}

// The rows' weights apart (structure of arrays), for a loop over rows that vectorises.
struct RowWeights {
    std::vector<float> w0, w1;
    explicit RowWeights(const std::vector<Tap>& rows) {
        for (const Tap& t : rows) {
            w0.push_back(t.w0);
            w1.push_back(t.w1);
        }
    }
};

// blend_rows for rows [begin, end) of a segment, whose taps all read a and b: whether each is
// above the threshold, 0 or 1 into out[0 ...], in one loop the compiler vectorises (out, a byte
// array, could alias the weights for all it knows: hence __restrict).
void blend_sides(float a, float b, const RowWeights& rows, uint32_t begin, uint32_t end, float threshold,
                 uint8_t* __restrict out) {
    const float* __restrict w0 = rows.w0.data() + begin;
    const float* __restrict w1 = rows.w1.data() + begin;
    const uint32_t n = end - begin;
    for (uint32_t i = 0; i < n; ++i) out[i] = fma_f32(a, w0[i], b * w1[i]) > threshold;
}

// The rows of one segment whose two source values straddle the threshold. Its rows blend the
// same two values a and b with a weight lambda that grows with the row, so the exact blend
// a + (b - a) lambda is monotonic along the segment, and the rounded blend the reference
// computes lies within a few float32 ulps of it (side_margin bounds them). The rows
// where the exact blend is clearly above (or below) the threshold form one run at one end; only
// the few in between, near the crossing, are evaluated as the reference does. Two binary
// searches instead of a comparison per pixel: a smooth mask crosses its threshold once per
// column, and most of an up-sampled mask's rows lie in such segments.
void add_crossing_segment(const std::vector<float>& column, const RowWeights& rows, const Segment& s, float threshold,
                          double margin, std::vector<uint8_t>& pixels, RunBuilder& runs) {
    const double a = column[s.i0], b = column[s.i1];
    const bool rising = b >= a;
    auto exact = [&](uint32_t y) { return a + (b - a) * static_cast<double>(rows.w1[y]); };
    // First row (from begin) at or past a level, in the direction the blend moves.
    auto first_past = [&](double level) {
        uint32_t lo = s.begin, hi = s.end;
        while (lo < hi) {
            const uint32_t mid = lo + (hi - lo) / 2;
            if (rising ? exact(mid) >= level : exact(mid) <= level)
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    };
    const uint32_t near = first_past(rising ? threshold - margin : threshold + margin);
    const uint32_t beyond = first_past(rising ? threshold + margin : threshold - margin);
    runs.add(!rising, near - s.begin);
    pixels.resize(beyond - near);
    blend_sides(column[s.i0], column[s.i1], rows, near, beyond, threshold, pixels.data());
    runs.add_pixels(pixels);
    runs.add(rising, s.end - beyond);
}

// A column whose source values straddle the threshold in many segments (a barely trained
// model's masks hover at 0.5 everywhere) is cheaper pixel by pixel, in one pass the compiler
// vectorises, than segment by segment with two binary searches each.
constexpr size_t kFewCrossings = 4;

enum class Side { below, above, straddles };

Side segment_side(const std::vector<float>& column, const Segment& s, double below, double above) {
    const float a = column[s.i0], b = column[s.i1];
    if (std::min(a, b) > above) return Side::above;
    if (std::max(a, b) < below) return Side::below;
    return Side::straddles;
}

size_t crossings(const std::vector<float>& column, const std::vector<Segment>& segments, double below, double above) {
    size_t n = 0;
    for (const Segment& s : segments) n += segment_side(column, s, below, above) == Side::straddles;
    return n;
}

// Every output row of the column, 0 or 1, into `pixels`: the reference's blend where a segment
// straddles the threshold, its side elsewhere.
void column_pixels(const std::vector<float>& column, const RowWeights& rows, const std::vector<Segment>& segments,
                   float threshold, double below, double above, std::vector<uint8_t>& pixels) {
    pixels.resize(rows.w0.size());
    for (const Segment& s : segments) {
        const Side side = segment_side(column, s, below, above);
        if (side != Side::straddles) {
            std::fill(pixels.begin() + s.begin, pixels.begin() + s.end, side == Side::above);
            continue;
        }
        blend_sides(column[s.i0], column[s.i1], rows, s.begin, s.end, threshold, pixels.data() + s.begin);
    }
}

}  // namespace

std::vector<KeptQuery> select_queries(std::span<const float> scores, double threshold) {
    const auto limit = static_cast<float>(threshold);
    std::vector<KeptQuery> kept;
    for (size_t q = 0; q < scores.size(); ++q)
        if (scores[q] >= limit) kept.push_back({static_cast<int>(q), scores[q]});
    std::stable_sort(kept.begin(), kept.end(),
                     [](const KeptQuery& a, const KeptQuery& b) { return a.score > b.score; });
    return kept;
}

BoxXywh box_to_pixels(std::span<const float> xyxy, uint32_t width, uint32_t height) {
    if (xyxy.size() != 4) throw Error("box: expected 4 values (x0, y0, x1, y1), found " + std::to_string(xyxy.size()));
    const double x0 = xyxy[0], y0 = xyxy[1], x1 = xyxy[2], y1 = xyxy[3];
    return {x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height};
}

Rle mask_probabilities_to_rle(std::span<const float> probabilities, uint32_t mask_h, uint32_t mask_w, uint32_t out_h,
                              uint32_t out_w, float threshold) {
    check_sizes(probabilities, mask_h, mask_w, out_h, out_w);
    if (small_output(out_h, out_w))
        return mask_probabilities_to_rle_reference(probabilities, mask_h, mask_w, out_h, out_w, threshold);
    const std::vector<float> p = by_column(probabilities, mask_h, mask_w);
    // Per source column, its extremes: an output column blended from two columns that lie
    // wholly on one side of the threshold is one run.
    std::vector<float> column_max(mask_w), column_min(mask_w);
    for (uint32_t x = 0; x < mask_w; ++x) {
        const auto [lo, hi] = std::minmax_element(p.begin() + size_t{x} * mask_h, p.begin() + size_t{x + 1} * mask_h);
        column_min[x] = *lo;
        column_max[x] = *hi;
    }
    const std::vector<Tap> columns = linear_taps(mask_w, out_w);
    const std::vector<Tap> rows = linear_taps(mask_h, out_h);
    const std::vector<Segment> segments = row_segments(rows);
    const RowWeights weights(rows);
    const double margin = side_margin(probabilities, threshold);
    const double below = threshold - margin, above = threshold + margin;

    RunBuilder runs;
    std::vector<float> column(mask_h);
    std::vector<uint8_t> pixels;  // the rows of a segment evaluated one by one
    for (uint32_t x = 0; x < out_w; ++x) {
        const Tap& t = columns[x];
        if (std::max(column_max[t.i0], column_max[t.i1]) < below) {
            runs.add(false, out_h);
            continue;
        }
        if (std::min(column_min[t.i0], column_min[t.i1]) > above) {
            runs.add(true, out_h);
            continue;
        }
        blend_columns(p, mask_h, t, column);
        if (crossings(column, segments, below, above) > kFewCrossings) {
            column_pixels(column, weights, segments, threshold, below, above, pixels);
            runs.add_pixels(pixels);
            continue;
        }
        for (const Segment& s : segments) {
            const Side side = segment_side(column, s, below, above);
            if (side == Side::straddles)
                add_crossing_segment(column, weights, s, threshold, margin, pixels, runs);
            else
                runs.add(side == Side::above, s.end - s.begin);
        }
    }
    return runs.finish(out_h, out_w);
}

Rle mask_probabilities_to_rle_reference(std::span<const float> probabilities, uint32_t mask_h, uint32_t mask_w,
                                        uint32_t out_h, uint32_t out_w, float threshold) {
    check_sizes(probabilities, mask_h, mask_w, out_h, out_w);
    const std::vector<float> p = by_column(probabilities, mask_h, mask_w);
    const std::vector<Tap> columns = linear_taps(mask_w, out_w);
    const std::vector<Tap> rows = linear_taps(mask_h, out_h);
    RunBuilder runs;
    if (small_output(out_h, out_w)) {
        for (uint32_t x = 0; x < out_w; ++x)
            for (uint32_t y = 0; y < out_h; ++y) runs.add(small_value(p, mask_h, rows[y], columns[x]) > threshold, 1);
        return runs.finish(out_h, out_w);
    }
    std::vector<float> column(mask_h);
    for (uint32_t x = 0; x < out_w; ++x) {
        blend_columns(p, mask_h, columns[x], column);
        for (uint32_t y = 0; y < out_h; ++y) runs.add(blend_rows(column, rows[y]) > threshold, 1);
    }
    return runs.finish(out_h, out_w);
}

std::vector<float> resize_bilinear_f32(std::span<const float> values, uint32_t in_h, uint32_t in_w, uint32_t out_h,
                                       uint32_t out_w) {
    check_sizes(values, in_h, in_w, out_h, out_w);
    const std::vector<float> p = by_column(values, in_h, in_w);
    const std::vector<Tap> columns = linear_taps(in_w, out_w);
    const std::vector<Tap> rows = linear_taps(in_h, out_h);
    std::vector<float> out(size_t{out_h} * out_w), column(in_h);
    if (small_output(out_h, out_w)) {
        for (uint32_t x = 0; x < out_w; ++x)
            for (uint32_t y = 0; y < out_h; ++y) out[size_t{y} * out_w + x] = small_value(p, in_h, rows[y], columns[x]);
        return out;
    }
    for (uint32_t x = 0; x < out_w; ++x) {
        blend_columns(p, in_h, columns[x], column);
        for (uint32_t y = 0; y < out_h; ++y) out[size_t{y} * out_w + x] = blend_rows(column, rows[y]);
    }
    return out;
}

}  // namespace chickenseg
