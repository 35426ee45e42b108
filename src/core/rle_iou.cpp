// rle_iou and bbox_iou, computed as pycocotools' maskApi does (rleIou, bbIou: the same
// doubles), with two exact ways to intersect two masks: per column, for masks with at most one
// foreground piece per column (real masks), and the merge of foreground intervals (the
// reference, for any mask). The AVX2 column sums are in rle_x86.cpp.
#include "chickenseg/core/rle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "chickenseg/core/error.h"
#include "core/rle_internal.h"
#include "core/rle_iou.h"

namespace chickenseg {
using namespace rle_internal;
namespace {

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
uint64_t intersection_area(const RunIndex& a, const RunIndex& b, const std::vector<Interval>& iv, uint32_t h) {
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

using ColumnOverlap = uint32_t (*)(const uint32_t*, const uint32_t*, const uint32_t*, const uint32_t*, size_t);

ColumnOverlap column_overlap_function(detail::RleIouPath path) {
#ifdef CHICKENSEG_RLE_HAVE_SIMD
    if (path == detail::RleIouPath::fastest && simd_available()) return column_overlap_avx2;
#endif
    return column_overlap_portable;
}

}  // namespace

std::vector<double> rle_iou(std::span<const Rle> dt, std::span<const Rle> gt, std::span<const uint8_t> iscrowd) {
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
        throw Error("rle_iou: iscrowd has " + std::to_string(iscrowd.size()) + " entries, expected one per GT (" +
                    std::to_string(gt.size()) + ")");
    std::vector<double> out(dt.size() * gt.size(), 0.0);
    if (pairs) *pairs = RleIouPairs{};
    if (out.empty()) return out;
    const Rle& ref = *dt[0];
    check_pixel_count(ref.h, ref.w, "rle_iou");
    auto check = [&ref](const Rle& r, const char* side, size_t i) {
        if (r.h != ref.h || r.w != ref.w)
            throw Error(std::string("rle_iou: ") + side + " mask " + std::to_string(i) + " is " + size_text(r) +
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
        throw Error("bbox_iou: iscrowd has " + std::to_string(iscrowd.size()) + " entries, expected one per GT (" +
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

}  // namespace chickenseg
