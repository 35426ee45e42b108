// COCO RLE, following pycocotools' maskApi.c step for step where the result depends
// on it (rounding in the polygon rasteriser, run merging, the string codec), so the
// outputs are bit-identical; written with vectors and spans instead of malloc.
#include "chickenseg/core/rle.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "chickenseg/core/error.h"
#include "core/rle_internal.h"

namespace chickenseg {
using namespace rle_internal;
namespace {

// maskApi converts doubles to int with a C cast; on x86-64 (cvttsd2si) a NaN or an
// out-of-range value becomes INT_MIN. rleFrPoly hits this for a zero-length edge
// (slope 0/0 = NaN), so the same value is produced here without undefined behaviour.
int truncate_to_int(double d) {
    if (!(d > -2147483649.0 && d < 2147483648.0)) return std::numeric_limits<int>::min();
    return static_cast<int>(d);
}

// Collects the y-boundary points of rleFrPoly's densely sampled outline. maskApi
// stores every upsampled point first; only consecutive pairs matter, so the points
// are consumed as they are generated and memory stays proportional to the output.
class BoundaryCollector {
public:
    BoundaryCollector(uint32_t h, uint32_t w) : h_(h), w_(w) {}

    void add(int u, int v) {
        if (have_prev_ && u != prev_u_) emit(prev_u_, prev_v_, u, v);
        set_last(u, v);
    }

    // The step from point (pu, pv) to (u, v), u != pu, of a stretch the caller walks itself.
    void step(int pu, int pv, int u, int v) { emit(pu, pv, u, v); }
    void set_last(int u, int v) {
        prev_u_ = u;
        prev_v_ = v;
        have_prev_ = true;
    }

    std::vector<uint64_t>& positions() { return positions_; }

private:
    void emit(int pu, int pv, int u, int v) {
        constexpr double kScale = 5;
        const int xi = u < pu ? u : u - 1;
        // (xi + .5) / 5 - .5 = (xi - 2) / 5 is an integer exactly when 5 divides xi - 2 (in
        // doubles too: the division is exact then, and at least 1/5 off an integer otherwise),
        // so four of five points leave here, before the floating-point test maskApi makes.
        if ((xi - 2) % 5 != 0) return;
        double xd = static_cast<double>(xi);
        xd = (xd + .5) / kScale - .5;
        if (std::floor(xd) != xd || xd < 0 || xd > static_cast<double>(w_) - 1) return;
        double yd = static_cast<double>(v < pv ? v : pv);
        yd = (yd + .5) / kScale - .5;
        if (yd < 0)
            yd = 0;
        else if (yd > h_)
            yd = h_;
        yd = std::ceil(yd);
        positions_.push_back(static_cast<uint64_t>(xd) * h_ + static_cast<uint64_t>(yd));
    }

    uint32_t h_, w_;
    bool have_prev_ = false;
    int prev_u_ = 0, prev_v_ = 0;
    std::vector<uint64_t> positions_;
};

// Walks one edge of the upsampled polygon exactly as rleFrPoly does (same flip, slope
// and rounding), feeding the points to the collector in outline order.
void walk_edge(int xs, int ys, int xe, int ye, BoundaryCollector& out) {
    int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
        std::swap(xs, xe);
        std::swap(ys, ye);
    }
    double s = dx >= dy ? static_cast<double>(ye - ys) / dx : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
        // u moves by one at every point, so every step emits, and only the steps whose
        // smaller u is 2 modulo 5 can land on a pixel column: those are the only ones computed.
        auto point_v = [&](int d) { return truncate_to_int(ys + s * (flip ? dx - d : d) + .5); };
        auto point_u = [&](int d) { return (flip ? dx - d : d) + xs; };
        out.add(point_u(0), point_v(0));  // may continue the previous edge
        const int u0 = point_u(0);
        // Increasing u: the smaller of steps d-1, d is u0 + d - 1; decreasing: u0 - d.
        int first = flip ? (u0 - 2) % 5 : (3 - u0) % 5;
        first = (first + 5) % 5;
        if (first == 0) first = 5;
        for (int d = first; d <= dx; d += 5) out.step(point_u(d - 1), point_v(d - 1), point_u(d), point_v(d));
        if (dx > 0) out.set_last(point_u(dx), point_v(dx));
    } else {
        for (int d = 0; d <= dy; ++d) {
            int t = flip ? dy - d : d;
            out.add(truncate_to_int(xs + s * t + .5), t + ys);
        }
    }
}

