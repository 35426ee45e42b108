#include "chickenseg/core/mask_polygons.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <string>

#include "chickenseg/core/error.h"
#include "chickenseg/core/rle.h"

using namespace chickenseg;

namespace {

// A column-major mask to draw shapes into (a pixel is in a shape when its centre is).
struct Canvas {
    uint32_t h, w;
    std::vector<uint8_t> px;
    Canvas(uint32_t h_, uint32_t w_) : h(h_), w(w_), px(static_cast<size_t>(h_) * w_, 0) {}
    void set(uint32_t x, uint32_t y) { px[static_cast<size_t>(x) * h + y] = 1; }
    void clear(uint32_t x, uint32_t y) { px[static_cast<size_t>(x) * h + y] = 0; }
    template <class Inside>
    void fill(Inside inside) {
        for (uint32_t x = 0; x < w; ++x)
            for (uint32_t y = 0; y < h; ++y)
                if (inside(x + 0.5, y + 0.5)) set(x, y);
    }
    // Rotated ellipse.
    void ellipse(double cx, double cy, double rx, double ry, double angle) {
        const double c = std::cos(angle), s = std::sin(angle);
        fill([&](double x, double y) {
            const double u = ((x - cx) * c + (y - cy) * s) / rx, v = (-(x - cx) * s + (y - cy) * c) / ry;
            return u * u + v * v <= 1;
        });
    }
    // Rotated rectangle around (cx, cy).
    void bar(double cx, double cy, double length, double width, double angle) {
        const double c = std::cos(angle), s = std::sin(angle);
        fill([&](double x, double y) {
            const double u = (x - cx) * c + (y - cy) * s, v = -(x - cx) * s + (y - cy) * c;
            return std::abs(u) <= length / 2 && std::abs(v) <= width / 2;
        });
    }
    Rle rle() const { return rle_encode(px, h, w); }
};

double iou(const Rle& a, const Rle& b) {
    return rle_iou(std::span<const Rle>(&a, 1), std::span<const Rle>(&b, 1), {})[0];
}

// The mask with its holes filled: background not reachable from the border through
// 4-connected background (the complement of 8-connected foreground).
Rle fill_holes(const Rle& m) {
    std::vector<uint8_t> px = rle_decode(m);
    const uint32_t h = m.h, w = m.w;
    std::vector<uint8_t> outside(px.size(), 0);
    std::vector<std::pair<uint32_t, uint32_t>> stack;
    auto push = [&](int64_t x, int64_t y) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        size_t i = static_cast<size_t>(x) * h + static_cast<size_t>(y);
        if (px[i] || outside[i]) return;
        outside[i] = 1;
        stack.push_back({static_cast<uint32_t>(x), static_cast<uint32_t>(y)});
    };
    for (uint32_t x = 0; x < w; ++x) push(x, 0), push(x, int64_t(h) - 1);
    for (uint32_t y = 0; y < h; ++y) push(0, y), push(int64_t(w) - 1, y);
    while (!stack.empty()) {
        auto [x, y] = stack.back();
        stack.pop_back();
        push(int64_t(x) - 1, y), push(int64_t(x) + 1, y), push(x, int64_t(y) - 1), push(x, int64_t(y) + 1);
    }
    for (size_t i = 0; i < px.size(); ++i) px[i] = !outside[i];
    return rle_encode(px, h, w);
}

Rle round_trip(const Rle& m, const MaskPolygonParams& params = {}) {
    return rle_from_polygons(rle_to_polygons(m, params), m.h, m.w);
}

// Every polygon has >= 3 vertices, all inside [0, w] x [0, h].
void expect_valid(const std::vector<Polygon>& polygons, const Rle& m) {
    for (const Polygon& p : polygons) {
        ASSERT_EQ(p.size() % 2, 0u);
        EXPECT_GE(p.size(), 6u);
        for (size_t i = 0; i < p.size(); i += 2) {
            EXPECT_GE(p[i], 0.0);
            EXPECT_LE(p[i], m.w);
            EXPECT_GE(p[i + 1], 0.0);
            EXPECT_LE(p[i + 1], m.h);
        }
    }
}

size_t vertex_count(const std::vector<Polygon>& polygons) {
    size_t n = 0;
    for (const auto& p : polygons) n += p.size() / 2;
    return n;
}

enum class Kind { ellipse, ellipse_union, thin_bar, thin_ellipse, border, one_pixel, several, count };
const char* kind_name(Kind k) {
    static const char* names[] = {"ellipse", "ellipse_union", "thin_bar", "thin_ellipse",
                                  "border",  "one_pixel",     "several"};
    return names[static_cast<int>(k)];
}

