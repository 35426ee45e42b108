// COCO RLE, following pycocotools' maskApi.c step for step where the result depends
// on it (rounding in the polygon rasteriser, run merging, the string codec), so the
// outputs are bit-identical; written with vectors and spans instead of malloc.
#include "chickenseg/core/rle.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "chickenseg/core/error.h"
#include "core/rle_decode.h"
#include "core/rle_iou.h"

// SIMD code (the string decoder, the per-column IoU sums) is x86-64 only (not i386: the
// decoder moves 64-bit values between vectors and registers), compiled for AVX2 and used
// where the CPU has it (simd_available).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CHICKENSEG_RLE_HAVE_SIMD 1
#define CHICKENSEG_RLE_TARGET __attribute__((target("avx2,popcnt")))
#endif

namespace chickenseg {
namespace {

uint64_t pixel_count(uint32_t h, uint32_t w) { return uint64_t{h} * w; }

void check_pixel_count(uint32_t h, uint32_t w, const char* what) {
    if (pixel_count(h, w) > std::numeric_limits<uint32_t>::max())
        throw Error(std::string(what) + ": a " + std::to_string(h) + "x" + std::to_string(w) +
                    " mask has more than 2^32-1 pixels, which COCO RLE (32-bit counts) cannot hold");
}

std::string size_text(const Rle& r) { return std::to_string(r.h) + "x" + std::to_string(r.w); }

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
        if (have_prev_ && u != prev_u_) emit(u, v);
        prev_u_ = u;
        prev_v_ = v;
        have_prev_ = true;
    }

    std::vector<uint64_t>& positions() { return positions_; }

private:
    void emit(int u, int v) {
        constexpr double kScale = 5;
        double xd = static_cast<double>(u < prev_u_ ? u : u - 1);
        xd = (xd + .5) / kScale - .5;
        if (std::floor(xd) != xd || xd < 0 || xd > static_cast<double>(w_) - 1) return;
        double yd = static_cast<double>(v < prev_v_ ? v : prev_v_);
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
        for (int d = 0; d <= dx; ++d) {
            int t = flip ? dx - d : d;
            out.add(t + xs, truncate_to_int(ys + s * t + .5));
        }
    } else {
        for (int d = 0; d <= dy; ++d) {
            int t = flip ? dy - d : d;
            out.add(truncate_to_int(xs + s * t + .5), t + ys);
        }
    }
}