// Sorts the toggle positions (maskApi: qsort). They come in outline order, where each
// stretch of the outline moving right (or left) gives an ascending (or descending) run, so
// a polygon is a few long runs: the descending ones are reversed and neighbours merged, which
// is linear for a convex outline. Outlines with many runs take a plain sort.
void sort_outline_positions(std::vector<uint64_t>& a) {
    constexpr size_t kMaxRuns = 64;
    std::vector<size_t> bounds{0};
    for (size_t i = 0, n = a.size(); i < n;) {
        size_t j = i + 1;
        if (j < n && a[j] < a[i]) {
            while (j < n && a[j] < a[j - 1]) ++j;
            std::reverse(a.begin() + static_cast<ptrdiff_t>(i), a.begin() + static_cast<ptrdiff_t>(j));
        } else {
            while (j < n && a[j] >= a[j - 1]) ++j;
        }
        bounds.push_back(j);
        i = j;
        if (bounds.size() > kMaxRuns + 1) {
            std::sort(a.begin(), a.end());
            return;
        }
    }
    std::vector<uint64_t> merged(a.size());
    while (bounds.size() > 2) {  // pairs of neighbouring runs, until one is left
        std::vector<size_t> next{0};
        for (size_t r = 0; r + 1 < bounds.size(); r += 2) {
            const auto lo = a.begin() + static_cast<ptrdiff_t>(bounds[r]);
            const auto mid = a.begin() + static_cast<ptrdiff_t>(bounds[r + 1]);
            const size_t hi_index = r + 2 < bounds.size() ? bounds[r + 2] : bounds[r + 1];
            std::merge(lo, mid, mid, a.begin() + static_cast<ptrdiff_t>(hi_index),
                       merged.begin() + static_cast<ptrdiff_t>(bounds[r]));
            next.push_back(hi_index);
        }
        a.swap(merged);
        bounds.swap(next);
    }
}

// Turns sorted toggle positions into run lengths, as the end of rleFrPoly: two
// toggles at the same position cancel, merging the run after them into the one before.
std::vector<uint32_t> toggles_to_counts(std::vector<uint64_t>& a) {
    sort_outline_positions(a);
    uint64_t prev = 0;
    for (auto& x : a) {
        uint64_t t = x;
        x -= prev;
        prev = t;
    }
    std::vector<uint32_t> counts;
    counts.reserve(a.size());
    size_t j = 0;
    counts.push_back(static_cast<uint32_t>(a[j++]));
    while (j < a.size()) {
        if (a[j] > 0) {
            counts.push_back(static_cast<uint32_t>(a[j++]));
        } else {
            ++j;
            if (j < a.size()) counts.back() += static_cast<uint32_t>(a[j++]);
        }
    }
    return counts;
}

}  // namespace

void rle_check(const Rle& rle) {
    uint64_t sum = 0;
    for (uint32_t c : rle.counts) sum += c;
    if (sum != pixel_count(rle.h, rle.w))
        throw Error("RLE counts sum to " + std::to_string(sum) + ", expected h*w = " + std::to_string(rle.h) + "*" +
                    std::to_string(rle.w) + " = " + std::to_string(pixel_count(rle.h, rle.w)));
}

Rle rle_encode(std::span<const uint8_t> mask, uint32_t h, uint32_t w) {
    check_pixel_count(h, w, "rle_encode");
    if (mask.size() != pixel_count(h, w))
        throw Error("rle_encode: mask has " + std::to_string(mask.size()) +
                    " bytes, expected h*w = " + std::to_string(pixel_count(h, w)));
    Rle r{h, w, {}};
    bool value = false;
    uint32_t run = 0;
    for (uint8_t px : mask) {
        if ((px != 0) != value) {
            r.counts.push_back(run);
            run = 0;
            value = !value;
        }
        ++run;
    }
    r.counts.push_back(run);
    return r;
}

std::vector<uint8_t> rle_decode(const Rle& rle) {
    rle_check(rle);
    std::vector<uint8_t> mask(pixel_count(rle.h, rle.w));
    size_t pos = 0;
    for (size_t j = 0; j < rle.counts.size(); ++j) {
        if (j % 2 == 1) std::fill_n(mask.begin() + static_cast<ptrdiff_t>(pos), rle.counts[j], uint8_t{1});
        pos += rle.counts[j];
    }
    return mask;
}

uint64_t rle_area(const Rle& rle) {
    uint64_t a = 0;
    for (size_t j = 1; j < rle.counts.size(); j += 2) a += rle.counts[j];
    return a;
}

BoxXywh rle_to_bbox(const Rle& rle) {
    // Same 32-bit arithmetic as maskApi (including the wrap-around of cc - 1 after a
    // zero-length leading run), so even odd counts give pycocotools' box.
    size_t m = rle.counts.size() / 2 * 2;
    uint32_t h = rle.h, w = rle.w;
    if (m == 0 || h == 0) return {0, 0, 0, 0};
    uint32_t xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
    for (size_t j = 0; j < m; ++j) {
        cc += rle.counts[j];
        uint32_t t = cc - static_cast<uint32_t>(j % 2);
        uint32_t y = t % h, x = (t - y) / h;
        if (j % 2 == 0) {
            xp = x;
        } else if (xp < x) {
            ys = 0;
            ye = h - 1;
        }
        xs = std::min(xs, x);
        xe = std::max(xe, x);
        ys = std::min(ys, y);
        ye = std::max(ye, y);
    }
    return {static_cast<double>(xs), static_cast<double>(ys), static_cast<double>(xe - xs + 1),
            static_cast<double>(ye - ys + 1)};
}

