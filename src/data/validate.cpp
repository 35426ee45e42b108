#include "chickenseg/data/validate.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/geometry.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

namespace {

std::string num(double v) {
    std::ostringstream s;
    s.precision(7);  // enough for pixel coordinates and areas, short enough to read
    s << v;
    return s.str();
}

std::string box_text(const BoxXywh& b) {
    return "[" + num(b[0]) + ", " + num(b[1]) + ", " + num(b[2]) + ", " + num(b[3]) + "]";
}

// Collects problems of one file; every message gets the file and a JSON path.
class Checker {
public:
    Checker(const std::string& file, Diagnostics& d) : file_(file), d_(d) {}
    void error(const std::string& path, std::string message) { d_.error(std::move(message), {file_, 0, path}); }
    void warn(const std::string& path, std::string message) { d_.warn(std::move(message), {file_, 0, path}); }

    // An integer (not 3.0: ids and flags are ints in COCO). Reports and returns nullopt otherwise.
    std::optional<long long> integer(const json& obj, const char* key, const std::string& path) {
        auto it = obj.find(key);
        std::string p = json_key(path, key);
        if (it == obj.end()) {
            error(p, "missing required field");
            return std::nullopt;
        }
        if (!it->is_number_integer()) {
            error(p, "expected an integer, found " + it->dump());
            return std::nullopt;
        }
        if (it->is_number_unsigned() && it->get<unsigned long long>() > static_cast<unsigned long long>(LLONG_MAX)) {
            error(p, "expected an integer in [-9223372036854775808, 9223372036854775807], found " + it->dump());
            return std::nullopt;
        }
        return it->get<long long>();
    }

    // A flag that must be 0 or 1. `required`: missing is an error, else it is fine.
    void flag(const json& obj, const char* key, const std::string& path, bool required, const char* why) {
        if (!obj.contains(key)) {
            if (required) error(json_key(path, key), std::string("missing required field (") + why + ")");
            return;
        }
        auto v = integer(obj, key, path);
        if (v && *v != 0 && *v != 1) error(json_key(path, key), "expected 0 or 1, found " + std::to_string(*v));
    }

