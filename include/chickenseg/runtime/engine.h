// The SAM 3 engine: a model package run by a backend on a device, from prepared images to
// detections (boxes, scores, masks as COCO RLE, the image's presence score). No LibTorch or
// CUDA type appears here: the backend is a plugin loaded at run time (backend.h).
//
//   Engine engine("pkg");                                   // verifies, loads the backend
//   EngineInput in = prepare_engine_input(decode_image("barn.jpg"), engine.package());
//   EncodedBatch batch = engine.encode({&in, 1});            // vision encoder, once per image
//   auto chickens = engine.detect(batch, engine.prompt_index("chicken"));
//   auto eggs = engine.detect(batch, engine.prompt_index("egg"));  // one decoder run more
//
// Presence gating: when sigmoid(presence logit) of an image is below the presence threshold
// the image is "no <concept>": no detections, and neither the mask decoder nor any mask
// post-processing runs for it. The mask decoder also does not run for an image without a
// kept query. With the presence threshold at 0 nothing is gated and the detections equal the
// Python reference's (chickenseg model predict), which never gates.
//
// Thread-safe: one Engine serves concurrent callers (the backend serialises device work).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/core/image.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/runtime/host_tensor.h"
#include "chickenseg/runtime/model_package.h"
#include "chickenseg/runtime/safetensors.h"

namespace chickenseg {

struct EngineParams {
    // "auto" (AOTInductor when the package has it, it was compiled by this LibTorch's version
    // and for this kind of device; else TorchScript), "torchscript" or "aoti".
    std::string backend = "auto";
    // "" (the device the package was exported for), "cpu", "cuda", "cuda:N".
    std::string device;
    int threads = 0;       // CPU intra-op threads of the backend; 0 = the library's default
    bool profile = false;  // wait for the device after each stage (exact stage times, slower)
    // Capture the vision encoder and the decoder as CUDA graphs, once per batch size, and replay
    // them (CUDA devices only; docs/runtime.md says when it pays).
    bool cuda_graphs = false;
    bool verify = true;  // check every file's SHA-256 before loading (open_model_package)
    // Where the backend plugin (libchickenseg-torch.so) is; "" = $CHICKENSEG_PLUGIN_DIR, then
    // the running program's folder, then <that folder>/../lib/chickenseg.
    std::filesystem::path plugin_dir;
};
EngineParams engine_default_params();

// What detect keeps. Negative values take the manifest's thresholds.
struct DetectParams {
    double score_threshold = -1;     // keep a query whose score reaches this
    double presence_threshold = -1;  // gate an image whose presence is below this; 0 = never
    double mask_threshold = -1;      // on the resized sigmoid of the mask logits
    bool masks = true;               // false: boxes and scores only, the mask decoder never runs
    // > 0: each kept mask's stability score (Detection::stability) with this offset in logit
    // space; 0: not computed.
    double stability_delta = 0;
    // Every query is a detection, whatever its score and the image's presence (the score and
    // presence thresholds are ignored, nothing is gated): the candidates an annotator's click
    // chooses from (annotate/click_mask.h), which may lie below the keep threshold.
    bool all_queries = false;
};
DetectParams detect_default_params();

// One image, ready for the vision encoder.
struct EngineInput {
    HostTensor pixels;   // F32 (1, 3, S, S), normalised as the manifest says
    uint32_t width = 0;  // the source image's size (detections are in its pixels)
    uint32_t height = 0;
};

// Decodes nothing: `image` is upright RGB (decode_image applied the EXIF orientation).
EngineInput prepare_engine_input(const RgbImage& image, const ModelPackage& package);
// The same from pixels read in place (a NumPy array, OpenCV's BGR): no copy of the image.
EngineInput prepare_engine_input(const RgbView& image, const ModelPackage& package);

struct Detection {
    int query = 0;    // which decoder query
    float score = 0;  // sigmoid(query logit) x sigmoid(presence logit)
    BoxXywh bbox{};   // [x, y, w, h] in pixels of the source image
    Rle mask;         // at the source image's size; empty (0x0) when DetectParams::masks is false
    // SAM's stability score of the mask, on the mask decoder's grid (before the resize to the
    // source size): area(p > sigmoid(logit(t) + delta)) / area(p > sigmoid(logit(t) - delta))
    // with t the mask threshold and delta DetectParams::stability_delta; 0 for an empty mask;
    // -1 when not computed (stability_delta 0 or no masks).
    float stability = -1;
};

// The stability score of one mask from its probabilities (see Detection::stability).
float mask_stability_score(std::span<const float> probabilities, double mask_threshold, double delta);

struct ImageDetections {
    uint32_t width = 0;
    uint32_t height = 0;
    size_t prompt = 0;                  // index into the package's prompts
    float presence = 0;                 // sigmoid(presence logit)
    bool gated = false;                 // presence below the threshold: "no <concept>", no detections
    std::vector<Detection> detections;  // score descending, ties in query order
};

// Milliseconds per stage of the calls that were given this to fill (added to what it holds).
struct EngineTimings {
    double upload_ms = 0;        // pixels to the device
    double encoder_ms = 0;       // vision encoder
    double decoder_ms = 0;       // prompt decoder, its outputs to the host
    double mask_decoder_ms = 0;  // mask decoder and the kept masks to the host
    double postprocess_ms = 0;   // scores, boxes, mask resize and RLE on the host
};

// The encoder's features of a batch of images, held on the engine's device.
class EncodedBatch {
public:
    EncodedBatch();
    ~EncodedBatch();
    EncodedBatch(EncodedBatch&&) noexcept;
    EncodedBatch& operator=(EncodedBatch&&) noexcept;
    EncodedBatch(const EncodedBatch&);  // shares the device tensors (read-only)
    EncodedBatch& operator=(const EncodedBatch&);

