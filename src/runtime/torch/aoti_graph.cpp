// AOTInductor artefacts (`chickenseg model export --format aoti`): compiled C++/CUDA in a .pt2
// package, run by LibTorch's AOTIModelPackageLoader. Tied to the torch version that compiled
// them (the engine checks the manifest's) and to one kind of device.
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include "chickenseg/core/error.h"
#include "torch_graph.h"

namespace chickenseg {
namespace {

class AotiGraph : public TorchGraph {
public:
    AotiGraph(std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader, std::string path)
        : loader_(std::move(loader)), path_(std::move(path)) {}

    std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs) const override {
        try {
            return loader_->run(inputs);
        } catch (const std::exception& e) {
            throw Error("the AOTInductor graph failed: " + first_line(e.what()), path_);
        }
    }

private:
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
    std::string path_;
};

}  // namespace

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string aoti_compiled_device(const std::filesystem::path& path) {
    try {
        auto meta = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(path.string(), "model");
        auto it = meta.find("AOTI_DEVICE_KEY");
        if (it == meta.end())
            throw Error("no AOTI_DEVICE_KEY in the package metadata (not an AOTInductor package?)", path.string());
        return it->second;
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error("cannot read the AOTInductor package: " + first_line(e.what()), path.string());
    }
}

std::unique_ptr<TorchGraph> load_aoti_graph(const std::filesystem::path& path, const c10::Device& device) {
    std::string compiled = aoti_compiled_device(path);
    if (c10::Device(compiled).type() != device.type())
        throw Error("compiled for " + compiled + ", asked to run on " + device.str() +
                        ": an AOTInductor package runs only on the kind of device it was compiled for "
                        "(re-export with chickenseg model export --device " +
                        device.str() + ")",
                    path.string());
    try {
        return std::make_unique<AotiGraph>(std::make_unique<torch::inductor::AOTIModelPackageLoader>(
                                               path.string(), "model", /*run_single_threaded=*/false, /*num_runners=*/1,
                                               device.has_index() ? device.index() : c10::DeviceIndex(-1)),
                                           path.string());
    } catch (const std::exception& e) {
        throw Error("LibTorch cannot load it: " + first_line(e.what()), path.string());
    }
}

}  // namespace chickenseg