    std::optional<double> finite_number(const json& v, const std::string& path) {
        if (!v.is_number()) {
            error(path, "expected a number, found " + v.dump());
            return std::nullopt;
        }
        double d = v.get<double>();
        if (!std::isfinite(d)) {
            error(path, "expected a finite number, found " + v.dump());
            return std::nullopt;
        }
        return d;
    }

private:
    const std::string& file_;
    Diagnostics& d_;
};

struct ImageFacts {
    size_t index = 0;
    long long width = 0;  // 0 when missing or invalid
    long long height = 0;
};

// A segmentation that passed its checks, ready for the bbox and area comparisons.
struct CheckedSegmentation {
    bool is_rle = false;
    std::vector<Polygon> polygons;
    Rle rle;
};

std::optional<CheckedSegmentation> check_polygons(const json& seg, const std::string& path, const ImageFacts* image,
                                                  double tol, Checker& c) {
    if (seg.empty()) {
        c.error(path, "expected at least one polygon, found an empty list");
        return std::nullopt;
    }
    CheckedSegmentation out;
    bool ok = true;
    for (size_t k = 0; k < seg.size(); ++k) {
        std::string ppath = json_index(path, k);
        const json& poly = seg[k];
        if (!poly.is_array()) {
            c.error(ppath, "expected a polygon [x1, y1, x2, y2, ...], found " + std::string(poly.type_name()));
            ok = false;
            continue;
        }
        Polygon p;
        bool numbers_ok = true;
        for (size_t m = 0; m < poly.size(); ++m) {
            auto v = c.finite_number(poly[m], json_index(ppath, m));
            if (!v) {
                numbers_ok = false;
                continue;
            }
            p.push_back(*v);
        }
        if (!numbers_ok) {
            ok = false;
            continue;
        }
        if (poly.size() % 2 != 0) {
            c.error(ppath, "expected an even number of coordinates (x, y pairs), found " + std::to_string(poly.size()));
            ok = false;
            continue;
        }
        if (poly.size() < 6) {
            c.error(ppath,
                    "expected at least 3 points (6 numbers), found " + std::to_string(poly.size() / 2) + " point(s)");
            ok = false;
            continue;
        }
        if (image && image->width > 0 && image->height > 0) {
            for (size_t m = 0; m + 1 < p.size(); m += 2) {
                double x = p[m], y = p[m + 1];
                if (x < -tol || y < -tol || x > image->width + tol || y > image->height + tol) {
                    c.error(ppath, "point " + std::to_string(m / 2) + " (" + num(x) + ", " + num(y) +
                                       ") lies outside the " + std::to_string(image->width) + "x" +
                                       std::to_string(image->height) + " image (tolerance " + num(tol) + " px)");
                    ok = false;
                    break;  // one report per polygon is enough to find it
                }
            }
        }
        if (polygon_area(p) == 0.0) c.warn(ppath, "polygon has zero area (all points on a line)");
        out.polygons.push_back(std::move(p));
    }
    if (!ok) return std::nullopt;
    return out;
}

std::optional<CheckedSegmentation> check_rle(const json& seg, const std::string& path, const ImageFacts* image,
                                             Checker& c) {
    auto size_it = seg.find(saco_field::size);
    auto counts_it = seg.find(saco_field::counts);
    bool ok = true;
    if (size_it == seg.end()) {
        c.error(json_key(path, saco_field::size), "missing required field (RLE needs [height, width])");
        ok = false;
    }
    if (counts_it == seg.end()) {
        c.error(json_key(path, saco_field::counts), "missing required field (RLE needs its run lengths)");
        ok = false;
    }
    if (!ok) return std::nullopt;
    const json& size = *size_it;
    if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() || !size[1].is_number_integer() ||
        size[0].get<long long>() <= 0 || size[1].get<long long>() <= 0 || size[0].get<long long>() > kMaxImageSide ||
        size[1].get<long long>() > kMaxImageSide) {
        c.error(json_key(path, saco_field::size), "expected [height, width] (positive integers), found " + size.dump());
        return std::nullopt;
    }
    auto h = static_cast<uint32_t>(size[0].get<long long>());
    auto w = static_cast<uint32_t>(size[1].get<long long>());
    if (image && image->width > 0 && image->height > 0 && (h != image->height || w != image->width)) {
        c.error(json_key(path, saco_field::size), "RLE size [" + std::to_string(h) + ", " + std::to_string(w) +
                                                      "] does not match the image's [height, width] [" +
                                                      std::to_string(image->height) + ", " +
                                                      std::to_string(image->width) + "]");
        ok = false;
    }
    CheckedSegmentation out;
    out.is_rle = true;
    const json& counts = *counts_it;
    std::string cpath = json_key(path, saco_field::counts);
    try {
        if (counts.is_string()) {
            out.rle = rle_from_string(counts.get<std::string>(), h, w);
        } else if (counts.is_array()) {
            out.rle.h = h;
            out.rle.w = w;
            for (size_t k = 0; k < counts.size(); ++k) {
                const json& v = counts[k];
                if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > UINT32_MAX) {
                    c.error(json_index(cpath, k), "expected a non-negative integer run length, found " + v.dump());
                    return std::nullopt;
                }
                out.rle.counts.push_back(static_cast<uint32_t>(v.get<long long>()));
            }
            rle_check(out.rle);
        } else {
            c.error(cpath,
                    "expected a compressed string or a list of run lengths, found " + std::string(counts.type_name()));
            return std::nullopt;
        }
    } catch (const Error& e) {
        c.error(cpath, e.message());
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    return out;
}

