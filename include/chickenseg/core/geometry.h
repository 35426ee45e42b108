// Plain geometry on pixel coordinates: polygons as flat [x1,y1,x2,y2,...] lists,
// boxes as COCO [x, y, w, h].
#pragma once

#include <array>
#include <vector>

#include "chickenseg/core/rle.h"

namespace chickenseg {

using Polygon = std::vector<double>;  // x1, y1, x2, y2, ...

// Shoelace area (absolute value).
double polygon_area(const Polygon& p);
// Tight box around the polygons' vertices; zeros for none.
BoxXywh polygons_bbox(const std::vector<Polygon>& polygons);
// 4-point polygon of an axis-aligned box, clockwise from the top-left corner.
Polygon box_to_polygon(const BoxXywh& box);
// Regular polygon approximating a circle (enough vertices that the area error < 0.5%).
Polygon circle_to_polygon(double cx, double cy, double radius, int vertices = 0);
// Box intersection-over-union (no crowd).
double box_iou(const BoxXywh& a, const BoxXywh& b);

}  // namespace chickenseg
