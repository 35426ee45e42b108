#include "chickenseg/runtime/model_package.h"

#include <algorithm>
#include <cmath>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/sha256.h"

namespace chickenseg {
namespace {

// The graphs' inputs and outputs in call order: the runtime passes and reads tensors by
// position, so a package that orders them otherwise is refused (split_model.py's
// PromptDecoder, MaskDecoder, DECODER_OUTPUT_NAMES).
const std::vector<std::string> kTextInputs{"text_features", "text_mask"};
const std::vector<std::string> kDecoderOutputs{"pred_logits", "pred_boxes", "presence_logits", "queries",
                                               "encoder_hidden"};
const std::vector<std::string> kMaskDecoderOutputs{"pred_masks"};
const std::vector<std::string> kKnownFormats{kFormatTorchscript, kFormatAoti, kFormatOnnx};
const std::vector<std::string> kGraphs{kGraphVisionEncoder, kGraphDecoder, kGraphMaskDecoder};
const std::vector<std::string> kKnownDtypes{"float32", "bfloat16", "float16"};

std::string list_string(const std::vector<std::string>& items) { return json(items).dump(); }

class ManifestReader {
public:
    ManifestReader(const json& root, std::string file) : root_(root), file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& field, const std::string& message) const {
        throw Error(message, file_, 0, field);
    }

    const json& object(const json& parent, const char* key, const std::string& path) const {
        const json& v = require_field(parent, key, path, file_);
        if (!v.is_object()) fail(json_key(path, key), "expected an object, found " + v.dump());
        return v;
    }

    std::string string(const json& parent, const char* key, const std::string& path, bool non_empty = true) const {
        std::string s = require_string(parent, key, path, file_);
        if (non_empty && s.empty()) fail(json_key(path, key), "expected a non-empty string");
        return s;
    }

    std::vector<std::string> strings(const json& parent, const char* key, const std::string& path) const {
        const json& v = require_field(parent, key, path, file_);
        const std::string field = json_key(path, key);
        if (!v.is_array() || v.empty()) fail(field, "expected a non-empty array of strings, found " + v.dump());
        std::vector<std::string> out;
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string() || v[i].get<std::string>().empty())
                fail(json_index(field, i), "expected a non-empty string, found " + v[i].dump());
            out.push_back(v[i].get<std::string>());
        }
        return out;
    }

    double number_in(const json& parent, const char* key, const std::string& path, double lo, double hi) const {
        double d = require_number(parent, key, path, file_);
        if (d < lo || d > hi)
            fail(json_key(path, key),
                 "expected a number in [" + format(lo) + ", " + format(hi) + "], found " + format(d));
        return d;
    }

    std::array<double, 3> triple(const json& parent, const char* key, const std::string& path, bool positive) const {
        const json& v = require_field(parent, key, path, file_);
        const std::string field = json_key(path, key);
        const std::string what =
            positive ? "3 positive numbers (one per RGB channel)" : "3 numbers (one per RGB channel)";
        if (!v.is_array() || v.size() != 3) fail(field, "expected " + what + ", found " + v.dump());
        std::array<double, 3> out{};
        for (size_t i = 0; i < 3; ++i) {
            if (!v[i].is_number() || !std::isfinite(v[i].get<double>()) || (positive && v[i].get<double>() <= 0))
                fail(field, "expected " + what + ", found " + v.dump());
            out[i] = v[i].get<double>();
        }
        return out;
    }

    void expect_names(const std::string& field, const std::vector<std::string>& found,
                      const std::vector<std::string>& expected, const std::string& what) const {
        if (found != expected)
            fail(field, "expected " + (what.empty() ? "" : what + ", ") + list_string(expected) + ", found " +
                            list_string(found));
    }

    PackageGraph graph(const char* key) const {
        const json& g = object(root_, key, "");
        return {strings(g, "inputs", key), strings(g, "outputs", key)};
    }

    const std::string& file() const { return file_; }

private:
    static std::string format(double d) { return json(d).dump(); }
    const json& root_;
    std::string file_;
};

// pixel_values -> fpn_0, ..., fpn_{L-1}, fpn_pos_last (L >= 1): the names the decoders'
// inputs are checked against.
void check_vision_encoder(const ManifestReader& r, const PackageGraph& g) {
    r.expect_names("vision_encoder.inputs", g.inputs, {"pixel_values"}, "");
    std::vector<std::string> expected;
    for (size_t i = 0; i + 1 < std::max<size_t>(g.outputs.size(), 2); ++i)
        expected.push_back("fpn_" + std::to_string(i));
    expected.push_back("fpn_pos_last");
    r.expect_names("vision_encoder.outputs", g.outputs, expected, "the feature levels then the position encoding");
}

