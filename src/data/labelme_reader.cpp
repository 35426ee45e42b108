#include "chickenseg/data/labelme_reader.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "chickenseg/core/base64.h"
#include "chickenseg/core/error.h"
#include "chickenseg/data/saco.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/rle.h"

namespace chickenseg {

bool labelme_shape_has_area(LabelMeShapeType type) {
    return type == LabelMeShapeType::polygon || type == LabelMeShapeType::rectangle ||
           type == LabelMeShapeType::circle || type == LabelMeShapeType::mask;
}

namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool shape_type_from_name(const std::string& name, LabelMeShapeType& type) {
    static const std::map<std::string, LabelMeShapeType> kTypes = {
        {"polygon", LabelMeShapeType::polygon}, {"rectangle", LabelMeShapeType::rectangle},
        {"circle", LabelMeShapeType::circle},   {"mask", LabelMeShapeType::mask},
        {"line", LabelMeShapeType::line},       {"linestrip", LabelMeShapeType::linestrip},
        {"point", LabelMeShapeType::point},     {"points", LabelMeShapeType::points},
    };
    auto it = kTypes.find(name);
    if (it == kTypes.end()) return false;
    type = it->second;
    return true;
}

std::optional<uint32_t> optional_size(const json& doc, const char* key, const std::string& file,
                                      Diagnostics& diagnostics) {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() || it->get<long long>() <= 0 || it->get<long long>() > kMaxImageSide) {
        diagnostics.error("expected a positive pixel size or null, found " + it->dump(), {file, 0, key});
        return std::nullopt;
    }
    return static_cast<uint32_t>(it->get<long long>());
}

// Parses one entry of `shapes`; false (with errors added) when it is unusable.
bool parse_shape(const json& j, const std::string& path, const std::string& file, LabelMeShape& shape,
                 Diagnostics& diagnostics) {
    auto fail = [&](const std::string& message, const std::string& field) {
        diagnostics.error(message, {file, 0, field});
        return false;
    };
    if (!j.is_object()) return fail("expected a shape object, found " + std::string(j.type_name()), path);
    shape.path = path;

    auto label = j.find("label");
    if (label == j.end()) return fail("missing required field", json_key(path, "label"));
    if (!label->is_string()) return fail("expected a string, found " + label->dump(), json_key(path, "label"));
    shape.label = trim(label->get<std::string>());

    shape.type_name = "polygon";  // LabelMe 3 wrote no shape_type (or null) for polygons
    if (auto t = j.find("shape_type"); t != j.end() && !t->is_null()) {
        if (!t->is_string()) return fail("expected a string, found " + t->dump(), json_key(path, "shape_type"));
        shape.type_name = t->get<std::string>();
    }
    if (!shape_type_from_name(shape.type_name, shape.type))
        return fail("unknown shape_type \"" + shape.type_name +
                        "\" (expected polygon, rectangle, circle, mask, line, linestrip, point or points)",
                    json_key(path, "shape_type"));

    if (auto g = j.find("group_id"); g != j.end() && !g->is_null()) {
        if (!g->is_number_integer())
            return fail("expected an integer or null, found " + g->dump(), json_key(path, "group_id"));
        shape.group_id = g->get<long long>();
    }

    std::string ppath = json_key(path, "points");
    auto points = j.find("points");
    if (points == j.end()) return fail("missing required field", ppath);
    if (!points->is_array()) return fail("expected a list of [x, y] points, found " + points->dump(), ppath);
    // Shapes without area are ignored: their points need not be checked.
    if (!labelme_shape_has_area(shape.type)) return true;
    for (size_t i = 0; i < points->size(); ++i) {
        const json& p = (*points)[i];
        if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
            return fail("expected a point [x, y] of two numbers, found " + p.dump(), json_index(ppath, i));
        // Beyond this no pixel can be meant, and a mask's corner 1e300 would be converted to an
        // integer (undefined behaviour): named here with the point's path.
        for (size_t c = 0; c < 2; ++c)
            if (!(std::abs(p[c].get<double>()) <= kMaxPolygonCoordinate))
                return fail("expected a pixel coordinate within +-1e7, found " + p[c].dump(),
                            json_index(json_index(ppath, i), c));
        shape.points.push_back({p[0].get<double>(), p[1].get<double>()});
    }
    size_t n = shape.points.size();
    switch (shape.type) {
        case LabelMeShapeType::polygon:
            if (n < 3) return fail("a polygon needs at least 3 points, found " + std::to_string(n), ppath);
            break;
        case LabelMeShapeType::rectangle:
            if (n != 2) return fail("a rectangle needs 2 points (opposite corners), found " + std::to_string(n), ppath);
            break;
        case LabelMeShapeType::circle:
            if (n != 2) return fail("a circle needs 2 points (centre, rim), found " + std::to_string(n), ppath);
            break;
        case LabelMeShapeType::mask: {
            if (n != 2)
                return fail("a mask needs 2 points (top-left and bottom-right pixel), found " + std::to_string(n),
                            ppath);
            auto m = j.find("mask");
            if (m == j.end() || !m->is_string() || m->get_ref<const std::string&>().empty())
                return fail("a mask shape needs `mask`: a base64 PNG", json_key(path, "mask"));
            shape.mask_base64 = m->get<std::string>();
            break;
        }
        default:
            break;
    }
    return true;
}