Canvas random_case(std::mt19937& rng, Kind kind) {
    auto uni = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
    const auto h = static_cast<uint32_t>(uni(24, 160)), w = static_cast<uint32_t>(uni(24, 160));
    Canvas c(h, w);
    const double angle = uni(0, std::numbers::pi);
    switch (kind) {
        case Kind::ellipse:
            c.ellipse(uni(0.3, 0.7) * w, uni(0.3, 0.7) * h, uni(3, 0.4 * w), uni(3, 0.4 * h), angle);
            break;
        case Kind::ellipse_union: {
            const double cx = uni(0.35, 0.65) * w, cy = uni(0.35, 0.65) * h;
            const int n = static_cast<int>(uni(2, 5));
            for (int i = 0; i < n; ++i)
                c.ellipse(cx + uni(-0.2, 0.2) * w, cy + uni(-0.2, 0.2) * h, uni(3, 0.25 * w), uni(3, 0.25 * h),
                          uni(0, std::numbers::pi));
            break;
        }
        case Kind::thin_bar:
            c.bar(w / 2.0, h / 2.0, uni(0.5, 0.9) * std::min(w, h), uni(2, 5), angle);
            break;
        case Kind::thin_ellipse:
            c.ellipse(w / 2.0, h / 2.0, uni(0.3, 0.45) * std::min(w, h), uni(1.5, 3), angle);
            break;
        case Kind::border:  // centred on or beyond an edge or a corner
            c.ellipse(uni(-0.2, 1.2) * w, (uni(0, 1) < 0.5 ? uni(-0.2, 0.05) : uni(0.95, 1.2)) * h, uni(0.2, 0.6) * w,
                      uni(0.2, 0.6) * h, angle);
            break;
        case Kind::one_pixel:
            c.set(static_cast<uint32_t>(uni(0, w)), static_cast<uint32_t>(uni(0, h)));
            break;
        case Kind::several: {
            const int n = static_cast<int>(uni(2, 6));
            for (int i = 0; i < n; ++i)
                c.ellipse(uni(0, 1) * w, uni(0, 1) * h, uni(2, 0.2 * w), uni(2, 0.2 * h), uni(0, std::numbers::pi));
            break;
        }
        default:
            break;
    }
    return c;
}

}  // namespace

TEST(MaskPolygons, EmptyMaskGivesNoPolygons) {
    EXPECT_TRUE(rle_to_polygons(Canvas(30, 40).rle()).empty());
    EXPECT_TRUE(rle_to_polygons(Rle{0, 0, {}}).empty());
    EXPECT_TRUE(rle_to_polygons(Rle{5, 0, {0}}).empty());
}

TEST(MaskPolygons, BadInputThrows) {
    EXPECT_THROW(rle_to_polygons(Rle{4, 4, {3, 2}}), Error);  // counts do not sum to h*w
    MaskPolygonParams p;
    p.tolerance = -1;
    EXPECT_THROW(rle_to_polygons(Canvas(4, 4).rle(), p), Error);
    p.tolerance = std::nan("");
    EXPECT_THROW(rle_to_polygons(Canvas(4, 4).rle(), p), Error);
    p = {};
    p.max_vertices = 3;
    EXPECT_THROW(rle_to_polygons(Canvas(4, 4).rle(), p), Error);
}

TEST(MaskPolygons, FullImage) {
    MaskPolygonParams p;
    p.min_area = 1;
    for (auto [h, w] : {std::pair{1u, 1u}, {1u, 7u}, {9u, 1u}, {50u, 80u}}) {
        Canvas c(h, w);
        c.fill([](double, double) { return true; });
        const Rle m = c.rle();
        auto polygons = rle_to_polygons(m, p);
        ASSERT_EQ(polygons.size(), 1u) << h << "x" << w;
        expect_valid(polygons, m);
        EXPECT_EQ(rle_decode(rle_from_polygons(polygons, h, w)), rle_decode(m)) << h << "x" << w;
        if (h > 1 && w > 1) {  // the image's corners, exactly
            const double W = w, H = h;
            EXPECT_EQ(polygons[0], (Polygon{0, 0, W, 0, W, H, 0, H}));
        }
    }
}

