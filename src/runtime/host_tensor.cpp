#include "chickenseg/runtime/host_tensor.h"

#include <array>
#include <limits>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

struct DTypeInfo {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr std::array<DTypeInfo, 13> kDTypes{{
    {DType::boolean, "BOOL", 1},
    {DType::uint8, "U8", 1},
    {DType::int8, "I8", 1},
    {DType::int16, "I16", 2},
    {DType::uint16, "U16", 2},
    {DType::int32, "I32", 4},
    {DType::uint32, "U32", 4},
    {DType::int64, "I64", 8},
    {DType::uint64, "U64", 8},
    {DType::float16, "F16", 2},
    {DType::bfloat16, "BF16", 2},
    {DType::float32, "F32", 4},
    {DType::float64, "F64", 8},
}};

const DTypeInfo& info(DType dtype) {
    for (const auto& d : kDTypes)
        if (d.dtype == dtype) return d;
    throw Error("unknown DType value " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace

size_t dtype_size(DType dtype) { return info(dtype).size; }

const char* dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const auto& d : kDTypes)
        if (name == d.name) return d.dtype;
    return std::nullopt;
}

std::string dtype_names() {
    std::string out;
    for (const auto& d : kDTypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
    return out;
}

std::string shape_string(std::span<const int64_t> shape) {
    std::string out = "(";
    for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + ")";
}

int64_t shape_numel(std::span<const int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw Error("negative dimension in shape " + shape_string(shape));
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
            throw Error("shape " + shape_string(shape) + " has more elements than fit in 64 bits");
        n *= d;
    }
    return n;
}

void HostTensor::check_dtype(DType wanted) const {
    if (wanted != dtype)
        throw Error(std::string("tensor holds ") + dtype_name(dtype) + ", read as " + dtype_name(wanted));
}

HostTensor make_host_tensor(DType dtype, std::vector<int64_t> shape) {
    int64_t numel = shape_numel(shape);
    if (numel > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(dtype_size(dtype)))
        throw Error("shape " + shape_string(shape) + " of " + dtype_name(dtype) + " is too large for memory");
    HostTensor t;
    t.dtype = dtype;
    t.bytes.assign(static_cast<size_t>(numel) * dtype_size(dtype), 0);
    t.shape = std::move(shape);
    return t;
}

}  // namespace chickenseg
