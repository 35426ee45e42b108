// The SA-Co dataset JSON (REFERENCE §1): COCO plus `text_input` and
// `is_instance_exhaustive` on every image. A negative is an image whose id no
// annotation names. Pixel coordinates, so pycocotools and the official SAM 3
// training loader (COCO_FROM_JSON) both read the same file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chickenseg/core/geometry.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/rle.h"

namespace chickenseg {

inline constexpr const char* kSacoSchema = "chickenseg.saco/1";

// The longest file_name accepted (PATH_MAX on Linux): anything longer is not a path. validate
// flags it and split refuses it before matching --group-regex (std::regex recurses per character).
inline constexpr size_t kMaxFileNameLength = 4096;

// The largest image side (pixels) every reader accepts, in every format (SA-Co, COCO, LabelMe):
// a bigger number is a corrupt file, and height x width stays far from overflowing mask sizes.
inline constexpr long long kMaxImageSide = 1'000'000;

// The format's field names, spelled once for its two readers (saco.cpp, saco_scanner.cpp) and
// its validator (validate.cpp), so a field cannot be read under one name and checked under another.
namespace saco_field {
inline constexpr const char* images = "images";
inline constexpr const char* annotations = "annotations";
inline constexpr const char* categories = "categories";
inline constexpr const char* id = "id";
inline constexpr const char* file_name = "file_name";
inline constexpr const char* width = "width";
inline constexpr const char* height = "height";
inline constexpr const char* text_input = "text_input";
inline constexpr const char* is_instance_exhaustive = "is_instance_exhaustive";
inline constexpr const char* is_pixel_exhaustive = "is_pixel_exhaustive";
inline constexpr const char* image_id = "image_id";
inline constexpr const char* category_id = "category_id";
inline constexpr const char* segmentation = "segmentation";
inline constexpr const char* bbox = "bbox";
inline constexpr const char* area = "area";
inline constexpr const char* iscrowd = "iscrowd";
inline constexpr const char* counts = "counts";
inline constexpr const char* size = "size";
inline constexpr const char* name = "name";
}  // namespace saco_field

struct Segmentation {
    bool is_rle = false;
    std::vector<Polygon> polygons;  // when !is_rle
    // When is_rle: the mask, checked, held compressed (COCO's counts string: a quarter of
    // the memory of decoded runs for real masks; segmentation_to_rle decodes it).
    CompressedRle rle;
    bool rle_uncompressed = false;  // counts were a JSON list (kept that way when written)
};

struct SacoImage {
    int64_t id = 0;
    std::string file_name;  // relative to the image root, '/' separators
    uint32_t width = 0;     // after EXIF orientation
    uint32_t height = 0;
    std::string text_input;
    int is_instance_exhaustive = 1;
    json extra = json::object();  // every other field, kept as read (source, sha256, ...)
};

struct SacoAnnotation {
    int64_t id = 0;
    int64_t image_id = 0;
    int64_t category_id = 1;
    Segmentation segmentation;
    BoxXywh bbox{0, 0, 0, 0};
    double area = 0;
    int iscrowd = 0;
    json extra = json::object();
};

struct SacoCategory {
    int64_t id = 1;
    std::string name;
    json extra = json::object();
};

struct SacoDataset {
    json top = json::object();  // top-level keys other than images/annotations/categories
    std::vector<SacoImage> images;
    std::vector<SacoAnnotation> annotations;
    std::vector<SacoCategory> categories;

    // image id -> number of non-crowd annotations (0 for negatives).
    std::unordered_map<int64_t, size_t> annotation_counts() const;
    size_t positive_count() const;
    size_t negative_count() const;
};

// Type-level parsing: throws Error naming the file and JSON path of the first
// field with the wrong type or missing. Meaning (ids unique, polygons inside the
// image, ...) is checked by validate_saco.
SacoDataset saco_from_json(const json& doc, const std::string& file);
// The same from the file's text: a fast scanner reads well-formed files (5x less
// time on a 10 MB ground truth), anything else goes through saco_from_json.
SacoDataset saco_from_text(std::string_view text, const std::string& file);
SacoDataset read_saco_json(const std::filesystem::path& path);

// The id rules every command that places annotations by image relies on (split, holdout,
// merge, eval): image ids unique, and every annotation's image_id names an image of the file.
// Throws Error naming the file and JSON path of the first problem (validate lists them all).
// The values themselves (JSON integers within int64) are checked when the file is read.
void check_saco_ids(const SacoDataset& ds, const std::string& file);
json saco_to_json(const SacoDataset& ds);
// Deterministic output (same dataset -> same bytes), written atomically.
void write_saco_json(const SacoDataset& ds, const std::filesystem::path& path);

Segmentation segmentation_from_json(const json& seg, uint32_t height, uint32_t width, const std::string& path,
                                    const std::string& file);
json segmentation_to_json(const Segmentation& seg);
// The mask of an annotation as RLE at (height, width) (polygons rasterised as pycocotools does).
Rle segmentation_to_rle(const Segmentation& seg, uint32_t height, uint32_t width);

}  // namespace chickenseg
