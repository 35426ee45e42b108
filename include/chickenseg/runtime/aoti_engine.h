// The SAM 3 engine on a model package's AOTInductor artefacts (vision_encoder.pt2,
// decoder.pt2), run by LibTorch's AOTIModelPackageLoader. Built only with LibTorch (library
// chickenseg_runtime_torch); this header shows no torch type (pimpl), so clients compile
// without LibTorch's headers.
//
// One vision encoder run per image, then one decoder run per prompt on the same features:
// the split that makes backbone caching possible (docs/model.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chickenseg/runtime/host_tensor.h"
#include "chickenseg/runtime/model_package.h"
#include "chickenseg/runtime/safetensors.h"
#include "chickenseg/runtime/text_embeddings.h"

namespace chickenseg {

struct AotiEngineParams {
    // "cpu", "cuda", "cuda:N"; empty: the device the package was compiled for (manifest
    // "device"). An AOTInductor package runs only on the kind of device it was compiled for.
    std::string device;
};

class AotiEngine;

// The vision encoder's outputs for one image, kept on the engine's device between the
// encoder and the decoder runs.
class EncodedImage {
public:
    EncodedImage();
    ~EncodedImage();
    EncodedImage(EncodedImage&&) noexcept;
    EncodedImage& operator=(EncodedImage&&) noexcept;

    // Copies of the features, named as the manifest's vision_encoder.outputs (fpn_0, ...).
    std::vector<NamedTensor> to_host() const;

private:
    friend class AotiEngine;  // the only code that sees the device tensors
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The decoder's outputs for one image and one prompt (split_model.py's PromptDecoder).
struct DecoderOutputs {
    HostTensor pred_logits;      // F32 (1, Q): query logits
    HostTensor pred_boxes;       // F32 (1, Q, 4): xyxy in [0, 1]
    HostTensor presence_logits;  // F32 (1, 1): is the concept in the image at all
    HostTensor pred_masks;       // F32 (1, Q, H, W): mask logits at H = W = S / 3.5 (rounded)
};

class AotiEngine {
public:
    // Loads both .pt2 files and the text embeddings. Does not re-hash the files: call
    // open_model_package (or verify_model_package_files) first. Throws Error naming the file
    // when the package has no AOTInductor artefacts, was compiled for another kind of device,
    // or does not load.
    explicit AotiEngine(const ModelPackage& package, const AotiEngineParams& params = {});
    ~AotiEngine();
    AotiEngine(AotiEngine&&) noexcept;
    AotiEngine& operator=(AotiEngine&&) noexcept;

    const ModelPackage& package() const;
    const std::vector<TextEmbedding>& prompts() const;
    // The device the engine runs on ("cpu", "cuda:0").
    std::string device() const;

    // pixel_values: F32 (1, 3, S, S), normalised as the manifest's "input" says. Returns once
    // the features are computed (it waits for the device, so wall-clock timings are honest).
    // Throws Error naming "pixel_values" and the expected shape or dtype.
    EncodedImage encode(const HostTensor& pixel_values) const;

    // The decoder on an image's features and prompt `prompt_index`'s text embedding.
    DecoderOutputs decode(const EncodedImage& image, size_t prompt_index) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Named like the manifest's decoder.outputs, for writing with write_safetensors.
std::vector<NamedTensor> named_outputs(const DecoderOutputs& outputs);

}  // namespace chickenseg
