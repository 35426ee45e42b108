// Test helper for tests/python/test_labelme_writer.py: writes LabelMe files from masks the
// way the runtime does (rle_to_polygons, then write_labelme_file), so the Python side can
// open them with the real labelme package. Reads one JSON request on stdin:
//   {"files": [{"json_path", "image_path", "width", "height", "flags": {name: bool},
//               "detections": [{"label", "counts" (COCO compressed RLE of a height x
//                               width mask), "group_id" (optional), "description",
//                               "flags": {name: bool}}]}],
//    "params": {"tolerance", "min_area", "min_iou", "max_vertices"} (optional)}
// and writes {"results": [...]} on stdout, one per file: {"ok": true, "polygons": [[polygon,
// ...] per detection]} or {"ok": false, "error": MESSAGE}.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/mask_polygons.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/labelme_writer.h"

using namespace chickenseg;

namespace {

json write_one(const json& request, const MaskPolygonParams& params) {
    const auto width = request.at("width").get<uint32_t>(), height = request.at("height").get<uint32_t>();
    std::vector<LabelmeShape> shapes;
    json polygons = json::array();
    for (const json& d : request.at("detections")) {
        LabelmeShape shape;
        shape.label = d.at("label").get<std::string>();
        const Rle mask = rle_from_string(d.at("counts").get<std::string>(), height, width);
        shape.polygons = rle_to_polygons(mask, params);
        if (d.contains("group_id") && !d["group_id"].is_null()) shape.group_id = d["group_id"].get<long long>();
        shape.description = d.value("description", "");
        shape.flags = d.value("flags", std::map<std::string, bool>{});
        polygons.push_back(shape.polygons);
        if (!shape.polygons.empty()) shapes.push_back(std::move(shape));
    }
    write_labelme_file(request.at("json_path").get<std::string>(), request.at("image_path").get<std::string>(), width,
                       height, shapes, request.value("flags", std::map<std::string, bool>{}));
    return {{"polygons", polygons}};
}

}  // namespace

int main() {
    json request;
    try {
        request = json::parse(std::cin);
    } catch (const std::exception& e) {
        std::cerr << "labelme_tool: stdin is not JSON: " << e.what() << "\n";
        return 2;
    }
    MaskPolygonParams params;
    const json p = request.value("params", json::object());
    params.tolerance = p.value("tolerance", params.tolerance);
    params.min_area = p.value("min_area", params.min_area);
    params.min_iou = p.value("min_iou", params.min_iou);
    params.max_vertices = p.value("max_vertices", params.max_vertices);
    json results = json::array();
    for (const json& file : request.at("files")) {
        json r;
        try {
            r = write_one(file, params);
            r["ok"] = true;
        } catch (const Error& e) {
            r = {{"ok", false}, {"error", e.what()}};
        }
        results.push_back(std::move(r));
    }
    std::cout << json{{"results", results}}.dump() << "\n";
    return 0;
}