bool is_sha256_hex(const std::string& s) {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::filesystem::path ModelPackage::file(std::string_view name) const {
    if (files.count(std::string(name))) return folder / std::string(name);
    std::string listed;
    for (const auto& [n, digest] : files) listed += (listed.empty() ? "" : ", ") + n;
    throw Error("the package does not list " + std::string(name) + " (it lists: " + listed + ")",
                manifest_path().string(), 0, "files");
}

bool ModelPackage::has_format(std::string_view format) const {
    return std::find(formats.begin(), formats.end(), format) != formats.end();
}

std::filesystem::path ModelPackage::artefact(std::string_view graph, std::string_view format) const {
    return file(package_artefact_name(graph, format));
}

std::string package_artefact_name(std::string_view graph, std::string_view format) {
    const char* extension = format == kFormatTorchscript ? ".ts"
                            : format == kFormatAoti      ? ".pt2"
                            : format == kFormatOnnx      ? ".onnx"
                                                         : nullptr;
    if (!extension)
        throw Error("unknown artefact format \"" + std::string(format) + "\" (expected " + list_string(kKnownFormats) +
                    ")");
    return std::string(graph) + extension;
}

ModelPackage parse_model_package(const json& root, const std::filesystem::path& folder) {
    ModelPackage p;
    p.folder = folder;
    ManifestReader r(root, p.manifest_path().string());
    if (!root.is_object()) r.fail("", "expected a JSON object, found " + std::string(root.type_name()));

    // The schema first: a manifest of another version should say so, not fail on a field.
    std::string schema = r.string(root, "schema", "");
    if (schema == "chickenseg.package/1")
        r.fail("schema", std::string("found \"chickenseg.package/1\": exported by an earlier chickenseg (one decoder "
                                     "graph, batch 1); re-export it with `chickenseg model export` (expected \"") +
                             kModelPackageSchema + "\")");
    if (schema != kModelPackageSchema)
        r.fail("schema", std::string("expected \"") + kModelPackageSchema + "\", found \"" + schema + "\"");

    p.model_source = r.string(root, "model_source", "");
    p.prompts = r.strings(root, "prompts", "");

    const json& input = r.object(root, "input", "");
    long long size = require_int(input, "size", "input", r.file());
    if (size <= 0 || size > 65536)
        r.fail("input.size", "expected a positive image side in pixels, found " + std::to_string(size));
    p.input.size = static_cast<int>(size);
    p.input.layout = r.string(input, "layout", "input");
    if (p.input.layout != "NCHW RGB") r.fail("input.layout", "expected \"NCHW RGB\", found \"" + p.input.layout + "\"");
    p.input.resize = r.string(input, "resize", "input");
    p.input.mean = r.triple(input, "mean", "input", false);
    p.input.std = r.triple(input, "std", "input", true);
    p.input.scale = r.number_in(input, "scale", "input", 1e-12, 1.0);

    const json& thresholds = r.object(root, "thresholds", "");
    p.score_threshold = r.number_in(thresholds, "score", "thresholds", 0.0, 1.0);
    p.mask_threshold = r.number_in(thresholds, "mask", "thresholds", 0.0, 1.0);
    p.presence_threshold = r.number_in(thresholds, "presence", "thresholds", 0.0, 1.0);

    p.dtype = r.string(root, "dtype", "");
    if (std::find(kKnownDtypes.begin(), kKnownDtypes.end(), p.dtype) == kKnownDtypes.end())
        r.fail("dtype", "expected one of " + list_string(kKnownDtypes) + ", found \"" + p.dtype + "\"");
    p.device = r.string(root, "device", "");
    const json& batch = r.object(root, "batch", "");
    long long max_batch = require_int(batch, "max", "batch", r.file());
    if (max_batch < 1 || max_batch > 1024)
        r.fail("batch.max",
               "expected the largest batch the graphs take, 1 to 1024, found " + std::to_string(max_batch));
    p.max_batch = static_cast<int>(max_batch);

    p.vision_encoder = r.graph(kGraphVisionEncoder);
    check_vision_encoder(r, p.vision_encoder);
    const std::vector<std::string>& features = p.vision_encoder.outputs;
    const size_t levels = features.size() - 1;
    p.decoder = r.graph(kGraphDecoder);
    std::vector<std::string> decoder_inputs{features[levels - 1], features[levels]};
    decoder_inputs.insert(decoder_inputs.end(), kTextInputs.begin(), kTextInputs.end());
    r.expect_names("decoder.inputs", p.decoder.inputs, decoder_inputs,
                   "the last feature level, its position encoding, then the text embedding");
    r.expect_names("decoder.outputs", p.decoder.outputs, kDecoderOutputs, "");
    p.mask_decoder = r.graph(kGraphMaskDecoder);
    std::vector<std::string> mask_inputs(features.begin(), features.begin() + static_cast<long>(levels));
    mask_inputs.insert(mask_inputs.end(), {"encoder_hidden", "queries"});
    mask_inputs.insert(mask_inputs.end(), kTextInputs.begin(), kTextInputs.end());
    r.expect_names("mask_decoder.inputs", p.mask_decoder.inputs, mask_inputs,
                   "the feature levels, the decoder's encoder_hidden and queries, then the text embedding");
    r.expect_names("mask_decoder.outputs", p.mask_decoder.outputs, kMaskDecoderOutputs, "");

    p.formats = r.strings(root, "formats", "");
    for (size_t i = 0; i < p.formats.size(); ++i)
        if (std::find(kKnownFormats.begin(), kKnownFormats.end(), p.formats[i]) == kKnownFormats.end())
            r.fail(json_index("formats", i),
                   "expected one of " + list_string(kKnownFormats) + ", found \"" + p.formats[i] + "\"");

    const json& versions = r.object(root, "versions", "");
    p.torch_version = r.string(versions, "torch", "versions");

    const json& files = r.object(root, "files", "");
    if (files.empty()) r.fail("files", "expected a map of file name -> SHA-256, found {}");
    for (const auto& [name, digest] : files.items()) {
        const std::string field = "files[" + json(name).dump() + "]";
        // Names stay inside the package: a manifest must not make the loader hash or open
        // /etc/passwd or ../other_package/decoder.pt2.
        std::filesystem::path rel(name);
        if (name.empty() || rel.is_absolute() || relative_inside(folder / rel, folder).empty())
            r.fail(field, "expected a file name inside the package folder, found \"" + name + "\"");
        if (!digest.is_string() || !is_sha256_hex(digest.get<std::string>()))
            r.fail(field, "expected a SHA-256 as 64 lower-case hex digits, found " + digest.dump());
        p.files[name] = digest.get<std::string>();
    }
    if (!p.files.count(kPackageTextEmbeddings))
        r.fail("files",
               std::string("expected ") + kPackageTextEmbeddings + " among the files (the prompts' text embeddings)");
    for (const auto& format : p.formats)
        for (const auto& graph : kGraphs) {
            std::string name = package_artefact_name(graph, format);
            if (!p.files.count(name))
                r.fail("files", "format \"" + format + "\" is listed but its " + graph + " artefact " + name +
                                    " is not among the files");
        }
    return p;
}

ModelPackage read_model_package(const std::filesystem::path& folder) {
    std::filesystem::path manifest = folder / kModelPackageManifest;
    if (!std::filesystem::is_directory(folder)) throw Error("model package folder not found", folder.string());
    if (!std::filesystem::exists(manifest))
        throw Error(std::string("not a model package (") + kModelPackageManifest + " missing)", folder.string());
    return parse_model_package(read_json_file(manifest), folder);
}

void verify_model_package_files(const ModelPackage& package) {
    for (const auto& [name, expected] : package.files) {
        std::filesystem::path path = package.folder / name;
        if (!std::filesystem::is_regular_file(path))
            throw Error(std::string("listed in ") + kModelPackageManifest + " but missing", path.string());
        std::string actual = sha256_file_hex(path);
        if (actual != expected)
            throw Error("SHA-256 mismatch (manifest " + expected.substr(0, 16) + "..., file " + actual.substr(0, 16) +
                            "...): the package is corrupted or was modified; re-export it",
                        path.string());
    }
}

ModelPackage open_model_package(const std::filesystem::path& folder) {
    ModelPackage package = read_model_package(folder);
    verify_model_package_files(package);
    return package;
}

}  // namespace chickenseg
