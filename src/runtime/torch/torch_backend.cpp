// The LibTorch backend: a package's three graphs (TorchScript or AOTInductor) on a CPU or a
// CUDA device, behind backend.h. Features and the decoder's state stay on the device between
// calls; only scores, boxes and the kept queries' masks come back to the host.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <chrono>
#include <cstring>
#include <mutex>

#if defined(CHICKENSEG_TORCH_CUDA_HEADERS)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "chickenseg/core/error.h"
#include "chickenseg/runtime/backend.h"
#include "chickenseg/runtime/text_embeddings.h"
#include "mkl_dispatch.h"
#include "torch_graph.h"

namespace chickenseg {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

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

// A host tensor's bytes viewed by LibTorch (borrowed: the HostTensor outlives the view).
at::Tensor host_view(const HostTensor& t) {
    void* data = const_cast<uint8_t*>(t.bytes.data());
    return at::from_blob(data, t.shape, at::TensorOptions().dtype(scalar_type(t.dtype)));
}

HostTensor to_host(const at::Tensor& t) {
    at::Tensor host = t.detach().to(at::kCPU).to(at::kFloat).contiguous();
    HostTensor out;
    out.dtype = DType::float32;
    out.shape.assign(host.sizes().begin(), host.sizes().end());
    out.bytes.resize(static_cast<size_t>(host.numel()) * sizeof(float));
    std::memcpy(out.bytes.data(), host.data_ptr<float>(), out.bytes.size());
    return out;
}

struct TorchTensors : DeviceTensors {
    std::vector<at::Tensor> tensors;
    int batch() const override { return tensors.empty() ? 0 : static_cast<int>(tensors.front().size(0)); }
};

const TorchTensors& torch_tensors(const DeviceTensors& t) {
    auto* p = dynamic_cast<const TorchTensors*>(&t);
    if (!p) throw Error("tensors from another backend were given to the LibTorch backend");
    return *p;
}

class TorchBackend : public Backend {
public:
    TorchBackend(const ModelPackage& package, const BackendParams& params) : package_(package), format_(params.format) {
        profile_ = params.profile;
        try {
            device_ = c10::Device(params.device);
        } catch (const std::exception&) {
            throw Error("device \"" + params.device + "\": expected cpu, cuda or cuda:N");
        }
        if (device_.is_cuda() && !torch::cuda::is_available())
            throw Error("device " + params.device + ": CUDA is not available to LibTorch (no GPU, or no driver)");
        if (device_.is_cuda() && !device_.has_index()) device_ = c10::Device(c10::kCUDA, 0);
        if (params.threads > 0) at::set_num_threads(params.threads);

        c10::InferenceMode guard;
        for (const auto& p : read_text_embeddings(package))
            text_.emplace_back(host_view(p.features).to(device_, /*non_blocking=*/false, /*copy=*/true),
                               host_view(p.mask).to(device_, /*non_blocking=*/false, /*copy=*/true));
        for (const char* graph : {kGraphVisionEncoder, kGraphDecoder, kGraphMaskDecoder}) {
            std::filesystem::path path = package.artefact(graph, format_);
            graphs_.push_back(format_ == kFormatAoti ? load_aoti_graph(path, device_)
                                                     : load_torchscript_graph(path, device_));
        }
        // The mask decoder runs on the images with kept detections only, a batch size that
        // changes from call to call and would mean a capture (and its memory) for each.
        if (params.cuda_graphs)
            for (size_t g : {size_t{0}, size_t{1}})
                graphs_[g] = replay_as_cuda_graphs(
                    std::move(graphs_[g]), device_,
                    package.artefact(g == 0 ? kGraphVisionEncoder : kGraphDecoder, format_).string());
    }

    std::string format() const override { return format_; }
    std::string device() const override { return device_.str(); }
    std::string description() const override {
        std::string where =
            device_.is_cuda() ? "CUDA " + device_.str() : "CPU, " + std::to_string(at::get_num_threads()) + " threads";
        if (const std::string mkl = mkl_code_path(); !device_.is_cuda() && !mkl.empty())
            where += ", MKL " + mkl + " kernels";
        return std::string("LibTorch ") + TORCH_VERSION + " (" + where + ")";
    }

