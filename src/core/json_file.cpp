#include "chickenseg/core/json_file.h"

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"

namespace chickenseg {

namespace {

struct TextPlace {
    long line = 1;
    size_t column = 1;
};

TextPlace place_of(std::string_view text, size_t byte) {
    byte = std::min(byte, text.size());
    TextPlace place;
    size_t line_start = 0;
    for (size_t i = 0; i < byte; ++i) {
        if (text[i] == '\n') {
            ++place.line;
            line_start = i + 1;
        }
    }
    place.column = byte - line_start + 1;
    return place;
}

bool is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// The first number token (outside strings) that overflows a double, as nlohmann reads numbers
// (strtod; an underflow such as 1e-400 reads as 0 and is no error): offset and text, or npos.
std::pair<size_t, std::string> find_overflowing_number(std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i)
                if (text[i] == '\\') ++i;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t end = i;
            while (end < text.size() && is_number_char(text[end])) ++end;
            std::string token(text.substr(i, end - i));
            if (std::isinf(std::strtod(token.c_str(), nullptr))) return {i, token.substr(0, 40)};
            i = end - 1;
        }
    }
    return {std::string_view::npos, {}};
}

}  // namespace

void check_json_depth(std::string_view text, const std::string& name, int max_depth) {
    const char* p = text.data();
    const size_t n = text.size();
    int depth = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = p[i];
        if (c == '"') {
            // Skip the string: its end is the next quote not escaped by an odd run of backslashes.
            for (size_t j = i + 1;;) {
                const void* q = std::memchr(p + j, '"', n - j);
                if (q == nullptr) return;  // unterminated: the parser reports it
                size_t k = static_cast<const char*>(q) - p;
                size_t backslashes = 0;
                while (k - backslashes > i + 1 && p[k - backslashes - 1] == '\\') ++backslashes;
                j = k + 1;
                if (backslashes % 2 == 0) {
                    i = k;
                    break;
                }
            }
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                TextPlace place = place_of(text, i);
                throw Error("JSON nested deeper than " + std::to_string(max_depth) + " levels (column " +
                                std::to_string(place.column) + ")",
                            name, place.line);
            }
        } else if (c == ']' || c == '}') {
            --depth;  // below 0 only in malformed text, which the parser reports
        }
    }
}

json parse_json_text(std::string_view text, const std::string& name) {
    check_json_depth(text, name);
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports a byte offset; turn it into line and column.
        TextPlace place = place_of(text, e.byte > 0 ? e.byte - 1 : 0);
        std::string what = e.what();
        // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
        auto colon = what.find(": ", what.find("parse error"));
        std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
        throw Error("malformed JSON (column " + std::to_string(place.column) + "): " + detail, name, place.line);
    } catch (const json::out_of_range&) {
        // nlohmann's only out_of_range while parsing: a number a double cannot hold (1e400).
        auto [at, token] = find_overflowing_number(text);
        if (at == std::string_view::npos) throw Error("a number is beyond the range of a double", name);
        TextPlace place = place_of(text, at);
        throw Error(
            "number " + token + " is beyond the range of a double (column " + std::to_string(place.column) + ")", name,
            place.line);
    }
}

json read_json_file(const std::filesystem::path& path) { return parse_json_text(read_file(path), path.string()); }

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
    std::string text;
    try {
        text = json_file_text(value, compact);
    } catch (const json::type_error& e) {
        // The readers refuse text that is not UTF-8; this names the file should one slip through.
        throw Error(std::string("cannot write: a text value is not valid UTF-8 (") + e.what() + ")", path.string());
    }
    write_file_atomic(path, text);
}

const json& require_field(const json& object, const char* key, const std::string& path, const std::string& file) {
    if (!object.is_object())
        throw Error("expected a JSON object, found " + std::string(object.type_name()), file, 0, path);
    auto it = object.find(key);
    if (it == object.end()) throw Error("missing required field", file, 0, json_key(path, key));
    return *it;
}

namespace {

const std::string kInt64Range = "[-9223372036854775808, 9223372036854775807]";

// v is a JSON integer: its value, or Error when it is beyond int64 (nlohmann keeps integers
// above 2^63 - 1 as unsigned, and get<long long>() would wrap 2^64 - 1 to -1).
long long integer_in_range(const json& v, const std::string& file, const std::string& path) {
    if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(LLONG_MAX))
        throw Error("expected an integer in " + kInt64Range + ", found " + v.dump(), file, 0, path);
    return v.get<long long>();
}

}  // namespace

long long require_int(const json& object, const char* key, const std::string& path, const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (v.is_number_integer()) return integer_in_range(v, file, json_key(path, key));
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d)) {
            // [-2^63, 2^63): outside it the conversion is undefined.
            if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return static_cast<long long>(d);
            throw Error("expected an integer in " + kInt64Range + ", found " + v.dump(), file, 0, json_key(path, key));
        }
    }
    throw Error("expected an integer, found " + v.dump(), file, 0, json_key(path, key));
}

long long require_json_integer(const json& object, const char* key, const std::string& path, const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (!v.is_number_integer()) throw Error("expected an integer, found " + v.dump(), file, 0, json_key(path, key));
    return integer_in_range(v, file, json_key(path, key));
}

double require_number(const json& object, const char* key, const std::string& path, const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (!v.is_number()) throw Error("expected a number, found " + v.dump(), file, 0, json_key(path, key));
    double d = v.get<double>();
    if (!std::isfinite(d)) throw Error("expected a finite number", file, 0, json_key(path, key));
    return d;
}

std::string require_string(const json& object, const char* key, const std::string& path, const std::string& file) {
    const json& v = require_field(object, key, path, file);
    if (!v.is_string()) throw Error("expected a string, found " + v.dump(), file, 0, json_key(path, key));
    return v.get<std::string>();
}

}  // namespace chickenseg
