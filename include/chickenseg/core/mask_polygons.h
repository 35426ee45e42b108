// Binary masks (COCO RLE) to polygons: the outline of every connected part of the mask,
// simplified, in pixel coordinates, for formats that only store polygons (LabelMe).
//
// Coordinates are COCO's, the ones rle_from_polygon rasterises: pixel (x, y) is the square
// [x, x+1] x [y, y+1] and is filled when its centre (x + 0.5, y + 0.5) lies inside the
// polygon (pycocotools' 5x upsampling and rounding come to exactly that test, on a 1/5 px
// grid). So the outline is traced along pixel edges, in corner coordinates, without any
// 0.5 offset: traced exactly, it fills back to exactly the mask. Putting vertices at pixel
// centres instead (what OpenCV's findContours gives) would shrink every part by half a
// pixel all round when filled back. Every vertex lies in [0, w] x [0, h].
//
// Connectivity: 8 (pixels touching at a corner are one part). rle_from_polygon fills the
// pixels whose centres a polygon covers, so a thin or diagonal polygon gives pixels that
// touch only at corners: one polygon makes an 8-connected part. Tracing 8-connected parts
// gives one polygon per such part, where 4-connectivity would cut a diagonal line of pixels
// into one-pixel squares. Two parts that touch at a corner become one outline with a
// narrow neck there.
//
// Holes cannot be written (LabelMe polygons have no holes): each polygon is the outer
// outline of its part, so holes are filled, and a part lying inside another part's hole is
// left out (the filled outline covers it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "chickenseg/core/geometry.h"
#include "chickenseg/core/rle.h"

namespace chickenseg {

struct MaskPolygonParams {
    // Douglas-Peucker tolerance in pixels: how far a dropped outline point may lie from the
    // simplified polygon. Larger gives fewer vertices and a looser fit (docs/core.md has
    // the numbers). 0 keeps the exact traced outline (a vertex per step).
    double tolerance = 0.5;
    // Parts with fewer pixels are dropped (model speckle; a LabelMe polygon of 1-3 pixels is
    // not something an annotator can see or edit). 0 or 1 keeps every part.
    uint64_t min_area = 4;
    // A part whose polygon fills back (rle_from_polygon) to IoU below this with the part
    // (holes filled) is simplified again with half the tolerance, down to the exact outline
    // (IoU 1): thin parts keep their pixels. 0 turns the check off.
    double min_iou = 0.97;
    // Most vertices per polygon: when simplification leaves more, the tolerance is raised
    // step by step until it fits. 0: no limit. At least 4 when set.
    size_t max_vertices = 0;
};

// The outline of each 8-connected part of `mask` with at least params.min_area pixels,
// largest part first (ties: the part reached first, scanning columns left to right).
// Each polygon is [x1, y1, x2, y2, ...] with at least 3 distinct vertices, no two
// neighbours equal. An empty mask gives none. Filled back (rle_from_polygon) each polygon
// has IoU >= params.min_iou with its part, holes filled (unless max_vertices forced it
// coarser). Throws Error when the counts do not sum to h*w, or for a tolerance that is
// negative or not finite, max_vertices 1 to 3, or min_iou above 1.
std::vector<Polygon> rle_to_polygons(const Rle& mask, const MaskPolygonParams& params = {});

}  // namespace chickenseg