    EncodeResult encode(const HostTensor& pixels) const override {
        const int64_t size = package_.input.size;
        if (pixels.dtype != DType::float32 || pixels.shape.size() != 4 || pixels.shape[0] < 1 ||
            pixels.shape[0] > package_.max_batch || pixels.shape[1] != 3 || pixels.shape[2] != size ||
            pixels.shape[3] != size)
            throw Error("expected F32 (B, 3, " + std::to_string(size) + ", " + std::to_string(size) +
                            ") with 1 <= B <= " + std::to_string(package_.max_batch) + ", found " +
                            dtype_name(pixels.dtype) + " " + shape_string(pixels.shape),
                        "", 0, "pixel_values");
        c10::InferenceMode guard;
        std::lock_guard lock(mutex_);
        EncodeResult result;
        auto start = Clock::now();
        at::Tensor input = upload(pixels);
        wait_if_profiling();
        result.times.upload_ms = ms_since(start);
        start = Clock::now();
        auto features = std::make_shared<TorchTensors>();
        features->tensors = graphs_[0]->run({input});
        if (features->tensors.size() != package_.vision_encoder.outputs.size())
            throw Error("the vision encoder returned " + std::to_string(features->tensors.size()) +
                            " tensors, the manifest names " + std::to_string(package_.vision_encoder.outputs.size()),
                        package_.artefact(kGraphVisionEncoder, format_).string());
        wait_if_profiling();
        result.times.compute_ms = ms_since(start);
        result.features = std::move(features);
        return result;
    }

    DecodeResult decode(const DeviceTensors& features, size_t prompt) const override {
        const auto& f = torch_tensors(features).tensors;
        const int64_t batch = f.front().size(0);
        const size_t levels = package_.feature_levels();
        c10::InferenceMode guard;
        std::lock_guard lock(mutex_);
        DecodeResult result;
        auto start = Clock::now();
        auto [text, mask] = text_for(prompt, batch);
        std::vector<at::Tensor> out = graphs_[1]->run({f[levels - 1], f[levels], text, mask});
        if (out.size() != package_.decoder.outputs.size())
            throw Error("the decoder returned " + std::to_string(out.size()) + " tensors, the manifest names " +
                            std::to_string(package_.decoder.outputs.size()),
                        package_.artefact(kGraphDecoder, format_).string());
        wait_if_profiling();
        result.times.compute_ms = ms_since(start);
        start = Clock::now();
        result.pred_logits = to_host(out[0]);
        result.pred_boxes = to_host(out[1]);
        result.presence_logits = to_host(out[2]);
        // The reference's arithmetic: presence = sigmoid(presence logit), scores = sigmoid(logits) * presence.
        at::Tensor presence = out[2].to(at::kFloat).sigmoid();
        result.presence = to_host(presence);
        result.scores = to_host(out[0].to(at::kFloat).sigmoid() * presence);
        result.times.download_ms = ms_since(start);
        auto state = std::make_shared<TorchTensors>();
        state->tensors = {out[3], out[4]};  // queries, encoder_hidden
        result.state = std::move(state);
        return result;
    }

