#include "chickenseg/annotate/annotation.h"

#include <optional>
#include <utility>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

std::string field(const std::string& array, size_t i) { return array + "[" + std::to_string(i) + "]"; }

// A LabelMe shape's points as a flat polygon: a polygon's own, a rectangle's 4 corners.
Polygon shape_polygon(const json& shape, const std::string& file, const std::string& where) {
    const std::string type = shape.value("shape_type", std::string("polygon"));
    const auto points = shape.find("points");
    if (points == shape.end() || !points->is_array())
        throw Error("expected a list of [x, y] points", file, 0, where + ".points");
    Polygon flat;
    for (const auto& p : *points) {
        if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
            throw Error("expected [x, y] numbers", file, 0, where + ".points");
        flat.push_back(p[0].get<double>());
        flat.push_back(p[1].get<double>());
    }
    if (type == "polygon") return flat;
    if (type == "rectangle" && flat.size() == 4)
        return {flat[0], flat[1], flat[2], flat[1], flat[2], flat[3], flat[0], flat[3]};
    throw Error("shape_type \"" + type +
                    "\" cannot be edited in the annotator (polygons and rectangles only): open the file in LabelMe",
                file, 0, where + ".shape_type");
}

std::map<std::string, bool> read_flags(const json& doc, const std::string& file, const std::string& where) {
    std::map<std::string, bool> flags;
    const auto f = doc.find("flags");
    if (f == doc.end() || f->is_null()) return flags;
    if (!f->is_object()) throw Error("expected an object of booleans", file, 0, where);
    for (const auto& [name, value] : f->items()) {
        if (!value.is_boolean()) throw Error("expected a boolean", file, 0, where + "." + name);
        flags[name] = value.get<bool>();
    }
    return flags;
}

}  // namespace

Annotation read_annotation(const std::filesystem::path& path, uint32_t width, uint32_t height) {
    Annotation a;
    a.width = width;
    a.height = height;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return a;
    a.exists = true;
    const std::string file = path.string();
    const json doc = read_json_file(path);
    if (!doc.is_object() || !doc.contains("shapes") || !doc["shapes"].is_array())
        throw Error("expected a LabelMe JSON object with a list of `shapes`", file, 0, "shapes");
    a.flags = read_flags(doc, file, "flags");
    // Shapes with one label and group_id are one instance (labelme's own grouping).
    std::map<std::pair<std::string, long long>, size_t> grouped;
    for (size_t i = 0; i < doc["shapes"].size(); ++i) {
        const json& s = doc["shapes"][i];
        const std::string where = field("shapes", i);
        if (!s.is_object() || !s.contains("label") || !s["label"].is_string())
            throw Error("expected a shape with a string label", file, 0, where);
        LabelmeShape shape;
        shape.label = s["label"].get<std::string>();
        if (s.contains("group_id") && s["group_id"].is_number_integer())
            shape.group_id = s["group_id"].get<long long>();
        if (s.contains("description") && s["description"].is_string())
            shape.description = s["description"].get<std::string>();
        shape.flags = read_flags(s, file, where + ".flags");
        shape.polygons.push_back(shape_polygon(s, file, where));
        if (shape.group_id) {
            auto [it, fresh] = grouped.try_emplace({shape.label, *shape.group_id}, a.shapes.size());
            if (!fresh) {
                a.shapes[it->second].polygons.push_back(std::move(shape.polygons.front()));
                continue;
            }
        }
        a.shapes.push_back(std::move(shape));
    }
    return a;
}

json annotation_to_json(const Annotation& a) {
    json shapes = json::array();
    for (const auto& s : a.shapes) {
        json polygons = json::array();
        for (const auto& p : s.polygons) polygons.push_back(p);
        shapes.push_back({{"label", s.label},
                          {"group_id", s.group_id ? json(*s.group_id) : json(nullptr)},
                          {"description", s.description},
                          {"flags", s.flags},
                          {"polygons", std::move(polygons)}});
    }
    return {{"width", a.width},
            {"height", a.height},
            {"exists", a.exists},
            {"flags", a.flags},
            {"shapes", std::move(shapes)}};
}

Annotation annotation_from_json(const json& body, uint32_t width, uint32_t height) {
    Annotation a;
    a.width = width;
    a.height = height;
    if (!body.is_object()) throw Error("expected a JSON object", "", 0, "body");
    a.flags = read_flags(body, "", "flags");
    const auto shapes = body.find("shapes");
    if (shapes == body.end() || !shapes->is_array()) throw Error("expected a list of shapes", "", 0, "shapes");
    for (size_t i = 0; i < shapes->size(); ++i) {
        const json& s = (*shapes)[i];
        const std::string where = field("shapes", i);
        if (!s.is_object()) throw Error("expected an object", "", 0, where);
        LabelmeShape shape;
        if (!s.contains("label") || !s["label"].is_string()) throw Error("expected a string", "", 0, where + ".label");
        shape.label = s["label"].get<std::string>();
        if (s.contains("group_id") && !s["group_id"].is_null()) {
            if (!s["group_id"].is_number_integer())
                throw Error("expected an integer or null", "", 0, where + ".group_id");
            shape.group_id = s["group_id"].get<long long>();
        }
        if (s.contains("description")) {
            if (!s["description"].is_string()) throw Error("expected a string", "", 0, where + ".description");
            shape.description = s["description"].get<std::string>();
        }
        shape.flags = read_flags(s, "", where + ".flags");
        const auto polygons = s.find("polygons");
        if (polygons == s.end() || !polygons->is_array())
            throw Error("expected a list of polygons", "", 0, where + ".polygons");
        for (size_t j = 0; j < polygons->size(); ++j) {
            const json& p = (*polygons)[j];
            const std::string pw = where + "." + field("polygons", j);
            if (!p.is_array()) throw Error("expected [x1, y1, x2, y2, ...]", "", 0, pw);
            Polygon flat;
            for (const auto& v : p) {
                if (!v.is_number()) throw Error("expected numbers", "", 0, pw);
                flat.push_back(v.get<double>());
            }
            shape.polygons.push_back(std::move(flat));
        }
        a.shapes.push_back(std::move(shape));
    }
    const auto negative = a.flags.find(kNegativeFlag);
    if (negative != a.flags.end() && negative->second && !a.shapes.empty())
        throw Error("an image marked " + std::string(kNegativeFlag) + " has no shapes: delete them or clear the flag",
                    "", 0, "flags." + std::string(kNegativeFlag));
    return a;
}

void write_annotation(const std::filesystem::path& path, const std::filesystem::path& image, Annotation annotation) {
    annotation.flags[kReviewedFlag] = true;
    write_labelme_file(path, image, annotation.width, annotation.height, annotation.shapes, annotation.flags);
}

}  // namespace chickenseg