// The mask shape as RLE of the whole image, or nullopt (error added).
std::optional<Rle> mask_shape_rle(const LabelMeShape& s, uint32_t width, uint32_t height, const std::string& file,
                                  Diagnostics& diagnostics) {
    ErrorPlace place{file, 0, json_key(s.path, "mask")};
    RgbImage png;
    try {
        std::vector<uint8_t> bytes = base64_decode(s.mask_base64, place);
        png = decode_image(bytes, file + ": " + place.field);
    } catch (const Error& e) {
        diagnostics.error(e.message(), place);
        return std::nullopt;
    }
    // LabelMe pastes the mask with numpy: mask[y1:y2+1, x1:x2+1] = png, where
    // (x1, y1), (x2, y2) are the points cast to int (truncated toward zero).
    auto x1 = static_cast<long long>(std::trunc(s.points[0][0]));
    auto y1 = static_cast<long long>(std::trunc(s.points[0][1]));
    auto x2 = static_cast<long long>(std::trunc(s.points[1][0]));
    auto y2 = static_cast<long long>(std::trunc(s.points[1][1]));
    ErrorPlace ppoints{file, 0, json_key(s.path, "points")};
    if (x1 < 0 || y1 < 0 || x2 >= width || y2 >= height || x2 < x1 || y2 < y1) {
        diagnostics.error("mask rectangle (" + std::to_string(x1) + ", " + std::to_string(y1) + ")-(" +
                              std::to_string(x2) + ", " + std::to_string(y2) + ") must lie inside the " +
                              std::to_string(width) + "x" + std::to_string(height) + " image, top-left first",
                          ppoints);
        return std::nullopt;
    }
    if (png.width != static_cast<uint64_t>(x2 - x1 + 1) || png.height != static_cast<uint64_t>(y2 - y1 + 1)) {
        diagnostics.error("mask PNG is " + std::to_string(png.width) + "x" + std::to_string(png.height) +
                              " but its rectangle is " + std::to_string(x2 - x1 + 1) + "x" +
                              std::to_string(y2 - y1 + 1) + " pixels",
                          place);
        return std::nullopt;
    }
    // Column-major, as RLE wants it; any non-zero value is foreground (LabelMe casts to bool).
    std::vector<uint8_t> full(static_cast<size_t>(width) * height, 0);
    for (uint32_t y = 0; y < png.height; ++y) {
        for (uint32_t x = 0; x < png.width; ++x) {
            const uint8_t* px = &png.pixels[(static_cast<size_t>(y) * png.width + x) * 3];
            if (px[0] | px[1] | px[2]) full[static_cast<size_t>(x + x1) * height + static_cast<size_t>(y + y1)] = 1;
        }
    }
    return rle_encode(full, height, width);
}

}  // namespace

LabelMeFile parse_labelme(const json& doc, const std::string& file, Diagnostics& diagnostics) {
    LabelMeFile out;
    if (!doc.is_object()) {
        diagnostics.error("expected a LabelMe JSON object with `shapes`, found " + std::string(doc.type_name()),
                          {file, 0, {}});
        return out;
    }
    if (auto p = doc.find("imagePath"); p != doc.end() && !p->is_null()) {
        if (!p->is_string())
            diagnostics.error("expected a string, found " + p->dump(), {file, 0, "imagePath"});
        else
            out.image_path = p->get<std::string>();
        std::replace(out.image_path.begin(), out.image_path.end(), '\\', '/');
    }
    out.image_width = optional_size(doc, "imageWidth", file, diagnostics);
    out.image_height = optional_size(doc, "imageHeight", file, diagnostics);
    if (auto d = doc.find("imageData"); d != doc.end() && !d->is_null()) {
        if (!d->is_string())
            diagnostics.error("expected a base64 string or null, found " + std::string(d->type_name()),
                              {file, 0, "imageData"});
        else
            out.image_data = d->get<std::string>();
    }
    if (auto f = doc.find("flags"); f != doc.end() && f->is_object()) {
        auto r = f->find("reviewed");
        out.reviewed = r != f->end() && r->is_boolean() && r->get<bool>();
    }
    auto shapes = doc.find("shapes");
    if (shapes == doc.end()) {
        diagnostics.error("missing required field (a LabelMe file lists its shapes there)", {file, 0, "shapes"});
        return out;
    }
    if (!shapes->is_array()) {
        diagnostics.error("expected a list of shapes, found " + std::string(shapes->type_name()), {file, 0, "shapes"});
        return out;
    }
    for (size_t i = 0; i < shapes->size(); ++i) {
        LabelMeShape shape;
        if (parse_shape((*shapes)[i], json_index("shapes", i), file, shape, diagnostics))
            out.shapes.push_back(std::move(shape));
    }
    return out;
}