std::optional<CheckedSegmentation> check_segmentation(const json& ann, const std::string& apath,
                                                      const ImageFacts* image, double tol, Checker& c) {
    auto it = ann.find(saco_field::segmentation);
    std::string path = json_key(apath, saco_field::segmentation);
    if (it == ann.end()) {
        c.error(path, "missing required field");
        return std::nullopt;
    }
    if (it->is_array()) return check_polygons(*it, path, image, tol, c);
    if (it->is_object()) return check_rle(*it, path, image, c);
    c.error(path, "expected polygons [[x1, y1, ...], ...] or RLE {\"size\", \"counts\"}, found " +
                      std::string(it->type_name()));
    return std::nullopt;
}

std::optional<BoxXywh> check_bbox(const json& ann, const std::string& apath, Checker& c) {
    auto it = ann.find(saco_field::bbox);
    std::string path = json_key(apath, saco_field::bbox);
    if (it == ann.end()) {
        c.error(path, "missing required field");
        return std::nullopt;
    }
    if (!it->is_array() || it->size() != 4) {
        c.error(path, "expected [x, y, width, height], found " + it->dump());
        return std::nullopt;
    }
    BoxXywh b{};
    for (size_t k = 0; k < 4; ++k) {
        auto v = c.finite_number((*it)[k], json_index(path, k));
        if (!v) return std::nullopt;
        b[k] = *v;
    }
    if (b[2] < 0 || b[3] < 0) {
        c.error(path, "expected a non-negative width and height, found " + box_text(b));
        return std::nullopt;
    }
    return b;
}

void check_annotation(const json& ann, size_t i, const std::unordered_map<long long, ImageFacts>& images,
                      const std::set<long long>& category_ids, bool categories_known,
                      std::unordered_map<long long, size_t>& ann_ids, std::unordered_set<long long>& positive_images,
                      const ValidateParams& params, Checker& c) {
    std::string path = json_index(saco_field::annotations, i);
    if (!ann.is_object()) {
        c.error(path, "expected an annotation object, found " + std::string(ann.type_name()));
        return;
    }
    if (auto id = c.integer(ann, saco_field::id, path)) {
        auto [it, inserted] = ann_ids.emplace(*id, i);
        if (!inserted)
            c.error(json_key(path, saco_field::id), "duplicate annotation id " + std::to_string(*id) +
                                                        " (first at annotations[" + std::to_string(it->second) + "])");
    }
    const ImageFacts* image = nullptr;
    auto image_id = c.integer(ann, saco_field::image_id, path);
    if (image_id) {
        auto it = images.find(*image_id);
        if (it == images.end())
            c.error(json_key(path, saco_field::image_id), "image_id " + std::to_string(*image_id) + " names no image");
        else
            image = &it->second;
    }
    if (auto cat = c.integer(ann, saco_field::category_id, path); cat && categories_known && !category_ids.count(*cat))
        c.error(json_key(path, saco_field::category_id),
                "category_id " + std::to_string(*cat) + " is not in categories");
    c.flag(ann, saco_field::iscrowd, path, true, "the official SAM 3 training loader reads it");
    bool crowd = ann.contains(saco_field::iscrowd) && ann[saco_field::iscrowd].is_number_integer() &&
                 ann[saco_field::iscrowd].get<long long>() == 1;
    if (image && !crowd) positive_images.insert(*image_id);

    auto seg = check_segmentation(ann, path, image, params.pixel_tolerance, c);
    auto bbox = check_bbox(ann, path, c);

    // A plain value and a flag: GCC 12 misreads std::optional<double> here (-Wmaybe-uninitialized).
    double area = 0;
    bool has_area = false;
    if (auto it = ann.find(saco_field::area); it == ann.end()) {
        c.error(json_key(path, saco_field::area), "missing required field");
    } else if (auto v = c.finite_number(*it, json_key(path, saco_field::area))) {
        area = *v;
        has_area = area > 0;
        if (!has_area) c.error(json_key(path, saco_field::area), "expected a positive area, found " + num(area));
    }

    // Comparisons with the mask need the image size for polygons (rasterising) and a
    // segmentation that passed its checks.
    if (!seg || !image || image->width <= 0 || image->height <= 0) return;
    const auto h = static_cast<uint32_t>(image->height), w = static_cast<uint32_t>(image->width);
    BoxXywh tight = seg->is_rle ? rle_to_bbox(seg->rle) : polygons_bbox(seg->polygons);
    if (bbox) {
        const BoxXywh& b = *bbox;
        double tol = params.pixel_tolerance;
        if (std::abs(b[0] - tight[0]) > tol || std::abs(b[1] - tight[1]) > tol ||
            std::abs(b[0] + b[2] - (tight[0] + tight[2])) > tol || std::abs(b[1] + b[3] - (tight[1] + tight[3])) > tol)
            c.error(json_key(path, saco_field::bbox), "bbox " + box_text(b) +
                                                          " does not match the segmentation's tight box " +
                                                          box_text(tight) + " (tolerance " + num(tol) + " px)");
    }
    if (has_area) {
        // Two conventions are in use for polygons: the rasterised mask area (what
        // pycocotools' area() gives) and the exact polygon area; either is fine.
        double mask_area = 0;
        try {
            mask_area = static_cast<double>(rle_area(seg->is_rle ? seg->rle : rle_from_polygons(seg->polygons, h, w)));
        } catch (const Error& e) {
            c.error(json_key(path, saco_field::segmentation), "cannot rasterise: " + e.message());
            return;
        }
        double off = std::abs(area - mask_area) / std::max(mask_area, 1.0);
        std::string reference = "mask area " + num(mask_area);
        if (!seg->is_rle) {
            double exact = 0;
            for (const auto& p : seg->polygons) exact += polygon_area(p);
            off = std::min(off, std::abs(area - exact) / std::max(exact, 1.0));
            reference += ", polygon area " + num(exact);
        }
        if (off > params.area_tolerance)
            c.warn(json_key(path, saco_field::area), "area " + num(area) + " is " + num(std::round(off * 1000) / 10) +
                                                         "% off the segmentation (" + reference + ")");
    }
}

