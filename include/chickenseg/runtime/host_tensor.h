// A tensor in host memory: element type, shape and row-major little-endian bytes. It is the
// runtime's interface type (safetensors files hold it; the engine takes and returns it), so
// no LibTorch type appears in a public header and clients build without LibTorch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chickenseg {

// The safetensors element types (the F8 formats are left out: nothing here makes them).
enum class DType {
    boolean,
    uint8,
    int8,
    int16,
    uint16,
    int32,
    uint32,
    int64,
    uint64,
    float16,
    bfloat16,
    float32,
    float64
};

// Bytes per element.
size_t dtype_size(DType dtype);
// The safetensors spelling: "BOOL", "U8", ..., "F32", "F64".
const char* dtype_name(DType dtype);
// nullopt for a name that is not one of dtype_name's.
std::optional<DType> dtype_from_name(std::string_view name);
// "BOOL, U8, ..., F64": for errors that say what was expected.
std::string dtype_names();

// The DType of a C++ element type, for typed access.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::float32;
}
template <>
constexpr DType dtype_of<double>() {
    return DType::float64;
}
template <>
constexpr DType dtype_of<int64_t>() {
    return DType::int64;
}
template <>
constexpr DType dtype_of<int32_t>() {
    return DType::int32;
}
template <>
constexpr DType dtype_of<uint8_t>() {
    return DType::uint8;
}

// "(1, 3, 224, 224)".
std::string shape_string(std::span<const int64_t> shape);
// Product of the dimensions; throws Error when a dimension is negative or the product
// overflows (a hostile header must not wrap around to a small size).
int64_t shape_numel(std::span<const int64_t> shape);

struct HostTensor {
    DType dtype = DType::float32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;  // shape_numel(shape) * dtype_size(dtype) bytes

    int64_t numel() const { return shape_numel(shape); }

    // The elements as T; throws Error when T is not the tensor's dtype.
    template <class T>
    std::span<const T> values() const {
        check_dtype(dtype_of<T>());
        return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
    }
    template <class T>
    std::span<T> values() {
        check_dtype(dtype_of<T>());
        return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)};
    }

private:
    void check_dtype(DType wanted) const;
};

// A zero-filled tensor.
HostTensor make_host_tensor(DType dtype, std::vector<int64_t> shape);

}  // namespace chickenseg