// Turns sorted toggle positions into run lengths, as the end of rleFrPoly: two
// toggles at the same position cancel, merging the run after them into the one before.
std::vector<uint32_t> toggles_to_counts(std::vector<uint64_t>& a) {
    std::sort(a.begin(), a.end());
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

// Per-mask data rle_iou reuses for every pair, so that nothing is allocated per pair: the
// area, the column range, and the foreground in one of two forms:
// - per column (`columns`): real masks (animals, blobs) have at most one foreground piece
//   in each column, kept as its rows [top, bottom). Two such masks share
//   sum over columns of max(0, min(bottoms) - max(tops)) pixels: no branches, vectorised.
// - as [begin, end) pixel positions in the shared interval array, for masks with two or
//   more pieces in some column; a pair with such a mask merges the two interval lists.
struct RunIndex {
    uint64_t area = 0;
    uint32_t x_begin = 0, x_end = 0;  // columns holding foreground, [begin, end); empty if equal
    size_t first = 0, last = 0;       // this mask's runs in the shared interval array
    bool columns = false;             // has the per-column form
    size_t column0 = 0;               // where column x_begin is in the per-column arrays
};

// The per-column pieces of all masks of one rle_iou call, in two arrays (top, bottom) so
// that SIMD loads 8 columns of one of them at once. A column without foreground is
// [0, 0). The vectors are grown, never shrunk: `used` says how much of them holds masks.
struct ColumnPieces {
    std::vector<uint32_t> top, bottom;
    size_t used = 0;
};

// A mask whose column range is wider than this plus two columns per count is left to the
// merge: its range is then mostly whole columns or gaps covered by a few runs (images of
// very few rows), where the per-column form would cost time and memory the runs do not.
constexpr size_t kColumnSlack = 4096;

// Adds rows [t, b) to a column: its first piece, or one that continues the last piece (after
// a zero-length background run). Anything else is a second piece: false.
inline bool add_piece(uint32_t& top, uint32_t& bottom, uint64_t t, uint64_t b) {
    if (top == bottom) {
        top = static_cast<uint32_t>(t);
    } else if (t != bottom) {
        return false;
    }
    bottom = static_cast<uint32_t>(b);
    return true;
}

// Area, column range and, where the mask has at most one piece per column, the per-column
// form, in one pass over the counts; also validates them as index_runs does (rle_iou checked
// that h*w < 2^32, so rows and positions fit 32 bits).
RunIndex index_columns(const Rle& r, ColumnPieces& cols) {
    RunIndex idx;
    const std::vector<uint32_t>& c = r.counts;
    const uint64_t h = r.h, total = pixel_count(r.h, r.w);
    // Room for the whole range up front, so that the loop writes through plain pointers.
    const size_t limit = std::min<size_t>(r.w, 2 * c.size() + kColumnSlack);
    if (cols.top.size() < cols.used + limit) {
        size_t n = std::max(cols.used + limit, 2 * cols.top.size());
        cols.top.resize(n);
        cols.bottom.resize(n);
    }
    uint32_t* top = cols.top.data() + cols.used;
    uint32_t* bottom = cols.bottom.data() + cols.used;
    size_t n = 0;           // columns of the range so far; n - 1 is the current one
    uint64_t col_end = 0;   // where the current column ends (before the first run: where x_begin starts)
    uint64_t room_end = 0;  // where the columns there is room for end (at most h*w); 0 before the first run
    bool single = true;     // one piece per column so far, within `limit` columns
    bool past_end = false;  // a run goes past h*w: invalid counts
    uint64_t pos = 0, area = 0;
    size_t j = 0;
    for (; j + 1 < c.size(); j += 2) {
        uint64_t b = pos + c[j], e = b + c[j + 1];
        pos = e;
        // The common case, a blob's next column: the run is a piece of the column after the
        // current one. In unsigned arithmetic t < u <= h says b < e, both in that column.
        uint64_t t = b - col_end, u = e - col_end;
        if (t < u && u <= h && e <= room_end) {
            top[n] = static_cast<uint32_t>(t);
            bottom[n] = static_cast<uint32_t>(u);
            ++n;
            col_end += h;
            area += u - t;
            continue;
        }
        if (b == e) continue;
        area += e - b;
        if (e > total) {
            past_end = true;  // rle_check throws below
            break;
        }
        if (n == 0) {
            // The one division of the mask; from here columns are walked, as positions only grow.
            idx.x_begin = static_cast<uint32_t>(b / h);
            col_end = uint64_t{idx.x_begin} * h;
            room_end = std::min(total, (idx.x_begin + uint64_t{limit}) * h);
        }
        if (e > room_end) {
            single = false;
            break;
        }
        // Step to the run's column, leaving the columns passed over empty; a run that goes on
        // past a column's end (from the bottom of x into the top of x + 1, or over whole
        // columns) is split there.
        while (e > col_end) {
            if (b < col_end) {
                if (!add_piece(top[n - 1], bottom[n - 1], b - (col_end - h), h)) single = false;
                b = col_end;
            }
            top[n] = bottom[n] = 0;
            ++n;
            col_end += h;
        }
        if (!single || !add_piece(top[n - 1], bottom[n - 1], b - (col_end - h), e - (col_end - h))) {
            single = false;
            break;
        }
    }
    if (!single) {
        // Left to the merge (index_runs): only the area and the sum are left to count.
        for (j += 2; j + 1 < c.size(); j += 2) {
            pos += c[j] + uint64_t{c[j + 1]};
            area += c[j + 1];
        }
    }
    if (j < c.size() && !past_end) pos += c[j];
    if (past_end || pos != total) rle_check(r);  // throws, with the usual message
    idx.area = area;
    // A mask left without the per-column form gets its range (and intervals) from
    // index_runs; its columns written so far are overwritten by the next mask.
    idx.columns = single;
    if (single) {
        idx.x_end = static_cast<uint32_t>(idx.x_begin + n);
        idx.column0 = cols.used;
        cols.used += n;
    }
    return idx;
}

struct Interval {
    uint32_t begin, end;  // positions fit: rle_iou only takes masks of < 2^32 pixels
};

// Also validates the counts (the sum must be h*w) in the same pass.
RunIndex index_runs(const Rle& r, std::vector<Interval>& intervals) {
    RunIndex idx;
    idx.first = intervals.size();
    const std::vector<uint32_t>& c = r.counts;
    uint64_t pos = 0;
    size_t j = 0;
    for (; j + 1 < c.size(); j += 2) {
        pos += c[j];
        if (c[j + 1] > 0) {
            // Positions can exceed 32 bits only in counts that fail the check below.
            intervals.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + c[j + 1])});
            idx.area += c[j + 1];
        }
        pos += c[j + 1];
    }
    if (j < c.size()) pos += c[j];
    if (pos != pixel_count(r.h, r.w)) rle_check(r);  // throws, with the usual message
    idx.last = intervals.size();
    if (idx.last > idx.first && r.h > 0) {
        idx.x_begin = intervals[idx.first].begin / r.h;
        idx.x_end = (intervals[idx.last - 1].end - 1) / r.h + 1;
    }
    return idx;
}

// Pixels in both masks: a merge of two sorted, disjoint interval lists, started at the
// first column both masks occupy.
uint64_t intersection_area(const RunIndex& a, const RunIndex& b, const std::vector<Interval>& iv,
                           uint32_t h) {
    uint32_t x0 = std::max(a.x_begin, b.x_begin), x1 = std::min(a.x_end, b.x_end);
    if (x0 >= x1) return 0;
    uint64_t lo = uint64_t{x0} * h, hi = uint64_t{x1} * h;
    auto ends_by = [](const Interval& v, uint64_t pos) { return uint64_t{v.end} <= pos; };
    size_t i = std::lower_bound(iv.begin() + a.first, iv.begin() + a.last, lo, ends_by) - iv.begin();
    size_t j = std::lower_bound(iv.begin() + b.first, iv.begin() + b.last, lo, ends_by) - iv.begin();
    uint64_t inter = 0;
    while (i < a.last && j < b.last) {
        const Interval& p = iv[i];
        const Interval& q = iv[j];
        if (p.begin >= hi || q.begin >= hi) break;
        uint32_t s = std::max(p.begin, q.begin), e = std::min(p.end, q.end);
        if (s < e) inter += e - s;
        if (p.end < q.end)
            ++i;
        else
            ++j;
    }
    return inter;
}

// Pixels two masks in per-column form share over n columns, given each one's tops and
// bottoms from the first shared column. Per column the overlap is
// max(min(bottoms), max(tops)) - max(tops): min - max where positive, else 0, in unsigned
// arithmetic (rows go up to 2^32 - 1). 32-bit sums suffice: the total, and any part of
// it, is at most h*w < 2^32.
uint32_t column_overlap_portable(const uint32_t* ta, const uint32_t* ba, const uint32_t* tb,
                                 const uint32_t* bb, size_t n) {
    uint32_t sum = 0;
    for (size_t k = 0; k < n; ++k) {
        uint32_t t = std::max(ta[k], tb[k]);
        sum += std::max(std::min(ba[k], bb[k]), t) - t;
    }
    return sum;
}

