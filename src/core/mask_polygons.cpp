#include "chickenseg/core/mask_polygons.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace {

// Foreground rows [y0, y1) of column x.
struct ColumnRun {
    uint32_t x, y0, y1;
};

// The foreground runs split at column boundaries, in column-major order (by column, then
// by row). Runs that touch (an RLE with zero-length runs need not be minimal) are joined,
// so two runs of one column always have background between them.
std::vector<ColumnRun> column_runs(const Rle& mask) {
    std::vector<ColumnRun> runs;
    const uint64_t h = mask.h;
    if (h == 0) return runs;
    uint64_t pos = 0;
    for (size_t i = 0; i < mask.counts.size(); ++i) {
        const uint64_t end = pos + mask.counts[i];
        if (i % 2 == 0) {  // background
            pos = end;
            continue;
        }
        while (pos < end) {
            const auto x = static_cast<uint32_t>(pos / h), y0 = static_cast<uint32_t>(pos % h);
            const auto y1 = static_cast<uint32_t>(std::min<uint64_t>(h, y0 + (end - pos)));
            if (!runs.empty() && runs.back().x == x && runs.back().y1 == y0)
                runs.back().y1 = y1;
            else
                runs.push_back({x, y0, y1});
            pos += y1 - y0;
        }
    }
    return runs;
}

