#include "chickenseg/runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "backend_plugin.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/parallel.h"
#include "chickenseg/runtime/backend.h"
#include "chickenseg/runtime/postprocess.h"
#include "chickenseg/runtime/preprocess.h"

namespace chickenseg {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double total_ms(const BackendTimes& t) { return t.upload_ms + t.compute_ms + t.download_ms; }

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& x : items) out += (out.empty() ? "" : ", ") + x;
    return out;
}

// "2.14.1+cu130" -> "2.14.1": AOTInductor's compiled code calls into the LibTorch that
// compiled it, so major.minor.patch must match; the local build tag need not.
std::string release(const std::string& version) { return version.substr(0, version.find('+')); }

std::string device_kind(const std::string& device) { return device.substr(0, device.find(':')); }

void check_device_name(const std::string& device) {
    const bool index = device.size() > 5 && device.compare(0, 5, "cuda:") == 0 &&
                       device.find_first_not_of("0123456789", 5) == std::string::npos && device.size() < 9;
    if (device != "cpu" && device != "cuda" && !index)
        throw Error("device \"" + device + "\": expected cpu, cuda or cuda:N");
}

std::string reexport_hint(const std::string& format, const std::string& device) {
    return "re-export with `chickenseg model export --model MODEL --format " + format + " --device " + device + "`";
}

// Which artefacts run: what was asked, or for "auto" AOTInductor when it can run here, else
// TorchScript. Checks everything that can be checked without loading (the device kind, the
// LibTorch version for AOTInductor) so that the refusal says what to do.
std::string choose_format(const ModelPackage& p, const std::string& asked, const std::string& device,
                          const std::string& runtime_version) {
    const std::string manifest = p.manifest_path().string();
    if (asked != "auto" && asked != kFormatTorchscript && asked != kFormatAoti)
        throw Error("backend \"" + asked + "\": expected auto, torchscript or aoti");
    if (device_kind(device) != device_kind(p.device))
        throw Error("the package was exported for " + p.device +
                        " and its graphs run only on that kind of device, "
                        "asked to run on " +
                        device + ": " +
                        reexport_hint(asked == "auto" ? kFormatTorchscript : asked, device_kind(device)),
                    manifest, 0, "device");
    const bool aoti_here = p.has_format(kFormatAoti) && release(p.torch_version) == release(runtime_version);
    std::string format = asked;
    if (asked == "auto") {
        if (aoti_here)
            format = kFormatAoti;
        else if (p.has_format(kFormatTorchscript))
            format = kFormatTorchscript;
        else if (p.has_format(kFormatAoti))
            format = kFormatAoti;  // refused below with the version it needs
        else
            throw Error("the package has no artefact the runtime can run (formats: " + join(p.formats) + "); " +
                            reexport_hint(kFormatTorchscript, device_kind(device)),
                        manifest, 0, "formats");
    }
    if (!p.has_format(format))
        throw Error("the package has no " + format + " artefacts (formats: " + join(p.formats) + "); " +
                        reexport_hint(format, device_kind(device)),
                    manifest, 0, "formats");
    if (format == kFormatAoti && !aoti_here)
        throw Error("the AOTInductor artefacts were compiled by torch " + p.torch_version +
                        " and run only with that "
                        "release; this runtime has LibTorch " +
                        runtime_version + ": " +
                        (p.has_format(kFormatTorchscript) ? std::string("use --backend torchscript, or ") : "") +
                        reexport_hint(kFormatAoti, device_kind(device)) + " in this environment",
                    manifest, 0, "versions.torch");
    return format;
}

