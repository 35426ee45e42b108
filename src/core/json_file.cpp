#include "chickenseg/core/json_file.h"

#include <cmath>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"

namespace chickenseg {

json parse_json_text(std::string_view text, const std::string& name) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports a byte offset; turn it into line and column.
        size_t byte = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
        long line = 1;
        size_t line_start = 0;
        for (size_t i = 0; i < byte; ++i) {
            if (text[i] == '\n') {
                ++line;
                line_start = i + 1;
            }
        }
        std::string what = e.what();
        // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
        auto colon = what.find(": ", what.find("parse error"));
        std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
        throw Error("malformed JSON (column " + std::to_string(byte - line_start + 1) + "): " + detail,
                    name, line);
    }
}

json read_json_file(const std::filesystem::path& path) {
    return parse_json_text(read_file(path), path.string());
}

std::optional<json> read_json_file_collecting(const std::filesystem::path& path, const std::string& file,
                                              Diagnostics& diagnostics) {
    try {
        return parse_json_text(read_file(path), file);
    } catch (const Error& e) {
        diagnostics.add(e);
        return std::nullopt;
    }
}

std::string json_file_text(const json& value, bool compact) {
    std::string text = compact ? value.dump() : value.dump(2);
    text += '\n';
    return text;
}

void write_json_file(const std::filesystem::path& path, const json& value, bool compact) {
    write_file_atomic(path, json_file_text(value, compact));
}

const json& require_field(const json& object, const char* key, const std::string& path,
                          const std::string& file) {
    if (!object.is_object())
        throw Error("expected a JSON object, found " + std::string(object.type_name()), file, 0, path);
    auto it = object.find(key);
    if (it == object.end()) throw Error("missing required field", file, 0, json_key(path, key));
    return *it;
}

long long require_int(const json& object, const char* key, const std::string& path,
                      const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (v.is_number_integer()) return v.get<long long>();
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d)) return static_cast<long long>(d);
    }
    throw Error("expected an integer, found " + v.dump(), file, 0, json_key(path, key));
}

double require_number(const json& object, const char* key, const std::string& path,
                      const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (!v.is_number()) throw Error("expected a number, found " + v.dump(), file, 0, json_key(path, key));
    double d = v.get<double>();
    if (!std::isfinite(d)) throw Error("expected a finite number", file, 0, json_key(path, key));
    return d;
}

std::string require_string(const json& object, const char* key, const std::string& path,
                           const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (!v.is_string()) throw Error("expected a string, found " + v.dump(), file, 0, json_key(path, key));
    return v.get<std::string>();
}

}  // namespace chickenseg