bool simd_available();  // defined with the string decoder below

#ifdef CHICKENSEG_RLE_HAVE_SIMD
CHICKENSEG_RLE_TARGET inline __m256i load8(const uint32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// column_overlap_portable, 8 columns at a time.
CHICKENSEG_RLE_TARGET uint32_t column_overlap_avx2(const uint32_t* ta, const uint32_t* ba, const uint32_t* tb,
                                                   const uint32_t* bb, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256i t = _mm256_max_epu32(load8(ta + k), load8(tb + k));
        __m256i b = _mm256_min_epu32(load8(ba + k), load8(bb + k));
        acc = _mm256_add_epi32(acc, _mm256_sub_epi32(_mm256_max_epu32(b, t), t));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return static_cast<uint32_t>(_mm_cvtsi128_si32(s)) +
           column_overlap_portable(ta + k, ba + k, tb + k, bb + k, n - k);
}
#endif

using ColumnOverlap = uint32_t (*)(const uint32_t*, const uint32_t*, const uint32_t*, const uint32_t*,
                                   size_t);

ColumnOverlap column_overlap_function(detail::RleIouPath path) {
#ifdef CHICKENSEG_RLE_HAVE_SIMD
    if (path == detail::RleIouPath::fastest && simd_available()) return column_overlap_avx2;
#endif
    return column_overlap_portable;
}

}  // namespace

void rle_check(const Rle& rle) {
    uint64_t sum = 0;
    for (uint32_t c : rle.counts) sum += c;
    if (sum != pixel_count(rle.h, rle.w))
        throw Error("RLE counts sum to " + std::to_string(sum) + ", expected h*w = " +
                    std::to_string(rle.h) + "*" + std::to_string(rle.w) + " = " +
                    std::to_string(pixel_count(rle.h, rle.w)));
}