uint32_t find_root(std::vector<uint32_t>& parent, uint32_t i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

// The smaller index becomes the root, so a part's root is its first run in column-major
// order: the top run of its leftmost column, where its outline is traced from.
void unite(std::vector<uint32_t>& parent, uint32_t a, uint32_t b) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

// Joins the runs of neighbouring columns that touch, corners included (8-connectivity):
// rows [a0, a1) and [b0, b1) touch when a0 <= b1 and b0 <= a1.
void unite_columns(const std::vector<ColumnRun>& runs, std::vector<uint32_t>& parent) {
    size_t a_begin = 0;
    while (a_begin < runs.size()) {
        size_t a_end = a_begin;
        while (a_end < runs.size() && runs[a_end].x == runs[a_begin].x) ++a_end;
        size_t b_end = a_end;
        while (b_end < runs.size() && runs[b_end].x == runs[a_begin].x + 1) ++b_end;
        // Both columns are sorted by row: walk them together, dropping whichever run ends
        // first (it cannot touch the runs after the other one).
        for (size_t i = a_begin, j = a_end; i < a_end && j < b_end;) {
            const ColumnRun &a = runs[i], &b = runs[j];
            if (a.y0 <= b.y1 && b.y0 <= a.y1) unite(parent, static_cast<uint32_t>(i), static_cast<uint32_t>(j));
            if (a.y1 <= b.y1)
                ++i;
            else
                ++j;
        }
        a_begin = a_end;
    }
}

// A part's outer outline, traced along pixel edges, as two polygons on one ring of points:
// - the exact outline passes through the midpoints of the edges (only the first and last
//   midpoint of each straight stretch: the ones between are on the line), except at
//   right-angle corners, where it keeps the corner itself. It encloses exactly the part's
//   pixel centres (what rle_from_polygon fills) with holes filled, passing at least 0.35 px
//   from every pixel centre inside or out. The pixel-corner staircase would enclose the same
//   centres, but its steps stand 0.71 px off a 45-degree line, where the midpoints lie on it.
// - the smooth outline passes through the centre of each straight stretch, and the same
//   right-angle corners. Along a digital straight line of any slope (stretches of n pixels,
//   then one step) the stretch centres lie on the line, where the exact outline zigzags by
//   up to 0.5 px around it, and simplifying a zigzag keeps a vertex per step unless the
//   tolerance is above its amplitude. The smooth outline may cut pixel centres near the ends
//   of stretches: it is only simplified, and simplified polygons are checked against the
//   exact outline.
// Each stretch centre lies on the exact outline, so the ring is the exact outline with the
// centres added: the area between a simplified edge and the exact outline is read off it.
// A corner between two stretches of 2 pixels or more is a real corner, not a step: keeping
// it makes a rectangle (a box, a mask cut off by the image border, the full image) come out
// as its 4 corners, exactly.
struct Outline {
    std::vector<double> ring;    // x1, y1, x2, y2, ...
    std::vector<size_t> exact;   // the exact outline's vertices: indices into the ring
    std::vector<size_t> smooth;  // the smooth outline's vertices: indices into the ring

    std::vector<double> polygon(const std::vector<size_t>& indices) const {
        std::vector<double> out;
        out.reserve(2 * indices.size());
        for (size_t i : indices) out.insert(out.end(), {ring[2 * i], ring[2 * i + 1]});
        return out;
    }
};

struct Part {
    uint32_t first_run = 0;  // its root: the top run of its leftmost column
    uint64_t area = 0;
    uint32_t x_min = 0, x_max = 0, y_min = 0, y_max = 0;  // inclusive pixel bounds
    Outline outline;                                      // traced, not simplified
};

// The kept parts over their bounding box plus one pixel of background on every side,
// column-major, so the tracer reads its 2x2 neighbourhoods without bound checks. Pixels are
// 1 in a kept part, 0 background, 2 background reached from the border (not in a hole).
struct PaddedBitmap {
    int64_t x_origin = 0, y_origin = 0;  // image coordinates of bitmap pixel (0, 0)
    int64_t rows = 0;
    std::vector<uint8_t> pixels;
    int64_t index(int64_t x, int64_t y) const { return (x - x_origin) * rows + (y - y_origin); }
};

// Directions clockwise on screen (y grows downwards): east, south, west, north.
constexpr std::array<int, 4> kDx = {1, 0, -1, 0};
constexpr std::array<int, 4> kDy = {0, 1, 0, -1};
// The two pixels ahead of a walker that has arrived at corner (X, Y) going in direction d,
// on its left and its right, as offsets from the corner (pixel (x, y) has its top-left
// corner at (x, y)).
constexpr std::array<std::array<int, 2>, 4> kAheadLeft = {{{0, -1}, {0, 0}, {-1, 0}, {-1, -1}}};
constexpr std::array<std::array<int, 2>, 4> kAheadRight = {{{0, 0}, {-1, 0}, {-1, -1}, {0, -1}}};

// Walks the outer outline of the part whose top-left pixel is (x0, y0) along pixel edges,
// foreground on the right. At a corner shared by two diagonal pixels of the part the walker
// turns towards the second one (8-connectivity); that corner is never kept as a corner, so
// the polygons have a neck there instead of touching themselves. The start corner has only
// its bottom-right pixel in the part, so the walk passes it once and stops there.
Outline trace_outline(const PaddedBitmap& bitmap, uint32_t x0, uint32_t y0) {
    const int64_t rows = bitmap.rows;
    const uint8_t* px = bitmap.pixels.data();
    std::array<int64_t, 4> step{}, ahead_left{}, ahead_right{};
    for (int d = 0; d < 4; ++d) {
        step[d] = kDx[d] * rows + kDy[d];
        ahead_left[d] = kAheadLeft[d][0] * rows + kAheadLeft[d][1];
        ahead_right[d] = kAheadRight[d][0] * rows + kAheadRight[d][1];
    }
    // The corners where the direction changes.
    struct Corner {
        int64_t x, y;
        bool saddle;  // shared by two diagonal pixels of the part
    };
    std::vector<Corner> corners{{x0, y0, false}};
    const int64_t start = bitmap.index(x0, y0);
    int64_t at = start, x = x0, y = y0;
    int d = 0;  // east, along the top edge of (x0, y0)
    for (;;) {
        at += step[d];
        x += kDx[d];
        y += kDy[d];
        if (at == start) break;
        const bool left = px[at + ahead_left[d]] == 1, right = px[at + ahead_right[d]] == 1;
        if (left) {
            corners.push_back({x, y, !right});
            d = (d + 3) & 3;  // left
        } else if (!right) {
            corners.push_back({x, y, false});
            d = (d + 1) & 3;  // right
        }
    }

    const size_t n = corners.size();
    auto length = [&](size_t i) {  // of the stretch from corner i to corner i + 1
        const Corner &a = corners[i], &b = corners[(i + 1) % n];
        return std::abs(b.x - a.x) + std::abs(b.y - a.y);
    };
    std::vector<uint8_t> right_angle(n);
    for (size_t i = 0; i < n; ++i)
        right_angle[i] = !corners[i].saddle && length(i) >= 2 && length((i + n - 1) % n) >= 2;
    Outline out;
    out.ring.reserve(n * 6);
    auto add = [&](double px, double py) {
        out.ring.insert(out.ring.end(), {px, py});
        return out.ring.size() / 2 - 1;
    };
    for (size_t i = 0; i < n; ++i) {
        const Corner &a = corners[i], &b = corners[(i + 1) % n];
        const bool a_kept = right_angle[i], b_kept = right_angle[(i + 1) % n];
        const int64_t len = length(i);
        const double ax = static_cast<double>(a.x), ay = static_cast<double>(a.y);
        const double bx = static_cast<double>(b.x), by = static_cast<double>(b.y);
        const double ux = static_cast<double>((b.x - a.x) / len), uy = static_cast<double>((b.y - a.y) / len);
        if (len == 1) {  // a one-pixel step: its midpoint is its centre (and neither end is kept)
            const size_t r = add(ax + 0.5 * ux, ay + 0.5 * uy);
            out.exact.push_back(r);
            out.smooth.push_back(r);
            continue;
        }
        const size_t first = a_kept ? add(ax, ay) : add(ax + 0.5 * ux, ay + 0.5 * uy);
        out.exact.push_back(first);
        if (a_kept) out.smooth.push_back(first);
        if (!a_kept || !b_kept) out.smooth.push_back(add((ax + bx) / 2, (ay + by) / 2));
        if (!b_kept) out.exact.push_back(add(bx - 0.5 * ux, by - 0.5 * uy));
    }
    return out;
}

// Squared distance from point p to segment ab.
double segment_distance2(const double* p, const double* a, const double* b) {
    const double dx = b[0] - a[0], dy = b[1] - a[1];
    const double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2 : 0;
    t = std::clamp(t, 0.0, 1.0);
    const double ex = a[0] + t * dx - p[0], ey = a[1] + t * dy - p[1];
    return ex * ex + ey * ey;
}

// Douglas-Peucker on a closed polygon: split at vertex 0 and the vertex farthest from it,
// then simplify each half. The farthest vertex of each half is kept whatever the tolerance,
// so a small part (a one-pixel diamond) still gives a polygon with area, not a segment.
// Returns the indices of the kept vertices, in order.
std::vector<size_t> douglas_peucker_closed(const std::vector<double>& xy, double tolerance) {
    const size_t n = xy.size() / 2;
    std::vector<size_t> out;
    if (n <= 3) {
        for (size_t i = 0; i < n; ++i) out.push_back(i);
        return out;
    }
    auto pt = [&](size_t i) { return &xy[2 * (i % n)]; };
    size_t far = 0;
    double far_d2 = -1;
    for (size_t i = 1; i < n; ++i) {
        const double dx = xy[2 * i] - xy[0], dy = xy[2 * i + 1] - xy[1];
        if (dx * dx + dy * dy > far_d2) {
            far_d2 = dx * dx + dy * dy;
            far = i;
        }
    }
    std::vector<uint8_t> keep(n, 0);
    keep[0] = keep[far] = 1;
    struct Span {
        size_t first, last;  // indices into the ring; last may be n (= vertex 0)
        bool force;
    };
    std::vector<Span> stack{{0, far, true}, {far, n, true}};
    const double tol2 = tolerance * tolerance;
    while (!stack.empty()) {
        Span s = stack.back();
        stack.pop_back();
        if (s.last - s.first < 2) continue;
        size_t best = s.first;
        double best_d2 = -1;
        for (size_t i = s.first + 1; i < s.last; ++i) {
            const double d2 = segment_distance2(pt(i), pt(s.first), pt(s.last));
            if (d2 > best_d2) {
                best_d2 = d2;
                best = i;
            }
        }
        if (s.force || best_d2 > tol2) {
            keep[best] = 1;
            stack.push_back({s.first, best, false});
            stack.push_back({best, s.last, false});
        }
    }
    for (size_t i = 0; i < n; ++i)
        if (keep[i]) out.push_back(i);
    return out;
}

// The smooth outline simplified with `tolerance`, each edge then moved sideways so that
// the area between it and the stretch of exact outline it replaces sums to zero, and the
// vertices put where the moved edges meet. Plain Douglas-Peucker keeps vertices on the
// outline, so along a convex stretch every edge is a chord that cuts inside: the parts
// shrink, by a third of the tolerance on average, which costs small parts several per cent
// of IoU. The moved edges cross the outline instead, cutting as much as they add.
std::vector<double> simplify_outline(const Outline& outline, double tolerance, uint32_t w, uint32_t h) {
    std::vector<size_t> kept = douglas_peucker_closed(outline.polygon(outline.smooth), tolerance);
    for (size_t& k : kept) k = outline.smooth[k];  // now indices into the ring
    const std::vector<double>& ring = outline.ring;
    const size_t n = ring.size() / 2, m = kept.size();
    auto pt = [&](size_t i) { return &ring[2 * (i % n)]; };
    // Edge e runs from kept[e] to kept[e + 1]: its unit direction and the offset along its
    // left normal (-dy, dx) that balances the area.
    std::vector<std::array<double, 2>> dir(m);
    std::vector<double> offset(m, 0);
    for (size_t e = 0; e < m; ++e) {
        const size_t first = kept[e], last = e + 1 < m ? kept[e + 1] : kept[0] + n;
        const double* a = pt(first);
        const double* b = pt(last);
        const double len = std::hypot(b[0] - a[0], b[1] - a[1]);
        if (len == 0) continue;
        const double tx = (b[0] - a[0]) / len, ty = (b[1] - a[1]) / len;
        dir[e] = {tx, ty};
        // Signed area between the ring and the chord, by trapezoids along the chord.
        double area = 0;
        double prev_d = 0;
        for (size_t i = first + 1; i <= last; ++i) {
            const double* p = pt(i);
            const double* q = pt(i - 1);
            const double d = -(p[0] - a[0]) * ty + (p[1] - a[1]) * tx;
            area += ((p[0] - q[0]) * tx + (p[1] - q[1]) * ty) * (prev_d + d) / 2;
            prev_d = d;
        }
        offset[e] = std::clamp(area / len, -tolerance, tolerance);
    }
    std::vector<double> out;
    out.reserve(2 * m);
    for (size_t v = 0; v < m; ++v) {
        // Vertex v joins edge v - 1 (into it) and edge v (out of it).
        const size_t e0 = (v + m - 1) % m, e1 = v;
        const double* p = pt(kept[v]);
        const double n0x = -dir[e0][1] * offset[e0], n0y = dir[e0][0] * offset[e0];
        const double n1x = -dir[e1][1] * offset[e1], n1y = dir[e1][0] * offset[e1];
        double x = p[0] + (n0x + n1x) / 2, y = p[1] + (n0y + n1y) / 2;
        // Where the two moved edges cross, unless they are nearly parallel (then the mean of
        // the two shifts) or cross far away (a spike at a sharp vertex).
        const double cross = dir[e0][0] * dir[e1][1] - dir[e0][1] * dir[e1][0];
        if (std::abs(cross) > 0.2) {
            const double qx = n1x - n0x, qy = n1y - n0y;
            const double s = (qx * dir[e1][1] - qy * dir[e1][0]) / cross;
            const double ix = p[0] + n0x + s * dir[e0][0], iy = p[1] + n0y + s * dir[e0][1];
            if (std::hypot(ix - p[0], iy - p[1]) <= 2 * tolerance) x = ix, y = iy;
        }
        x = std::clamp(x, 0.0, static_cast<double>(w));
        y = std::clamp(y, 0.0, static_cast<double>(h));
        // Two vertices moved onto one point (clamped into an image corner): one is enough,
        // and rle_from_polygon mishandles zero-length edges.
        if (!out.empty() && out[out.size() - 2] == x && out.back() == y) continue;
        out.push_back(x);
        out.push_back(y);
    }
    while (out.size() >= 4 && out[0] == out[out.size() - 2] && out[1] == out.back()) out.resize(out.size() - 2);
    return out;
}

// The part's pixels are checked in a frame around it rather than the whole image, so the
// check costs the part's size, not the image's. Shifting a polygon by whole pixels shifts
// what rle_from_polygon fills by the same amount (its rounding, floor(5x + 0.5), commutes
// with whole shifts while coordinates stay positive, which the margin ensures; vertices
// stay within 2 * tolerance of the outline and inside the image).
struct Frame {
    double x0 = 0, y0 = 0;  // image coordinates of the frame's top-left corner
    uint32_t w = 0, h = 0;
};

Frame part_frame(const Part& part, double tolerance) {
    const double margin = std::ceil(2 * tolerance) + 2;
    Frame f;
    f.x0 = part.x_min - margin;
    f.y0 = part.y_min - margin;
    f.w = static_cast<uint32_t>(part.x_max - part.x_min + 1 + 2 * margin);
    f.h = static_cast<uint32_t>(part.y_max - part.y_min + 1 + 2 * margin);
    return f;
}

Rle fill_in_frame(std::vector<double> polygon, const Frame& f) {
    for (size_t i = 0; i < polygon.size(); i += 2) {
        polygon[i] -= f.x0;
        polygon[i + 1] -= f.y0;
    }
    return rle_from_polygon(polygon, f.h, f.w);
}

// The part's polygon: the smooth outline simplified, then checked against the exact
// outline's pixels and simplified again with half the tolerance while it falls short of
// min_iou (down to the exact outline itself, which fills back to exactly the part), then
// coarsened while it has more than max_vertices vertices.
std::vector<double> part_polygon(const Part& part, const MaskPolygonParams& params, uint32_t w, uint32_t h) {
    const Outline& outline = part.outline;
    double tolerance = params.tolerance;
    auto simplified = [&] {
        std::vector<double> p;
        if (tolerance > 0) p = simplify_outline(outline, tolerance, w, h);
        return p.size() >= 6 ? p : outline.polygon(outline.exact);
    };
    std::vector<double> out = simplified();
    if (params.min_iou > 0 && tolerance > 0) {
        const Frame frame = part_frame(part, tolerance);
        const Rle exact = fill_in_frame(outline.polygon(outline.exact), frame);
        for (;;) {
            const Rle filled = fill_in_frame(out, frame);
            const std::span<const Rle> a(&filled, 1), b(&exact, 1);
            if (rle_iou(a, b, {})[0] >= params.min_iou) break;
            tolerance = tolerance > 0.2 ? tolerance / 2 : 0;
            out = simplified();
            if (tolerance == 0) break;
        }
    }
    tolerance = std::max(tolerance, 0.5);
    for (int i = 0; params.max_vertices > 0 && out.size() / 2 > params.max_vertices && i < 200; ++i) {
        tolerance *= 1.25;
        out = simplified();
    }
    return out;
}

}  // namespace

