// Prediction records as JSON: the JSONL line of one image (written as each image finishes,
// read back by --resume), and the COCO results and presence files built from all of them.
#include <algorithm>

#include "chickenseg/core/error.h"
#include "chickenseg/runtime/predict.h"
#include "prediction_files.h"

namespace chickenseg {
namespace {

[[noreturn]] void bad(const std::string& file, long line, const std::string& field, const std::string& what) {
    throw Error(what + " (not a line chickenseg predict wrote; delete the file or drop --resume)", file, line, field);
}

const json& need(const json& object, const char* key, const std::string& path, const std::string& file, long line) {
    auto it = object.find(key);
    if (it == object.end()) bad(file, line, json_key(path, key), "missing");
    return *it;
}

double number(const json& object, const char* key, const std::string& path, const std::string& file, long line) {
    const json& v = need(object, key, path, file, line);
    if (!v.is_number()) bad(file, line, json_key(path, key), "expected a number, found " + v.dump());
    return v.get<double>();
}

uint32_t size_value(const json& object, const char* key, const std::string& path, const std::string& file, long line) {
    const json& v = need(object, key, path, file, line);
    if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX)
        bad(file, line, json_key(path, key), "expected an image side in pixels, found " + v.dump());
    return v.get<uint32_t>();
}

std::string text(const json& object, const char* key, const std::string& path, const std::string& file, long line) {
    const json& v = need(object, key, path, file, line);
    if (!v.is_string()) bad(file, line, json_key(path, key), "expected a string, found " + v.dump());
    return v.get<std::string>();
}

ordered_json mask_json(const CompressedRle& m) {
    return ordered_json{{"size", {m.h, m.w}}, {"counts", std::string(m.counts())}};
}

}  // namespace

json image_record_to_json(const ImageRecord& r) {
    json line = {{"file", r.file}};
    if (!r.error.empty()) {
        line["error"] = r.error;
        return line;
    }
    line["width"] = r.width;
    line["height"] = r.height;
    json pairs = json::array();
    for (const auto& p : r.pairs) {
        json detections = json::array();
        for (const auto& d : p.detections) {
            json det = {{"score", static_cast<double>(d.score)}, {"bbox", d.bbox}};
            if (d.mask.h > 0)
                det["segmentation"] = {{"size", {d.mask.h, d.mask.w}}, {"counts", std::string(d.mask.counts())}};
            detections.push_back(std::move(det));
        }
        pairs.push_back({{"image_id", p.image_id},
                         {"prompt", p.prompt},
                         {"presence", static_cast<double>(p.presence)},
                         {"gated", p.gated},
                         {"detections", std::move(detections)}});
    }
    line["pairs"] = std::move(pairs);
    return line;
}