Rle rle_encode(std::span<const uint8_t> mask, uint32_t h, uint32_t w) {
    check_pixel_count(h, w, "rle_encode");
    if (mask.size() != pixel_count(h, w))
        throw Error("rle_encode: mask has " + std::to_string(mask.size()) + " bytes, expected h*w = " +
                    std::to_string(pixel_count(h, w)));
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

std::vector<double> rle_iou(std::span<const Rle> dt, std::span<const Rle> gt,
                            std::span<const uint8_t> iscrowd) {
    std::vector<const Rle*> dp, gp;
    dp.reserve(dt.size());
    gp.reserve(gt.size());
    for (const Rle& r : dt) dp.push_back(&r);
    for (const Rle& r : gt) gp.push_back(&r);
    return rle_iou(std::span<const Rle* const>(dp), std::span<const Rle* const>(gp), iscrowd);
}

std::vector<double> rle_iou(std::span<const Rle* const> dt, std::span<const Rle* const> gt,
                            std::span<const uint8_t> iscrowd) {
    return detail::rle_iou_path(dt, gt, iscrowd, detail::RleIouPath::fastest, nullptr);
}

namespace detail {

std::vector<double> rle_iou_path(std::span<const Rle* const> dt, std::span<const Rle* const> gt,
                                 std::span<const uint8_t> iscrowd, RleIouPath path, RleIouPairs* pairs) {
    if (!iscrowd.empty() && iscrowd.size() != gt.size())
        throw Error("rle_iou: iscrowd has " + std::to_string(iscrowd.size()) +
                    " entries, expected one per GT (" +
                    std::to_string(gt.size()) + ")");
    std::vector<double> out(dt.size() * gt.size(), 0.0);
    if (pairs) *pairs = RleIouPairs{};
    if (out.empty()) return out;
    const Rle& ref = *dt[0];
    check_pixel_count(ref.h, ref.w, "rle_iou");
    auto check = [&ref](const Rle& r, const char* side, size_t i) {
        if (r.h != ref.h || r.w != ref.w)
            throw Error(std::string("rle_iou: ") + side + " mask " + std::to_string(i) + " is " +
                        size_text(r) +
                        ", expected " + size_text(ref) + " like dt mask 0");
    };
    // Scratch kept per thread: eval calls this once per image, and reusing the memory
    // avoids paging in a fresh buffer every time.
    thread_local std::vector<Interval> intervals;
    thread_local ColumnPieces columns;
    thread_local std::vector<RunIndex> di, gi;
    intervals.clear();
    columns.used = 0;
    di.resize(dt.size());
    gi.resize(gt.size());
    const bool by_columns = path != RleIouPath::merge;
    bool all_columns = true;
    auto index = [&](const Rle& r) {
        if (!by_columns) return index_runs(r, intervals);
        RunIndex idx = index_columns(r, columns);
        all_columns = all_columns && idx.columns;
        return idx;
    };
    if (!by_columns) {
        size_t total_runs = 0;
        for (const Rle* r : dt) total_runs += r->counts.size() / 2;
        for (const Rle* r : gt) total_runs += r->counts.size() / 2;
        intervals.reserve(total_runs);
    }
    for (size_t d = 0; d < dt.size(); ++d) {
        check(*dt[d], "dt", d);
        di[d] = index(*dt[d]);
    }
    for (size_t g = 0; g < gt.size(); ++g) {
        check(*gt[g], "gt", g);
        gi[g] = index(*gt[g]);
    }
    if (!all_columns) {
        // Some mask has two pieces in a column: every mask gets its intervals, as such a
        // mask merges with each mask of the other side (per-column masks included).
        size_t total_runs = 0;
        for (const Rle* r : dt) total_runs += r->counts.size() / 2;
        for (const Rle* r : gt) total_runs += r->counts.size() / 2;
        intervals.reserve(total_runs);
        auto add_intervals = [](const Rle& r, RunIndex& idx) {
            RunIndex runs = index_runs(r, intervals);
            runs.columns = idx.columns;
            runs.column0 = idx.column0;
            idx = runs;
        };
        for (size_t d = 0; d < dt.size(); ++d) add_intervals(*dt[d], di[d]);
        for (size_t g = 0; g < gt.size(); ++g) add_intervals(*gt[g], gi[g]);
    }
    const ColumnOverlap column_overlap = column_overlap_function(path);
    const uint32_t* top = columns.top.data();
    const uint32_t* bottom = columns.bottom.data();
    size_t column_pairs = 0, merge_pairs = 0;
    // maskApi: i == 0 gives 0 / 1; otherwise i / union, or i / area(dt) for a crowd GT.
    // Its union, counted run by run, equals area(dt) + area(gt) - i for valid counts.
    for (size_t d = 0; d < dt.size(); ++d) {
        const RunIndex& a = di[d];
        for (size_t g = 0; g < gt.size(); ++g) {
            const RunIndex& b = gi[g];
            uint32_t x0 = std::max(a.x_begin, b.x_begin), x1 = std::min(a.x_end, b.x_end);
            if (x0 >= x1) continue;  // no shared column: nothing in common
            uint64_t inter;
            if (a.columns && b.columns) {
                size_t ka = a.column0 + (x0 - a.x_begin), kb = b.column0 + (x0 - b.x_begin);
                inter = column_overlap(top + ka, bottom + ka, top + kb, bottom + kb, x1 - x0);
                ++column_pairs;
            } else {
                inter = intersection_area(a, b, intervals, ref.h);
                ++merge_pairs;
            }
            if (inter == 0) continue;
            bool crowd = !iscrowd.empty() && iscrowd[g] != 0;
            uint64_t uni = crowd ? a.area : a.area + b.area - inter;
            out[d * gt.size() + g] = static_cast<double>(inter) / static_cast<double>(uni);
        }
    }
    if (pairs) *pairs = RleIouPairs{column_pairs, merge_pairs};
    return out;
}

const char* rle_iou_simd_name() {
    return column_overlap_function(RleIouPath::fastest) == column_overlap_portable ? "none" : "avx2";
}

}  // namespace detail

std::vector<double> bbox_iou(std::span<const BoxXywh> dt, std::span<const BoxXywh> gt,
                             std::span<const uint8_t> iscrowd) {
    if (!iscrowd.empty() && iscrowd.size() != gt.size())
        throw Error("bbox_iou: iscrowd has " + std::to_string(iscrowd.size()) +
                    " entries, expected one per GT (" +
                    std::to_string(gt.size()) + ")");
    std::vector<double> out(dt.size() * gt.size(), 0.0);
    // maskApi's bbIou, operation for operation (fmin/fmax, the same sums), so the
    // doubles match to the last bit.
    for (size_t g = 0; g < gt.size(); ++g) {
        const BoxXywh& G = gt[g];
        double ga = G[2] * G[3];
        bool crowd = !iscrowd.empty() && iscrowd[g] != 0;
        for (size_t d = 0; d < dt.size(); ++d) {
            const BoxXywh& D = dt[d];
            double da = D[2] * D[3];
            double w = std::fmin(D[2] + D[0], G[2] + G[0]) - std::fmax(D[0], G[0]);
            if (w <= 0) continue;
            double h = std::fmin(D[3] + D[1], G[3] + G[1]) - std::fmax(D[1], G[1]);
            if (h <= 0) continue;
            double i = w * h;
            double u = crowd ? da : da + ga - i;
            out[d * gt.size() + g] = i / u;
        }
    }
    return out;
}

std::string rle_to_string(const Rle& rle) {
    // 5 data bits per character (ASCII 48..111), bit 0x20 = more characters follow,
    // bit 0x10 of the last character = sign; runs after the second are stored as the
    // difference to the run two places earlier.
    std::string s;
    s.reserve(rle.counts.size() * 2);
    for (size_t i = 0; i < rle.counts.size(); ++i) {
        int64_t x = rle.counts[i];
        if (i > 2) x -= rle.counts[i - 2];
        bool more = true;
        while (more) {
            int c = static_cast<int>(x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            s.push_back(static_cast<char>(c + 48));
        }
    }
    return s;
}

namespace {

// Decodes COCO's compressed counts, calling emit(run) for each run, and checks them:
// valid characters, no truncated value, every run in [0, 2^32). Returns the sum of the
// runs (the caller compares it with h*w). One loop serves decoding and validation, so
// both give the same messages.
template <class Emit>
uint64_t decode_counts(std::string_view counts, Emit&& emit) {
    // A run is at most 2^32 - 1 and a delta lies within +-(2^32 - 1): 34 bits with the
    // sign, 7 characters. Longer values cannot come from a valid mask.
    constexpr int kMaxChars = 7;
    const size_t n = counts.size();
    uint64_t sum = 0;
    int64_t previous = 0, before_previous = 0;  // runs m-1 and m-2: deltas refer to m-2
    size_t m = 0;
    size_t p = 0;
    while (p < n) {
        const size_t start = p;
        int64_t x = 0;
        int k = 0;
        int c = 0;
        do {
            if (p >= n)
                throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                            " is truncated (the string ends after a character with the continuation bit)");
            auto ch = static_cast<unsigned char>(counts[p]);
            if (ch < 48 || ch > 111)
                throw Error("malformed RLE counts: invalid character (byte " + std::to_string(ch) + ") at offset " +
                            std::to_string(p) + ", expected characters '0' (48) to 'o' (111)");
            if (k == kMaxChars)
                throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                            " is longer than " + std::to_string(kMaxChars) +
                            " characters (a run length must fit in 32 bits)");
            c = ch - 48;
            x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
            ++p;
            ++k;
        } while (c & 0x20);
        if (c & 0x10) x |= -(int64_t{1} << (5 * k));  // sign extension
        if (m > 2) x += before_previous;
        if (x < 0)
            throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                        " decodes to " + std::to_string(x) + ", expected a run length >= 0");
        if (x > std::numeric_limits<uint32_t>::max())
            throw Error("malformed RLE counts: run " + std::to_string(m) + " at offset " + std::to_string(start) +
                        " decodes to " + std::to_string(x) + ", expected a run length < 2^32");
        emit(static_cast<uint32_t>(x));
        sum += static_cast<uint64_t>(x);
        before_previous = previous;
        previous = x;
        ++m;
    }
    return sum;
}

