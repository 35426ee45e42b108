#include "chickenseg/runtime/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"

namespace chickenseg {

// The byte layout is little-endian on disk; the tensors are copied as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using json = nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";

std::string field_of(const std::string& tensor, const char* key = nullptr) {
    std::string out = "header[" + json(tensor).dump() + "]";
    if (key) out += std::string(".") + key;
    return out;
}

uint64_t read_u64_le(std::string_view bytes) {
    uint64_t v = 0;
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
}

uint64_t require_offset(const json& v, const std::string& file, const std::string& field) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        throw Error("expected [begin, end] as non-negative integers, found " + v.dump(), file, 0, field);
    return v.get<uint64_t>();
}

struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const json& v, const std::string& file) {
    if (!v.is_object())
        throw Error("expected an object {dtype, shape, data_offsets}, found " + v.dump(), file, 0, field_of(name));
    Entry e{name, DType::float32, {}, 0, 0};

    auto dt = v.find("dtype");
    if (dt == v.end()) throw Error("missing required field", file, 0, field_of(name, "dtype"));
    auto dtype = dt->is_string() ? dtype_from_name(dt->get<std::string>()) : std::nullopt;
    if (!dtype)
        throw Error("expected one of " + dtype_names() + ", found " + dt->dump(), file, 0, field_of(name, "dtype"));
    e.dtype = *dtype;

    auto sh = v.find("shape");
    if (sh == v.end()) throw Error("missing required field", file, 0, field_of(name, "shape"));
    if (!sh->is_array())
        throw Error("expected an array of dimensions, found " + sh->dump(), file, 0, field_of(name, "shape"));
    for (const auto& d : *sh) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0)
            throw Error("expected non-negative integer dimensions, found " + sh->dump(), file, 0,
                        field_of(name, "shape"));
        e.shape.push_back(d.get<int64_t>());
    }

    auto off = v.find("data_offsets");
    const std::string off_field = field_of(name, "data_offsets");
    if (off == v.end()) throw Error("missing required field", file, 0, off_field);
    if (!off->is_array() || off->size() != 2)
        throw Error("expected [begin, end], found " + off->dump(), file, 0, off_field);
    e.begin = require_offset((*off)[0], file, off_field);
    e.end = require_offset((*off)[1], file, off_field);
    if (e.end < e.begin) throw Error("expected begin <= end, found " + off->dump(), file, 0, off_field);

    int64_t numel;
    try {
        numel = shape_numel(e.shape);
    } catch (const Error& err) {
        throw Error(err.message(), file, 0, field_of(name, "shape"));
    }
    uint64_t size = dtype_size(e.dtype);
    if (static_cast<uint64_t>(numel) > UINT64_MAX / size || e.end - e.begin != static_cast<uint64_t>(numel) * size)
        throw Error("shape " + shape_string(e.shape) + " of " + dtype_name(e.dtype) + " needs " +
                        std::to_string(static_cast<uint64_t>(numel) * size) + " bytes, data_offsets " + off->dump() +
                        " hold " + std::to_string(e.end - e.begin),
                    file, 0, off_field);
    return e;
}

}  // namespace

const HostTensor* SafetensorsFile::find(std::string_view name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t.tensor;
    return nullptr;
}