    MaskResult masks(const DeviceTensors& features, const DecodeResult& decoded, size_t prompt,
                     std::span<const MaskRequest> requests, bool probabilities) const override {
        MaskResult result;
        if (requests.empty()) {
            result.values = make_host_tensor(DType::float32, {0, 0, 0});
            return result;
        }
        const auto& f = torch_tensors(features).tensors;
        const auto& state = torch_tensors(*decoded.state).tensors;
        const int64_t batch = f.front().size(0);
        const size_t levels = package_.feature_levels();
        // The images the requests name, each once, in batch order; the mask decoder runs on them only.
        std::vector<int64_t> images;
        for (const auto& r : requests) {
            if (r.image < 0 || r.image >= batch)
                throw Error("mask request for image " + std::to_string(r.image) + " of a batch of " +
                            std::to_string(batch));
            images.push_back(r.image);
        }
        std::sort(images.begin(), images.end());
        images.erase(std::unique(images.begin(), images.end()), images.end());
        const auto n = static_cast<int64_t>(images.size());

        c10::InferenceMode guard;
        std::lock_guard lock(mutex_);
        auto start = Clock::now();
        auto pick = [&](const at::Tensor& t) {
            if (n == batch) return t;
            at::Tensor index = at::tensor(images, at::TensorOptions().dtype(at::kLong)).to(device_);
            return t.index_select(0, index);
        };
        std::vector<at::Tensor> inputs;
        for (size_t i = 0; i < levels; ++i) inputs.push_back(pick(f[i]));
        inputs.push_back(pick(state[1]));  // encoder_hidden
        inputs.push_back(pick(state[0]));  // queries
        auto [text, mask] = text_for(prompt, n);
        inputs.push_back(text);
        inputs.push_back(mask);
        std::vector<at::Tensor> out = graphs_[2]->run(inputs);
        if (out.size() != 1 || out[0].dim() != 4)
            throw Error("the mask decoder returned " + std::to_string(out.size()) +
                            " tensors, expected pred_masks (B, Q, H, W)",
                        package_.artefact(kGraphMaskDecoder, format_).string());
        at::Tensor masks = out[0];
        const int64_t queries = masks.size(1);
        std::vector<int64_t> rows;
        for (const auto& r : requests) {
            if (r.query < 0 || r.query >= queries)
                throw Error("mask request for query " + std::to_string(r.query) + " of " + std::to_string(queries));
            auto pos = std::lower_bound(images.begin(), images.end(), int64_t{r.image}) - images.begin();
            rows.push_back(pos * queries + r.query);
        }
        at::Tensor flat = masks.reshape({n * queries, masks.size(2), masks.size(3)});
        at::Tensor kept = flat.index_select(0, at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(device_));
        if (probabilities) kept = kept.to(at::kFloat).sigmoid();
        wait_if_profiling();
        result.times.compute_ms = ms_since(start);
        start = Clock::now();
        result.values = to_host(kept);
        result.times.download_ms = ms_since(start);
        return result;
    }

    std::vector<NamedTensor> features_to_host(const DeviceTensors& features) const override {
        const auto& f = torch_tensors(features).tensors;
        std::vector<NamedTensor> out;
        for (size_t i = 0; i < f.size(); ++i) out.push_back({package_.vision_encoder.outputs[i], to_host(f[i])});
        return out;
    }

    long long peak_device_bytes() const override {
#if defined(CHICKENSEG_TORCH_CUDA_HEADERS)
        if (device_.is_cuda()) {
            // allocated_bytes[0]: the aggregate over all pools (StatType::AGGREGATE).
            auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device_.index());
            return static_cast<long long>(stats.allocated_bytes[0].peak);
        }
#endif
        return -1;
    }

    void reset_peak_device_bytes() const override {
#if defined(CHICKENSEG_TORCH_CUDA_HEADERS)
        if (device_.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device_.index());
#endif
    }

private:
    // On CUDA the pixels go through pinned memory, so the copy is asynchronous and the host
    // buffer can be reused while it runs.
    at::Tensor upload(const HostTensor& pixels) const {
        at::Tensor view = host_view(pixels);
        if (!device_.is_cuda()) return view.clone();
        at::Tensor pinned = at::empty(view.sizes(), view.options().pinned_memory(true));
        pinned.copy_(view);
        return pinned.to(device_, /*non_blocking=*/true);
    }

    // The prompt's text embedding repeated for `batch` images (the graphs take one per image).
    std::pair<at::Tensor, at::Tensor> text_for(size_t prompt, int64_t batch) const {
        if (prompt >= text_.size())
            throw Error("prompt index " + std::to_string(prompt) + ": the package has " + std::to_string(text_.size()) +
                        " prompts");
        const auto& [features, mask] = text_[prompt];
        return {features.expand({batch, features.size(1), features.size(2)}).contiguous(),
                mask.expand({batch, mask.size(1)}).contiguous()};
    }

    void wait_if_profiling() const {
        if (profile_ && device_.is_cuda()) torch::cuda::synchronize(device_.index());
    }

    ModelPackage package_;
    std::string format_;
    c10::Device device_{c10::kCPU};
    bool profile_ = false;
    std::vector<std::pair<at::Tensor, at::Tensor>> text_;  // per prompt: features, mask on the device
    std::vector<std::unique_ptr<TorchGraph>> graphs_;      // vision encoder, decoder, mask decoder
    mutable std::mutex mutex_;                             // one graph at a time: the device runs them in order anyway
};

}  // namespace

Backend* create_torch_backend(const ModelPackage& package, const BackendParams& params) {
    if (params.format != kFormatTorchscript && params.format != kFormatAoti)
        throw Error("the LibTorch backend runs torchscript or aoti artefacts, not \"" + params.format + "\"");
    return new TorchBackend(package, params);
}

}  // namespace chickenseg
