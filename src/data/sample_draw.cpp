// The drawing kit shared by the sample generators (sample_draw.h): birds, eggs and feeders as
// silhouettes whose outline polygon IS the annotation, the barn background, light and noise.
#include "sample_draw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chickenseg::sample_detail {

namespace {

constexpr double kPi = std::numbers::pi;

// ---------- silhouettes ----------

// An object is a union of convex parts (ellipses as 40-gons, triangles, boxes)
// in a local frame: x forward (the way the animal faces), y down, unit = size.
struct Part {
    Polygon local;
};

Part ellipse_part(double cx, double cy, double a, double b, double angle = 0.0, int vertices = 40) {
    return {ellipse_polygon(cx, cy, a, b, angle, vertices)};
}
Part poly_part(std::initializer_list<double> xy) { return {Polygon(xy)}; }

// Farthest point where the ray o + t*d (t > 0) crosses the convex polygon; -1 if none.
double farthest_hit(const Polygon& poly, double ox, double oy, double dx, double dy) {
    double best = -1;
    size_t n = poly.size() / 2;
    for (size_t i = 0; i < n; ++i) {
        size_t j = (i + 1) % n;
        double ax = poly[2 * i], ay = poly[2 * i + 1];
        double ex = poly[2 * j] - ax, ey = poly[2 * j + 1] - ay;
        double den = dx * ey - dy * ex;
        if (std::abs(den) < 1e-12) continue;
        double wx = ax - ox, wy = ay - oy;
        double t = (wx * ey - wy * ex) / den;
        double u = (wx * dy - wy * dx) / den;
        if (t > 0 && u >= -1e-9 && u <= 1 + 1e-9) best = std::max(best, t);
    }
    return best;
}

// Outline of the union of `parts` (image coordinates) seen from (ox, oy): for each
// direction, the farthest boundary point of any part. The parts are laid out so the
// union is star-shaped around the body centre; the polygon is then exactly the
// silhouette that gets filled. Every part vertex's own direction is sampled too,
// so beaks, combs and feet keep their sharp tips.
Polygon star_outline(const std::vector<Polygon>& parts, double ox, double oy) {
    std::vector<double> angles;
    constexpr int kBase = 160;
    for (int i = 0; i < kBase; ++i) angles.push_back(2 * kPi * i / kBase);
    for (const auto& p : parts)
        for (size_t i = 0; i + 1 < p.size(); i += 2) {
            double a = std::atan2(p[i + 1] - oy, p[i] - ox);
            angles.push_back(a < 0 ? a + 2 * kPi : a);
        }
    std::sort(angles.begin(), angles.end());
    Polygon out;
    double last = -1;
    for (double a : angles) {
        if (a - last < 1e-7) continue;
        last = a;
        double dx = std::cos(a), dy = std::sin(a);
        double r = 0;
        for (const auto& p : parts) r = std::max(r, farthest_hit(p, ox, oy, dx, dy));
        if (r <= 0) continue;
        out.push_back(ox + r * dx);
        out.push_back(oy + r * dy);
    }
    return simplify_polygon(out, 0.2);
}

Rgb scale(const Rgb& c, double f) { return {c[0] * f, c[1] * f, c[2] * f}; }
Rgb mix(const Rgb& a, const Rgb& b, double t) {
    return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

// Cheap per-pixel hash in [0, 1): feather and grain texture without an RNG call per pixel.
double pixel_hash(int x, int y, uint32_t salt) {
    uint32_t h = static_cast<uint32_t>(x) * 374761393u + static_cast<uint32_t>(y) * 668265263u + salt * 2246822519u;
    h = (h ^ (h >> 13)) * 1274126177u;
    h ^= h >> 16;
    return (h & 0xFFFFFF) / double(0x1000000);
}

// Paints `poly` (image coordinates) with colour_at(x, y), only where `clip` is set (if given).
template <typename ColourFn>
void paint(Canvas& c, const Polygon& poly, const Mask* clip, ColourFn&& colour_at, double alpha = 1.0) {
    for_each_pixel_in_polygon(poly, c.width(), c.height(), [&](int x, int y) {
        if (clip && !clip->at(x, y)) return;
        c.blend(static_cast<uint32_t>(x), static_cast<uint32_t>(y), colour_at(x, y), alpha);
    });
}
void paint_flat(Canvas& c, const Polygon& poly, const Mask* clip, const Rgb& colour, double alpha = 1.0) {
    paint(
        c, poly, clip, [&](int, int) { return colour; }, alpha);
}

std::vector<Polygon> bird_parts(const ObjectPlan& o) {
    const Placement& at = o.at;
    std::vector<Part> parts;
    double hx = 0.85, hy = -0.85;
    if (o.pose == 1) hx = 1.15, hy = 0.15;
    if (o.pose == 2) hx = 0.78, hy = -0.55;
    switch (o.creature) {
        case Creature::duck: {
            hx = 0.95, hy = -0.7;
            if (o.pose == 1) hx = 1.2, hy = 0.05;
            parts.push_back(ellipse_part(0, 0, 1.1, 0.55));
            parts.push_back(
                ellipse_part((0.55 + hx) / 2, (-0.15 + hy) / 2, 0.45, 0.22, std::atan2(hy + 0.15, hx - 0.55)));
            parts.push_back(ellipse_part(hx, hy, 0.3, 0.28));
            parts.push_back(poly_part({hx + 0.2, hy - 0.04, hx + 0.6, hy, hx + 0.62, hy + 0.1, hx + 0.2, hy + 0.12}));
            parts.push_back(poly_part({-0.95, -0.15, -0.85, 0.15, -1.38, -0.32}));
            if (o.pose != 2) {
                parts.push_back(poly_part({-0.05, 0.4, 0.05, 0.4, 0.05, 0.78, -0.05, 0.78}));
                parts.push_back(poly_part({-0.12, 0.74, 0.2, 0.74, 0.2, 0.82, -0.12, 0.82}));
            }
            break;
        }
        case Creature::chick: {
            parts.push_back(ellipse_part(0, 0, 0.8, 0.72));
            double chx = o.pose == 1 ? 0.85 : 0.55, chy = o.pose == 1 ? 0.1 : -0.7;
            parts.push_back(ellipse_part(chx, chy, 0.4, 0.38));
            parts.push_back(poly_part({chx + 0.3, chy - 0.07, chx + 0.3, chy + 0.09, chx + 0.55, chy + 0.02}));
            if (o.pose != 2) {
                parts.push_back(poly_part({-0.18, 0.5, -0.1, 0.5, -0.1, 1.0, -0.18, 1.0}));
                parts.push_back(poly_part({0.15, 0.5, 0.23, 0.5, 0.23, 1.0, 0.15, 1.0}));
            }
            break;
        }
        default: {  // hen, rooster, unknown bird: the chicken body plan
            bool rooster = o.creature == Creature::rooster;
            parts.push_back(ellipse_part(0, 0, 1.0, 0.68, -0.15));
            parts.push_back(ellipse_part((0.5 + hx) / 2, (-0.25 + hy) / 2, std::hypot(hx - 0.5, hy + 0.25) / 2 + 0.2,
                                         0.27, std::atan2(hy + 0.25, hx - 0.5)));
            parts.push_back(ellipse_part(hx, hy, 0.3, 0.3));
            parts.push_back(poly_part({hx + 0.22, hy - 0.09, hx + 0.22, hy + 0.08, hx + 0.52, hy + 0.03}));
            if (o.creature != Creature::unknown_bird) {
                double r = rooster ? 0.14 : 0.1;
                int n = rooster ? 4 : 3;
                for (int k = 0; k < n; ++k)
                    parts.push_back(ellipse_part(hx - 0.16 + k * 0.12, hy - 0.3 - (k % 2) * 0.03, r, r * 1.1, 0, 16));
                parts.push_back(ellipse_part(hx + 0.18, hy + 0.3, 0.07, rooster ? 0.15 : 0.1, 0, 16));
            }
            if (rooster) {
                parts.push_back(poly_part({-0.7, -0.25, -0.5, 0.3, -1.6, -1.05}));
                parts.push_back(poly_part({-0.8, 0.0, -0.5, 0.35, -1.75, -0.35}));
            } else {
                parts.push_back(poly_part({-0.75, -0.25, -0.55, 0.25, -1.35, -0.75}));
            }
            if (o.pose != 2) {
                parts.push_back(poly_part({-0.2, 0.5, -0.1, 0.5, -0.1, 1.08, -0.2, 1.08}));
                parts.push_back(poly_part({0.18, 0.5, 0.28, 0.5, 0.28, 1.08, 0.18, 1.08}));
                parts.push_back(poly_part({0.1, 1.02, 0.45, 1.02, 0.45, 1.1, 0.1, 1.1}));
            }
            break;
        }
    }
    std::vector<Polygon> out;
    for (const auto& p : parts) out.push_back(at.apply(p.local));
    return out;
}

// Draws a bird; returns its silhouette polygon (image coordinates, unclipped).
Polygon draw_bird(Canvas& canvas, const ObjectPlan& o) {
    std::vector<Polygon> parts = bird_parts(o);
    Polygon outline = star_outline(parts, o.at.cx, o.at.cy);  // plan_outline's, with the parts kept
    Mask sil = polygon_mask(outline, canvas.width(), canvas.height());
    const BirdLook& look = o.look;
    const Placement& at = o.at;
    uint32_t salt = static_cast<uint32_t>(at.cx * 7 + at.cy * 13);
    // Body: lit from above, with a fine feather texture.
    paint(canvas, outline, nullptr, [&](int x, int y) {
        double shade = 1.08 - 0.22 * ((y - at.cy) / at.size + 0.8) / 1.8;
        double feather = 0.94 + 0.12 * pixel_hash(x / 2, y / 3, salt);
        return scale(look.body, shade * feather);
    });
    auto local = [&](const Part& p) { return at.apply(p.local); };
    bool chicken_plan =
        o.creature == Creature::hen || o.creature == Creature::rooster || o.creature == Creature::unknown_bird;
    // Tail feathers, wing, head, beak, comb: painted inside the silhouette only.
    size_t tail_parts = o.creature == Creature::rooster ? 2 : (chicken_plan ? 1 : 0);
    size_t leg_parts = o.pose == 2 ? 0 : (o.creature == Creature::duck ? 2 : (o.creature == Creature::chick ? 2 : 3));
    for (size_t k = 0; k < leg_parts; ++k) paint_flat(canvas, parts[parts.size() - 1 - k], &sil, look.legs);
    for (size_t k = 0; k < tail_parts; ++k) {
        const Polygon& tail = parts[parts.size() - 1 - leg_parts - k];
        paint(canvas, tail, &sil,
              [&](int x, int y) { return scale(look.tail, 0.85 + 0.3 * pixel_hash(x / 3, y, salt + 5)); });
    }
    double wing_angle = o.creature == Creature::duck ? 0.0 : -0.2;
    paint(canvas, local(ellipse_part(-0.1, 0.02, 0.62, 0.34, wing_angle)), &sil,
          [&](int x, int y) { return scale(look.wing, 0.9 + 0.15 * pixel_hash(x / 4, y / 2, salt + 9)); });
    if (o.creature == Creature::duck)  // the blue speculum stripe of a mallard-like wing
        paint_flat(canvas, local(ellipse_part(-0.35, 0.12, 0.22, 0.07)), &sil, {60, 70, 160}, 0.8);
    // Head: parts[2] for chicken and duck plans, parts[1] for chicks.
    size_t head_index = o.creature == Creature::chick ? 1 : 2;
    paint_flat(canvas, parts[head_index], &sil, look.head);
    if (o.creature == Creature::duck)  // white neck ring
        paint_flat(canvas, parts[1], &sil, {235, 235, 230}, 0.25);
    size_t beak_index = head_index + 1;
    paint_flat(canvas, parts[beak_index], &sil, look.beak);
    if (chicken_plan && look.comb_visible) {
        size_t n_comb = o.creature == Creature::rooster ? 4 : 3;
        for (size_t k = 0; k <= n_comb; ++k) paint_flat(canvas, parts[beak_index + 1 + k], &sil, look.comb);
    }
    // Eye: dark with a highlight, on the head part's centre-front.
    const Polygon& head = parts[head_index];
    double hx = 0, hy = 0;
    for (size_t i = 0; i + 1 < head.size(); i += 2) hx += head[i], hy += head[i + 1];
    hx /= head.size() / 2.0;
    hy /= head.size() / 2.0;
    double er = std::max(1.2, at.size * 0.055);
    double ex = hx + at.facing * at.size * 0.1, ey = hy - at.size * 0.05;
    paint_flat(canvas, ellipse_polygon(ex, ey, er, er, 0, 12), &sil, {20, 18, 15});
    paint_flat(canvas, ellipse_polygon(ex + er * 0.3, ey - er * 0.3, er * 0.35, er * 0.35, 0, 8), &sil, {240, 240, 240},
               0.8);
    return outline;
}

Polygon egg_outline(const Placement& at) {
    return ellipse_polygon(at.cx, at.cy, at.size * 0.75, at.size * 0.56, at.tilt, 28);
}

Polygon draw_egg(Canvas& canvas, const ObjectPlan& o) {
    const Placement& at = o.at;
    Polygon outline = egg_outline(at);
    paint(canvas, outline, nullptr, [&](int x, int y) {
        // A highlight towards the upper left.
        double dx = (x - at.cx) / at.size + 0.3, dy = (y - at.cy) / at.size + 0.3;
        double light = 1.12 - 0.35 * std::min(1.0, std::hypot(dx, dy));
        return scale(o.colour, light);
    });
    return outline;
}

Polygon trough_outline(const ObjectPlan& o) {
    double x0 = o.at.cx - o.w / 2, y0 = o.at.cy - o.h / 2, x1 = o.at.cx + o.w / 2, y1 = o.at.cy + o.h / 2;
    return {x0, y0, x1, y0, x1, y1, x0, y1};
}

Polygon draw_trough(Canvas& canvas, const ObjectPlan& o) {
    Polygon box = trough_outline(o);
    double x0 = box[0], y0 = box[1], x1 = box[2], y1 = box[5];
    paint(canvas, box, nullptr, [&](int x, int y) {
        double t = (y - y0) / std::max(1.0, y1 - y0);
        return scale(o.colour, 1.1 - 0.3 * t);  // galvanised metal, darker towards the floor
    });
    double rim = std::max(2.0, o.h * 0.18);
    // Feed inside the trough: grain texture.
    Polygon feed{x0 + rim, y0 + rim * 0.6,  x1 - rim, y0 + rim * 0.6,
                 x1 - rim, y0 + o.h * 0.55, x0 + rim, y0 + o.h * 0.55};
    paint(canvas, feed, nullptr, [&](int x, int y) {
        return scale(Rgb{175, 140, 75}, 0.75 + 0.45 * pixel_hash(x, y, 77));
    });
    // Vertical ribs.
    for (double x = x0 + o.w / 6; x < x1 - 1; x += o.w / 6)
        draw_line(canvas, x, y0 + o.h * 0.6, x, y1, std::max(1.0, o.h * 0.05), scale(o.colour, 0.6), 0.8);
    return box;
}

Polygon hanging_feeder_outline(const Placement& at) {
    // A cylinder tapering into a round pan: union of a trapezoid and a flat ellipse.
    std::vector<Polygon> parts{
        at.apply(Polygon{-0.35, -1.0, 0.35, -1.0, 0.45, 0.1, -0.45, 0.1}),
        at.apply(ellipse_polygon(0, 0.15, 0.95, 0.28, 0, 40)),
    };
    return star_outline(parts, at.cx, at.cy);
}

Polygon draw_hanging_feeder(Canvas& canvas, const ObjectPlan& o) {
    const Placement& at = o.at;
    Polygon outline = hanging_feeder_outline(at);
    paint(canvas, outline, nullptr, [&](int x, int) {
        double t = (x - at.cx) / at.size;  // cylinder shading across
        return scale(o.colour, 1.05 - 0.25 * t * t);
    });
    paint_flat(canvas, at.apply(ellipse_polygon(0, 0.12, 0.75, 0.16, 0, 32)), nullptr, {165, 130, 70}, 0.9);
    return outline;
}

// Seen through dust or in the dark: the bird and a margin around it are blurred,
// fading out smoothly (a blurred copy of its mask is the blend weight), so no
// rectangle of blur shows on the wall or the straw.
void blur_around(Canvas& canvas, const Polygon& outline, double size) {
    BoxXywh bb = polygons_bbox({outline});
    int pad = static_cast<int>(size * 0.5);
    int x0 = std::max(0, static_cast<int>(bb[0]) - pad), y0 = std::max(0, static_cast<int>(bb[1]) - pad);
    int x1 = std::min(static_cast<int>(canvas.width()), static_cast<int>(bb[0] + bb[2]) + pad);
    int y1 = std::min(static_cast<int>(canvas.height()), static_cast<int>(bb[1] + bb[3]) + pad);
    if (x1 - x0 < 2 || y1 - y0 < 2) return;
    int radius = std::max(2, static_cast<int>(size * 0.08));
    Canvas blurred = canvas;
    blurred.blur(x0, y0, x1, y1, radius);
    Canvas weight(canvas.width(), canvas.height());
    for_each_pixel_in_polygon(outline, canvas.width(), canvas.height(), [&](int x, int y) {
        weight.set(static_cast<uint32_t>(x), static_cast<uint32_t>(y), {1, 1, 1});
    });
    weight.blur(x0, y0, x1, y1, radius * 2);
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            double a = std::min(1.0, 2.0 * weight.get(static_cast<uint32_t>(x), static_cast<uint32_t>(y))[0]);
            if (a > 0)
                canvas.blend(static_cast<uint32_t>(x), static_cast<uint32_t>(y),
                             blurred.get(static_cast<uint32_t>(x), static_cast<uint32_t>(y)), a);
        }
}

}  // namespace

