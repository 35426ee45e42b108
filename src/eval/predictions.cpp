#include "chickenseg/eval/predictions.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "results_list_scanner.h"

namespace chickenseg {

namespace {

struct NonFiniteToken {
    std::string token;  // "NaN", "Infinity", "-Infinity"
    std::string path;   // JSON path of the value
    std::string key;    // the object key it is the value of ("" inside an array)
    long line = 0;
};

// Walks the JSON structure (strings, brackets, commas, colons) just far enough to
// know the path of every value, and returns the first bare NaN / Infinity token.
// Only called after the strict parser failed, so valid files pay nothing.
std::optional<NonFiniteToken> find_nonfinite_token(std::string_view text, const std::string& root_name) {
    struct Frame {
        bool is_array;
        size_t index = 0;
        std::string key;
        bool expecting_key = false;
    };
    std::vector<Frame> stack;
    long line = 1;
    auto path_of_value = [&]() {
        std::string p = root_name;
        for (const auto& f : stack) p = f.is_array ? json_index(p, f.index) : json_key(p, f.key);
        return p;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        switch (c) {
            case '\n':
                ++line;
                break;
            case '"': {
                size_t start = ++i;
                while (i < text.size() && text[i] != '"') {
                    if (text[i] == '\\')
                        ++i;
                    else if (text[i] == '\n')
                        ++line;
                    ++i;
                }
                if (!stack.empty() && !stack.back().is_array && stack.back().expecting_key) {
                    stack.back().key = std::string(text.substr(start, i - start));
                    stack.back().expecting_key = false;
                }
                break;
            }
            case '{':
                stack.push_back({false, 0, {}, true});
                break;
            case '[':
                stack.push_back({true, 0, {}, false});
                break;
            case '}':
            case ']':
                if (!stack.empty()) stack.pop_back();
                break;
            case ',':
                if (!stack.empty()) {
                    if (stack.back().is_array)
                        ++stack.back().index;
                    else
                        stack.back().expecting_key = true;
                }
                break;
            default: {
                const char* tokens[] = {"NaN", "Infinity", "-Infinity"};
                for (const char* t : tokens) {
                    size_t len = std::strlen(t);
                    if (text.substr(i, len) == t) {
                        NonFiniteToken found;
                        found.token = t;
                        found.path = path_of_value();
                        found.key = (!stack.empty() && !stack.back().is_array) ? stack.back().key : "";
                        found.line = line;
                        return found;
                    }
                }
            }
        }
    }
    return std::nullopt;
}

struct ImageSize {
    uint32_t height = 0;
    uint32_t width = 0;
};

std::unordered_map<int64_t, ImageSize> image_sizes(const SacoDataset& gt) {
    std::unordered_map<int64_t, ImageSize> sizes;
    sizes.reserve(gt.images.size());
    for (size_t i = 0; i < gt.images.size(); ++i) {
        const auto& im = gt.images[i];
        if (!sizes.emplace(im.id, ImageSize{im.height, im.width}).second)
            throw Error("duplicate image id " + std::to_string(im.id) + " in the ground truth", "", 0,
                        json_index("images", i) + ".id");
    }
    return sizes;
}

double require_unit_score(const json& record, const char* key, const std::string& path, const std::string& file,
                          const char* what) {
    auto it = record.find(key);
    if (it == record.end()) throw Error("missing required field", file, 0, json_key(path, key));
    if (!it->is_number())
        throw Error(std::string("expected a numeric ") + what + " in [0, 1], found " + it->dump(), file, 0,
                    json_key(path, key));
    double v = it->get<double>();
    if (!std::isfinite(v)) throw Error(std::string("non-finite ") + what, file, 0, json_key(path, key));
    if (v < 0 || v > 1)
        throw Error(std::string(what) + " " + it->dump() + " is outside [0, 1]", file, 0, json_key(path, key));
    return v;
}

BoxXywh read_box(const json& b, const std::string& path, const std::string& file) {
    if (!b.is_array() || b.size() != 4) throw Error("expected [x, y, w, h], found " + b.dump(), file, 0, path);
    BoxXywh box{};
    for (size_t k = 0; k < 4; ++k) {
        if (!b[k].is_number()) throw Error("expected a number, found " + b[k].dump(), file, 0, json_index(path, k));
        box[k] = b[k].get<double>();
        if (!std::isfinite(box[k])) throw Error("expected a finite number", file, 0, json_index(path, k));
    }
    if (box[2] < 0 || box[3] < 0) throw Error("box width and height must be >= 0, found " + b.dump(), file, 0, path);
    return box;
}

}  // namespace

json parse_json_rejecting_nonfinite(std::string_view text, const std::string& file, const std::string& root_name,
                                    const std::string& value_name) {
    check_json_depth(text, file);
    try {
        return json::parse(text);
    } catch (const json::out_of_range&) {
        return parse_json_text(text, file);  // throws: a number beyond a double, with its line
    } catch (const json::parse_error&) {
        if (auto bad = find_nonfinite_token(text, root_name)) {
            std::string what = bad->key == "score" ? "score" : !value_name.empty() ? value_name : "value";
            throw Error(bad->token + " " + what +
                            " (not valid JSON: Python's json module writes bare NaN/Infinity; write a finite "
                            "number instead)",
                        file, bad->line, bad->path);
        }
        return parse_json_text(text, file);  // throws the syntax error with line and column
    }
}

PredictionSet predictions_from_text(std::string_view text, const std::string& file, const SacoDataset& gt,
                                    const PredictionReadParams& params) {
    return detail::predictions_after_scan(detail::scan_results_list(text, file, params), text, file, gt, params);
}

PredictionSet detail::predictions_after_scan(std::optional<ScannedResults> scanned, std::string_view text,
                                             const std::string& file, const SacoDataset& gt,
                                             const PredictionReadParams& params) {
    if (scanned && fits_gt(*scanned, gt)) return std::move(scanned->set);
    const std::string root = "predictions";
    json doc = parse_json_rejecting_nonfinite(text, file, root);
    if (!doc.is_array())
        throw Error("expected a COCO results list [{image_id, category_id, segmentation, bbox, score}, ...], found " +
                        std::string(doc.type_name()),
                    file);
    auto sizes = image_sizes(gt);
    PredictionSet set;
    set.file = file;
    set.predictions.reserve(doc.size());
    for (size_t i = 0; i < doc.size(); ++i) {
        const json& rec = doc[i];
        std::string path = json_index(root, i);
        if (!rec.is_object()) throw Error("expected an object, found " + rec.dump(), file, 0, path);
        Prediction p;
        Rle mask;
        p.index = i;
        p.image_id = require_int(rec, "image_id", path, file);
        auto size = sizes.find(p.image_id);
        if (size == sizes.end())
            throw Error("image id " + std::to_string(p.image_id) + " is not an image of the ground truth", file, 0,
                        json_key(path, "image_id"));
        if (rec.contains("category_id")) p.category_id = require_int(rec, "category_id", path, file);
        p.score = require_unit_score(rec, "score", path, file, "score");
        auto seg = rec.find("segmentation");
        if (seg != rec.end() && !seg->is_null()) {
            auto s = segmentation_from_json(*seg, size->second.height, size->second.width,
                                            json_key(path, "segmentation"), file);
            if (!s.is_rle && s.polygons.empty())
                throw Error("expected at least one polygon or an RLE mask", file, 0, json_key(path, "segmentation"));
            for (size_t k = 0; k < s.polygons.size(); ++k)
                if (s.polygons[k].size() < 6 || s.polygons[k].size() % 2 != 0)
                    throw Error("a polygon needs an even number of coordinates, at least 3 points; found " +
                                    std::to_string(s.polygons[k].size()) + " values",
                                file, 0, json_index(json_key(path, "segmentation"), k));
            mask = segmentation_to_rle(s, size->second.height, size->second.width);
            p.has_mask = true;
        } else if (params.require_masks) {
            throw Error("missing required field (segm evaluation needs a mask: RLE {size, counts} or polygons)", file,
                        0, json_key(path, "segmentation"));
        }
        auto bbox = rec.find("bbox");
        if (bbox != rec.end() && !bbox->is_null()) {
            p.bbox = read_box(*bbox, json_key(path, "bbox"), file);
            p.bbox_given = true;
        } else if (p.has_mask) {
            p.bbox = rle_to_bbox(mask);  // what pycocotools' loadRes does for a mask without a box
        } else {
            throw Error("missing required field (a prediction needs a segmentation or a bbox)", file, 0,
                        json_key(path, "bbox"));
        }
        if (p.has_mask && p.score >= params.masks_from_score) p.mask = rle_compress(mask);  // else checked only
        set.predictions.push_back(std::move(p));
    }
    return set;
}

PredictionSet read_predictions(const std::filesystem::path& path, const SacoDataset& gt,
                               const PredictionReadParams& params) {
    return predictions_from_text(read_file(path), path.string(), gt, params);
}

PresenceScores presence_from_text(std::string_view text, const std::string& file, const SacoDataset& gt) {
    json doc = parse_json_rejecting_nonfinite(text, file, "", "presence score");
    if (!doc.is_object())
        throw Error(std::string("expected {\"schema\": \"") + kPresenceSchema +
                        "\", \"presence\": {\"<image_id>\": score}}, found " + doc.type_name(),
                    file);
    std::string schema = require_string(doc, "schema", "", file);
    if (schema != kPresenceSchema)
        throw Error("unsupported schema \"" + schema + "\" (expected \"" + kPresenceSchema + "\")", file, 0, "schema");
    const json& map = require_field(doc, "presence", "", file);
    if (!map.is_object())
        throw Error("expected an object {\"<image_id>\": score}, found " + std::string(map.type_name()), file, 0,
                    "presence");
    auto sizes = image_sizes(gt);
    PresenceScores out;
    out.file = file;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const std::string& key = it.key();
        std::string path = json_key("presence", key);
        int64_t id = 0;
        auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
        if (ec != std::errc() || end != key.data() + key.size() || key.empty())
            throw Error("expected an integer image id as key, found \"" + key + "\"", file, 0, path);
        if (!sizes.count(id)) throw Error("image id " + key + " is not an image of the ground truth", file, 0, path);
        json holder = json::object();
        holder["v"] = it.value();
        // Reuse the score checks; report the error at the real path.
        try {
            out.by_image[id] = require_unit_score(holder, "v", "", file, "presence score");
        } catch (const Error& e) {
            throw Error(e.message(), file, 0, path);
        }
    }
    return out;
}

PresenceScores read_presence(const std::filesystem::path& path, const SacoDataset& gt) {
    return presence_from_text(read_file(path), path.string(), gt);
}

}  // namespace chickenseg
