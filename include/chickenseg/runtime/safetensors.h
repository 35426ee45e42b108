// safetensors files (https://github.com/huggingface/safetensors), read and written here
// rather than through a library because the format is 3 fields and the runtime must build
// with header-only dependencies: 8 bytes little-endian header length N, N bytes of JSON
// header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}} (padded with spaces), then the data section, which the
// tensors' [begin, end) ranges must cover exactly: no gap, no overlap, nothing after.
//
// The model package's text embeddings use it, and so do run-package's inputs and outputs,
// which Python reads with `safetensors.torch.load_file`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/runtime/host_tensor.h"

namespace chickenseg {

struct NamedTensor {
    std::string name;
    HostTensor tensor;
};

struct SafetensorsFile {
    std::vector<NamedTensor> tensors;  // read: in data-section order; written: in this order
    std::map<std::string, std::string> metadata;

    // nullptr when there is no tensor of that name.
    const HostTensor* find(std::string_view name) const;
    // Throws Error naming `file_for_errors`, the tensor and the names the file does hold.
    const HostTensor& require(std::string_view name, const std::string& file_for_errors) const;
};

// The largest header accepted (the reference implementation's limit): a bigger length field
// means a file that is not safetensors, and must not make the reader allocate gigabytes.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// Parses and validates everything (header length, JSON, each tensor's dtype, shape and
// offsets, the data section's size); every problem is an Error naming the file, the field
// (e.g. `header."prompt_0.mask".data_offsets`) and what was expected. A cut-off file says
// "truncated" and how many bytes are missing.
SafetensorsFile read_safetensors(const std::filesystem::path& path);
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name_for_errors);

// Header keys sorted (JSON object order), padded with spaces to a multiple of 8 bytes so the
// data section is 8-byte aligned, as the reference writer does. Throws Error when a tensor's
// byte count does not match its shape and dtype, or names repeat or use "__metadata__".
std::string encode_safetensors(const SafetensorsFile& file);
// encode_safetensors written atomically (a temporary file renamed over the target).
void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& file);

}  // namespace chickenseg
