#include "chickenseg/core/geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace chickenseg {

double polygon_area(const Polygon& p) {
    size_t n = p.size() / 2;
    if (n < 3) return 0.0;
    double twice = 0.0;
    for (size_t i = 0; i < n; ++i) {
        size_t j = (i + 1) % n;
        twice += p[2 * i] * p[2 * j + 1] - p[2 * j] * p[2 * i + 1];
    }
    return std::abs(twice) * 0.5;
}

BoxXywh polygons_bbox(const std::vector<Polygon>& polygons) {
    double x0 = std::numeric_limits<double>::infinity(), y0 = x0;
    double x1 = -x0, y1 = -x0;
    bool any = false;
    for (const auto& p : polygons) {
        for (size_t i = 0; i + 1 < p.size(); i += 2) {
            x0 = std::min(x0, p[i]);
            x1 = std::max(x1, p[i]);
            y0 = std::min(y0, p[i + 1]);
            y1 = std::max(y1, p[i + 1]);
            any = true;
        }
    }
    if (!any) return {0, 0, 0, 0};
    return {x0, y0, x1 - x0, y1 - y0};
}

Polygon box_to_polygon(const BoxXywh& b) {
    double x0 = b[0], y0 = b[1], x1 = b[0] + b[2], y1 = b[1] + b[3];
    return {x0, y0, x1, y0, x1, y1, x0, y1};
}

Polygon circle_to_polygon(double cx, double cy, double r, int vertices) {
    if (vertices <= 0) {
        // Relative area error of an inscribed n-gon is about (2 pi^2 / 3) / n^2;
        // 0.5% needs n >= 37. Larger circles get more vertices so edges stay short.
        vertices = std::clamp(static_cast<int>(std::ceil(2 * std::numbers::pi * r / 4.0)), 40, 360);
    }
    Polygon p;
    p.reserve(2 * static_cast<size_t>(vertices));
    for (int i = 0; i < vertices; ++i) {
        double a = 2 * std::numbers::pi * i / vertices;
        p.push_back(cx + r * std::cos(a));
        p.push_back(cy + r * std::sin(a));
    }
    return p;
}

double box_iou(const BoxXywh& a, const BoxXywh& b) {
    double ix = std::max(0.0, std::min(a[0] + a[2], b[0] + b[2]) - std::max(a[0], b[0]));
    double iy = std::max(0.0, std::min(a[1] + a[3], b[1] + b[3]) - std::max(a[1], b[1]));
    double inter = ix * iy;
    double uni = a[2] * a[3] + b[2] * b[3] - inter;
    return uni > 0 ? inter / uni : 0.0;
}

}  // namespace chickenseg