std::optional<LabelMeFile> read_labelme_file(const std::filesystem::path& path, const std::string& file,
                                             Diagnostics& diagnostics) {
    std::optional<json> doc = read_json_file_collecting(path, file, diagnostics);
    if (!doc) return std::nullopt;
    return parse_labelme(*doc, file, diagnostics);
}

std::vector<SourceObject> labelme_to_source_objects(const LabelMeFile& labelme, uint32_t width, uint32_t height,
                                                    const std::string& file, Diagnostics& diagnostics) {
    // One entry per instance, in the order of each instance's first shape.
    struct Instance {
        SourceObject object;
        std::vector<Rle> masks;  // mask shapes of the instance (merged at the end)
    };
    std::vector<Instance> instances;
    std::map<std::pair<std::string, long long>, size_t> group_index;  // (label, group_id) -> instance

    for (const auto& s : labelme.shapes) {
        ErrorPlace place{file, 0, s.path};
        if (!labelme_shape_has_area(s.type)) {
            diagnostics.warn("shape_type \"" + s.type_name + "\" has no area: shape ignored", place);
            continue;
        }
        Polygon polygon;
        std::optional<Rle> mask;
        switch (s.type) {
            case LabelMeShapeType::polygon: {
                for (const auto& p : s.points) polygon.insert(polygon.end(), {p[0], p[1]});
                if (!clamp_polygon_to_image(polygon, width, height, place, diagnostics)) continue;
                break;
            }
            case LabelMeShapeType::rectangle: {
                Polygon corners{s.points[0][0], s.points[0][1], s.points[1][0], s.points[1][1]};
                if (!clamp_polygon_to_image(corners, width, height, place, diagnostics)) continue;
                double x0 = std::min(corners[0], corners[2]), x1 = std::max(corners[0], corners[2]);
                double y0 = std::min(corners[1], corners[3]), y1 = std::max(corners[1], corners[3]);
                polygon = box_to_polygon({x0, y0, x1 - x0, y1 - y0});
                break;
            }
            case LabelMeShapeType::circle: {
                Polygon centre_rim{s.points[0][0], s.points[0][1], s.points[1][0], s.points[1][1]};
                if (!clamp_polygon_to_image(centre_rim, width, height, place, diagnostics)) continue;
                double r = std::hypot(centre_rim[2] - centre_rim[0], centre_rim[3] - centre_rim[1]);
                polygon = circle_to_polygon(centre_rim[0], centre_rim[1], r);
                // A circle around a bird at the border may stick out: clip it to the image.
                for (size_t i = 0; i < polygon.size(); i += 2) {
                    polygon[i] = std::clamp(polygon[i], 0.0, static_cast<double>(width));
                    polygon[i + 1] = std::clamp(polygon[i + 1], 0.0, static_cast<double>(height));
                }
                break;
            }
            case LabelMeShapeType::mask: {
                mask = mask_shape_rle(s, width, height, file, diagnostics);
                if (!mask) continue;
                break;
            }
            default:
                continue;
        }

        Instance* inst = nullptr;
        if (s.group_id) {
            auto key = std::make_pair(s.label, *s.group_id);
            auto it = group_index.find(key);
            if (it != group_index.end())
                inst = &instances[it->second];
            else
                group_index[key] = instances.size();
        }
        if (!inst) {
            instances.emplace_back();
            inst = &instances.back();
            inst->object.label = s.label;
            inst->object.place = place;
        }
        if (mask)
            inst->masks.push_back(std::move(*mask));
        else
            inst->object.segmentation.polygons.push_back(std::move(polygon));
    }

    std::vector<SourceObject> out;
    out.reserve(instances.size());
    for (auto& inst : instances) {
        if (!inst.masks.empty()) {
            // A mask in the group: the instance is the union of all its pixels, as RLE.
            std::vector<Rle> parts = std::move(inst.masks);
            if (!inst.object.segmentation.polygons.empty())
                parts.push_back(rle_from_polygons(inst.object.segmentation.polygons, height, width));
            inst.object.segmentation.polygons.clear();
            inst.object.segmentation.is_rle = true;
            inst.object.segmentation.rle = rle_compress(parts.size() == 1 ? parts[0] : rle_merge(parts));
        }
        out.push_back(std::move(inst.object));
    }
    return out;
}

}  // namespace chickenseg