void check_image_files(const json& images, const ValidateParams& params, Checker& c) {
    // One entry per (image, noun phrase): read each file once, check every entry.
    std::map<std::string, std::optional<ImageInfo>> seen;
    Progress progress("validate: image files", images.size());
    for (size_t i = 0; i < images.size(); ++i, progress.tick()) {
        const json& im = images[i];
        if (!im.is_object()) continue;
        auto name_it = im.find(saco_field::file_name);
        if (name_it == im.end() || !name_it->is_string() || name_it->get<std::string>().empty() ||
            name_it->get_ref<const std::string&>().size() > kMaxFileNameLength)
            continue;  // reported with the image's fields
        const std::string name = name_it->get<std::string>();
        std::string path = json_key(json_index(saco_field::images, i), saco_field::file_name);
        auto [it, first] = seen.emplace(name, std::nullopt);
        // A name outside the image root is reported with the image's fields and never read.
        std::optional<std::filesystem::path> inside = path_inside_root(params.image_root, name);
        if (!inside) continue;
        std::filesystem::path disk = *inside;
        if (first) {
            std::error_code ec;
            if (!std::filesystem::is_regular_file(disk, ec)) {
                c.error(path, "image file not found: " + disk.string());
                continue;
            }
            try {
                it->second = read_image_info(disk);
            } catch (const Error& e) {
                c.error(path, "cannot read image " + disk.string() + ": " + e.message());
                continue;
            }
            if (params.decode) {
                ImageFormat format = it->second->format;
                if (format == ImageFormat::tiff) {
                    c.warn(path, std::string("only the header of ") + image_format_name(format) + " image " +
                                     disk.string() +
                                     " was checked (--decode reads JPEG, PNG, BMP, GIF and WebP pixels)");
                } else {
                    try {
                        decode_image(disk);
                    } catch (const Error& e) {
                        c.error(path, "cannot decode image " + disk.string() + ": " + e.message());
                        it->second.reset();
                        continue;
                    }
                }
            }
        }
        if (!it->second) continue;  // already reported for the first entry of this file
        const ImageInfo& info = *it->second;
        auto w = im.find(saco_field::width), h = im.find(saco_field::height);
        if (w == im.end() || h == im.end() || !w->is_number_integer() || !h->is_number_integer()) continue;
        if (w->get<long long>() != info.width || h->get<long long>() != info.height) {
            std::string exif = info.exif_orientation != 1
                                   ? " after EXIF orientation " + std::to_string(info.exif_orientation) + " (stored " +
                                         std::to_string(info.stored_width) + "x" + std::to_string(info.stored_height) +
                                         ")"
                                   : "";
            c.error(json_index(saco_field::images, i),
                    "width x height " + w->dump() + "x" + h->dump() + " differs from the file " + disk.string() + ": " +
                        std::to_string(info.width) + "x" + std::to_string(info.height) + exif);
        }
    }
}

