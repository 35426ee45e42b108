// One exported graph run by LibTorch: a TorchScript module (torch::jit::load) or an
// AOTInductor package (AOTIModelPackageLoader). Both take and return at::Tensors in the
// manifest's order; the backend (torch_backend.cpp) chains three of them.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace chickenseg {

class TorchGraph {
public:
    virtual ~TorchGraph() = default;
    // Throws Error naming the artefact when the graph fails.
    virtual std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs) const = 0;
};

// Throw Error naming the file when it does not load (and why: another torch version, another
// device, a damaged file).
std::unique_ptr<TorchGraph> load_torchscript_graph(const std::filesystem::path& path, const c10::Device& device);
std::unique_ptr<TorchGraph> load_aoti_graph(const std::filesystem::path& path, const c10::Device& device);

// `graph` replayed as a CUDA graph captured once per input shape (inputs that cannot be
// captured run without one, with a warning naming `name`). Throws Error on a non-CUDA device
// or in a build without CUDA's headers.
std::unique_ptr<TorchGraph> replay_as_cuda_graphs(std::unique_ptr<TorchGraph> graph, const c10::Device& device,
                                                  const std::string& name);

// The kind of device an AOTInductor package was compiled for ("cpu", "cuda"), read from its
// metadata without loading it.
std::string aoti_compiled_device(const std::filesystem::path& path);

// LibTorch errors carry a C++ backtrace after the first line; the message is the first line.
std::string first_line(const std::string& text);

}  // namespace chickenseg