// Several images' pixels as one (B, 3, S, S) tensor.
HostTensor stack_pixels(std::span<const EngineInput> images, const ModelPackage& p) {
    const int64_t s = p.input.size;
    const std::vector<int64_t> one{1, 3, s, s};
    HostTensor batch = make_host_tensor(DType::float32, {static_cast<int64_t>(images.size()), 3, s, s});
    size_t offset = 0;
    for (size_t i = 0; i < images.size(); ++i) {
        const HostTensor& t = images[i].pixels;
        if (t.dtype != DType::float32 || t.shape != one)
            throw Error("image " + std::to_string(i) + " of the batch: expected F32 " + shape_string(one) +
                            " (manifest input.size " + std::to_string(s) + "), found " + dtype_name(t.dtype) + " " +
                            shape_string(t.shape),
                        "", 0, "pixel_values");
        if (images[i].width == 0 || images[i].height == 0)
            throw Error("image " + std::to_string(i) + " of the batch: source size " + std::to_string(images[i].width) +
                        "x" + std::to_string(images[i].height) + ", expected at least 1x1");
        std::memcpy(batch.bytes.data() + offset, t.bytes.data(), t.bytes.size());
        offset += t.bytes.size();
    }
    return batch;
}

double resolve(double asked, double manifest) { return asked < 0 ? manifest : asked; }

}  // namespace

EngineParams engine_default_params() { return EngineParams{}; }
DetectParams detect_default_params() { return DetectParams{}; }

float mask_stability_score(std::span<const float> probabilities, double mask_threshold, double delta) {
    // The thresholds in probability space: sigmoid(logit(t) +- delta), t kept inside (0, 1).
    const double t = std::clamp(mask_threshold, 1e-6, 1.0 - 1e-6);
    const double logit = std::log(t / (1.0 - t));
    const double high = 1.0 / (1.0 + std::exp(-(logit + delta)));
    const double low = 1.0 / (1.0 + std::exp(-(logit - delta)));
    size_t inner = 0, outer = 0;
    for (float p : probabilities) {
        inner += p > high;
        outer += p > low;
    }
    return outer == 0 ? 0.0f : static_cast<float>(static_cast<double>(inner) / static_cast<double>(outer));
}

EngineInput prepare_engine_input(const RgbImage& image, const ModelPackage& package) {
    return EngineInput{image_to_pixel_values(image, package), image.width, image.height};
}

EngineInput prepare_engine_input(const RgbView& image, const ModelPackage& package) {
    return EngineInput{image_to_pixel_values(image, package), image.width, image.height};
}

std::vector<NamedTensor> named_outputs(const RawOutputs& o) {
    return {{"pred_logits", o.pred_logits},
            {"pred_boxes", o.pred_boxes},
            {"presence_logits", o.presence_logits},
            {"pred_masks", o.pred_masks}};
}

struct EncodedBatch::Impl {
    const void* engine = nullptr;  // which engine's device holds the features
    std::shared_ptr<const DeviceTensors> features;
    std::vector<std::pair<uint32_t, uint32_t>> sizes;  // width, height per image
    std::shared_ptr<const Backend> backend;
};

EncodedBatch::EncodedBatch() = default;
EncodedBatch::~EncodedBatch() = default;
EncodedBatch::EncodedBatch(EncodedBatch&&) noexcept = default;
EncodedBatch& EncodedBatch::operator=(EncodedBatch&&) noexcept = default;
EncodedBatch::EncodedBatch(const EncodedBatch&) = default;
EncodedBatch& EncodedBatch::operator=(const EncodedBatch&) = default;

size_t EncodedBatch::size() const { return impl_ ? impl_->sizes.size() : 0; }

std::vector<NamedTensor> EncodedBatch::features_to_host() const {
    if (!impl_) throw Error("features_to_host: the batch holds no features (not encoded)");
    return impl_->backend->features_to_host(*impl_->features);
}

struct Engine::Impl {
    ModelPackage package;
    std::shared_ptr<const Backend> backend;

    const EncodedBatch::Impl& check(const EncodedBatch& batch) const {
        if (!batch.impl_ || batch.impl_->engine != this)
            throw Error(
                "the batch was not encoded by this engine (features live on the device of the engine that "
                "encoded them)");
        return *batch.impl_;
    }

