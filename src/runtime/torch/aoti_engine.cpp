// The AOTInductor engine: LibTorch's AOTIModelPackageLoader runs the package's two .pt2 files.
// Everything that crosses this file's boundary is a HostTensor; torch stays inside.
#include "chickenseg/runtime/aoti_engine.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/cuda.h>

#include <cstring>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

// LibTorch errors carry a C++ backtrace after the first line; the message is the first line.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

at::ScalarType scalar_type(DType dtype) {
    switch (dtype) {
        case DType::float32:
            return at::kFloat;
        case DType::int64:
            return at::kLong;
        default:
            throw Error(std::string("no LibTorch type for ") + dtype_name(dtype) + " in the runtime");
    }
}

// Copies to the device (the HostTensor keeps its bytes; from_blob only borrows them).
at::Tensor to_device(const HostTensor& t, const c10::Device& device) {
    void* data = const_cast<uint8_t*>(t.bytes.data());
    return at::from_blob(data, t.shape, at::TensorOptions().dtype(scalar_type(t.dtype)))
        .to(device, /*non_blocking=*/false, /*copy=*/true);
}

// Host copy as F32 (a bfloat16 package's outputs are widened: callers read one type).
HostTensor to_host(const at::Tensor& t) {
    at::Tensor host = t.detach().to(at::kCPU).to(at::kFloat).contiguous();
    HostTensor out;
    out.dtype = DType::float32;
    out.shape.assign(host.sizes().begin(), host.sizes().end());
    out.bytes.resize(host.numel() * sizeof(float));
    std::memcpy(out.bytes.data(), host.data_ptr<float>(), out.bytes.size());
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& x : items) out += (out.empty() ? "" : ", ") + x;
    return out;
}

// What the package's .pt2 was compiled for, read from its metadata without loading it.
std::string compiled_device(const std::filesystem::path& pt2) {
    try {
        auto meta =
            torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(pt2.string(), "model");
        auto it = meta.find("AOTI_DEVICE_KEY");
        if (it == meta.end())
            throw Error("no AOTI_DEVICE_KEY in the package metadata (not an AOTInductor package?)",
                        pt2.string());
        return it->second;
    } catch (const c10::Error& e) {
        throw Error("cannot read the AOTInductor package: " + first_line(e.what()), pt2.string());
    }
}

}  // namespace

struct EncodedImage::Impl {
    std::vector<std::string> names;
    std::vector<at::Tensor> features;
};

EncodedImage::EncodedImage() : impl_(std::make_unique<Impl>()) {}
EncodedImage::~EncodedImage() = default;
EncodedImage::EncodedImage(EncodedImage&&) noexcept = default;
EncodedImage& EncodedImage::operator=(EncodedImage&&) noexcept = default;

std::vector<NamedTensor> EncodedImage::to_host() const {
    std::vector<NamedTensor> out;
    for (size_t i = 0; i < impl_->features.size(); ++i)
        out.push_back({impl_->names[i], chickenseg::to_host(impl_->features[i])});
    return out;
}

struct AotiEngine::Impl {
    ModelPackage package;
    std::vector<TextEmbedding> prompts;
    c10::Device device{c10::kCPU};
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> vision;
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> decoder;
    std::vector<std::pair<at::Tensor, at::Tensor>> text;  // per prompt: features, mask on `device`

    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> load(const char* name) const {
        std::filesystem::path pt2 = package.file(name);
        std::string compiled = compiled_device(pt2);
        if (c10::Device(compiled).type() != device.type())
            throw Error("compiled for " + compiled + ", asked to run on " + device.str() +
                            ": an AOTInductor package runs only on the kind of device it was compiled for "
                            "(re-export with chickenseg model export --device " +
                            device.str() + ")",
                        pt2.string());
        try {
            return std::make_unique<torch::inductor::AOTIModelPackageLoader>(
                pt2.string(), "model", /*run_single_threaded=*/false, /*num_runners=*/1,
                device.has_index() ? device.index() : c10::DeviceIndex(-1));
        } catch (const std::exception& e) {
            throw Error("LibTorch cannot load it: " + first_line(e.what()), pt2.string());
        }
    }

    void wait_for_device() const {
        if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
    }
};