ImageRecord image_record_from_json(const json& j, const std::string& file, long line) {
    if (!j.is_object()) bad(file, line, "", "expected a JSON object");
    ImageRecord r;
    r.file = text(j, "file", "", file, line);
    if (j.contains("error")) {
        r.error = text(j, "error", "", file, line);
        return r;
    }
    r.width = size_value(j, "width", "", file, line);
    r.height = size_value(j, "height", "", file, line);
    const json& pairs = need(j, "pairs", "", file, line);
    if (!pairs.is_array()) bad(file, line, "pairs", "expected an array");
    for (size_t i = 0; i < pairs.size(); ++i) {
        const std::string path = json_index("pairs", i);
        const json& p = pairs[i];
        if (!p.is_object()) bad(file, line, path, "expected an object");
        PairRecord pr;
        const json& id = need(p, "image_id", path, file, line);
        if (!id.is_number_integer()) bad(file, line, json_key(path, "image_id"), "expected an integer");
        pr.image_id = id.get<int64_t>();
        pr.prompt = text(p, "prompt", path, file, line);
        pr.presence = static_cast<float>(number(p, "presence", path, file, line));
        const json& gated = need(p, "gated", path, file, line);
        if (!gated.is_boolean()) bad(file, line, json_key(path, "gated"), "expected true or false");
        pr.gated = gated.get<bool>();
        const json& dets = need(p, "detections", path, file, line);
        if (!dets.is_array()) bad(file, line, json_key(path, "detections"), "expected an array");
        for (size_t k = 0; k < dets.size(); ++k) {
            const std::string dpath = json_index(json_key(path, "detections"), k);
            const json& d = dets[k];
            if (!d.is_object()) bad(file, line, dpath, "expected an object");
            DetectionRecord dr;
            dr.score = static_cast<float>(number(d, "score", dpath, file, line));
            const json& box = need(d, "bbox", dpath, file, line);
            if (!box.is_array() || box.size() != 4 ||
                !std::all_of(box.begin(), box.end(), [](const json& v) { return v.is_number(); }))
                bad(file, line, json_key(dpath, "bbox"), "expected [x, y, w, h]");
            for (size_t c = 0; c < 4; ++c) dr.bbox[c] = box[c].get<double>();
            if (auto seg = d.find("segmentation"); seg != d.end()) {
                const std::string spath = json_key(dpath, "segmentation");
                const json& size = need(*seg, "size", spath, file, line);
                if (!size.is_array() || size.size() != 2 || !size[0].is_number_unsigned() ||
                    !size[1].is_number_unsigned())
                    bad(file, line, json_key(spath, "size"), "expected [height, width]");
                const auto h = size[0].get<uint32_t>(), w = size[1].get<uint32_t>();
                std::string counts = text(*seg, "counts", spath, file, line);
                try {
                    rle_check_string(counts, h, w);
                } catch (const Error& e) {
                    bad(file, line, json_key(spath, "counts"), e.message());
                }
                dr.mask = CompressedRle(h, w, std::move(counts));
            }
            pr.detections.push_back(std::move(dr));
        }
        r.pairs.push_back(std::move(pr));
    }
    return r;
}

std::string coco_results_text(const std::vector<ImageRecord>& records) {
    // As the Python reference writes them: sorted by image id, then score descending (ties in
    // the order the detections came, which is query order), keys in its order.
    struct Row {
        int64_t image_id;
        float score;
        const DetectionRecord* d;
    };
    std::vector<Row> rows;
    for (const auto& r : records)
        for (const auto& p : r.pairs)
            for (const auto& d : p.detections) rows.push_back({p.image_id, d.score, &d});
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.image_id != b.image_id ? a.image_id < b.image_id : a.score > b.score;
    });
    ordered_json out = ordered_json::array();
    for (const Row& row : rows) {
        ordered_json rec;
        rec["image_id"] = row.image_id;
        rec["category_id"] = 1;
        if (row.d->mask.h > 0) rec["segmentation"] = mask_json(row.d->mask);
        rec["bbox"] = row.d->bbox;
        rec["score"] = static_cast<double>(row.score);
        out.push_back(std::move(rec));
    }
    return out.dump();
}

std::string presence_text(const std::vector<ImageRecord>& records, const PredictJob& job, const std::string& model) {
    std::vector<std::pair<int64_t, double>> scores;
    for (const auto& r : records)
        for (const auto& p : r.pairs) scores.emplace_back(p.image_id, static_cast<double>(p.presence));
    std::sort(scores.begin(), scores.end());
    ordered_json presence = ordered_json::object();
    for (const auto& [id, score] : scores) presence[std::to_string(id)] = score;
    ordered_json doc;
    doc["schema"] = kPresenceFileSchema;
    doc["model"] = model;
    doc["presence"] = std::move(presence);
    if (job.ids_assigned) {
        // No dataset names these ids: say which file and prompt each one is.
        ordered_json images = ordered_json::array();
        for (const auto& r : records)
            for (const auto& p : r.pairs)
                images.push_back(ordered_json{{"id", p.image_id},
                                              {"file_name", r.file},
                                              {"width", r.width},
                                              {"height", r.height},
                                              {"text_input", p.prompt}});
        doc["images"] = std::move(images);
    }
    return doc.dump(-1, ' ', false, ordered_json::error_handler_t::replace);  // file names need not be UTF-8
}

}  // namespace chickenseg
