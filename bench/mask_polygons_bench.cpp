// Speed of rle_to_polygons (mask outline to simplified polygons) on 1920x1080 masks, the
// target being well under 10 ms per mask: a chicken-sized mask, a large one, a ragged one
// (the outline of a thresholded model output: speckle and holes), several birds in one mask.
//
//   mask_polygons_bench [REPEATS=200]
//
// Prints one table row per mask: pixels, parts, vertices, the IoU of the polygons filled
// back (rle_from_polygons) with the mask, and the median time of rle_to_polygons and of the
// fill back.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "chickenseg/core/mask_polygons.h"
#include "chickenseg/core/rle.h"

using namespace chickenseg;

namespace {

constexpr uint32_t kH = 1080, kW = 1920;

struct Canvas {
    std::vector<uint8_t> px = std::vector<uint8_t>(static_cast<size_t>(kH) * kW, 0);
    void ellipse(double cx, double cy, double rx, double ry, double angle, uint8_t value = 1) {
        const double c = std::cos(angle), s = std::sin(angle), r = std::max(rx, ry);
        const auto x0 = static_cast<uint32_t>(std::clamp(cx - r, 0.0, double(kW)));
        const auto x1 = static_cast<uint32_t>(std::clamp(cx + r + 1, 0.0, double(kW)));
        const auto y0 = static_cast<uint32_t>(std::clamp(cy - r, 0.0, double(kH)));
        const auto y1 = static_cast<uint32_t>(std::clamp(cy + r + 1, 0.0, double(kH)));
        for (uint32_t x = x0; x < x1; ++x)
            for (uint32_t y = y0; y < y1; ++y) {
                const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                const double u = (dx * c + dy * s) / rx, v = (-dx * s + dy * c) / ry;
                if (u * u + v * v <= 1) px[static_cast<size_t>(x) * kH + y] = value;
            }
    }
    void chicken(double cx, double cy, double scale) {
        ellipse(cx, cy, 160 * scale, 110 * scale, 0.4);
        ellipse(cx + 100 * scale, cy - 80 * scale, 45 * scale, 40 * scale, 0);
        ellipse(cx - 20 * scale, cy + 120 * scale, 8 * scale, 50 * scale, 0.15);
        ellipse(cx + 30 * scale, cy + 120 * scale, 8 * scale, 50 * scale, -0.15);
    }
    Rle rle() const { return rle_encode(px, kH, kW); }
};

template <class Fn>
double median_ms(int repeats, Fn fn) {
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        const auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
    std::vector<std::pair<std::string, Rle>> masks;
    {
        Canvas c;
        c.chicken(900, 500, 1.0);
        masks.emplace_back("chicken", c.rle());
    }
    {
        Canvas c;
        c.chicken(960, 520, 2.6);
        masks.emplace_back("large", c.rle());
    }
    {
        Canvas c;
        c.chicken(900, 500, 1.0);
        std::mt19937 rng(3);
        std::uniform_real_distribution<double> ux(650, 1150), uy(330, 700), ur(0.5, 3);
        for (int i = 0; i < 300; ++i) c.ellipse(ux(rng), uy(rng), ur(rng), ur(rng), 0, i % 2);
        masks.emplace_back("ragged", c.rle());
    }
    {
        Canvas c;
        for (int i = 0; i < 8; ++i) c.chicken(200 + 220 * i, 300 + 60 * (i % 3) + 300 * (i % 2), 0.5);
        masks.emplace_back("8_birds", c.rle());
    }

    const MaskPolygonParams params;
    std::printf("%-9s %-8s %-6s %-9s %-8s %-14s %-12s\n", "mask", "pixels", "parts", "vertices", "iou",
                "to_polygons_ms", "fill_back_ms");
    for (const auto& [name, m] : masks) {
        std::vector<Polygon> polygons = rle_to_polygons(m, params);
        size_t vertices = 0;
        for (const auto& p : polygons) vertices += p.size() / 2;
        const Rle back = rle_from_polygons(polygons, m.h, m.w);
        const double iou = rle_iou(std::span<const Rle>(&back, 1), std::span<const Rle>(&m, 1), {})[0];
        const double to_ms = median_ms(repeats, [&] { polygons = rle_to_polygons(m, params); });
        const double back_ms = median_ms(repeats, [&] { (void)rle_from_polygons(polygons, m.h, m.w); });
        std::printf("%-9s %-8llu %-6zu %-9zu %-8.4f %-14.3f %-12.3f\n", name.c_str(),
                    static_cast<unsigned long long>(rle_area(m)), polygons.size(), vertices, iou, to_ms, back_ms);
    }
    return 0;
}
