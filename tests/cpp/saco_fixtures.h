// Small SA-Co records shared by the data-layer tests.
#pragma once

#include "chickenseg/data/saco.h"

namespace chickenseg::test {

// A right triangle (1,1)-(5,1)-(5,5): tight box [1, 1, 4, 4], polygon area 8.
inline SacoAnnotation triangle_annotation(int64_t id, int64_t image_id, int iscrowd = 0) {
    SacoAnnotation a;
    a.id = id;
    a.image_id = image_id;
    a.segmentation.polygons = {{1, 1, 5, 1, 5, 5}};
    a.bbox = {1, 1, 4, 4};
    a.area = 8;
    a.iscrowd = iscrowd;
    return a;
}

}  // namespace chickenseg::test
