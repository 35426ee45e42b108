// COCO run-length encoding, bit-identical to pycocotools' maskApi (x86-64 builds).
//
// Layout: a binary mask of h rows and w columns is read in column-major order
// (x outer, y inner) and stored as run lengths that alternate starting with a
// run of zeros (which may be 0). Area, merge and IoU work on the runs directly.
//
// Functions that walk pixels (decode, merge, iou) first check that the counts sum to
// h*w (rle_check) and throw Error otherwise; area, bbox and to_string are safe on any
// counts. No function here reads or writes out of bounds on bad input. Masks made
// here have at most 2^32 - 1 pixels (counts are 32-bit, as in COCO).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chickenseg {

struct Rle {
    uint32_t h = 0;
    uint32_t w = 0;
    std::vector<uint32_t> counts;
    bool operator==(const Rle&) const = default;
};

// A mask in COCO's compressed form: the `counts` string of an RLE with its size, the
// way pycocotools keeps results. Real masks take about a quarter of the memory of
// decoded runs (one character per run instead of four bytes), so a large predictions
// file is held compressed and each mask decoded where it is used. Two strings may
// encode the same mask (writers other than pycocotools need not be minimal): compare
// masks decoded.
//
// The string is the mask's own, or a view into a buffer the mask shares ownership of (the
// memory-mapped predictions file: eval keeps every mask without copying its text, whose
// page faults were a measurable part of its time). Copies share the string too, so none can dangle.
class CompressedRle {
public:
    CompressedRle() = default;
    CompressedRle(uint32_t h, uint32_t w, std::string counts);
    // `counts` lies inside the buffer that `buffer` keeps alive.
    CompressedRle(uint32_t h, uint32_t w, std::string_view counts, std::shared_ptr<const void> buffer);

    uint32_t h = 0;
    uint32_t w = 0;
    std::string_view counts() const { return counts_; }

private:
    std::shared_ptr<const void> buffer_;
    std::string_view counts_;
};

using BoxXywh = std::array<double, 4>;

// Polygon coordinates (pixels) beyond +-kMaxPolygonCoordinate are rejected: pycocotools
// converts them to 32-bit ints after upsampling by 5 and would overflow, and walking
// such an edge costs time proportional to its length.
inline constexpr double kMaxPolygonCoordinate = 1e7;

// mask: h*w bytes, column-major, non-zero = foreground (pycocotools needs 0/1 bytes;
// any non-zero byte counts as 1 here). Throws Error when mask.size() != h*w.
Rle rle_encode(std::span<const uint8_t> mask, uint32_t h, uint32_t w);
// Returns h*w bytes, column-major, 0 or 1.
std::vector<uint8_t> rle_decode(const Rle& rle);

uint64_t rle_area(const Rle& rle);
// Tight box [x, y, w, h] in pixels, as pycocotools' rleToBbox (zeros for an empty mask).
// Quirk kept for bit-compatibility: when a foreground run crosses a column boundary the
// box spans the full height; zero-length runs inside the counts can widen the box.
BoxXywh rle_to_bbox(const Rle& rle);
// Rasterises a box, as pycocotools' rleFrBbox (via the 4-point polygon
// (x,y) (x,y+h) (x+w,y+h) (x+w,y), the same vertex order as maskApi).
Rle rle_from_bbox(const BoxXywh& box, uint32_t h, uint32_t w);
// Rasterises a polygon [x1,y1,x2,y2,...] in pixels, as pycocotools' rleFrPoly
// (upsampling by 5, same rounding). Needs an even number of values (Error otherwise)
// and finite coordinates within +-kMaxPolygonCoordinate. No values: an empty mask.
Rle rle_from_polygon(std::span<const double> xy, uint32_t h, uint32_t w);
// Several polygons of one object merged (union), as pycocotools' annToRLE
// (frPyObjects + merge). Every list is a polygon, also a 4-value one: pycocotools'
// frPyObjects would read a first polygon of exactly 4 values as a box [x,y,w,h];
// we do not (a 2-point polygon is a degenerate sliver). No polygons: an empty mask.
Rle rle_from_polygons(const std::vector<std::vector<double>>& polygons, uint32_t h, uint32_t w);

// Union (intersect = false) or intersection of masks of the same size.
// Throws Error when sizes differ. No masks: Rle{} (h = w = 0), as pycocotools.
Rle rle_merge(std::span<const Rle> masks, bool intersect = false);

// IoU matrix, dt.size() rows x gt.size() columns, row-major. For a crowd GT
// (iscrowd[j] != 0) the denominator is the area of the detection, as in COCO.
// iscrowd may be empty (no crowd) or has gt.size() entries. Every mask must have the
// size of the first one (Error otherwise; pycocotools would return -1 for such pairs).
std::vector<double> rle_iou(std::span<const Rle> dt, std::span<const Rle> gt, std::span<const uint8_t> iscrowd);
// The same for masks held elsewhere (eval matches masks in place, without copies).
std::vector<double> rle_iou(std::span<const Rle* const> dt, std::span<const Rle* const> gt,
                            std::span<const uint8_t> iscrowd);
// Same for boxes [x, y, w, h], as pycocotools' bbIou.
std::vector<double> bbox_iou(std::span<const BoxXywh> dt, std::span<const BoxXywh> gt,
                             std::span<const uint8_t> iscrowd);

// COCO's compressed string form of the counts (LEB128-like, delta-coded after the third run).
std::string rle_to_string(const Rle& rle);
// Throws Error("malformed RLE counts ...") on bad input (bad characters, truncated
// value, negative run, counts not summing to h*w).
Rle rle_from_string(std::string_view counts, uint32_t h, uint32_t w);
// The same into `out`, reusing its memory (for decoding many masks one after the other).
void rle_from_string(std::string_view counts, uint32_t h, uint32_t w, Rle& out);
CompressedRle rle_compress(const Rle& rle);           // {h, w, rle_to_string(rle)}
Rle rle_decompress(const CompressedRle& compressed);  // rle_from_string of its counts
// The same checks and messages as rle_from_string, without keeping the runs (for
// masks that are validated but never used, e.g. predictions below the score threshold).
void rle_check_string(std::string_view counts, uint32_t h, uint32_t w);
// Checks counts sum to h*w; throws Error otherwise (for uncompressed RLE read from JSON).
void rle_check(const Rle& rle);

}  // namespace chickenseg