TEST(MaskPolygons, PartTouchingEveryBorder) {
    // A plus sign whose arms reach all four borders, and a frame along the border (its
    // hole is filled: the whole image comes back).
    Canvas plus(40, 60);
    plus.bar(30, 20, 100, 6, 0);
    plus.bar(30, 20, 100, 6, std::numbers::pi / 2);
    const Rle m = plus.rle();
    auto polygons = rle_to_polygons(m);
    ASSERT_EQ(polygons.size(), 1u);
    expect_valid(polygons, m);
    EXPECT_EQ(rle_decode(round_trip(m)), rle_decode(m));

    Canvas frame(30, 30);
    frame.fill([](double x, double y) { return x < 3 || y < 3 || x > 27 || y > 27; });
    auto framed = rle_to_polygons(frame.rle());
    ASSERT_EQ(framed.size(), 1u);
    expect_valid(framed, frame.rle());
    Canvas full(30, 30);
    full.fill([](double, double) { return true; });
    EXPECT_EQ(rle_decode(round_trip(frame.rle())), rle_decode(full.rle()));
}

TEST(MaskPolygons, DiagonalNeighboursAreOnePart) {
    // Pixels touching only at corners: each diagonal line is one 8-connected part, one
    // polygon, filled back exactly.
    Canvas c(20, 20);
    for (uint32_t i = 2; i < 18; ++i) c.set(i, i);
    c.set(10, 3), c.set(11, 2), c.set(12, 1);  // a second diagonal, apart from the first
    const Rle m = c.rle();
    MaskPolygonParams exact;
    exact.tolerance = 0;
    exact.min_area = 0;
    auto polygons = rle_to_polygons(m, exact);
    EXPECT_EQ(polygons.size(), 2u);
    EXPECT_EQ(rle_decode(rle_from_polygons(polygons, m.h, m.w)), rle_decode(m));
    MaskPolygonParams simplified;  // the IoU check keeps the thin lines
    simplified.min_area = 1;
    EXPECT_GE(iou(round_trip(m, simplified), m), 0.97);

    // Two blocks meeting at one corner: one polygon (with a neck), not two.
    Canvas blocks(12, 12);
    blocks.fill([](double x, double y) { return (x < 5 && y < 5) || (x > 5 && x < 11 && y > 5 && y < 11); });
    auto both = rle_to_polygons(blocks.rle());
    EXPECT_EQ(both.size(), 1u);
    EXPECT_EQ(rle_decode(round_trip(blocks.rle())), rle_decode(blocks.rle()));

    // Checkerboard: one part; its background squares inside are holes.
    Canvas board(9, 11);
    board.fill([](double x, double y) { return (static_cast<int>(x) + static_cast<int>(y)) % 2 == 0; });
    auto one = rle_to_polygons(board.rle(), exact);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(rle_decode(rle_from_polygons(one, 9, 11)), rle_decode(fill_holes(board.rle())));
}

TEST(MaskPolygons, HolesAreFilledAndIslandsInThemDropped) {
    Canvas c(60, 60);
    c.fill([](double x, double y) {
        const double r = std::hypot(x - 30, y - 30);
        return (r > 15 && r < 25) || r < 5;  // a ring with an island in its hole
    });
    auto polygons = rle_to_polygons(c.rle());
    ASSERT_EQ(polygons.size(), 1u);
    Canvas disc(60, 60);
    disc.fill([](double x, double y) { return std::hypot(x - 30, y - 30) < 25; });
    EXPECT_GE(iou(round_trip(c.rle()), disc.rle()), 0.98);

    // The same ring opened by a gap: the island is inside the ring's box but not in a hole.
    Canvas open(60, 60);
    open.fill([](double x, double y) {
        const double r = std::hypot(x - 30, y - 30);
        return ((r > 15 && r < 25) && !(x > 30 && std::abs(y - 30) < 4)) || r < 5;
    });
    EXPECT_EQ(rle_to_polygons(open.rle()).size(), 2u);
    EXPECT_GE(iou(round_trip(open.rle()), open.rle()), 0.98);
}

TEST(MaskPolygons, OnePixelAndMinArea) {
    Canvas c(10, 10);
    c.set(4, 7);
    MaskPolygonParams keep_all;
    keep_all.min_area = 1;
    auto polygons = rle_to_polygons(c.rle(), keep_all);
    ASSERT_EQ(polygons.size(), 1u);
    EXPECT_EQ(polygons[0].size(), 8u);  // the diamond through the pixel's edge midpoints
    EXPECT_EQ(rle_decode(rle_from_polygons(polygons, 10, 10)), rle_decode(c.rle()));
    EXPECT_TRUE(rle_to_polygons(c.rle()).empty());  // default min_area drops it

    // Parts below min_area go, the others stay, largest first.
    Canvas parts(30, 30);
    parts.fill([](double x, double y) { return (x < 3 && y < 3) || (x > 10 && x < 20 && y > 10 && y < 14); });
    parts.set(25, 25);
    MaskPolygonParams p;
    p.min_area = 9;
    auto kept = rle_to_polygons(parts.rle(), p);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(rle_area(rle_from_polygon(kept[0], 30, 30)), 40u);
    EXPECT_EQ(rle_area(rle_from_polygon(kept[1], 30, 30)), 9u);
}

