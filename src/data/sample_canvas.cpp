#include "sample_canvas.h"

#include <numbers>

namespace chickenseg::sample_detail {

uint64_t SampleRng::next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double SampleRng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

int SampleRng::range(int lo, int hi) {
    uint64_t span = static_cast<uint64_t>(static_cast<int64_t>(hi) - lo + 1);
    // Modulo bias is below 2^-50 for the small spans used here.
    return lo + static_cast<int>(next_u64() % span);
}

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
    SampleRng a(seed ^ (stream * 0xD1B54A32D192ED03ull));
    a.next_u64();
    return a.next_u64();
}

Canvas::Canvas(uint32_t width, uint32_t height)
    : width_(width), height_(height), px_(static_cast<size_t>(width) * height * 3, 0.0f) {}

Rgb Canvas::get(uint32_t x, uint32_t y) const {
    size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
    return {px_[i], px_[i + 1], px_[i + 2]};
}

void Canvas::set(uint32_t x, uint32_t y, const Rgb& c) {
    size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
    for (int k = 0; k < 3; ++k) px_[i + k] = static_cast<float>(c[k]);
}

void Canvas::blend(uint32_t x, uint32_t y, const Rgb& c, double alpha) {
    size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
    for (int k = 0; k < 3; ++k) px_[i + k] = static_cast<float>(px_[i + k] * (1.0 - alpha) + c[k] * alpha);
}

void Canvas::blur(int x0, int y0, int x1, int y1, int radius, int passes) {
    x0 = std::max(0, x0);
    y0 = std::max(0, y0);
    x1 = std::min(static_cast<int>(width_), x1);
    y1 = std::min(static_cast<int>(height_), y1);
    if (x1 - x0 < 2 || y1 - y0 < 2 || radius < 1) return;
    std::vector<float> line;
    auto blur_run = [&](auto index, int length) {
        // Running-sum box filter over one row or column; edges use the samples that exist.
        line.assign(static_cast<size_t>(length) * 3, 0.0f);
        for (int c = 0; c < 3; ++c) {
            double sum = 0;
            int count = 0;
            int lo = 0, hi = -1;
            for (int i = 0; i < length; ++i) {
                while (hi < std::min(length - 1, i + radius)) {
                    ++hi;
                    sum += px_[index(hi) + c];
                    ++count;
                }
                while (lo < i - radius) {
                    sum -= px_[index(lo) + c];
                    --count;
                    ++lo;
                }
                line[static_cast<size_t>(i) * 3 + c] = static_cast<float>(sum / count);
            }
        }
        for (int i = 0; i < length; ++i)
            for (int c = 0; c < 3; ++c) px_[index(i) + c] = line[static_cast<size_t>(i) * 3 + c];
    };
    for (int p = 0; p < passes; ++p) {
        for (int y = y0; y < y1; ++y)
            blur_run([&](int i) { return (static_cast<size_t>(y) * width_ + static_cast<size_t>(x0 + i)) * 3; },
                     x1 - x0);
        for (int x = x0; x < x1; ++x)
            blur_run([&](int i) { return (static_cast<size_t>(y0 + i) * width_ + static_cast<size_t>(x)) * 3; },
                     y1 - y0);
    }
}

RgbImage Canvas::to_image() const {
    RgbImage img;
    img.width = width_;
    img.height = height_;
    img.pixels.resize(px_.size());
    for (size_t i = 0; i < px_.size(); ++i)
        img.pixels[i] = static_cast<uint8_t>(std::clamp(std::lround(px_[i]), 0l, 255l));
    return img;
}

Mask polygon_mask(const Polygon& poly, uint32_t width, uint32_t height) {
    Mask m;
    m.width = width;
    m.height = height;
    m.bits.assign(static_cast<size_t>(width) * height, 0);
    for_each_pixel_in_polygon(poly, width, height, [&](int x, int y) {
        m.bits[static_cast<size_t>(y) * width + static_cast<size_t>(x)] = 1;
    });
    return m;
}