void check_counts_sum(uint64_t sum, uint32_t h, uint32_t w) {
    if (sum != pixel_count(h, w))
        throw Error("malformed RLE counts: RLE counts sum to " + std::to_string(sum) + ", expected h*w = " +
                    std::to_string(h) + "*" + std::to_string(w) + " = " + std::to_string(pixel_count(h, w)));
}

}  // namespace

namespace {

// Whether a character ends a run (no continuation bit). Defined for every byte, valid
// or not, so counting with it bounds the number of runs the fast decoder writes.
inline bool ends_run(unsigned char ch) { return ((static_cast<unsigned>(ch) - 48u) & 0x20u) == 0; }

// Reads one value (1 to 7 characters) at p and moves p past it: the same arithmetic as
// decode_counts, without messages. False if it is truncated, holds an invalid character
// or is longer than 7 characters.
inline bool read_value(const unsigned char*& p, const unsigned char* end, int64_t& v) {
    unsigned c = static_cast<unsigned>(*p) - 48u;
    if (c < 32) {  // one character: 5 bits, bit 4 the sign
        v = static_cast<int64_t>(c) - static_cast<int64_t>((c & 0x10u) << 1);
        ++p;
        return true;
    }
    uint64_t acc = 0;
    unsigned shift = 0;
    for (;;) {
        if (p == end) return false;  // truncated
        c = static_cast<unsigned>(*p) - 48u;
        if (c > 63 || shift >= 35) return false;  // invalid character, or over 7 characters
        acc |= static_cast<uint64_t>(c & 0x1f) << shift;
        shift += 5;
        ++p;
        if (!(c & 0x20)) break;
    }
    v = static_cast<int64_t>(acc);
    if (c & 0x10) v |= -(int64_t{1} << shift);  // sign extension
    return true;
}

// The scalar fast decoder: the same arithmetic as decode_counts, shaped for real masks,
// where almost every run is one character (a small delta: 1.02 characters per run in
// bench/eval_bench.py's masks). Problems are only flagged; the caller re-runs
// decode_counts, which names them. With kStore, `out` needs room for count_runs
// values. Returns false on any problem, else sets `runs` and `sum`. It is the reference
// for the SIMD decoders below.
template <bool kStore>
bool decode_counts_scalar(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum) {
    const auto* p = reinterpret_cast<const unsigned char*>(counts.data());
    const auto* end = p + counts.size();
    int64_t previous = 0, before_previous = 0;  // runs m-1 and m-2: deltas refer to m-2
    size_t m = 0;
    uint64_t total = 0;
    bool bad = false;
    while (p < end) {
        int64_t v;
        if (!read_value(p, end, v)) return false;
        int64_t x = v + (m > 2 ? before_previous : 0);
        bad |= (x < 0) | (x > int64_t{0xFFFFFFFF});
        if constexpr (kStore) out[m] = static_cast<uint32_t>(x);
        total += static_cast<uint64_t>(x);
        before_previous = previous;
        previous = x;
        ++m;
    }
    runs = m;
    sum = total;
    return !bad;
}

size_t count_runs_scalar(std::string_view counts) {
    size_t runs = 0;
    for (char ch : counts) runs += ends_run(static_cast<unsigned char>(ch));
    return runs;
}

#ifdef CHICKENSEG_RLE_HAVE_SIMD
// Loading 16 bytes at kLeadingLanes + 16 - k gives a mask of the first k lanes.
alignas(32) constexpr unsigned char kLeadingLanes[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// pshufb indices: loading 16 at kLaneShift + s moves lane s + j to lane j, and zeroes the
// lanes that would come from past lane 15 (index bit 7 set).
alignas(32) constexpr unsigned char kLaneShift[32] = {
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

// The 16 characters at p, minus 48. Near the end of the string (end - p < 16, but the
// string has 16 characters) the last 16 are loaded and shifted down so that lane 0 is
// p; the lanes past the end become 0 - 48, an invalid character, which stops the block.
CHICKENSEG_RLE_TARGET inline __m128i load_block(const unsigned char* p, const unsigned char* end) {
    const __m128i k48 = _mm_set1_epi8(48);
    if (end - p >= 16) return _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), k48);
    __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16));
    __m128i shift = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLaneShift + 16 - (end - p)));
    return _mm_sub_epi8(_mm_shuffle_epi8(last, shift), k48);
}

