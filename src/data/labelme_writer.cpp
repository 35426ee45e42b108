#include "chickenseg/data/labelme_writer.h"

#include <array>
#include <cmath>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "chickenseg/core/error.h"
#include "chickenseg/data/saco.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"

namespace chickenseg {

namespace {

// labelme's own key order (json.dump of its dict), so a file saved again by labelme differs
// only where an annotator changed something.
using ordered_json = nlohmann::ordered_json;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Shorter files, same shapes: rle_from_polygon works on a 1/5 pixel grid.
double round_coordinate(double v) { return std::round(v * 100) / 100 + 0.0; }

std::string image_path_text(const std::filesystem::path& json_path, const std::filesystem::path& image_path) {
    const std::filesystem::path dir = std::filesystem::absolute(json_path).parent_path().lexically_normal();
    const std::filesystem::path image = std::filesystem::absolute(image_path).lexically_normal();
    std::filesystem::path relative = image.lexically_relative(dir);
    if (relative.empty()) relative = image;  // no relative path (another drive on Windows)
    return relative.generic_string();
}

void check_shape(const LabelmeShape& shape, const std::string& path, uint32_t width, uint32_t height,
                 const std::string& file) {
    if (shape.label.empty() || is_space(shape.label.front()) || is_space(shape.label.back()))
        throw Error(
            "label \"" + shape.label + "\" must be non-empty without surrounding whitespace (LabelMe readers trim it)",
            file, 0, json_key(path, "label"));
    if (shape.polygons.empty())
        throw Error("an instance needs at least one polygon", file, 0, json_key(path, "polygons"));
    for (size_t j = 0; j < shape.polygons.size(); ++j) {
        const Polygon& p = shape.polygons[j];
        const std::string ppath = json_index(json_key(path, "polygons"), j);
        if (p.size() % 2 != 0 || p.size() < 6)
            throw Error("a polygon needs an even number of values and at least 3 points, found " +
                            std::to_string(p.size()) + " values",
                        file, 0, ppath);
        for (size_t i = 0; i < p.size(); ++i) {
            const double limit = i % 2 == 0 ? width : height;
            if (!std::isfinite(p[i]) || p[i] < 0 || p[i] > limit)
                throw Error("point " + std::to_string(i / 2) + " has " + (i % 2 == 0 ? "x" : "y") + " = " +
                                std::to_string(p[i]) + ", expected a number in [0, " +
                                std::to_string(static_cast<uint32_t>(limit)) + "]",
                            file, 0, ppath);
        }
    }
}

}  // namespace

void write_labelme_file(const std::filesystem::path& json_path, const std::filesystem::path& image_path, uint32_t width,
                        uint32_t height, std::span<const LabelmeShape> shapes,
                        const std::map<std::string, bool>& image_flags) {
    const std::string file = json_path.string();
    if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide)
        throw Error("image size " + std::to_string(width) + "x" + std::to_string(height) +
                        " must be 1 to 1,000,000 pixels a side",
                    file, 0, width == 0 || width > kMaxImageSide ? "imageWidth" : "imageHeight");

    // Explicit ids first, so that ids given to multi-polygon instances without one are new.
    long long next_id = 1;
    std::set<std::pair<std::string, long long>> used;
    for (size_t i = 0; i < shapes.size(); ++i) {
        const std::string path = json_index("shapes", i);
        check_shape(shapes[i], path, width, height, file);
        if (!shapes[i].group_id) continue;
        if (!used.insert({shapes[i].label, *shapes[i].group_id}).second)
            throw Error("another instance has label \"" + shapes[i].label + "\" and group_id " +
                            std::to_string(*shapes[i].group_id) + ": they would be read back as one",
                        file, 0, json_key(path, "group_id"));
        if (*shapes[i].group_id >= next_id) next_id = *shapes[i].group_id + 1;
    }

    ordered_json out_shapes = ordered_json::array();
    for (size_t k = 0; k < shapes.size(); ++k) {
        const LabelmeShape& shape = shapes[k];
        std::optional<long long> group_id = shape.group_id;
        if (!group_id && shape.polygons.size() > 1) group_id = next_id++;
        ordered_json flags = ordered_json::object();
        for (const auto& [name, on] : shape.flags) flags[name] = on;
        for (size_t j = 0; j < shape.polygons.size(); ++j) {
            const Polygon& polygon = shape.polygons[j];
            // Rounding may put two neighbouring points on one: written once (a repeated
            // point is a zero-length edge, which pycocotools' rasteriser mishandles).
            std::vector<std::array<double, 2>> xy;
            for (size_t i = 0; i + 1 < polygon.size(); i += 2) {
                const std::array<double, 2> p{round_coordinate(polygon[i]), round_coordinate(polygon[i + 1])};
                if (xy.empty() || xy.back() != p) xy.push_back(p);
            }
            while (xy.size() > 1 && xy.front() == xy.back()) xy.pop_back();
            if (xy.size() < 3)
                throw Error("polygon has fewer than 3 distinct points at 1/100 pixel", file, 0,
                            json_index(json_key(json_index("shapes", k), "polygons"), j));
            ordered_json points = ordered_json::array();
            for (const auto& p : xy) points.push_back({p[0], p[1]});
            ordered_json s = ordered_json::object();
            s["label"] = shape.label;
            s["points"] = std::move(points);
            s["group_id"] = group_id ? ordered_json(*group_id) : ordered_json(nullptr);
            s["description"] = shape.description;
            s["shape_type"] = "polygon";
            s["flags"] = flags;
            s["mask"] = nullptr;
            out_shapes.push_back(std::move(s));
        }
    }

    ordered_json flags = ordered_json::object();
    for (const auto& [name, on] : image_flags) flags[name] = on;
    ordered_json doc = ordered_json::object();
    doc["version"] = kLabelmeVersion;
    doc["flags"] = std::move(flags);
    doc["shapes"] = std::move(out_shapes);
    doc["imagePath"] = image_path_text(json_path, image_path);
    doc["imageData"] = nullptr;
    doc["imageHeight"] = height;
    doc["imageWidth"] = width;
    std::string text;
    try {
        text = doc.dump(2) + "\n";
    } catch (const nlohmann::json::exception& e) {  // a label or flag that is not UTF-8
        throw Error(std::string("cannot write the JSON: ") + e.what(), file);
    }
    write_file_atomic(json_path, text);
}

}  // namespace chickenseg
