// Private drawing kit of the sample generator (data/sample.cpp): a portable
// random source and a tiny RGB rasteriser (polygon fill at pixel centres, lines,
// box blur). Written here rather than borrowed because the sample must be the
// same bytes for a seed on every machine, and 120 scenes must render in a few
// seconds without any image library beyond stb's encoders.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "chickenseg/core/geometry.h"
#include "chickenseg/core/image.h"

namespace chickenseg::sample_detail {

// SplitMix64: tiny, fully specified, so a seed gives the same numbers everywhere
// (std:: distributions are not specified exactly and differ between libraries).
class SampleRng {
public:
    explicit SampleRng(uint64_t seed) : state_(seed) {}
    uint64_t next_u64();
    // Uniform in [0, 1) from the top 53 bits.
    double uniform();
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [lo, hi] (inclusive); hi >= lo.
    int range(int lo, int hi);
    bool chance(double p) { return uniform() < p; }

private:
    uint64_t state_;
};

// Mixes a seed and a stream number into an independent seed (one stream per scene,
// so scenes do not depend on each other and on how many come before them).
uint64_t mix_seed(uint64_t seed, uint64_t stream);

using Rgb = std::array<double, 3>;  // 0..255, clamped when stored

// A W x H RGB float canvas plus helpers. Float keeps shading and blending simple;
// the image is quantised once at the end.
class Canvas {
public:
    Canvas(uint32_t width, uint32_t height);
    uint32_t width() const { return width_; }
    uint32_t height() const { return height_; }

    Rgb get(uint32_t x, uint32_t y) const;
    void set(uint32_t x, uint32_t y, const Rgb& c);
    // c blended over the pixel with opacity alpha (0..1).
    void blend(uint32_t x, uint32_t y, const Rgb& c, double alpha);

    // Box blur (three passes approximate a Gaussian) inside [x0,x1) x [y0,y1).
    void blur(int x0, int y0, int x1, int y1, int radius, int passes = 3);

    RgbImage to_image() const;

private:
    uint32_t width_, height_;
    std::vector<float> px_;
};

// Coverage mask of one shape: 1 for every pixel whose centre lies inside.
struct Mask {
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> bits;  // row-major
    bool at(int x, int y) const {
        return x >= 0 && y >= 0 && x < static_cast<int>(width) && y < static_cast<int>(height) &&
               bits[static_cast<size_t>(y) * width + static_cast<size_t>(x)] != 0;
    }
};

// Calls fn(x, y) for every pixel whose centre (x + 0.5, y + 0.5) lies inside the
// polygon (even-odd rule), clipped to width x height.
template <typename Fn>
void for_each_pixel_in_polygon(const Polygon& poly, uint32_t width, uint32_t height, Fn&& fn);

Mask polygon_mask(const Polygon& poly, uint32_t width, uint32_t height);

// Ellipse outline centred at (cx, cy), half-axes a, b, rotated by `angle` radians.
Polygon ellipse_polygon(double cx, double cy, double a, double b, double angle, int vertices = 48);

// Sutherland-Hodgman clip of a polygon to [0, width] x [0, height]; may return
// fewer than 3 points when nothing is left.
Polygon clip_polygon_to_rect(const Polygon& poly, double width, double height);

// Drops vertices that lie on a
// straight line (within `tolerance` pixels): fewer points, same shape.
Polygon simplify_polygon(const Polygon& poly, double tolerance);

// Thick line from (x0,y0) to (x1,y1), blended with alpha.
void draw_line(Canvas& canvas, double x0, double y0, double x1, double y1, double thickness, const Rgb& colour,
               double alpha);

// --- template implementation ---

template <typename Fn>
void for_each_pixel_in_polygon(const Polygon& poly, uint32_t width, uint32_t height, Fn&& fn) {
    size_t n = poly.size() / 2;
    if (n < 3) return;
    double ymin = poly[1], ymax = poly[1];
    for (size_t i = 0; i < n; ++i) {
        ymin = std::min(ymin, poly[2 * i + 1]);
        ymax = std::max(ymax, poly[2 * i + 1]);
    }
    int y_begin = std::max(0, static_cast<int>(std::floor(ymin - 0.5)));
    int y_end = std::min(static_cast<int>(height) - 1, static_cast<int>(std::ceil(ymax - 0.5)));
    std::vector<double> xs;
    for (int y = y_begin; y <= y_end; ++y) {
        double yc = y + 0.5;
        xs.clear();
        for (size_t i = 0; i < n; ++i) {
            size_t j = (i + 1) % n;
            double ya = poly[2 * i + 1], yb = poly[2 * j + 1];
            // Half-open rule: an edge counts when yc is in [min, max), so shared
            // vertices are not counted twice.
            if ((ya <= yc && yc < yb) || (yb <= yc && yc < ya)) {
                double xa = poly[2 * i], xb = poly[2 * j];
                xs.push_back(xa + (yc - ya) * (xb - xa) / (yb - ya));
            }
        }
        std::sort(xs.begin(), xs.end());
        for (size_t k = 0; k + 1 < xs.size(); k += 2) {
            // Pixels whose centre x + 0.5 lies in [xs[k], xs[k+1]).
            int xa = std::max(0, static_cast<int>(std::ceil(xs[k] - 0.5)));
            int xb = std::min(static_cast<int>(width) - 1, static_cast<int>(std::ceil(xs[k + 1] - 0.5)) - 1);
            for (int x = xa; x <= xb; ++x) fn(x, y);
        }
    }
}

}  // namespace chickenseg::sample_detail