// The AVX2 decoder. A block is the 16 characters at p, at run m >= 3 (where every
// value is a delta to the run two before). Its leading k characters that are
// one-character values (c - 48 in 0..31: deltas -16..15) are decoded together:
//   run[m + j] = base(j) + P[j],  base = run[m - 2] for even j, run[m - 1] for odd j,
// with P[j] the sum of the deltas at j, j - 2, j - 4, ... (8 at most, so -128..120 fits
// int8). The block's runs are checked against < 0 with the minimum of P per parity;
// blocks only start while both bases are <= 2^32 - 1 - 120, so no run can pass 2^32 - 1.
// Lane k then starts a multi-character value (1 per 100 characters in real masks), which
// is decoded from the same vector without a loop where it lies within the block, else by
// read_value. Runs of 32 one-character values in a row take a wider loop: two such
// blocks side by side in the 128-bit halves of a 256-bit vector, the bases kept in a
// vector. Any problem returns false at once (the scalar decoder returns false too, only
// later).
template <bool kStore>
CHICKENSEG_RLE_TARGET bool decode_counts_avx2(std::string_view counts, uint32_t* out, size_t& runs,
                                              uint64_t& sum, size_t& block_chars) {
    constexpr int64_t kMaxBase = int64_t{0xFFFFFFFF} - 120;
    const auto* begin = reinterpret_cast<const unsigned char*>(counts.data());
    const auto* end = begin + counts.size();
    const auto* p = begin;
    int64_t previous = 0, before_previous = 0;  // runs m-1 and m-2
    size_t m = 0;
    uint64_t total = 0;
    // The sum of P over all blocks, as psadbw sums of P + 128 (two 64-bit lanes); `biased`
    // counts the lanes, to take the 128s off at the end.
    __m128i prefix_total = _mm_setzero_si128();
    uint64_t biased = 0;
    size_t scalar_chars = 0;
    const __m128i k16 = _mm_set1_epi8(16), k64 = _mm_set1_epi8(64), k96 = _mm_set1_epi8(96);
    const __m128i k127 = _mm_set1_epi8(127), k128 = _mm_set1_epi8(-128), k31 = _mm_set1_epi8(31);
    const __m128i k1_32 = _mm_set1_epi16(1 | 32 << 8), k1_1024 = _mm_set1_epi32(1 | 1024 << 16);
    const __m256i w16 = _mm256_set1_epi8(16), w48 = _mm256_set1_epi8(48), w96 = _mm256_set1_epi8(96);
    const __m256i w128 = _mm256_set1_epi8(-128), zero256 = _mm256_setzero_si256();
    const __m128i max_wide_base = _mm_set1_epi64x(int64_t{0xFFFFFFFF} - 240);
    __m256i prefix_wide = _mm256_setzero_si256();  // like prefix_total, for the wide loop
    __m128i base_total = _mm_setzero_si128();      // the wide loop's bases' share of the sum
    // Adds one value decoded outside a block (the arithmetic of decode_counts_scalar).
    auto add_run = [&](int64_t v) {
        int64_t x = v + (m > 2 ? before_previous : 0);
        if (x < 0 || x > int64_t{0xFFFFFFFF}) return false;
        if constexpr (kStore) out[m] = static_cast<uint32_t>(x);
        total += static_cast<uint64_t>(x);
        before_previous = previous;
        previous = x;
        ++m;
        return true;
    };
    while (p < end) {
        if (m < 3 || end - begin < 16 || std::max(previous, before_previous) > kMaxBase) {
            const auto* start = p;
            int64_t v;
            if (!read_value(p, end, v) || !add_run(v)) return false;
            scalar_chars += static_cast<size_t>(p - start);
            continue;
        }
        if (end - p >= 32) {
            // The wide loop. In each half, P and its per-parity minimum are as in the
            // 16-character block; the upper half's bases are the runs m+14 and m+15.
            // Nothing is committed for a block that is not all one-character values, has
            // a run < 0, or starts on a base over 2^32 - 1 - 240: the 16-character path
            // below takes it (and finds the problem, exactly).
            __m128i base = _mm_set_epi64x(previous, before_previous);  // int64 runs m-2, m-1
            while (end - p >= 32) {
                __m256i c = _mm256_sub_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), w48);
                if (_mm256_movemask_epi8(_mm256_adds_epu8(c, w96))) break;
                __m256i d = _mm256_sub_epi8(_mm256_xor_si256(c, w16), w16);
                __m256i pre = _mm256_add_epi8(d, _mm256_slli_si256(d, 2));
                pre = _mm256_add_epi8(pre, _mm256_slli_si256(pre, 4));
                pre = _mm256_add_epi8(pre, _mm256_slli_si256(pre, 8));
                __m256i low = _mm256_min_epi8(pre, _mm256_srli_si256(pre, 8));
                low = _mm256_min_epi8(low, _mm256_srli_si256(low, 4));
                low = _mm256_min_epi8(low, _mm256_srli_si256(low, 2));
                // Per half: word 0 the minima (even, odd), word 7 the last pair of P.
                __m256i ends = _mm256_blend_epi16(low, pre, 0x80);
                __m128i ends0 = _mm256_castsi256_si128(ends), ends1 = _mm256_extracti128_si256(ends, 1);
                __m128i last0 = _mm_cvtepi8_epi64(_mm_srli_si128(ends0, 14));
                __m128i mid = _mm_add_epi64(base, last0);  // runs m+14, m+15
                __m128i next = _mm_add_epi64(mid, _mm_cvtepi8_epi64(_mm_srli_si128(ends1, 14)));
                __m128i flags = _mm_or_si128(_mm_add_epi64(base, _mm_cvtepi8_epi64(ends0)),
                                             _mm_add_epi64(mid, _mm_cvtepi8_epi64(ends1)));
                flags = _mm_or_si128(flags, _mm_cmpgt_epi64(base, max_wide_base));
                if (_mm_movemask_pd(_mm_castsi128_pd(flags))) break;
                prefix_wide =
                    _mm256_add_epi64(prefix_wide, _mm256_sad_epu8(_mm256_xor_si256(pre, w128), zero256));
                biased += 32;
                // The bases' share of the sum: 16 runs on `base` and 8 more on `last0`.
                base_total = _mm_add_epi64(base_total,
                                           _mm_add_epi64(_mm_slli_epi64(base, 4), _mm_slli_epi64(last0, 3)));
                if constexpr (kStore) {
                    __m256i base0 = _mm256_broadcastsi128_si256(_mm_shuffle_epi32(base, 0x88));
                    __m256i base1 = _mm256_broadcastsi128_si256(_mm_shuffle_epi32(mid, 0x88));
                    __m128i pre0 = _mm256_castsi256_si128(pre), pre1 = _mm256_extracti128_si256(pre, 1);
                    auto* o = reinterpret_cast<__m256i*>(out + m);
                    _mm256_storeu_si256(o, _mm256_add_epi32(base0, _mm256_cvtepi8_epi32(pre0)));
                    _mm256_storeu_si256(
                        o + 1, _mm256_add_epi32(base0, _mm256_cvtepi8_epi32(_mm_srli_si128(pre0, 8))));
                    _mm256_storeu_si256(o + 2, _mm256_add_epi32(base1, _mm256_cvtepi8_epi32(pre1)));
                    _mm256_storeu_si256(
                        o + 3, _mm256_add_epi32(base1, _mm256_cvtepi8_epi32(_mm_srli_si128(pre1, 8))));
                }
                base = next;
                p += 32;
                m += 32;
            }
            before_previous = _mm_cvtsi128_si64(base);
            previous = _mm_extract_epi64(base, 1);
            if (p == end) break;
            if (std::max(previous, before_previous) > kMaxBase) continue;
        }
        __m128i c = load_block(p, end);
        // c >= 32 (unsigned) marks a multi-character value or an invalid byte: bit 7 after
        // a saturating + 96.
        unsigned multi = static_cast<unsigned>(_mm_movemask_epi8(_mm_adds_epu8(c, k96)));
        int k = multi ? __builtin_ctz(multi) : 16;
        __m128i d = _mm_sub_epi8(_mm_xor_si128(c, k16), k16);  // sign-extend 5 bits
        __m128i pre = _mm_add_epi8(d, _mm_slli_si128(d, 2));
        pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 4));
        pre = _mm_add_epi8(pre, _mm_slli_si128(pre, 8));
        // Lanes from k on hold garbage: they are masked out of the minimum and the sum, and
        // their stores land where later runs (or the slack) go.
        __m128i keep = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLeadingLanes + 16 - k));
        __m128i low = _mm_blendv_epi8(k127, pre, keep);
        low = _mm_min_epi8(low, _mm_srli_si128(low, 8));
        low = _mm_min_epi8(low, _mm_srli_si128(low, 4));
        low = _mm_min_epi8(low, _mm_srli_si128(low, 2));
        int mins = _mm_extract_epi16(low, 0);
        if (((before_previous + static_cast<int8_t>(mins)) | (previous + static_cast<int8_t>(mins >> 8))) < 0)
            return false;
        prefix_total = _mm_add_epi64(
            prefix_total, _mm_sad_epu8(_mm_and_si128(_mm_xor_si128(pre, k128), keep), _mm_setzero_si128()));
        biased += static_cast<unsigned>(k);
        total += static_cast<uint64_t>((k + 1) / 2 * before_previous + k / 2 * previous);
        if constexpr (kStore) {
            // The bases fit 32 bits and the runs passed the checks, so wrapping 32-bit
            // arithmetic gives the exact runs.
            __m128i base = _mm_set_epi32(static_cast<int>(previous), static_cast<int>(before_previous),
                                         static_cast<int>(previous), static_cast<int>(before_previous));
            auto* o = reinterpret_cast<__m128i*>(out + m);
            _mm_storeu_si128(o, _mm_add_epi32(base, _mm_cvtepi8_epi32(pre)));
            _mm_storeu_si128(o + 1, _mm_add_epi32(base, _mm_cvtepi8_epi32(_mm_srli_si128(pre, 4))));
            _mm_storeu_si128(o + 2, _mm_add_epi32(base, _mm_cvtepi8_epi32(_mm_srli_si128(pre, 8))));
            _mm_storeu_si128(o + 3, _mm_add_epi32(base, _mm_cvtepi8_epi32(_mm_srli_si128(pre, 12))));
        }
        // The new runs m+k-2 and m+k-1: P at lanes k-2 and k-1 (index -2 or -1 reads 0
        // through pshufb's bit 7) on the base of that lane's parity.
        int last;
        if (k == 16) {
            last = _mm_extract_epi16(pre, 7);
        } else {
            int idx = ((k - 2) & 0xFF) | (((k - 1) & 0xFF) << 8);
            last = _mm_extract_epi16(_mm_shuffle_epi8(pre, _mm_set1_epi16(static_cast<short>(idx))), 0);
        }
        int64_t even = before_previous, odd = previous;
        if (k & 1) std::swap(even, odd);
        before_previous = even + static_cast<int8_t>(last);
        previous = odd + static_cast<int8_t>(last >> 8);
        p += k;
        m += static_cast<size_t>(k);
        if (k == 16) continue;
        if (p == end) break;  // the lanes past the end of a tail block

        // The value at lane k: continuation characters (32..63) up to a terminating lane t.
        unsigned invalid = static_cast<unsigned>(_mm_movemask_epi8(_mm_adds_epu8(c, k64)));  // c >= 64
        unsigned continues = multi & ~invalid;
        unsigned t = static_cast<unsigned>(__builtin_ctz(~continues & (~0u << k)));
        unsigned len = t - static_cast<unsigned>(k) + 1;
        int64_t v;
        if (t < 16 && len <= 7 && !((invalid >> t) & 1)) {
            // Gather the 5-bit groups of lanes k..k+7: pairs, then quads, then the two
            // 20-bit halves; bits past the value's 5 * len are shifted out below.
            __m128i g = _mm_and_si128(
                _mm_shuffle_epi8(c, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kLaneShift + k))), k31);
            g = _mm_madd_epi16(_mm_maddubs_epi16(g, k1_32), k1_1024);
            auto halves = static_cast<uint64_t>(_mm_cvtsi128_si64(g));
            uint64_t acc = (halves & 0xFFFFFFFFu) | (halves >> 32 << 20);
            unsigned shift = 64 - 5 * len;
            v = static_cast<int64_t>(acc << shift) >> shift;  // sign-extend from the last group's bit 4
            p += len;
        } else {
            const auto* start = p;
            if (!read_value(p, end, v)) return false;
            scalar_chars += static_cast<size_t>(p - start);
        }
        if (!add_run(v)) return false;
    }
    // Everything the blocks left in vectors, less the bias.
    prefix_total =
        _mm_add_epi64(prefix_total, _mm_add_epi64(base_total, _mm256_castsi256_si128(prefix_wide)));
    prefix_total = _mm_add_epi64(prefix_total, _mm256_extracti128_si256(prefix_wide, 1));
    total += static_cast<uint64_t>(_mm_cvtsi128_si64(prefix_total)) +
             static_cast<uint64_t>(_mm_extract_epi64(prefix_total, 1)) - 128 * biased;
    runs = m;
    sum = total;
    block_chars = static_cast<size_t>(end - begin) - scalar_chars;
    return true;
}

