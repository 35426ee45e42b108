// What an SA-Co dataset holds: counts, instances per image, instance sizes
// (COCO's absolute bins and bins relative to the image), a per-source breakdown
// and the distribution of image sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

struct HistogramBin {
    std::string label;  // e.g. "2", "5-9", "small (< 32^2)"
    size_t count = 0;
};

struct SourceStats {
    size_t images = 0;
    size_t positives = 0;
    size_t negatives = 0;
    size_t annotations = 0;  // non-crowd
};

// min / median / max; the median of an even count is the lower middle value, so it
// is always a size some image really has.
struct Distribution {
    uint64_t min = 0;
    uint64_t median = 0;
    uint64_t max = 0;
};

struct DatasetStats {
    size_t images = 0;
    size_t positives = 0;  // images with at least one non-crowd annotation
    size_t negatives = 0;
    size_t annotations = 0;         // all annotations, crowd included
    size_t crowd = 0;               // iscrowd = 1
    size_t non_exhaustive = 0;      // images with is_instance_exhaustive = 0
    size_t orphan_annotations = 0;  // naming no image: counted above, in no histogram
    // Non-crowd annotations per image: 0, 1, 2, 3, 4, 5-9, 10-19, 20-49, 50+.
    std::vector<HistogramBin> instances_per_image;
    // Non-crowd annotations by their `area`: COCO small (< 32^2), medium (< 96^2), large.
    std::vector<HistogramBin> instance_sizes;
    // Non-crowd annotations by area / image area: < 0.1%, 0.1-1%, 1-5%, 5-10%, 10-25%, 25-50%, >= 50%.
    std::vector<HistogramBin> relative_sizes;
    // By the image's `source` field when present, else the first folder of file_name
    // ("." for files at the root). Sorted by name.
    std::map<std::string, SourceStats> sources;
    Distribution width, height, pixels;  // over images
};

DatasetStats compute_stats(const SacoDataset& ds);
json stats_to_json(const DatasetStats& stats);

// The source an image is counted under (see DatasetStats::sources).
std::string image_source(const SacoImage& image);

}  // namespace chickenseg
