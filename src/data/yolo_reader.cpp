#include "chickenseg/data/yolo_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/text_format.h"

namespace chickenseg {

namespace {

constexpr std::string_view kBlank = " \t\r\v\f";

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(kBlank);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(kBlank) - b + 1);
}

std::string_view strip_bom(std::string_view text) {
    if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
        static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
        text.remove_prefix(3);
    return text;
}

// Calls fn(line_number, line_without_newline) for every line.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
    long number = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        ++number;
        fn(number, line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

std::string shown(std::string_view token) {
    constexpr size_t kMax = 40;
    return "\"" + std::string(token.substr(0, kMax)) + (token.size() > kMax ? "...\"" : "\"");
}

long yaml_line(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 0; }

YoloClassNames parse_data_yaml_node(const std::string& text, const std::string& file) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error("malformed YAML: " + e.msg, file, e.mark.line >= 0 ? e.mark.line + 1 : 0);
    }
    if (!root.IsMap()) throw Error("expected a mapping with a `names` key", file, yaml_line(root));
    // A key twice in one mapping: yaml-cpp keeps both and returns the first, silently.
    std::map<std::string, long> seen_keys;
    for (const auto& kv : root)
        if (kv.first.IsScalar())
            if (auto [it, inserted] = seen_keys.emplace(kv.first.as<std::string>(), yaml_line(kv.first)); !inserted)
                throw Error("duplicate key (first at line " + std::to_string(it->second) + ")", file,
                            yaml_line(kv.first), it->first);
    YAML::Node names = root["names"];
    if (!names) throw Error("missing `names` (the class names, as a list or an {id: name} map)", file, 0, "names");
    YoloClassNames out;
    out.file = file;
    if (names.IsSequence()) {
        for (size_t i = 0; i < names.size(); ++i) {
            if (!names[i].IsScalar())
                throw Error("expected a class name", file, yaml_line(names[i]), "names[" + std::to_string(i) + "]");
            out.names.push_back(std::string(trim(names[i].as<std::string>())));
        }
    } else if (names.IsMap()) {
        std::map<long long, std::pair<std::string, long>> by_id;
        for (const auto& kv : names) {
            long long id = -1;
            std::string key = kv.first.as<std::string>();
            auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
            if (ec != std::errc() || p != key.data() + key.size() || id < 0)
                throw Error("expected a class id (integer >= 0) as key, found " + shown(key), file, yaml_line(kv.first),
                            "names");
            if (!kv.second.IsScalar()) throw Error("expected a class name", file, yaml_line(kv.second), "names." + key);
            if (by_id.count(id))
                throw Error("class id " + std::to_string(id) + " twice (first at line " +
                                std::to_string(by_id[id].second) + ")",
                            file, yaml_line(kv.first), "names");
            by_id[id] = {std::string(trim(kv.second.as<std::string>())), yaml_line(kv.second)};
        }
        long long expected = 0;
        for (auto& [id, name_line] : by_id) {
            if (id != expected)
                throw Error("class ids must be 0.." + std::to_string(by_id.size() - 1) + " without gaps; id " +
                                std::to_string(expected) + " is missing",
                            file, name_line.second, "names");
            out.names.push_back(name_line.first);
            ++expected;
        }
    } else {
        throw Error("expected the class names as a list or an {id: name} map", file, yaml_line(names), "names");
    }
    for (size_t i = 0; i < out.names.size(); ++i) {
        if (out.names[i].empty()) throw Error("class " + std::to_string(i) + " has an empty name", file, 0, "names");
        if (!is_valid_utf8(out.names[i]))
            throw Error("class " + std::to_string(i) + " name \"" + out.names[i] +
                            "\" is not valid UTF-8 (save the file as UTF-8: labels end up in JSON)",
                        file, 0, "names");
    }
    if (YAML::Node nc = root["nc"]) {
        long long n = -1;
        try {
            n = nc.as<long long>();
        } catch (const YAML::Exception&) {
            throw Error("expected the number of classes (an integer)", file, yaml_line(nc), "nc");
        }
        if (n != static_cast<long long>(out.names.size()))
            throw Error(
                "nc is " + std::to_string(n) + " but `names` lists " + std::to_string(out.names.size()) + " classes",
                file, yaml_line(nc), "nc");
    }
    if (out.names.empty()) throw Error("no class names", file, 0, "names");
    return out;
}

bool parse_double(std::string_view token, double& value) {
    // from_chars rejects a leading '+', which some exporters write.
    if (!token.empty() && token.front() == '+') token.remove_prefix(1);
    auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    return ec == std::errc() && p == token.data() + token.size() && std::isfinite(value);
}

}  // namespace

YoloClassNames parse_yolo_classes_txt(std::string_view text, const std::string& file) {
    YoloClassNames out;
    out.file = file;
    long first_blank = 0;
    for_each_line(strip_bom(text), [&](long number, std::string_view line) {
        std::string_view name = trim(line);
        if (name.empty()) {
            if (!first_blank) first_blank = number;
            return;
        }
        if (first_blank)
            throw Error("blank line before class " + std::to_string(out.names.size()) +
                            " (class ids are line numbers, so a blank line would shift them)",
                        file, first_blank);
        if (!is_valid_utf8(name))
            throw Error("class name \"" + std::string(name) +
                            "\" is not valid UTF-8 (save the file as UTF-8: labels end up in JSON)",
                        file, number);
        out.names.emplace_back(name);
    });
    if (out.names.empty()) throw Error("no class names (expected one name per line)", file);
    return out;
}

