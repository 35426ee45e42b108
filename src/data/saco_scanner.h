// Fast path for reading an SA-Co / COCO dataset JSON: the strict JsonScanner reads
// images, annotations (polygons or RLE with string counts) and categories straight
// into a SacoDataset, and only the fields it keeps no type for (extras) go through
// the general parser, as small spans. It accepts only what saco_from_json accepts,
// with the same result; on anything else it returns std::nullopt and the general
// reader takes over and names the error. Private to the data layer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chickenseg/data/saco.h"

namespace chickenseg::detail {

std::optional<SacoDataset> scan_saco(std::string_view text);

}  // namespace chickenseg::detail