// ---------- background ----------

void paint_background(Canvas& c, SampleRng& rng, double& horizon) {
    const int W = static_cast<int>(c.width()), H = static_cast<int>(c.height());
    double s0 = std::min(W, H) / 480.0;
    horizon = rng.chance(0.7) ? H * rng.uniform(0.18, 0.42) : 0.0;
    int wall_end = static_cast<int>(horizon);
    // Wooden planks: one base colour each, a wavy grain, dark gaps between them.
    double x = -rng.uniform(0, 40) * s0;
    double phase = rng.uniform(0, 6.28);
    while (x < W && wall_end > 0) {
        double pw = rng.uniform(36, 70) * s0;
        double tone = rng.uniform(95, 150);  // one wood, lighter and darker boards
        Rgb base{tone, tone * rng.uniform(0.64, 0.72), tone * rng.uniform(0.4, 0.47)};
        double freq = rng.uniform(0.25, 0.5) / s0;
        for (int px = std::max(0, static_cast<int>(x)); px < std::min(W, static_cast<int>(x + pw)); ++px) {
            double gap = (px - x) < 2.0 * s0 ? 0.45 : 1.0;
            for (int py = 0; py < wall_end; ++py) {
                double grain = std::sin((px - x) * freq + 2.5 * std::sin(py * 0.021 / s0 + phase + x));
                c.set(static_cast<uint32_t>(px), static_cast<uint32_t>(py), scale(base, gap * (0.9 + 0.1 * grain)));
            }
        }
        x += pw;
    }
    // The beam where the wall meets the floor.
    if (wall_end > 0) {
        int beam = static_cast<int>(rng.uniform(6, 12) * s0);
        for (int py = std::max(0, wall_end - beam); py < wall_end; ++py)
            for (int px = 0; px < W; ++px) c.set(static_cast<uint32_t>(px), static_cast<uint32_t>(py), {70, 48, 30});
    }
    // Straw floor: a base colour, low-frequency patches (value noise on a coarse grid).
    Rgb straw{rng.uniform(185, 215), rng.uniform(148, 175), rng.uniform(78, 105)};
    const int cell = std::max(8, static_cast<int>(48 * s0));
    int gw = W / cell + 2, gh = H / cell + 2;
    std::vector<double> grid(static_cast<size_t>(gw * gh));
    for (auto& v : grid) v = rng.uniform(0.78, 1.1);
    for (int py = wall_end; py < H; ++py) {
        double gy = static_cast<double>(py) / cell;
        int iy = static_cast<int>(gy);
        double fy = gy - iy;
        for (int px = 0; px < W; ++px) {
            double gx = static_cast<double>(px) / cell;
            int ix = static_cast<int>(gx);
            double fx = gx - ix;
            auto g = [&](int a, int b) { return grid[static_cast<size_t>(b * gw + a)]; };
            double v = (g(ix, iy) * (1 - fx) + g(ix + 1, iy) * fx) * (1 - fy) +
                       (g(ix, iy + 1) * (1 - fx) + g(ix + 1, iy + 1) * fx) * fy;
            c.set(static_cast<uint32_t>(px), static_cast<uint32_t>(py), scale(straw, v));
        }
    }
    // Straw strands: short lines in light and dark golds.
    int strands = static_cast<int>(static_cast<double>(W) * (H - wall_end) / 260.0);
    for (int i = 0; i < strands; ++i) {
        double sx = rng.uniform(0, W), sy = rng.uniform(wall_end, H);
        double len = rng.uniform(6, 28) * s0, ang = rng.uniform(0, kPi);
        Rgb col = mix(Rgb{240, 212, 128}, Rgb{150, 112, 55}, rng.uniform());
        draw_line(c, sx, sy, sx + len * std::cos(ang), sy + len * std::sin(ang), rng.uniform(1.0, 2.2) * s0, col,
                  rng.uniform(0.5, 0.9));
    }
}