Rle rle_from_polygon(std::span<const double> xy, uint32_t h, uint32_t w) {
    check_pixel_count(h, w, "rle_from_polygon");
    if (xy.size() % 2 != 0)
        throw Error("polygon has " + std::to_string(xy.size()) +
                    " values, expected an even number (x1, y1, x2, y2, ...)");
    for (size_t i = 0; i < xy.size(); ++i) {
        if (!std::isfinite(xy[i]) || std::abs(xy[i]) > kMaxPolygonCoordinate)
            throw Error("polygon value " + std::to_string(i) + " is " + std::to_string(xy[i]) +
                        ", expected a finite pixel coordinate within +-1e7");
    }
    size_t k = xy.size() / 2;
    Rle r{h, w, {}};
    if (k == 0 || w == 0) {
        // maskApi reads uninitialised memory for an empty polygon; an empty mask is the
        // only sensible answer. A zero-width image has no pixels to fill.
        r.counts.push_back(static_cast<uint32_t>(pixel_count(h, w)));
        return r;
    }
    constexpr double kScale = 5;
    std::vector<int> x(k + 1), y(k + 1);
    for (size_t j = 0; j < k; ++j) {
        x[j] = static_cast<int>(kScale * xy[2 * j] + .5);
        y[j] = static_cast<int>(kScale * xy[2 * j + 1] + .5);
    }
    x[k] = x[0];
    y[k] = y[0];
    BoundaryCollector collector(h, w);
    for (size_t j = 0; j < k; ++j) walk_edge(x[j], y[j], x[j + 1], y[j + 1], collector);
    std::vector<uint64_t>& a = collector.positions();
    a.push_back(pixel_count(h, w));
    r.counts = toggles_to_counts(a);
    return r;
}

Rle rle_from_bbox(const BoxXywh& box, uint32_t h, uint32_t w) {
    double xs = box[0], xe = xs + box[2];
    double ys = box[1], ye = ys + box[3];
    const double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
    return rle_from_polygon(xy, h, w);
}

Rle rle_from_polygons(const std::vector<std::vector<double>>& polygons, uint32_t h, uint32_t w) {
    if (polygons.empty()) {
        check_pixel_count(h, w, "rle_from_polygons");
        return Rle{h, w, {static_cast<uint32_t>(pixel_count(h, w))}};
    }
    std::vector<Rle> parts;
    parts.reserve(polygons.size());
    for (size_t i = 0; i < polygons.size(); ++i) {
        try {
            parts.push_back(rle_from_polygon(polygons[i], h, w));
        } catch (const Error& e) {
            throw Error("polygon " + std::to_string(i) + ": " + e.message());
        }
    }
    return rle_merge(parts, false);
}

Rle rle_merge(std::span<const Rle> masks, bool intersect) {
    if (masks.empty()) return Rle{};
    const uint32_t h = masks[0].h, w = masks[0].w;
    for (size_t i = 0; i < masks.size(); ++i) {
        if (masks[i].h != h || masks[i].w != w)
            throw Error("rle_merge: mask " + std::to_string(i) + " is " + size_text(masks[i]) +
                        ", expected the size of mask 0, " + size_text(masks[0]));
        rle_check(masks[i]);
    }
    if (masks.size() == 1) return masks[0];
    // Walks both run lists in step, emitting a run whenever the combined value changes;
    // the loop is maskApi's rleMerge, so zero-length runs come out the same way.
    std::vector<uint32_t> acc = masks[0].counts, out;
    for (size_t i = 1; i < masks.size(); ++i) {
        const std::vector<uint32_t>& A = acc;
        const std::vector<uint32_t>& B = masks[i].counts;
        out.clear();
        out.reserve(A.size() + B.size() + 1);
        uint32_t ca = A.empty() ? 0 : A[0], cb = B.empty() ? 0 : B[0];
        bool v = false, va = false, vb = false;
        size_t a = 1, b = 1;
        uint32_t cc = 0;
        uint64_t ct = 1;
        while (ct > 0) {
            uint32_t c = std::min(ca, cb);
            cc += c;
            ct = 0;
            ca -= c;
            if (!ca && a < A.size()) {
                ca = A[a++];
                va = !va;
            }
            ct += ca;
            cb -= c;
            if (!cb && b < B.size()) {
                cb = B[b++];
                vb = !vb;
            }
            ct += cb;
            bool vp = v;
            v = intersect ? (va && vb) : (va || vb);
            if (v != vp || ct == 0) {
                out.push_back(cc);
                cc = 0;
            }
        }
        acc.swap(out);
    }
    return Rle{h, w, std::move(acc)};
}

}  // namespace chickenseg
