// The interface between the engine (engine.h, no LibTorch) and a backend that runs a model
// package's graphs on a device. Backends live in plugins loaded at run time
// (libchickenseg-torch.so runs the TorchScript and AOTInductor artefacts with LibTorch), the way
// llama.cpp loads its backends: the chickenseg tool starts without LibTorch and its data and
// eval commands work on a machine that has none. Only the engine and the plugins use this
// header; applications use engine.h.
//
// A backend keeps tensors on its device between calls (DeviceTensors, opaque here): the vision
// encoder's features of a batch stay there while the decoder runs once per prompt, and the
// decoder's state stays there until the mask decoder has run. Everything that crosses the
// boundary to the host is a HostTensor. Methods may be called from several threads at once.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "chickenseg/runtime/host_tensor.h"
#include "chickenseg/runtime/model_package.h"
#include "chickenseg/runtime/safetensors.h"

namespace chickenseg {

// Bumped whenever this header changes in a way a plugin must be rebuilt for: a plugin built
// from another version is refused with a message instead of crashing.
inline constexpr int kBackendAbiVersion = 3;

// Tensors held on the backend's device (features of a batch, a decoder's state).
class DeviceTensors {
public:
    virtual ~DeviceTensors() = default;
    virtual int batch() const = 0;
};

struct BackendParams {
    std::string format;        // "torchscript" or "aoti": which of the package's artefacts to run
    std::string device;        // "cpu", "cuda", "cuda:N"
    int threads = 0;           // CPU intra-op threads; 0 leaves the library's default
    bool profile = false;      // wait for the device after each stage so that stage times are exact
    bool cuda_graphs = false;  // replay the encoder and decoder as CUDA graphs (CUDA devices only)
};

// Milliseconds of one call, split where the backend can tell (with profile off, asynchronous
// device work is counted in the stage that waits for it).
struct BackendTimes {
    double upload_ms = 0;    // host to device
    double compute_ms = 0;   // the graph
    double download_ms = 0;  // device to host
};

struct EncodeResult {
    std::shared_ptr<const DeviceTensors> features;
    BackendTimes times;
};

struct DecodeResult {
    HostTensor pred_logits;      // F32 (B, Q): query logits
    HostTensor pred_boxes;       // F32 (B, Q, 4): xyxy in [0, 1]
    HostTensor presence_logits;  // F32 (B, 1)
    // As the Python reference computes them, with the device's own kernels (postprocess.h says
    // why): presence = sigmoid(presence logit), scores = sigmoid(query logit) * presence.
    HostTensor presence;                         // F32 (B, 1)
    HostTensor scores;                           // F32 (B, Q)
    std::shared_ptr<const DeviceTensors> state;  // what the mask decoder continues from
    BackendTimes times;
};

// Which masks to compute: image `image` of the batch, query `query`.
struct MaskRequest {
    int image = 0;
    int query = 0;
};

struct MaskResult {
    HostTensor values;  // F32 (K, H, W) in request order: mask logits, or their sigmoid
    BackendTimes times;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string format() const = 0;  // "torchscript", "aoti"
    virtual std::string device() const = 0;  // "cpu", "cuda:0"
    // What runs it, for logs and benchmarks: "LibTorch 2.14.1 (CPU, 2 threads)".
    virtual std::string description() const = 0;

    // pixels: F32 (B, 3, S, S), 1 <= B <= the package's max_batch, normalised.
    virtual EncodeResult encode(const HostTensor& pixels) const = 0;
    // The decoder on every image of the batch with prompt `prompt` (text embedding index).
    virtual DecodeResult decode(const DeviceTensors& features, size_t prompt) const = 0;
    // The mask decoder on the images the requests name (the others are skipped), then the
    // requested queries' mask logits, or with `probabilities` their sigmoid (on the device).
    virtual MaskResult masks(const DeviceTensors& features, const DecodeResult& decoded, size_t prompt,
                             std::span<const MaskRequest> requests, bool probabilities) const = 0;
    // The features as host tensors, named as the manifest's vision_encoder.outputs (checks).
    virtual std::vector<NamedTensor> features_to_host(const DeviceTensors& features) const = 0;

    // Device memory: the peak allocated since the last reset, in bytes; -1 when the device
    // does not tell (CPU).
    virtual long long peak_device_bytes() const = 0;
    virtual void reset_peak_device_bytes() const = 0;
};

// What a backend plugin exports (extern "C", so the names are stable):
//   int chickenseg_backend_abi_version();                      kBackendAbiVersion it was built with
//   const char* chickenseg_backend_runtime_version();          e.g. "2.14.1" (the LibTorch version)
//   chickenseg::Backend* chickenseg_backend_create(const chickenseg::ModelPackage*,
//                                                  const chickenseg::BackendParams*);
// create throws chickenseg::Error (the plugin is built with the same compiler and library as
// the tool) and returns an object the caller deletes.
using BackendAbiVersionFn = int (*)();
using BackendRuntimeVersionFn = const char* (*)();
using BackendCreateFn = Backend* (*)(const ModelPackage*, const BackendParams*);

}  // namespace chickenseg