Light draw_light(SampleRng& rng, uint32_t width, uint32_t height) {
    Light l;
    l.x = rng.uniform(0.2, 0.8) * width;
    l.y = rng.uniform(-0.2, 0.4) * height;
    l.strength = rng.uniform(0.15, 0.35);
    l.noise_salt = static_cast<uint32_t>(rng.next_u64());
    return l;
}

void paint_light(Canvas& c, const Light& l) {
    const int W = static_cast<int>(c.width()), H = static_cast<int>(c.height());
    double diag = std::hypot(W, H);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            double d = std::hypot(x - l.x, y - l.y) / diag;
            double light = 1.08 - l.strength * d * 1.6;
            double n = (pixel_hash(x, y, l.noise_salt) - 0.5) * 10.0;  // sensor noise, +-5 levels
            Rgb p = c.get(static_cast<uint32_t>(x), static_cast<uint32_t>(y));
            c.set(static_cast<uint32_t>(x), static_cast<uint32_t>(y),
                  {p[0] * light + n, p[1] * light + n * 0.9, p[2] * light + n * 0.8});
        }
}

// ---------- looks ----------

BirdLook chicken_look(SampleRng& rng, Creature creature) {
    BirdLook l;
    l.beak = {225, 170, 60};
    l.legs = {215, 160, 70};
    l.comb = {200, 30, 35};
    if (creature == Creature::chick) {
        l.body = {245, 215, 95};
        l.wing = scale(l.body, 0.9);
        l.tail = l.body;
        l.head = scale(l.body, 1.03);
        l.comb_visible = false;
        return l;
    }
    if (creature == Creature::unknown_bird) {
        double v = rng.uniform(40, 70);
        l.body = {v, v * 0.92, v * 0.85};
        l.wing = scale(l.body, 0.85);
        l.tail = scale(l.body, 0.8);
        l.head = l.body;
        l.beak = {v * 1.3, v * 1.2, v};
        l.legs = l.beak;
        l.comb_visible = false;
        return l;
    }
    static const Rgb kColours[] = {{236, 232, 222}, {150, 85, 40}, {38, 38, 42}, {210, 165, 100}};
    if (creature == Creature::rooster) {
        l.body = rng.chance(0.5) ? Rgb{140, 60, 25} : Rgb{236, 232, 222};
        l.tail = {30, 42, 36};
        l.wing = {110, 45, 20};
        l.head = {200, 120, 40};
        l.comb = {215, 25, 30};
    } else {
        l.body = kColours[rng.range(0, 3)];
        l.wing = scale(l.body, 0.82);
        l.tail = scale(l.body, 0.75);
        l.head = scale(l.body, 1.02);
    }
    return l;
}