std::vector<Polygon> rle_to_polygons(const Rle& mask, const MaskPolygonParams& params) {
    if (!std::isfinite(params.tolerance) || params.tolerance < 0)
        throw Error("rle_to_polygons: tolerance is " + std::to_string(params.tolerance) +
                        ", expected a finite number of pixels >= 0",
                    ErrorPlace{{}, 0, "MaskPolygonParams.tolerance"});
    if (params.max_vertices > 0 && params.max_vertices < 4)
        throw Error("rle_to_polygons: max_vertices is " + std::to_string(params.max_vertices) +
                        ", expected 0 (no limit) or at least 4",
                    ErrorPlace{{}, 0, "MaskPolygonParams.max_vertices"});
    if (!(params.min_iou <= 1))
        throw Error("rle_to_polygons: min_iou is " + std::to_string(params.min_iou) + ", expected at most 1",
                    ErrorPlace{{}, 0, "MaskPolygonParams.min_iou"});
    rle_check(mask);

    const std::vector<ColumnRun> runs = column_runs(mask);
    if (runs.empty()) return {};
    if (runs.size() > UINT32_MAX) throw Error("rle_to_polygons: too many runs");
    std::vector<uint32_t> parent(runs.size());
    for (uint32_t i = 0; i < parent.size(); ++i) parent[i] = i;
    unite_columns(runs, parent);

    // Parts in the order of their first run; part_of maps a root to its part.
    std::vector<Part> parts;
    std::vector<uint32_t> part_of(runs.size(), 0);
    for (uint32_t i = 0; i < runs.size(); ++i) {
        const uint32_t root = find_root(parent, i);
        const ColumnRun& r = runs[i];
        if (root == i) {
            part_of[i] = static_cast<uint32_t>(parts.size());
            parts.push_back({i, 0, r.x, r.x, r.y0, r.y1 - 1, {}});
        }
        Part& p = parts[part_of[root]];
        p.area += r.y1 - r.y0;
        p.x_max = r.x;  // runs come column by column
        p.y_min = std::min(p.y_min, r.y0);
        p.y_max = std::max(p.y_max, r.y1 - 1);
    }
    std::vector<uint8_t> kept(parts.size(), 0);  // by min_area
    bool any = false;
    uint32_t x_min = UINT32_MAX, x_max = 0, y_min = UINT32_MAX, y_max = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
        if (parts[k].area < params.min_area) continue;
        kept[k] = 1;
        any = true;
        x_min = std::min(x_min, parts[k].x_min);
        x_max = std::max(x_max, parts[k].x_max);
        y_min = std::min(y_min, parts[k].y_min);
        y_max = std::max(y_max, parts[k].y_max);
    }
    if (!any) return {};

    // Only the kept parts go into the bitmap: dropped ones never touch them (they would be
    // the same part), so to the tracer they are background either way.
    PaddedBitmap bitmap;
    bitmap.x_origin = static_cast<int64_t>(x_min) - 1;
    bitmap.y_origin = static_cast<int64_t>(y_min) - 1;
    bitmap.rows = static_cast<int64_t>(y_max) - y_min + 3;
    bitmap.pixels.assign(static_cast<size_t>((static_cast<int64_t>(x_max) - x_min + 3) * bitmap.rows), 0);
    for (uint32_t i = 0; i < runs.size(); ++i) {
        if (!kept[part_of[find_root(parent, i)]]) continue;
        const ColumnRun& r = runs[i];
        std::fill_n(bitmap.pixels.begin() + bitmap.index(r.x, r.y0), r.y1 - r.y0, uint8_t{1});
    }
    // A part inside another part's hole is covered by that part's filled outline: it is
    // left out. The background around the parts is marked from the bitmap's border (4-
    // connected: the background between 8-connected parts); a part is in a hole when the
    // background pixel left of its top-left pixel was not reached. The fill costs the
    // bitmap's area (a few ms for birds spread over a full-HD frame), so it runs only when a
    // part's bounding box lies strictly inside another's, which being in its hole requires
    // (many parts, noise: not worth checking pairs).
    constexpr uint8_t kOutside = 2;
    constexpr size_t kMaxPairChecks = 256;
    std::vector<size_t> kept_parts;
    for (size_t k = 0; k < parts.size(); ++k)
        if (kept[k]) kept_parts.push_back(k);
    bool may_nest = kept_parts.size() > kMaxPairChecks;
    for (size_t a = 0; a < kept_parts.size() && !may_nest; ++a)
        for (size_t b = 0; b < kept_parts.size() && !may_nest; ++b) {
            const Part &outer = parts[kept_parts[a]], &inner = parts[kept_parts[b]];
            may_nest = outer.x_min < inner.x_min && outer.x_max > inner.x_max && outer.y_min < inner.y_min &&
                       outer.y_max > inner.y_max;
        }
    if (may_nest) {
        std::vector<int64_t> stack{0};
        bitmap.pixels[0] = kOutside;
        const auto size = static_cast<int64_t>(bitmap.pixels.size());
        const int64_t rows = bitmap.rows;
        while (!stack.empty()) {
            const int64_t i = stack.back();
            stack.pop_back();
            const int64_t y = i % rows;
            for (int64_t j : {i - rows, i + rows, y > 0 ? i - 1 : -1, y + 1 < rows ? i + 1 : -1}) {
                if (j < 0 || j >= size || bitmap.pixels[j] != 0) continue;
                bitmap.pixels[j] = kOutside;
                stack.push_back(j);
            }
        }
    }
    std::vector<size_t> order;
    for (size_t k : kept_parts) {
        const ColumnRun& first = runs[parts[k].first_run];
        if (may_nest && bitmap.pixels[bitmap.index(int64_t(first.x) - 1, first.y0)] != kOutside) continue;
        parts[k].outline = trace_outline(bitmap, first.x, first.y0);
        order.push_back(k);
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return parts[a].area > parts[b].area; });

    std::vector<Polygon> out;
    out.reserve(order.size());
    for (size_t k : order) out.push_back(part_polygon(parts[k], params, mask.w, mask.h));
    return out;
}

}  // namespace chickenseg