TEST(MaskPolygons, NonMinimalRleReadsTheSame) {
    // Zero-length runs split one foreground run in two: still one part.
    const Rle split{4, 4, {5, 2, 0, 1, 8}};
    const Rle plain{4, 4, {5, 3, 8}};
    EXPECT_EQ(rle_to_polygons(split), rle_to_polygons(plain));
}

TEST(MaskPolygons, MaxVertices) {
    Canvas c(200, 200);
    c.ellipse(100, 100, 80, 50, 0.3);
    MaskPolygonParams p;
    p.max_vertices = 12;
    auto polygons = rle_to_polygons(c.rle(), p);
    ASSERT_EQ(polygons.size(), 1u);
    EXPECT_LE(polygons[0].size() / 2, 12u);
    EXPECT_GE(polygons[0].size() / 2, 4u);
    EXPECT_GE(iou(round_trip(c.rle(), p), c.rle()), 0.9);
}

// With tolerance 0 the traced outline fills back to exactly the mask with holes filled.
TEST(MaskPolygons, ExactOutlineRoundTrip) {
    std::mt19937 rng(7);
    MaskPolygonParams exact;
    exact.tolerance = 0;
    exact.min_area = 0;
    for (int k = 0; k < static_cast<int>(Kind::count); ++k) {
        for (int i = 0; i < 40; ++i) {
            const Rle m = random_case(rng, static_cast<Kind>(k)).rle();
            auto polygons = rle_to_polygons(m, exact);
            expect_valid(polygons, m);
            ASSERT_EQ(rle_decode(rle_from_polygons(polygons, m.h, m.w)), rle_decode(fill_holes(m)))
                << kind_name(static_cast<Kind>(k)) << " case " << i;
        }
    }
}

// The property: simplified polygons fill back to IoU >= 0.95 with the mask (holes filled)
// for every mask of 100 pixels or more. Prints the IoU and vertex statistics per kind.
TEST(MaskPolygons, SimplifiedRoundTripIoU) {
    std::mt19937 rng(11);
    const MaskPolygonParams params;
    std::printf("%-14s %6s %8s %8s %8s %9s %9s\n", "kind", "masks", "min_iou", "mean_iou", "mean_px", "vertices",
                "exact_pct");
    for (int k = 0; k < static_cast<int>(Kind::count); ++k) {
        const Kind kind = static_cast<Kind>(k);
        double min_iou = 1, sum_iou = 0, sum_area = 0, sum_vertices = 0;
        int n = 0, exact = 0;
        for (int i = 0; i < 300; ++i) {
            const Rle m = random_case(rng, kind).rle();
            auto polygons = rle_to_polygons(m, params);
            expect_valid(polygons, m);
            const Rle filled = fill_holes(m);
            const Rle back = rle_from_polygons(polygons, m.h, m.w);
            if (rle_area(m) < 100) continue;
            const double v = iou(back, filled);
            EXPECT_GE(v, 0.95) << kind_name(kind) << " case " << i << ", " << rle_area(m) << " px";
            if (filled == m) {
                EXPECT_GE(iou(back, m), 0.95);
            }
            min_iou = std::min(min_iou, v);
            sum_iou += v;
            sum_area += static_cast<double>(rle_area(m));
            sum_vertices += static_cast<double>(vertex_count(polygons));
            exact += v == 1;
            ++n;
        }
        if (n)
            std::printf("%-14s %6d %8.4f %8.4f %8.0f %9.1f %8.0f%%\n", kind_name(kind), n, min_iou, sum_iou / n,
                        sum_area / n, sum_vertices / n, 100.0 * exact / n);
    }
}

// A chicken-sized mask gives tens of vertices, not thousands.
TEST(MaskPolygons, ChickenSizedMaskGivesTensOfVertices) {
    Canvas c(1080, 1920);
    c.ellipse(900, 500, 160, 110, 0.4);  // body
    c.ellipse(1000, 420, 45, 40, 0);     // head
    c.bar(880, 640, 90, 10, 1.4);        // legs
    c.bar(930, 640, 90, 10, 1.7);
    auto polygons = rle_to_polygons(c.rle());
    ASSERT_EQ(polygons.size(), 1u);
    const size_t vertices = polygons[0].size() / 2;
    std::printf("chicken-sized mask: %llu px, %zu vertices\n", static_cast<unsigned long long>(rle_area(c.rle())),
                vertices);
    EXPECT_GE(vertices, 10u);
    EXPECT_LE(vertices, 150u);
    EXPECT_GE(iou(round_trip(c.rle()), c.rle()), 0.99);
}
