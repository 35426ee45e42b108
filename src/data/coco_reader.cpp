#include "chickenseg/data/coco_reader.h"

#include <algorithm>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

namespace {

// The list at doc[key], or nullptr (error added).
const json* require_list(const json& doc, const char* key, const std::string& file, Diagnostics& diagnostics) {
    auto it = doc.find(key);
    if (it == doc.end()) {
        diagnostics.error("missing required field", {file, 0, key});
        return nullptr;
    }
    if (!it->is_array()) {
        diagnostics.error("expected a list, found " + std::string(it->type_name()), {file, 0, key});
        return nullptr;
    }
    return &*it;
}

bool bbox_polygon(const json& a, const std::string& path, const std::string& file, Polygon& out) {
    auto b = a.find("bbox");
    if (b == a.end()) return false;
    if (!b->is_array() || b->size() != 4 ||
        !std::all_of(b->begin(), b->end(), [](const json& v) { return v.is_number(); }))
        throw Error("expected [x, y, w, h] of numbers, found " + b->dump(), file, 0, json_key(path, "bbox"));
    BoxXywh box{(*b)[0].get<double>(), (*b)[1].get<double>(), (*b)[2].get<double>(), (*b)[3].get<double>()};
    if (box[2] < 0 || box[3] < 0)
        throw Error("box width and height must not be negative, found " + b->dump(), file, 0, json_key(path, "bbox"));
    out = box_to_polygon(box);
    return true;
}

}  // namespace

CocoFile parse_coco(const json& doc, const std::string& file, Diagnostics& diagnostics) {
    CocoFile out;
    if (!doc.is_object()) {
        diagnostics.error("expected a COCO JSON object with images, annotations, categories", {file, 0, {}});
        return out;
    }
    const json* images = require_list(doc, "images", file, diagnostics);
    const json* annotations = require_list(doc, "annotations", file, diagnostics);
    const json* categories = require_list(doc, "categories", file, diagnostics);
    if (!images || !annotations || !categories) return out;

    std::unordered_map<int64_t, std::string> category_names;
    for (size_t i = 0; i < categories->size(); ++i) {
        std::string path = json_index("categories", i);
        try {
            int64_t id = require_int((*categories)[i], "id", path, file);
            std::string name = require_string((*categories)[i], "name", path, file);
            if (!category_names.emplace(id, name).second)
                throw Error("duplicate category id " + std::to_string(id), file, 0, json_key(path, "id"));
        } catch (const Error& e) {
            diagnostics.add(e);
        }
    }

    std::unordered_map<int64_t, size_t> image_index;
    for (size_t i = 0; i < images->size(); ++i) {
        std::string path = json_index("images", i);
        const json& j = (*images)[i];
        try {
            CocoImageEntry im;
            im.path = path;
            im.id = require_int(j, "id", path, file);
            im.file_name = require_string(j, "file_name", path, file);
            std::replace(im.file_name.begin(), im.file_name.end(), '\\', '/');
            for (const char* key : {"width", "height"}) {
                long long v = require_int(j, key, path, file);
                if (v <= 0 || v > kMaxImageSide)
                    throw Error("expected a positive pixel size, found " + std::to_string(v), file, 0,
                                json_key(path, key));
                (key[0] == 'w' ? im.width : im.height) = static_cast<uint32_t>(v);
            }
            auto [it, fresh] = image_index.emplace(im.id, out.images.size());
            if (!fresh)
                throw Error(
                    "duplicate image id " + std::to_string(im.id) + " (first at " + out.images[it->second].path + ")",
                    file, 0, json_key(path, "id"));
            out.images.push_back(std::move(im));
        } catch (const Error& e) {
            diagnostics.add(e);
        }
    }

    for (size_t i = 0; i < annotations->size(); ++i) {
        std::string path = json_index("annotations", i);
        const json& a = (*annotations)[i];
        try {
            int64_t image_id = require_int(a, "image_id", path, file);
            auto im = image_index.find(image_id);
            if (im == image_index.end())
                throw Error("image_id " + std::to_string(image_id) + " names no image", file, 0,
                            json_key(path, "image_id"));
            CocoImageEntry& image = out.images[im->second];
            int64_t category_id = require_int(a, "category_id", path, file);
            auto cat = category_names.find(category_id);
            if (cat == category_names.end())
                throw Error("category_id " + std::to_string(category_id) + " names no category", file, 0,
                            json_key(path, "category_id"));
            SourceObject obj;
            obj.label = cat->second;
            obj.place = {file, 0, path};
            if (a.contains("iscrowd")) {
                long long crowd = require_int(a, "iscrowd", path, file);
                if (crowd != 0 && crowd != 1)
                    throw Error("expected 0 or 1, found " + std::to_string(crowd), file, 0, json_key(path, "iscrowd"));
                obj.iscrowd = static_cast<int>(crowd);
            }
            auto seg = a.find("segmentation");
            bool empty_seg = seg == a.end() || seg->is_null() || (seg->is_array() && seg->empty());
            if (empty_seg) {
                Polygon box;
                if (!bbox_polygon(a, path, file, box))
                    throw Error("expected a segmentation (polygons or RLE) or at least a bbox", file, 0,
                                json_key(path, "segmentation"));
                obj.segmentation.polygons.push_back(std::move(box));
            } else {
                std::string spath = json_key(path, "segmentation");
                obj.segmentation = segmentation_from_json(*seg, image.height, image.width, spath, file);
                for (size_t k = 0; k < obj.segmentation.polygons.size(); ++k) {
                    size_t n = obj.segmentation.polygons[k].size();
                    if (n % 2 != 0 || n < 6)
                        throw Error(
                            "a polygon needs at least 3 points as x,y pairs, found " + std::to_string(n) + " values",
                            file, 0, json_index(spath, k));
                }
            }
            image.objects.push_back(std::move(obj));
        } catch (const Error& e) {
            diagnostics.add(e);
        }
    }
    return out;
}

std::optional<CocoFile> read_coco_file(const std::filesystem::path& path, const std::string& file,
                                       Diagnostics& diagnostics) {
    std::optional<json> doc = read_json_file_collecting(path, file, diagnostics);
    if (!doc) return std::nullopt;
    return parse_coco(*doc, file, diagnostics);
}

}  // namespace chickenseg