    void check_prompt(size_t prompt) const {
        if (prompt >= package.prompts.size())
            throw Error("prompt index " + std::to_string(prompt) + ": the package has " +
                            std::to_string(package.prompts.size()) + " prompts (" + join(package.prompts) + ")",
                        package.manifest_path().string(), 0, "prompts");
    }
};

Engine::Engine(const std::filesystem::path& package, const EngineParams& params) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.package = params.verify ? open_model_package(package) : read_model_package(package);
    const BackendPlugin& plugin = load_backend_plugin(params.plugin_dir);
    BackendParams bp;
    bp.device = params.device.empty() ? s.package.device : params.device;
    check_device_name(bp.device);
    bp.format = choose_format(s.package, params.backend, bp.device, plugin.runtime_version);
    bp.threads = params.threads;
    bp.profile = params.profile;
    bp.cuda_graphs = params.cuda_graphs;
    s.backend.reset(plugin.create(&s.package, &bp));
}

Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const ModelPackage& Engine::package() const { return impl_->package; }
std::string Engine::backend() const { return impl_->backend->format(); }
std::string Engine::device() const { return impl_->backend->device(); }
std::string Engine::description() const { return impl_->backend->description(); }
size_t Engine::max_batch() const { return static_cast<size_t>(impl_->package.max_batch); }

size_t Engine::prompt_index(std::string_view prompt) const {
    const auto& prompts = impl_->package.prompts;
    auto it = std::find(prompts.begin(), prompts.end(), prompt);
    if (it == prompts.end())
        throw Error("prompt \"" + std::string(prompt) + "\" is not one of the package's prompts (" + join(prompts) +
                        "); the text encoder runs at export: re-export with --prompt " + std::string(prompt),
                    impl_->package.manifest_path().string(), 0, "prompts");
    return static_cast<size_t>(it - prompts.begin());
}

EncodedBatch Engine::encode(std::span<const EngineInput> images, EngineTimings* timings) const {
    const Impl& s = *impl_;
    if (images.empty() || images.size() > max_batch())
        throw Error("encode: " + std::to_string(images.size()) + " images, expected 1 to " +
                    std::to_string(max_batch()) + " (the package's batch.max)");
    EncodeResult r = s.backend->encode(stack_pixels(images, s.package));
    if (timings) {
        timings->upload_ms += r.times.upload_ms;
        timings->encoder_ms += r.times.compute_ms + r.times.download_ms;
    }
    auto impl = std::make_shared<EncodedBatch::Impl>();
    impl->engine = &s;
    impl->features = std::move(r.features);
    impl->backend = s.backend;
    for (const auto& im : images) impl->sizes.emplace_back(im.width, im.height);
    EncodedBatch batch;
    batch.impl_ = std::move(impl);
    return batch;
}

