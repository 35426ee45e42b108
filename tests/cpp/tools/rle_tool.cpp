// Test oracle for tests/python/test_rle_pycocotools.py: reads one JSON request on
// stdin, {"ops": [{"op": NAME, ...}, ...]}, and writes {"results": [...]} on stdout,
// one result per op: {"ok": true, ...} or {"ok": false, "error": MESSAGE}. Batching
// thousands of cases into one process keeps the cross-check fast.
//
// Ops (masks are column-major lists of 0/1; an RLE is {"size": [h, w], "counts": STRING}):
//   encode {h, w, mask}            -> {counts}
//   decode {rle}                   -> {mask}
//   area {rle}                     -> {area}
//   bbox {rle}                     -> {bbox}
//   from_polygon {h, w, polygon}   -> {counts}   (one polygon, pycocotools _mask.frPoly)
//   from_polygons {h, w, polygons} -> {counts}   (annToRLE: frPyObjects + merge)
//   from_bbox {h, w, bbox}         -> {counts}
//   merge {rles, intersect}        -> {rle}
//   iou {dt, gt, iscrowd}          -> {iou}      (rows = dt)
//   bbox_iou {dt, gt, iscrowd}     -> {iou}
//   to_string {h, w, counts: [..]} -> {counts}
//   from_string {h, w, bytes: [..]} -> {counts: [..]}  (raw bytes, so any byte string fits in JSON)
//   assign {rows, cols, matrix, maximize} -> {pairs: [[row, col], ...]}
//   mask_resize {mask_h, mask_w, out_h, out_w, threshold, values: [..] row-major probabilities}
//                                  -> {counts, reference, resized: [..]}  (runtime post-processing: the
//                                     fast path, the per-pixel path, the resized values themselves)
#include <iostream>
#include <string>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/eval/hungarian.h"
#include "chickenseg/runtime/postprocess.h"

using namespace chickenseg;

namespace {

Rle rle_of(const json& j) {
    return rle_from_string(j.at("counts").get<std::string>(), j.at("size").at(0).get<uint32_t>(),
                           j.at("size").at(1).get<uint32_t>());
}

json rle_json(const Rle& r) { return {{"size", {r.h, r.w}}, {"counts", rle_to_string(r)}}; }

std::vector<Rle> rles_of(const json& list) {
    std::vector<Rle> out;
    for (const auto& j : list) out.push_back(rle_of(j));
    return out;
}

std::vector<BoxXywh> boxes_of(const json& list) {
    std::vector<BoxXywh> out;
    for (const auto& j : list) out.push_back(j.get<BoxXywh>());
    return out;
}

json run_op(const json& op) {
    const std::string name = op.at("op").get<std::string>();
    auto h = [&] { return op.at("h").get<uint32_t>(); };
    auto w = [&] { return op.at("w").get<uint32_t>(); };
    if (name == "encode") {
        auto mask = op.at("mask").get<std::vector<uint8_t>>();
        return {{"counts", rle_to_string(rle_encode(mask, h(), w()))}};
    }
    if (name == "decode") return {{"mask", rle_decode(rle_of(op.at("rle")))}};
    if (name == "area") return {{"area", rle_area(rle_of(op.at("rle")))}};
    if (name == "bbox") return {{"bbox", rle_to_bbox(rle_of(op.at("rle")))}};
    if (name == "from_polygon") {
        auto xy = op.at("polygon").get<std::vector<double>>();
        return {{"counts", rle_to_string(rle_from_polygon(xy, h(), w()))}};
    }
    if (name == "from_polygons") {
        auto polys = op.at("polygons").get<std::vector<std::vector<double>>>();
        return {{"counts", rle_to_string(rle_from_polygons(polys, h(), w()))}};
    }
    if (name == "from_bbox") {
        return {{"counts", rle_to_string(rle_from_bbox(op.at("bbox").get<BoxXywh>(), h(), w()))}};
    }
    if (name == "merge") {
        return {{"rle", rle_json(rle_merge(rles_of(op.at("rles")), op.at("intersect").get<bool>()))}};
    }
    if (name == "iou" || name == "bbox_iou") {
        auto crowd = op.at("iscrowd").get<std::vector<uint8_t>>();
        if (name == "iou") return {{"iou", rle_iou(rles_of(op.at("dt")), rles_of(op.at("gt")), crowd)}};
        return {{"iou", bbox_iou(boxes_of(op.at("dt")), boxes_of(op.at("gt")), crowd)}};
    }
    if (name == "to_string") {
        Rle r{h(), w(), op.at("counts").get<std::vector<uint32_t>>()};
        return {{"counts", rle_to_string(r)}};
    }
    if (name == "from_string") {
        auto bytes = op.at("bytes").get<std::vector<uint8_t>>();
        std::string s(bytes.begin(), bytes.end());
        return {{"counts", rle_from_string(s, h(), w()).counts}};
    }
    if (name == "assign") {
        auto m = op.at("matrix").get<std::vector<double>>();
        auto goal = op.at("maximize").get<bool>() ? AssignmentGoal::maximize_weight : AssignmentGoal::minimize_cost;
        auto rows = op.at("rows").get<size_t>(), cols = op.at("cols").get<size_t>();
        json pairs = json::array();
        for (const auto& p : solve_assignment(m, rows, cols, goal)) pairs.push_back({p.row, p.col});
        return {{"pairs", pairs}};
    }
    if (name == "mask_resize") {
        auto values = op.at("values").get<std::vector<float>>();
        auto mh = op.at("mask_h").get<uint32_t>(), mw = op.at("mask_w").get<uint32_t>();
        auto oh = op.at("out_h").get<uint32_t>(), ow = op.at("out_w").get<uint32_t>();
        auto t = op.at("threshold").get<float>();
        return {{"counts", rle_to_string(mask_probabilities_to_rle(values, mh, mw, oh, ow, t))},
                {"reference", rle_to_string(mask_probabilities_to_rle_reference(values, mh, mw, oh, ow, t))},
                {"resized", resize_bilinear_f32(values, mh, mw, oh, ow)}};
    }
    throw Error("unknown op '" + name + "'");
}

}  // namespace

int main() {
    json request;
    try {
        request = json::parse(std::cin);
    } catch (const std::exception& e) {
        std::cerr << "rle_tool: stdin is not JSON: " << e.what() << "\n";
        return 2;
    }
    json results = json::array();
    for (const auto& op : request.at("ops")) {
        json r;
        try {
            r = run_op(op);
            r["ok"] = true;
        } catch (const Error& e) {
            r = {{"ok", false}, {"error", e.what()}};
        }
        results.push_back(std::move(r));
    }
    std::cout << json{{"results", results}}.dump() << "\n";
    return 0;
}