// categories: their ids are what annotations must name; false when the list is unusable, so
// that annotations are not also blamed for naming unknown categories.
bool check_categories(const json& doc, std::set<long long>& category_ids, Checker& c) {
    auto it = doc.find(saco_field::categories);
    if (it == doc.end()) {
        c.error(saco_field::categories,
                "missing required field (the SAM 3 loader takes the prompt from categories[].name)");
        return false;
    }
    if (!it->is_array()) {
        c.error(saco_field::categories, "expected a list, found " + std::string(it->type_name()));
        return false;
    }
    if (it->empty()) {
        c.error(saco_field::categories, "expected at least one category, found an empty list");
        return false;
    }
    std::map<long long, size_t> first;
    for (size_t i = 0; i < it->size(); ++i) {
        const json& cat = (*it)[i];
        std::string path = json_index(saco_field::categories, i);
        if (!cat.is_object()) {
            c.error(path, "expected a category object, found " + std::string(cat.type_name()));
            continue;
        }
        if (auto id = c.integer(cat, saco_field::id, path)) {
            auto [f, inserted] = first.emplace(*id, i);
            if (!inserted)
                c.error(json_key(path, saco_field::id), "duplicate category id " + std::to_string(*id) +
                                                            " (first at categories[" + std::to_string(f->second) +
                                                            "])");
            category_ids.insert(*id);
        }
        auto name = cat.find(saco_field::name);
        if (name == cat.end())
            c.error(json_key(path, saco_field::name), "missing required field");
        else if (!name->is_string() || name->get<std::string>().empty())
            c.error(json_key(path, saco_field::name), "expected a non-empty string, found " + name->dump());
    }
    return true;
}

// The images list itself; null when missing or not a list (the file is then not parsed).
const json* find_image_list(const json& doc, ValidatedFile& out, Checker& c) {
    auto it = doc.find(saco_field::images);
    if (it == doc.end()) {
        c.error(saco_field::images, "missing required field");
        return nullptr;
    }
    if (!it->is_array()) {
        c.error(saco_field::images, "expected a list, found " + std::string(it->type_name()));
        return nullptr;
    }
    out.parsed = true;
    out.images = it->size();
    if (it->empty()) c.error(saco_field::images, "expected at least one image, found an empty list");
    return &*it;
}

// file_name must stay under the image root (no absolute path, no ..); empty when unusable.
std::string check_file_name(const json& im, const std::string& path, ValidatedFile& out, Checker& c) {
    std::string name;
    if (auto it = im.find(saco_field::file_name); it == im.end()) {
        c.error(json_key(path, saco_field::file_name), "missing required field");
    } else if (!it->is_string() || it->get<std::string>().empty()) {
        c.error(json_key(path, saco_field::file_name), "expected a non-empty path, found " + it->dump());
    } else if (it->get_ref<const std::string&>().size() > kMaxFileNameLength) {
        const std::string& long_name = it->get_ref<const std::string&>();
        c.error(json_key(path, saco_field::file_name),
                "expected a path of at most " + std::to_string(kMaxFileNameLength) + " characters, found " +
                    std::to_string(long_name.size()) + " (\"" + long_name.substr(0, 40) + "...\")");
    } else {
        name = it->get<std::string>();
        std::filesystem::path p(name);
        bool escapes = p.is_absolute() ||
                       std::any_of(p.begin(), p.end(), [](const std::filesystem::path& part) { return part == ".."; });
        if (escapes)
            c.error(json_key(path, saco_field::file_name),
                    "expected a path relative to the image root, found \"" + name + "\"");
        out.file_names.back() = name;
    }
    return name;
}

