// JSON files through nlohmann::json, with errors that give file, line and column,
// and typed field access whose errors name the JSON path.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chickenseg/core/diagnostics.h"

namespace chickenseg {

using json = nlohmann::json;

// The deepest nesting of arrays and objects a JSON text may have. nlohmann's dump() and the
// readers' walks recurse once per level, so a file nested 100,000 deep would overflow the stack;
// no file this project reads needs more than a few levels.
inline constexpr int kMaxJsonDepth = 256;

// Parses a JSON file; a syntax error becomes Error(file, line, "column N: ..."), nesting deeper
// than kMaxJsonDepth and a number beyond the range of a double too (checked before parsing).
json read_json_file(const std::filesystem::path& path);
json parse_json_text(std::string_view text, const std::string& name_for_errors);

// Throws Error(name, line, "JSON nested deeper than 256 levels (column C)") when `text` nests
// arrays and objects deeper than `max_depth`. One pass over the bytes, strings skipped; every
// path that hands untrusted text to nlohmann calls it first (parse_json_text does).
void check_json_depth(std::string_view text, const std::string& name_for_errors, int max_depth = kMaxJsonDepth);

// Reads and parses `path` for readers that collect problems instead of stopping:
// an unreadable file or malformed JSON is added to `diagnostics` (named `file`)
// and gives nullopt, so the caller moves on to the next file.
std::optional<json> read_json_file_collecting(const std::filesystem::path& path, const std::string& file,
                                              Diagnostics& diagnostics);

// The text write_json_file writes: 2-space indent (or compact) and a final newline.
std::string json_file_text(const json& value, bool compact = false);
// Writes json_file_text(value), atomically.
void write_json_file(const std::filesystem::path& path, const json& value, bool compact = false);

// Field access for a JSON object at `path` (e.g. "images[3]") in `file`.
// Each throws Error naming file and "path.key" and what was expected.
const json& require_field(const json& object, const char* key, const std::string& path, const std::string& file);
// An integer in the range of int64 (a whole float such as 3.0 is accepted); 2^64 - 1 is an
// error, never read as -1.
long long require_int(const json& object, const char* key, const std::string& path, const std::string& file);
// A JSON integer (not 3.0, not "3") in the range of int64: the SA-Co ids, sizes and flags,
// read the same way by every command (validate's rule).
long long require_json_integer(const json& object, const char* key, const std::string& path, const std::string& file);
double require_number(const json& object, const char* key, const std::string& path, const std::string& file);
std::string require_string(const json& object, const char* key, const std::string& path, const std::string& file);

// "images[3]" style path helpers.
inline std::string json_index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }
inline std::string json_key(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
}

}  // namespace chickenseg