const HostTensor& SafetensorsFile::require(std::string_view name, const std::string& file_for_errors) const {
    if (const HostTensor* t = find(name)) return *t;
    std::string held;
    for (const auto& t : tensors) held += (held.empty() ? "" : ", ") + t.name;
    throw Error(
        "no tensor named \"" + std::string(name) + "\" (the file holds: " + (held.empty() ? "none" : held) + ")",
        file_for_errors);
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& file) {
    if (bytes.size() < 8)
        throw Error("truncated: " + std::to_string(bytes.size()) +
                        " bytes, shorter than the 8-byte header length of a safetensors file",
                    file);
    const uint64_t header_size = read_u64_le(bytes);
    if (header_size > kSafetensorsMaxHeaderBytes)
        throw Error("header length field says " + std::to_string(header_size) + " bytes, expected at most " +
                        std::to_string(kSafetensorsMaxHeaderBytes) + " (not a safetensors file?)",
                    file);
    if (header_size > bytes.size() - 8)
        throw Error("truncated: the header needs " + std::to_string(header_size) + " bytes after the length field, " +
                        std::to_string(bytes.size() - 8) + " are there",
                    file);
    std::string_view header_text = bytes.substr(8, header_size);
    if (header_text.empty() || header_text.front() != '{')
        throw Error("expected the JSON header to start with '{' (not a safetensors file?)", file, 0, "header");
    json header;
    try {
        header = json::parse(header_text);
    } catch (const json::parse_error& e) {
        throw Error(std::string("malformed JSON header: ") + e.what(), file, 0, "header");
    }
    if (!header.is_object())
        throw Error("expected a JSON object, found " + std::string(header.type_name()), file, 0, "header");

    SafetensorsFile out;
    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
        if (key == kMetadataKey) {
            if (!value.is_object())
                throw Error("expected an object of strings, found " + value.dump(), file, 0, field_of(key));
            for (const auto& [mk, mv] : value.items()) {
                if (!mv.is_string())
                    throw Error("expected a string value, found " + mv.dump(), file, 0, field_of(key) + "." + mk);
                out.metadata[mk] = mv.get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(key, value, file));
    }

    // The ranges must tile the data section: sorted by begin, each starting where the last ended.
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    const uint64_t data_size = bytes.size() - 8 - header_size;
    uint64_t expected_begin = 0;
    for (const auto& e : entries) {
        if (e.begin != expected_begin)
            throw Error("data_offsets start at " + std::to_string(e.begin) + ", expected " +
                            std::to_string(expected_begin) +
                            " (tensor data must follow each other without gap or overlap)",
                        file, 0, field_of(e.name, "data_offsets"));
        expected_begin = e.end;
    }
    if (expected_begin > data_size)
        throw Error("truncated: the tensors need " + std::to_string(expected_begin) +
                        " bytes of data, the file holds " + std::to_string(data_size) + " (file is " +
                        std::to_string(bytes.size()) + " bytes, expected " +
                        std::to_string(8 + header_size + expected_begin) + ")",
                    file);
    if (expected_begin < data_size)
        throw Error(std::to_string(data_size - expected_begin) + " bytes after the last tensor's data (expected " +
                        std::to_string(8 + header_size + expected_begin) + " bytes in all, found " +
                        std::to_string(bytes.size()) + ")",
                    file);

    const char* data = bytes.data() + 8 + header_size;
    for (auto& e : entries) {
        HostTensor t;
        t.dtype = e.dtype;
        t.shape = std::move(e.shape);
        t.bytes.assign(data + e.begin, data + e.end);
        out.tensors.push_back({std::move(e.name), std::move(t)});
    }
    return out;
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    return parse_safetensors(read_file(path), path.string());
}

std::string encode_safetensors(const SafetensorsFile& file) {
    json header = json::object();
    std::set<std::string> names;
    uint64_t offset = 0;
    for (const auto& [name, t] : file.tensors) {
        if (name == kMetadataKey) throw Error("\"__metadata__\" cannot name a tensor", "", 0, "tensors");
        if (!names.insert(name).second) throw Error("tensor name \"" + name + "\" repeats", "", 0, "tensors");
        uint64_t expected = static_cast<uint64_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
        if (t.bytes.size() != expected)
            throw Error("shape " + shape_string(t.shape) + " of " + dtype_name(t.dtype) + " needs " +
                            std::to_string(expected) + " bytes, the tensor holds " + std::to_string(t.bytes.size()),
                        "", 0, "tensors[\"" + name + "\"]");
        header[name] = {
            {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + expected}}};
        offset += expected;
    }
    if (!file.metadata.empty()) header[kMetadataKey] = file.metadata;

    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    uint64_t header_size = text.size();
    std::memcpy(out.data(), &header_size, sizeof header_size);
    out.reserve(8 + text.size() + offset);
    out += text;
    for (const auto& [name, t] : file.tensors)
        out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    return out;
}

void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& file) {
    std::string bytes;
    try {
        bytes = encode_safetensors(file);
    } catch (const Error& e) {
        throw Error(e.message(), path.string(), 0, e.place().field);
    }
    write_file_atomic(path, bytes);
}

}  // namespace chickenseg