// text_input is the prompt, negatives included; empty when missing or blank.
std::string check_text_input(const json& im, const std::string& path, Checker& c) {
    auto it = im.find(saco_field::text_input);
    if (it == im.end()) {
        c.error(json_key(path, saco_field::text_input),
                "missing required field (every image, positive or negative, needs "
                "its noun phrase)");
        return {};
    }
    if (!it->is_string() || it->get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
        c.error(json_key(path, saco_field::text_input), "expected a non-empty noun phrase, found " + it->dump());
        return {};
    }
    return it->get<std::string>();
}

// One image entry; its id and size go into `images` for the annotation checks.
void check_image(const json& im, size_t i, ValidatedFile& out,
                 std::map<std::pair<std::string, std::string>, size_t>& pairs,
                 std::unordered_map<long long, ImageFacts>& images, Checker& c) {
    std::string path = json_index(saco_field::images, i);
    out.file_names.emplace_back();
    if (!im.is_object()) {
        c.error(path, "expected an image object, found " + std::string(im.type_name()));
        return;
    }
    ImageFacts facts;
    facts.index = i;
    for (const char* key : {saco_field::width, saco_field::height}) {
        auto v = c.integer(im, key, path);
        if (v && (*v <= 0 || *v > kMaxImageSide)) {
            c.error(json_key(path, key), "expected a positive pixel size, found " + std::to_string(*v));
            v.reset();
        }
        (std::string(key) == saco_field::width ? facts.width : facts.height) = v.value_or(0);
    }
    std::string name = check_file_name(im, path, out, c);
    std::string text = check_text_input(im, path, c);
    c.flag(im, saco_field::is_instance_exhaustive, path, true, "SA-Co evaluates only exhaustive images");
    c.flag(im, saco_field::is_pixel_exhaustive, path, false, "");
    if (!name.empty() && !text.empty()) {
        auto [f, inserted] = pairs.emplace(std::make_pair(name, text), i);
        if (!inserted)
            c.error(path, "duplicate (file_name, text_input) pair (\"" + name + "\", \"" + text +
                              "\"), first at images[" + std::to_string(f->second) + "]");
    }
    if (auto id = c.integer(im, saco_field::id, path)) {
        auto [f, inserted] = images.emplace(*id, facts);
        if (!inserted)
            c.error(json_key(path, saco_field::id), "duplicate image id " + std::to_string(*id) + " (first at images[" +
                                                        std::to_string(f->second.index) + "])");
    }
}

// annotations; returns the ids of the images that have at least one (the positives).
std::unordered_set<long long> check_annotations(const json& doc,
                                                const std::unordered_map<long long, ImageFacts>& images,
                                                const std::set<long long>& category_ids, bool categories_known,
                                                const ValidateParams& params, Checker& c) {
    std::unordered_set<long long> positive_images;
    if (auto it = doc.find(saco_field::annotations); it == doc.end()) {
        c.error(saco_field::annotations, "missing required field (an empty list when every image is negative)");
    } else if (!it->is_array()) {
        c.error(saco_field::annotations, "expected a list, found " + std::string(it->type_name()));
    } else {
        std::unordered_map<long long, size_t> ann_ids;
        for (size_t i = 0; i < it->size(); ++i)
            check_annotation((*it)[i], i, images, category_ids, categories_known, ann_ids, positive_images, params, c);
    }
    return positive_images;
}

}  // namespace