AotiEngine::AotiEngine(const ModelPackage& package, const AotiEngineParams& params)
    : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.package = package;
    if (!package.has_format("aoti"))
        throw Error("the package has no AOTInductor artefacts (formats: " + join(package.formats) +
                        "); re-export it with --format aoti",
                    package.manifest_path().string(), 0, "formats");
    std::string device = params.device.empty() ? package.device : params.device;
    try {
        s.device = c10::Device(device);
    } catch (const c10::Error&) {
        throw Error("device \"" + device + "\": expected cpu, cuda or cuda:N");
    }
    if (s.device.is_cuda() && !torch::cuda::is_available())
        throw Error("device " + device + ": CUDA is not available to LibTorch (no GPU, or no driver)");

    c10::InferenceMode guard;
    s.prompts = read_text_embeddings(package);
    for (const auto& p : s.prompts)
        s.text.emplace_back(to_device(p.features, s.device), to_device(p.mask, s.device));
    s.vision = s.load(kPackageVisionEncoderAoti);
    s.decoder = s.load(kPackageDecoderAoti);
}

AotiEngine::~AotiEngine() = default;
AotiEngine::AotiEngine(AotiEngine&&) noexcept = default;
AotiEngine& AotiEngine::operator=(AotiEngine&&) noexcept = default;

const ModelPackage& AotiEngine::package() const { return impl_->package; }
const std::vector<TextEmbedding>& AotiEngine::prompts() const { return impl_->prompts; }
std::string AotiEngine::device() const { return impl_->device.str(); }

EncodedImage AotiEngine::encode(const HostTensor& pixel_values) const {
    const Impl& s = *impl_;
    const int64_t size = s.package.input.size;
    const std::vector<int64_t> expected{s.package.batch, 3, size, size};
    if (pixel_values.dtype != DType::float32 || pixel_values.shape != expected)
        throw Error("expected F32 " + shape_string(expected) + " (manifest input.size " +
                        std::to_string(size) + ", batch 1, NCHW RGB), found " +
                        dtype_name(pixel_values.dtype) + " " + shape_string(pixel_values.shape),
                    "", 0, "pixel_values");
    c10::InferenceMode guard;
    std::vector<at::Tensor> out;
    try {
        out = s.vision->run({to_device(pixel_values, s.device)});
        s.wait_for_device();
    } catch (const c10::Error& e) {
        throw Error("the vision encoder failed: " + first_line(e.what()),
                    s.package.file(kPackageVisionEncoderAoti).string());
    }
    const auto& names = s.package.vision_encoder.outputs;
    if (out.size() != names.size())
        throw Error("the vision encoder returned " + std::to_string(out.size()) +
                        " tensors, the manifest names " + std::to_string(names.size()) +
                        " (vision_encoder.outputs)",
                    s.package.file(kPackageVisionEncoderAoti).string());
    EncodedImage image;
    image.impl_->names = names;
    image.impl_->features = std::move(out);
    return image;
}

DecoderOutputs AotiEngine::decode(const EncodedImage& image, size_t prompt_index) const {
    const Impl& s = *impl_;
    if (prompt_index >= s.prompts.size())
        throw Error("prompt index " + std::to_string(prompt_index) + ": the package has " +
                        std::to_string(s.prompts.size()) + " prompts (0 to " +
                        std::to_string(s.prompts.size() - 1) + ")",
                    s.package.manifest_path().string(), 0, "prompts");
    if (image.impl_->features.size() != s.package.vision_encoder.outputs.size())
        throw Error("the image was not encoded by this engine (expected " +
                    std::to_string(s.package.vision_encoder.outputs.size()) + " feature tensors)");
    c10::InferenceMode guard;
    std::vector<at::Tensor> inputs = image.impl_->features;
    inputs.push_back(s.text[prompt_index].first);
    inputs.push_back(s.text[prompt_index].second);
    std::vector<at::Tensor> out;
    try {
        out = s.decoder->run(inputs);
    } catch (const c10::Error& e) {
        throw Error("the decoder failed: " + first_line(e.what()),
                    s.package.file(kPackageDecoderAoti).string());
    }
    if (out.size() != 4)
        throw Error("the decoder returned " + std::to_string(out.size()) +
                        " tensors, expected 4 (pred_logits, pred_boxes, presence_logits, pred_masks)",
                    s.package.file(kPackageDecoderAoti).string());
    return {to_host(out[0]), to_host(out[1]), to_host(out[2]), to_host(out[3])};
}

std::vector<NamedTensor> named_outputs(const DecoderOutputs& o) {
    return {{"pred_logits", o.pred_logits},
            {"pred_boxes", o.pred_boxes},
            {"presence_logits", o.presence_logits},
            {"pred_masks", o.pred_masks}};
}

}  // namespace chickenseg