// count_runs, 16 characters at a time.
CHICKENSEG_RLE_TARGET size_t count_runs_avx2(std::string_view counts) {
    const auto* p = reinterpret_cast<const unsigned char*>(counts.data());
    const auto* end = p + counts.size();
    const __m128i k48 = _mm_set1_epi8(48), k32 = _mm_set1_epi8(32);
    size_t continues = 0;
    for (; end - p >= 16; p += 16) {
        __m128i c = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), k48);
        continues += static_cast<size_t>(__builtin_popcount(
            static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(c, k32), k32)))));
    }
    size_t runs = counts.size() - continues;
    for (; p < end; ++p) runs -= !ends_run(*p);
    return runs;
}

bool detect_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"); }

bool simd_available() {
    static const bool available = detect_avx2();
    return available;
}
#else
bool simd_available() { return false; }
#endif

// The decoder rle_from_string and rle_check_string use. With kStore, `out` needs room for
// count_runs + kRleStoreSlack values.
template <bool kStore>
bool decode_counts_fast(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum,
                        size_t& block_chars) {
#ifdef CHICKENSEG_RLE_HAVE_SIMD
    if (simd_available()) return decode_counts_avx2<kStore>(counts, out, runs, sum, block_chars);
#endif
    block_chars = 0;
    return decode_counts_scalar<kStore>(counts, out, runs, sum);
}