ValidatedFile validate_saco_json(const json& doc, const std::string& file, const ValidateParams& params,
                                 Diagnostics& diagnostics, bool single_file) {
    ValidatedFile out;
    out.file = file;
    Checker c(file, diagnostics);
    if (!doc.is_object()) {
        c.error("", "expected a JSON object with images, annotations and categories, found " +
                        std::string(doc.type_name()));
        return out;
    }

    std::set<long long> category_ids;
    bool categories_known = check_categories(doc, category_ids, c);

    std::unordered_map<long long, ImageFacts> images;
    const json* image_list = find_image_list(doc, out, c);
    std::map<std::pair<std::string, std::string>, size_t> pairs;  // (file_name, text_input) -> first index
    for (size_t i = 0; image_list && i < image_list->size(); ++i)
        check_image((*image_list)[i], i, out, pairs, images, c);

    std::unordered_set<long long> positive_images =
        check_annotations(doc, images, category_ids, categories_known, params, c);
    out.positives = positive_images.size();
    out.negatives = images.size() - out.positives;
    // Across several files the balance is judged on the set (validate_saco_files).
    if (single_file && !images.empty()) {
        if (out.negatives == 0)
            c.warn(saco_field::images,
                   "no negative images (images no annotation names): the model cannot learn absence");
        if (out.positives == 0) c.warn(saco_field::images, "no positive images (every image is negative)");
    }

    if (image_list && !params.image_root.empty()) check_image_files(*image_list, params, c);
    return out;
}

Diagnostics validate_saco_files(const std::vector<std::filesystem::path>& files, const ValidateParams& params) {
    Diagnostics diagnostics;
    const bool several = files.size() > 1;
    std::vector<ValidatedFile> results;
    for (const auto& path : files) {
        json doc;
        try {
            doc = read_json_file(path);
        } catch (const Error& e) {
            diagnostics.add(e);
            continue;
        }
        results.push_back(validate_saco_json(doc, path.string(), params, diagnostics, !several));
    }
    if (!several) return diagnostics;

    // Train and val (or any set of files used together) must each hold both kinds,
    // and an image in two of them would leak between training and evaluation.
    std::map<std::string, std::pair<size_t, size_t>> owner;  // file_name -> (result index, image index)
    for (size_t r = 0; r < results.size(); ++r) {
        const ValidatedFile& f = results[r];
        if (!f.parsed) continue;
        if (f.negatives == 0)
            diagnostics.error("no negative images; each of the datasets used together needs negatives",
                              {f.file, 0, saco_field::images});
        if (f.positives == 0)
            diagnostics.error("no positive images; each of the datasets used together needs positives",
                              {f.file, 0, saco_field::images});
        std::set<std::string> seen_here;
        for (size_t i = 0; i < f.file_names.size(); ++i) {
            const std::string& name = f.file_names[i];
            if (name.empty() || !seen_here.insert(name).second) continue;
            auto [it, inserted] = owner.emplace(name, std::make_pair(r, i));
            if (!inserted)
                diagnostics.error("image \"" + name + "\" is also in " + results[it->second.first].file + " (images[" +
                                      std::to_string(it->second.second) + "])",
                                  {f.file, 0, json_key(json_index(saco_field::images, i), saco_field::file_name)});
        }
    }
    return diagnostics;
}

json validation_report_to_json(const Diagnostics& diagnostics, const std::vector<std::filesystem::path>& files) {
    json errors = json::array(), warnings = json::array();
    for (const auto& d : diagnostics.items()) {
        json j = {{"file", d.place.file}, {"path", d.place.field}, {"message", d.message}};
        if (d.place.line > 0) j["line"] = d.place.line;
        (d.severity == Severity::error ? errors : warnings).push_back(std::move(j));
    }
    json names = json::array();
    for (const auto& f : files) names.push_back(f.string());
    return {{"valid", diagnostics.error_count() == 0}, {"files", names}, {"errors", errors}, {"warnings", warnings}};
}

}  // namespace chickenseg