BirdLook duck_look(SampleRng& rng) {
    BirdLook l;
    int v = rng.range(0, 2);
    l.legs = {235, 140, 40};
    if (v == 0) {  // mallard drake
        l.body = {130, 118, 105};
        l.head = {30, 85, 45};
        l.beak = {210, 190, 60};
    } else if (v == 1) {  // white farm duck
        l.body = {242, 242, 238};
        l.head = l.body;
        l.beak = {235, 140, 40};
    } else {  // mallard hen
        l.body = {140, 110, 80};
        l.head = {120, 95, 70};
        l.beak = {200, 120, 50};
    }
    l.wing = scale(l.body, 0.85);
    l.tail = scale(l.body, 0.8);
    l.comb_visible = false;
    return l;
}

// Hens carry the label variants annotators really use ("chicken", "Chicken", "hen"), so the
// label map has something to normalise.
std::string chicken_kind(SampleRng& rng, Creature& creature) {
    double r = rng.uniform();
    if (r < 0.15) return creature = Creature::rooster, "rooster";
    if (r < 0.30) return creature = Creature::chick, "chick";
    creature = Creature::hen;
    double l = rng.uniform();
    return l < 0.45 ? "chicken" : l < 0.6 ? "Chicken" : "hen";
}
ObjectPlan bird_plan(SampleRng& rng, Creature creature, std::string label, double s0) {
    ObjectPlan o;
    o.type = ObjectPlan::Type::bird;
    o.creature = creature;
    o.label = std::move(label);
    double size = rng.uniform(38, 62) * s0;
    if (creature == Creature::rooster) size *= 1.15;
    if (creature == Creature::chick) size *= 0.45;
    if (creature == Creature::duck) size *= 0.95;
    o.at.size = std::max(size, kMinBirdPixels);
    o.at.facing = rng.chance(0.5) ? 1 : -1;
    o.at.tilt = rng.uniform(-0.18, 0.18);
    o.pose = rng.range(0, 2);
    o.look = creature == Creature::duck ? duck_look(rng) : chicken_look(rng, creature);
    return o;
}

// ---------- drawing a plan ----------

Polygon plan_outline(const ObjectPlan& o) {
    switch (o.type) {
        case ObjectPlan::Type::bird:
            return star_outline(bird_parts(o), o.at.cx, o.at.cy);
        case ObjectPlan::Type::egg:
            return egg_outline(o.at);
        case ObjectPlan::Type::trough:
            return trough_outline(o);
        case ObjectPlan::Type::hanging_feeder:
            return hanging_feeder_outline(o.at);
    }
    return {};
}

Polygon draw_plan(Canvas& canvas, const ObjectPlan& o) {
    Polygon drawn;
    switch (o.type) {
        case ObjectPlan::Type::bird:
            drawn = draw_bird(canvas, o);
            break;
        case ObjectPlan::Type::egg:
            drawn = draw_egg(canvas, o);
            break;
        case ObjectPlan::Type::trough:
            drawn = draw_trough(canvas, o);
            break;
        case ObjectPlan::Type::hanging_feeder:
            drawn = draw_hanging_feeder(canvas, o);
            break;
    }
    if (o.creature == Creature::unknown_bird && o.type == ObjectPlan::Type::bird) blur_around(canvas, drawn, o.at.size);
    return drawn;
}

}  // namespace chickenseg::sample_detail