Polygon ellipse_polygon(double cx, double cy, double a, double b, double angle, int vertices) {
    Polygon p;
    p.reserve(2 * static_cast<size_t>(vertices));
    double ca = std::cos(angle), sa = std::sin(angle);
    for (int i = 0; i < vertices; ++i) {
        double t = 2 * std::numbers::pi * i / vertices;
        double ex = a * std::cos(t), ey = b * std::sin(t);
        p.push_back(cx + ex * ca - ey * sa);
        p.push_back(cy + ex * sa + ey * ca);
    }
    return p;
}

Polygon clip_polygon_to_rect(const Polygon& poly, double width, double height) {
    // Clip against the four half-planes in turn: x >= 0, x <= width, y >= 0, y <= height.
    Polygon cur = poly;
    for (int edge = 0; edge < 4; ++edge) {
        auto inside = [&](double x, double y) {
            switch (edge) {
                case 0:
                    return x >= 0.0;
                case 1:
                    return x <= width;
                case 2:
                    return y >= 0.0;
                default:
                    return y <= height;
            }
        };
        auto cross = [&](double xa, double ya, double xb, double yb) -> std::array<double, 2> {
            double t = 0;
            switch (edge) {
                case 0:
                    t = (0.0 - xa) / (xb - xa);
                    return {0.0, ya + t * (yb - ya)};
                case 1:
                    t = (width - xa) / (xb - xa);
                    return {width, ya + t * (yb - ya)};
                case 2:
                    t = (0.0 - ya) / (yb - ya);
                    return {xa + t * (xb - xa), 0.0};
                default:
                    t = (height - ya) / (yb - ya);
                    return {xa + t * (xb - xa), height};
            }
        };
        Polygon out;
        size_t n = cur.size() / 2;
        for (size_t i = 0; i < n; ++i) {
            double xa = cur[2 * i], ya = cur[2 * i + 1];
            size_t j = (i + 1) % n;
            double xb = cur[2 * j], yb = cur[2 * j + 1];
            bool ia = inside(xa, ya), ib = inside(xb, yb);
            if (ia) {
                out.push_back(xa);
                out.push_back(ya);
            }
            if (ia != ib) {
                auto c = cross(xa, ya, xb, yb);
                out.push_back(c[0]);
                out.push_back(c[1]);
            }
        }
        cur = std::move(out);
        if (cur.size() < 6) return cur;
    }
    return cur;
}

Polygon simplify_polygon(const Polygon& poly, double tolerance) {
    size_t n = poly.size() / 2;
    if (n <= 3) return poly;
    std::vector<bool> keep(n, true);
    // One pass: a vertex is dropped when it lies within `tolerance` of the segment
    // joining the previous kept vertex and the next vertex.
    size_t prev = 0;
    for (size_t i = 1; i < n; ++i) {
        size_t next = (i + 1) % n;
        double ax = poly[2 * prev], ay = poly[2 * prev + 1];
        double bx = poly[2 * next], by = poly[2 * next + 1];
        double px = poly[2 * i], py = poly[2 * i + 1];
        double dx = bx - ax, dy = by - ay;
        double len = std::hypot(dx, dy);
        double dist = len > 1e-12 ? std::abs((px - ax) * dy - (py - ay) * dx) / len : std::hypot(px - ax, py - ay);
        if (dist < tolerance) {
            keep[i] = false;
        } else {
            prev = i;
        }
    }
    Polygon out;
    for (size_t i = 0; i < n; ++i)
        if (keep[i]) {
            out.push_back(poly[2 * i]);
            out.push_back(poly[2 * i + 1]);
        }
    return out.size() >= 6 ? out : poly;
}

void draw_line(Canvas& canvas, double x0, double y0, double x1, double y1, double thickness, const Rgb& colour,
               double alpha) {
    double dx = x1 - x0, dy = y1 - y0;
    double len = std::hypot(dx, dy);
    if (len < 1e-9) return;
    // A thin rectangle along the segment, filled like any polygon.
    double nx = -dy / len * thickness * 0.5, ny = dx / len * thickness * 0.5;
    Polygon quad{x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny};
    for_each_pixel_in_polygon(quad, canvas.width(), canvas.height(), [&](int x, int y) {
        canvas.blend(static_cast<uint32_t>(x), static_cast<uint32_t>(y), colour, alpha);
    });
}

}  // namespace chickenseg::sample_detail
