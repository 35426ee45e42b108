// The model package directory that `chickenseg model export` writes (python/chickenseg_model/
// export.py) and the runtime loads: manifest.json (schema chickenseg.package/2) beside the
// artefacts it lists with their SHA-256. Nothing here needs LibTorch: the manifest says what
// the artefacts expect (input size, normalisation, tensor names, thresholds), and checking
// the files comes before any of them is loaded.
//
// Three graphs per format, each taking a batch of 1 to `max_batch` images: the vision encoder
// (pixels -> FPN features), the prompt decoder (features + a prompt's text embedding -> query
// logits, boxes, the presence logit, and what the mask head continues from) and the mask
// decoder (-> one mask per query). The split lets the runtime cache the backbone (one encoder
// run per image, one decoder run per prompt) and skip the mask head when the concept is absent.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace chickenseg {

inline constexpr const char* kModelPackageSchema = "chickenseg.package/2";
inline constexpr const char* kModelPackageManifest = "manifest.json";
inline constexpr const char* kPackageTextEmbeddings = "text_embeddings.safetensors";

// The three graphs, in the order they run.
inline constexpr const char* kGraphVisionEncoder = "vision_encoder";
inline constexpr const char* kGraphDecoder = "decoder";
inline constexpr const char* kGraphMaskDecoder = "mask_decoder";

// Artefact formats: the two LibTorch runs (TorchScript, AOTInductor) and ONNX (for ONNX Runtime
// and TensorRT users; not run by chickenseg's runtime).
inline constexpr const char* kFormatTorchscript = "torchscript";
inline constexpr const char* kFormatAoti = "aoti";
inline constexpr const char* kFormatOnnx = "onnx";

// "decoder.ts", "vision_encoder.pt2", "mask_decoder.onnx". Throws Error for an unknown format.
std::string package_artefact_name(std::string_view graph, std::string_view format);

// How an image becomes the vision encoder's input (manifest "input").
struct PackageInput {
    int size = 0;                  // square side S of pixel_values (1, 3, S, S)
    std::string layout;            // "NCHW RGB"
    std::string resize;            // "square, bilinear, aspect not kept"
    std::array<double, 3> mean{};  // per channel, applied after `scale`
    std::array<double, 3> std{};
    double scale = 0;  // 1/255: bytes to [0, 1]
};

// Input and output tensor names of one artefact, in call order (manifest "vision_encoder",
// "decoder").
struct PackageGraph {
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
};

struct ModelPackage {
    std::filesystem::path folder;
    std::string model_source;          // "tiny:0" or the checkpoint folder exported from
    std::vector<std::string> prompts;  // the concept prompts, in text-embedding order
    PackageInput input;
    double score_threshold = 0.5;     // a query counts when its score reaches this
    double mask_threshold = 0.5;      // on sigmoid(mask logit)
    double presence_threshold = 0.5;  // below it an image is "no <concept>" (0: never gated)
    std::string dtype;                // "float32", "bfloat16"
    std::string device;               // what the AOTInductor artefacts were compiled for: "cpu", "cuda"
    int max_batch = 1;                // every graph takes 1 to max_batch images
    PackageGraph vision_encoder;
    PackageGraph decoder;
    PackageGraph mask_decoder;
    std::vector<std::string> formats;          // "torchscript", "aoti", "onnx"
    std::string torch_version;                 // torch that exported the package
    std::map<std::string, std::string> files;  // file name (relative) -> lower-case SHA-256 hex

    std::filesystem::path manifest_path() const { return folder / kModelPackageManifest; }
    // A file of the package; throws Error naming the manifest when it is not listed there.
    std::filesystem::path file(std::string_view name) const;
    bool has_format(std::string_view format) const;
    // The artefact of `graph` in `format` (listed in files, checked by the parser).
    std::filesystem::path artefact(std::string_view graph, std::string_view format) const;
    // Feature levels the vision encoder returns besides the position encoding (fpn_0..fpn_{L-1}).
    size_t feature_levels() const { return vision_encoder.outputs.size() - 1; }
};

// Reads and checks every field the runtime uses (type, range, consistency); each problem is
// an Error naming manifest.json, the JSON path and what was expected. Does not hash files.
ModelPackage read_model_package(const std::filesystem::path& folder);
ModelPackage parse_model_package(const nlohmann::json& manifest, const std::filesystem::path& folder);

// Every listed file's SHA-256 against the manifest, the same rule as Python's check_package:
// a missing file or a changed byte is an Error naming the file.
void verify_model_package_files(const ModelPackage& package);

// read_model_package + verify_model_package_files: what a loader calls first.
ModelPackage open_model_package(const std::filesystem::path& folder);

}  // namespace chickenseg