    size_t size() const;
    // The features as host tensors (fpn_0, ..., fpn_pos_last), for checks.
    std::vector<NamedTensor> features_to_host() const;

private:
    friend class Engine;
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

// The decoder's raw outputs for every query (verification against PyTorch, run-package).
struct RawOutputs {
    HostTensor pred_logits;      // F32 (B, Q)
    HostTensor pred_boxes;       // F32 (B, Q, 4): xyxy in [0, 1]
    HostTensor presence_logits;  // F32 (B, 1)
    HostTensor pred_masks;       // F32 (B, Q, H, W): mask logits
};
std::vector<NamedTensor> named_outputs(const RawOutputs& outputs);

class Engine {
public:
    // Opens the package (manifest, and every file's SHA-256 when params.verify), loads the
    // backend plugin and the package's artefacts for the chosen backend and device. Throws
    // Error: the package's own errors (naming the file), no usable artefact ("re-export with
    // --format torchscript"), an artefact for another device or LibTorch version, a missing
    // plugin (where it looked).
    explicit Engine(const std::filesystem::path& package, const EngineParams& params = engine_default_params());
    ~Engine();
    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;

    const ModelPackage& package() const;
    std::string backend() const;      // "torchscript", "aoti"
    std::string device() const;       // "cpu", "cuda:0"
    std::string description() const;  // the backend's runtime, e.g. "LibTorch 2.14.1 (CPU, 2 threads)"
    size_t max_batch() const;
    // The index of a prompt of the package; Error listing the package's prompts otherwise.
    size_t prompt_index(std::string_view prompt) const;

    // The vision encoder on 1 to max_batch() images. Throws Error naming "pixel_values" when an
    // input's tensor does not have the manifest's shape.
    EncodedBatch encode(std::span<const EngineInput> images, EngineTimings* timings = nullptr) const;
    // Detections of prompt `prompt` in every image of the batch, in batch order.
    std::vector<ImageDetections> detect(const EncodedBatch& batch, size_t prompt,
                                        const DetectParams& params = detect_default_params(),
                                        EngineTimings* timings = nullptr) const;
    // encode + detect for one prompt.
    std::vector<ImageDetections> predict(std::span<const EngineInput> images, size_t prompt,
                                         const DetectParams& params = detect_default_params(),
                                         EngineTimings* timings = nullptr) const;
    // Every query's outputs, masks included, for one prompt (no gating, no thresholds).
    RawOutputs raw(const EncodedBatch& batch, size_t prompt) const;

    // Peak device memory since the last reset in bytes; -1 when the device does not say (CPU).
    long long peak_device_bytes() const;
    void reset_peak_device_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chickenseg