YoloClassNames parse_yolo_data_yaml(const std::string& text, const std::string& file) {
    try {
        return parse_data_yaml_node(text, file);
    } catch (const YAML::Exception& e) {
        throw Error("unexpected YAML content: " + e.msg, file, e.mark.line >= 0 ? e.mark.line + 1 : 0);
    }
}

YoloClassNames read_yolo_class_names(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string text = read_file(path);
    if (ext == ".yaml" || ext == ".yml") return parse_yolo_data_yaml(text, path.string());
    return parse_yolo_classes_txt(text, path.string());
}

std::filesystem::path find_yolo_class_file(const std::filesystem::path& root) {
    for (const char* name : {"classes.txt", "data.yaml", "data.yml", "dataset.yaml"}) {
        std::filesystem::path p = root / name;
        std::error_code ec;
        if (std::filesystem::is_regular_file(p, ec)) return p;
    }
    return {};
}

std::vector<YoloObject> parse_yolo_labels(std::string_view text, const std::string& file, size_t class_count,
                                          Diagnostics& diagnostics) {
    std::vector<YoloObject> objects;
    std::vector<std::string_view> fields;
    for_each_line(strip_bom(text), [&](long number, std::string_view line) {
        fields.clear();
        size_t pos = 0;
        while (true) {
            pos = line.find_first_not_of(kBlank, pos);
            if (pos == std::string_view::npos) break;
            size_t end = line.find_first_of(kBlank, pos);
            fields.push_back(line.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
            if (end == std::string_view::npos) break;
            pos = end;
        }
        if (fields.empty()) return;
        ErrorPlace place{file, number, {}};
        size_t n = fields.size();
        if (n != 5 && (n < 7 || n % 2 == 0)) {
            diagnostics.error(
                "expected `class cx cy w h` (5 fields) or `class x1 y1 ... xn yn` with at least 3 "
                "points (an odd number of fields >= 7), found " +
                    std::to_string(n) + " fields",
                place);
            return;
        }
        YoloObject obj;
        obj.line = number;
        unsigned long long id = 0;
        auto [p, ec] = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), id);
        if (ec != std::errc() || p != fields[0].data() + fields[0].size()) {
            diagnostics.error("expected a class id (integer >= 0) in field 1, found " + shown(fields[0]), place);
            return;
        }
        if (id >= class_count) {
            diagnostics.error("class id " + std::string(fields[0]) + " is out of range: there are " +
                                  std::to_string(class_count) + " classes (0.." + std::to_string(class_count - 1) + ")",
                              place);
            return;
        }
        obj.class_id = static_cast<size_t>(id);
        std::vector<double> values(n - 1);
        for (size_t i = 1; i < n; ++i) {
            if (!parse_double(fields[i], values[i - 1])) {
                diagnostics.error("expected a number in field " + std::to_string(i + 1) + ", found " + shown(fields[i]),
                                  place);
                return;
            }
        }
        if (n == 5) {
            double cx = values[0], cy = values[1], w = values[2], h = values[3];
            if (w < 0 || h < 0) {
                diagnostics.error("box width and height must not be negative", place);
                return;
            }
            double x0 = cx - w / 2, x1 = cx + w / 2, y0 = cy - h / 2, y1 = cy + h / 2;
            obj.is_box = true;
            obj.xy = {x0, y0, x1, y0, x1, y1, x0, y1};
        } else {
            obj.xy = std::move(values);
        }
        for (size_t i = 0; i < obj.xy.size(); ++i) {
            double& v = obj.xy[i];
            if (v < -kNormalizedTolerance || v > 1 + kNormalizedTolerance) {
                const char* what = obj.is_box ? "box corner" : "point";
                diagnostics.error(std::string(what) + " " + std::to_string(i / 2 + 1) + " has " + (i % 2 ? "y" : "x") +
                                      " = " + std::to_string(v) +
                                      ", outside [0, 1]: YOLO coordinates are normalised to the image size",
                                  place);
                return;
            }
            v = std::clamp(v, 0.0, 1.0);
        }
        objects.push_back(std::move(obj));
    });
    return objects;
}

std::vector<SourceObject> yolo_to_source_objects(const std::vector<YoloObject>& objects, const YoloClassNames& classes,
                                                 uint32_t width, uint32_t height, const std::string& file) {
    std::vector<SourceObject> out;
    out.reserve(objects.size());
    for (const auto& o : objects) {
        SourceObject s;
        s.label = classes.names.at(o.class_id);
        s.place = {file, o.line, {}};
        Polygon p(o.xy.size());
        for (size_t i = 0; i < o.xy.size(); i += 2) {
            p[i] = o.xy[i] * width;
            p[i + 1] = o.xy[i + 1] * height;
        }
        s.segmentation.polygons.push_back(std::move(p));
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace chickenseg