size_t count_runs(std::string_view counts) {
#ifdef CHICKENSEG_RLE_HAVE_SIMD
    if (simd_available()) return count_runs_avx2(counts);
#endif
    return count_runs_scalar(counts);
}

template <bool kStore>
bool decode_counts_fast(std::string_view counts, uint32_t* out, size_t& runs, uint64_t& sum) {
    size_t block_chars = 0;
    return decode_counts_fast<kStore>(counts, out, runs, sum, block_chars);
}

}  // namespace

namespace detail {

size_t rle_string_capacity(std::string_view counts) { return count_runs(counts) + kRleStoreSlack; }

RleStringDecode rle_string_decode(std::string_view counts, uint32_t* out, RleStringDecoder decoder) {
    RleStringDecode r;
    if (decoder == RleStringDecoder::scalar)
        r.ok = out ? decode_counts_scalar<true>(counts, out, r.runs, r.sum)
                   : decode_counts_scalar<false>(counts, nullptr, r.runs, r.sum);
    else
        r.ok = out ? decode_counts_fast<true>(counts, out, r.runs, r.sum, r.block_chars)
                   : decode_counts_fast<false>(counts, nullptr, r.runs, r.sum, r.block_chars);
    return r;
}

const char* rle_string_simd_name() { return simd_available() ? "avx2" : "none"; }

}  // namespace detail

void rle_from_string(std::string_view counts, uint32_t h, uint32_t w, Rle& out) {
    // Counting the run ends first sizes the vector exactly, plus the few values the SIMD
    // decoder may write past the last run. (Reserving one slot per character made
    // 100,000 masks cost 170 MB of page faults.)
    out.h = h;
    out.w = w;
    out.counts.resize(count_runs(counts) + detail::kRleStoreSlack);
    size_t runs = 0;
    uint64_t sum = 0;
    if (!decode_counts_fast<true>(counts, out.counts.data(), runs, sum) || sum != pixel_count(h, w)) {
        // Something is wrong: the checked decoder says what (and throws).
        out.counts.clear();
        check_counts_sum(decode_counts(counts, [&](uint32_t run) { out.counts.push_back(run); }), h, w);
        return;  // not reached for a string the fast decoder refused
    }
    out.counts.resize(runs);
}

Rle rle_from_string(std::string_view counts, uint32_t h, uint32_t w) {
    Rle r;
    rle_from_string(counts, h, w, r);
    return r;
}

CompressedRle::CompressedRle(uint32_t h_, uint32_t w_, std::string counts) : h(h_), w(w_) {
    auto owned = std::make_shared<const std::string>(std::move(counts));
    counts_ = *owned;
    buffer_ = std::move(owned);
}

CompressedRle::CompressedRle(uint32_t h_, uint32_t w_, std::string_view counts, std::shared_ptr<const void> buffer)
    : h(h_), w(w_), buffer_(std::move(buffer)), counts_(counts) {}

CompressedRle rle_compress(const Rle& rle) { return CompressedRle(rle.h, rle.w, rle_to_string(rle)); }

Rle rle_decompress(const CompressedRle& compressed) {
    return rle_from_string(compressed.counts(), compressed.h, compressed.w);
}

void rle_check_string(std::string_view counts, uint32_t h, uint32_t w) {
    size_t runs = 0;
    uint64_t sum = 0;
    if (!decode_counts_fast<false>(counts, nullptr, runs, sum) || sum != pixel_count(h, w))
        check_counts_sum(decode_counts(counts, [](uint32_t) {}), h, w);
}

}  // namespace chickenseg
