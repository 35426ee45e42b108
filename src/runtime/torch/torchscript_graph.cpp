// TorchScript artefacts (`chickenseg model export --format torchscript`, torch.jit.trace),
// loaded by torch::jit::load: LibTorch's loader of a graph that needs no compiler and no
// AOTInductor, and reads files written by older torch versions.
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/script.h>

#include "chickenseg/core/error.h"
#include "torch_graph.h"

namespace chickenseg {
namespace {

class TorchscriptGraph : public TorchGraph {
public:
    TorchscriptGraph(torch::jit::Module module, std::string path)
        : module_(std::move(module)), path_(std::move(path)) {}

    std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs) const override {
        std::vector<c10::IValue> args(inputs.begin(), inputs.end());
        c10::IValue out;
        try {
            out = const_cast<torch::jit::Module&>(module_).forward(std::move(args));
        } catch (const std::exception& e) {
            throw Error("the TorchScript graph failed: " + first_line(e.what()), path_);
        }
        std::vector<at::Tensor> tensors;
        if (out.isTensor()) {
            tensors.push_back(out.toTensor());
        } else if (out.isTuple()) {
            for (const auto& v : out.toTupleRef().elements()) {
                if (!v.isTensor()) throw Error("the TorchScript graph returned a non-tensor output", path_);
                tensors.push_back(v.toTensor());
            }
        } else {
            throw Error("the TorchScript graph returned " + out.tagKind() + ", expected tensors", path_);
        }
        return tensors;
    }

private:
    torch::jit::Module module_;
    std::string path_;
};

}  // namespace

std::unique_ptr<TorchGraph> load_torchscript_graph(const std::filesystem::path& path, const c10::Device& device) {
    // The graph executor's optimisation profiles the first runs and then rewrites the graph:
    // the first images of a run cost many times the steady state, for no gain on these
    // traced graphs (no fuser runs on the CPU by default). Run them as traced.
    torch::jit::setGraphExecutorOptimize(false);
    try {
        torch::jit::Module module = torch::jit::load(path.string(), device);
        module.eval();
        return std::make_unique<TorchscriptGraph>(std::move(module), path.string());
    } catch (const std::exception& e) {
        throw Error("LibTorch cannot load this TorchScript graph: " + first_line(e.what()), path.string());
    }
}

}  // namespace chickenseg
