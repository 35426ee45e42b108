// A graph replayed as a CUDA graph: the model's kernels captured once per input shape and
// then launched with one call, so a batch costs no per-kernel launch overhead on the host.
// The inputs are copied into the capture's own buffers before each replay and the outputs
// copied out after it, so callers may keep what they get (the engine caches features) while
// the next replay rewrites the buffers.
#include "torch_graph.h"

#if defined(CHICKENSEG_TORCH_CUDA_HEADERS)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>

#include <iostream>
#include <map>
#include <set>
#endif

#include "chickenseg/core/error.h"

namespace chickenseg {

#if defined(CHICKENSEG_TORCH_CUDA_HEADERS)
namespace {

std::string shape_key(const std::vector<at::Tensor>& inputs) {
    std::string key;
    for (const auto& t : inputs) {
        key += c10::toString(t.scalar_type());
        for (int64_t d : t.sizes()) key += ":" + std::to_string(d);
        key += ";";
    }
    return key;
}

struct Capture {
    at::cuda::CUDAGraph graph;
    std::vector<at::Tensor> inputs;   // the capture reads these
    std::vector<at::Tensor> outputs;  // and writes these, on every replay
};

class CudaGraphRunner : public TorchGraph {
public:
    CudaGraphRunner(std::unique_ptr<TorchGraph> inner, const c10::Device& device, std::string name)
        : inner_(std::move(inner)), device_(device), name_(std::move(name)), pool_(at::cuda::graph_pool_handle()) {}

    // The backend runs one graph at a time (its lock), which the shared pool relies on: a
    // replay may overwrite what another capture left in the pool, and only outputs already
    // copied out are read after it.
    std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs) const override {
        const std::string key = shape_key(inputs);
        if (eager_.count(key)) return inner_->run(inputs);
        auto it = captures_.find(key);
        if (it == captures_.end()) {
            try {
                it = captures_.emplace(key, capture(inputs)).first;
            } catch (const std::exception& e) {
                // A graph that syncs with the host or allocates on it cannot be captured; it
                // still runs, kernel by kernel.
                std::cerr << "warning: " << name_ << ": no CUDA graph for inputs " << key
                          << " (runs without): " << first_line(e.what()) << "\n";
                eager_.insert(key);
                return inner_->run(inputs);
            }
        }
        Capture& c = *it->second;
        for (size_t i = 0; i < inputs.size(); ++i) c.inputs[i].copy_(inputs[i], /*non_blocking=*/true);
        c.graph.replay();
        std::vector<at::Tensor> out;
        for (const auto& t : c.outputs) out.push_back(t.clone());
        return out;
    }

private:
    std::unique_ptr<Capture> capture(const std::vector<at::Tensor>& inputs) const {
        auto c = std::make_unique<Capture>();
        for (const auto& t : inputs) c->inputs.push_back(t.clone());
        torch::cuda::synchronize(device_.index());
        {
            // On a side stream, as CUDA requires (the legacy default stream cannot capture); the
            // warm-up runs first do the lazy work (library handles, workspace sizes) that must not
            // be recorded.
            c10::cuda::CUDAStreamGuard guard(c10::cuda::getStreamFromPool(false, device_.index()));
            for (int i = 0; i < 2; ++i) inner_->run(c->inputs);
            torch::cuda::synchronize(device_.index());
            c->graph.capture_begin(pool_, cudaStreamCaptureModeThreadLocal);
            try {
                c->outputs = inner_->run(c->inputs);
            } catch (...) {
                try {
                    c->graph.capture_end();
                } catch (...) {
                }
                throw;
            }
            c->graph.capture_end();
        }
        torch::cuda::synchronize(device_.index());
        return c;
    }

    std::unique_ptr<TorchGraph> inner_;
    c10::Device device_;
    std::string name_;
    decltype(at::cuda::graph_pool_handle()) pool_;  // spelled c10::MempoolId_t or c10::cuda::MempoolId_t by version
    mutable std::map<std::string, std::unique_ptr<Capture>> captures_;
    mutable std::set<std::string> eager_;
};

}  // namespace

std::unique_ptr<TorchGraph> replay_as_cuda_graphs(std::unique_ptr<TorchGraph> graph, const c10::Device& device,
                                                  const std::string& name) {
    if (!device.is_cuda()) throw Error("--cuda-graphs needs a CUDA device, not " + device.str());
    return std::make_unique<CudaGraphRunner>(std::move(graph), device, name);
}

#else

std::unique_ptr<TorchGraph> replay_as_cuda_graphs(std::unique_ptr<TorchGraph>, const c10::Device& device,
                                                  const std::string&) {
    if (!device.is_cuda()) throw Error("--cuda-graphs needs a CUDA device, not " + device.str());
    throw Error(
        "--cuda-graphs: this build of the LibTorch plugin has no CUDA headers (rebuild it where CUDA's "
        "runtime headers are installed)");
}

#endif

}  // namespace chickenseg