std::vector<ImageDetections> Engine::detect(const EncodedBatch& batch, size_t prompt, const DetectParams& params,
                                            EngineTimings* timings) const {
    const Impl& s = *impl_;
    const EncodedBatch::Impl& b = s.check(batch);
    s.check_prompt(prompt);
    // All queries: a threshold no score falls below (scores are products of sigmoids, >= 0).
    const double score_threshold =
        params.all_queries ? -1.0 : resolve(params.score_threshold, s.package.score_threshold);
    const auto presence_threshold =
        params.all_queries ? 0.0f
                           : static_cast<float>(resolve(params.presence_threshold, s.package.presence_threshold));
    const auto mask_threshold = static_cast<float>(resolve(params.mask_threshold, s.package.mask_threshold));

    DecodeResult decoded = s.backend->decode(*b.features, prompt);
    auto start = Clock::now();
    const auto scores = decoded.scores.values<float>();
    const auto boxes = decoded.pred_boxes.values<float>();
    const auto presence = decoded.presence.values<float>();
    const size_t n = b.sizes.size();
    const size_t queries = decoded.scores.shape.at(1);

    std::vector<ImageDetections> out(n);
    std::vector<MaskRequest> requests;
    for (size_t i = 0; i < n; ++i) {
        ImageDetections& d = out[i];
        d.width = b.sizes[i].first;
        d.height = b.sizes[i].second;
        d.prompt = prompt;
        d.presence = presence[i];
        d.gated = d.presence < presence_threshold;
        if (d.gated) continue;
        for (const KeptQuery& k : select_queries(scores.subspan(i * queries, queries), score_threshold)) {
            Detection det;
            det.query = k.query;
            det.score = k.score;
            det.bbox = box_to_pixels(boxes.subspan((i * queries + k.query) * 4, 4), d.width, d.height);
            d.detections.push_back(std::move(det));
            if (params.masks) requests.push_back({static_cast<int>(i), k.query});
        }
    }
    double post_ms = ms_since(start);

    if (!requests.empty()) {
        MaskResult masks = s.backend->masks(*b.features, decoded, prompt, requests, /*probabilities=*/true);
        if (timings) timings->mask_decoder_ms += total_ms(masks.times);
        start = Clock::now();
        const auto& shape = masks.values.shape;
        const auto mh = static_cast<uint32_t>(shape.at(1)), mw = static_cast<uint32_t>(shape.at(2));
        const auto values = masks.values.values<float>();
        // Requests were made image by image, detection by detection: the k-th mask is theirs.
        std::vector<Detection*> targets;
        for (auto& d : out)
            for (auto& det : d.detections) targets.push_back(&det);
        std::vector<uint32_t> owners;
        for (const auto& r : requests) owners.push_back(static_cast<uint32_t>(r.image));
        parallel_for(requests.size(), 0, [&](size_t k) {
            const ImageDetections& d = out[owners[k]];
            const auto probabilities = values.subspan(k * mh * mw, size_t{mh} * mw);
            targets[k]->mask = mask_probabilities_to_rle(probabilities, mh, mw, d.height, d.width, mask_threshold);
            if (params.stability_delta > 0)
                targets[k]->stability = mask_stability_score(probabilities, mask_threshold, params.stability_delta);
        });
        post_ms += ms_since(start);
    }
    if (timings) {
        timings->decoder_ms += total_ms(decoded.times);
        timings->postprocess_ms += post_ms;
    }
    return out;
}

std::vector<ImageDetections> Engine::predict(std::span<const EngineInput> images, size_t prompt,
                                             const DetectParams& params, EngineTimings* timings) const {
    return detect(encode(images, timings), prompt, params, timings);
}

RawOutputs Engine::raw(const EncodedBatch& batch, size_t prompt) const {
    const Impl& s = *impl_;
    const EncodedBatch::Impl& b = s.check(batch);
    s.check_prompt(prompt);
    DecodeResult decoded = s.backend->decode(*b.features, prompt);
    const int64_t n = static_cast<int64_t>(b.sizes.size());
    const int64_t queries = decoded.pred_logits.shape.at(1);
    std::vector<MaskRequest> all;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t q = 0; q < queries; ++q) all.push_back({static_cast<int>(i), static_cast<int>(q)});
    MaskResult masks = s.backend->masks(*b.features, decoded, prompt, all, /*probabilities=*/false);
    RawOutputs out{decoded.pred_logits, decoded.pred_boxes, decoded.presence_logits, std::move(masks.values)};
    out.pred_masks.shape = {n, queries, out.pred_masks.shape.at(1), out.pred_masks.shape.at(2)};
    return out;
}

long long Engine::peak_device_bytes() const { return impl_->backend->peak_device_bytes(); }
void Engine::reset_peak_device_bytes() const { impl_->backend->reset_peak_device_bytes(); }

}  // namespace chickenseg
