// The model package (manifest.json + files, as export.py writes it): a valid package opens;
// a changed byte or a missing file is refused naming the file; each bad manifest field is an
// error naming manifest.json, the JSON path and what was expected; the text embeddings are
// checked against the manifest.
#include "chickenseg/runtime/model_package.h"

#include <gtest/gtest.h>

#include <functional>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/sha256.h"
#include "chickenseg/runtime/safetensors.h"
#include "chickenseg/runtime/text_embeddings.h"
#include "test_support.h"

namespace chickenseg {
namespace {

const std::vector<std::string> kPrompts{"chicken", "hen"};
const char* const kArtefacts[] = {"vision_encoder.ts", "decoder.ts", "mask_decoder.ts"};

SafetensorsFile embeddings(const std::vector<std::string>& prompts, int64_t tokens = 4, int64_t dim = 3) {
    SafetensorsFile f;
    for (size_t i = 0; i < prompts.size(); ++i) {
        f.tensors.push_back(
            {"prompt_" + std::to_string(i) + ".features", make_host_tensor(DType::float32, {1, tokens, dim})});
        f.tensors.push_back({"prompt_" + std::to_string(i) + ".mask", make_host_tensor(DType::int64, {1, tokens})});
    }
    f.metadata["prompts"] = json(prompts).dump();
    return f;
}

// A package folder like export.py's (artefact contents are placeholders: nothing loads them
// here), with `edit` applied to the manifest before it is written.
struct Package {
    test::TempDir dir;
    json manifest;

    explicit Package(const SafetensorsFile& text = embeddings(kPrompts)) {
        for (const char* name : kArtefacts) write_file_atomic(dir / name, std::string(name) + " bytes");
        write_safetensors(dir / "text_embeddings.safetensors", text);
        manifest = {
            {"schema", "chickenseg.package/2"},
            {"model_source", "tiny:0"},
            {"tiny", true},
            {"prompts", kPrompts},
            {"input",
             {{"size", 224},
              {"layout", "NCHW RGB"},
              {"resize", "square, bilinear, aspect not kept"},
              {"mean", {0.5, 0.5, 0.5}},
              {"std", {0.5, 0.5, 0.5}},
              {"scale", 1.0 / 255.0}}},
            {"thresholds", {{"score", 0.5}, {"mask", 0.5}, {"presence", 0.4}}},
            {"score", "sigmoid(pred_logits) * sigmoid(presence_logits)"},
            {"dtype", "float32"},
            {"device", "cpu"},
            {"batch", {{"max", 8}}},
            {"vision_encoder", {{"inputs", {"pixel_values"}}, {"outputs", {"fpn_0", "fpn_1", "fpn_pos_last"}}}},
            {"decoder",
             {{"inputs", {"fpn_1", "fpn_pos_last", "text_features", "text_mask"}},
              {"outputs", {"pred_logits", "pred_boxes", "presence_logits", "queries", "encoder_hidden"}}}},
            {"mask_decoder",
             {{"inputs", {"fpn_0", "fpn_1", "encoder_hidden", "queries", "text_features", "text_mask"}},
              {"outputs", {"pred_masks"}}}},
            {"formats", {"torchscript"}},
            {"versions", {{"torch", "2.14.1+cu130"}, {"transformers", "5.17.0"}}},
            {"dataset_version", nullptr},
            {"files", json::object()},
        };
        for (const char* name : kArtefacts) manifest["files"][name] = sha256_file_hex(dir / name);
        manifest["files"]["text_embeddings.safetensors"] = sha256_file_hex(dir / "text_embeddings.safetensors");
    }
    void write() const { write_json_file(dir / "manifest.json", manifest); }
    std::string manifest_path() const { return dir / "manifest.json"; }
};

Error open_error(const Package& p) {
    p.write();
    try {
        open_model_package(p.dir.path);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error("none");
}

TEST(ModelPackage, OpensAValidPackage) {
    Package p;
    p.write();
    ModelPackage m = open_model_package(p.dir.path);
    EXPECT_EQ(m.prompts, kPrompts);
    EXPECT_EQ(m.input.size, 224);
    EXPECT_DOUBLE_EQ(m.input.mean[2], 0.5);
    EXPECT_DOUBLE_EQ(m.input.scale, 1.0 / 255.0);
    EXPECT_EQ(m.device, "cpu");
    EXPECT_EQ(m.vision_encoder.outputs, (std::vector<std::string>{"fpn_0", "fpn_1", "fpn_pos_last"}));
    EXPECT_EQ(m.feature_levels(), 2u);
    EXPECT_EQ(m.max_batch, 8);
    EXPECT_DOUBLE_EQ(m.presence_threshold, 0.4);
    EXPECT_EQ(m.mask_decoder.outputs, (std::vector<std::string>{"pred_masks"}));
    EXPECT_TRUE(m.has_format("torchscript"));
    EXPECT_FALSE(m.has_format("onnx"));
    EXPECT_EQ(m.files.size(), 4u);
    EXPECT_EQ(m.artefact("decoder", "torchscript"), p.dir.path / "decoder.ts");
    EXPECT_EQ(m.file("decoder.ts"), p.dir.path / "decoder.ts");
    EXPECT_THROW(m.file("decoder.onnx"), Error);
    EXPECT_THROW(m.artefact("decoder", "aoti"), Error);
    EXPECT_EQ(package_artefact_name("mask_decoder", "aoti"), "mask_decoder.pt2");
    EXPECT_EQ(package_artefact_name("vision_encoder", "onnx"), "vision_encoder.onnx");
    EXPECT_THROW(package_artefact_name("decoder", "tflite"), Error);
}

TEST(ModelPackage, ChangedByteIsRefusedNamingTheFile) {
    Package p;
    std::string bytes = read_file(p.dir / "decoder.ts");
    bytes[3] ^= 0x01;
    write_file_atomic(p.dir / "decoder.ts", bytes);
    Error e = open_error(p);
    EXPECT_EQ(e.place().file, p.dir / "decoder.ts");
    EXPECT_NE(e.message().find("SHA-256 mismatch"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("re-export"), std::string::npos) << e.what();
}

TEST(ModelPackage, MissingFileIsRefusedNamingIt) {
    Package p;
    std::filesystem::remove(p.dir / "vision_encoder.ts");
    Error e = open_error(p);
    EXPECT_EQ(e.place().file, p.dir / "vision_encoder.ts");
    EXPECT_NE(e.message().find("listed in manifest.json but missing"), std::string::npos) << e.what();
}

TEST(ModelPackage, FolderWithoutManifestIsNotAPackage) {
    test::TempDir dir;
    try {
        read_model_package(dir.path);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, dir.path.string());
        EXPECT_NE(e.message().find("not a model package (manifest.json missing)"), std::string::npos);
    }
    EXPECT_THROW(read_model_package(dir.path / "nope"), Error);
}

TEST(ModelPackage, MalformedJsonGivesTheLine) {
    Package p;
    write_file_atomic(p.dir / "manifest.json", "{\n  \"schema\": \n}");
    try {
        read_model_package(p.dir.path);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, p.manifest_path());
        EXPECT_EQ(e.place().line, 3);
    }
}

struct BadField {
    const char* name;
    std::function<void(json&)> edit;
    const char* field;
    const char* message;
};

class ModelPackageBadField : public ::testing::TestWithParam<BadField> {};

TEST_P(ModelPackageBadField, NamesManifestFieldAndExpectation) {
    Package p;
    GetParam().edit(p.manifest);
    p.write();
    try {
        read_model_package(p.dir.path);
        FAIL() << "no error for " << GetParam().name;
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, p.manifest_path());
        EXPECT_EQ(e.place().field, GetParam().field) << e.what();
        EXPECT_NE(e.message().find(GetParam().message), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ModelPackageBadField,
    ::testing::Values(
        BadField{"schema", [](json& m) { m["schema"] = "chickenseg.package/3"; }, "schema",
                 "expected \"chickenseg.package/2\", found \"chickenseg.package/3\""},
        BadField{"schema_1", [](json& m) { m["schema"] = "chickenseg.package/1"; }, "schema",
                 "exported by an earlier chickenseg (one decoder graph, batch 1); re-export it"},
        BadField{"no_schema", [](json& m) { m.erase("schema"); }, "schema", "missing required field"},
        BadField{"prompts_empty", [](json& m) { m["prompts"] = json::array(); }, "prompts",
                 "non-empty array of strings"},
        BadField{"prompt_number", [](json& m) { m["prompts"][1] = 3; }, "prompts[1]", "expected a non-empty string"},
        BadField{"no_size", [](json& m) { m["input"].erase("size"); }, "input.size", "missing required field"},
        BadField{"size_zero", [](json& m) { m["input"]["size"] = 0; }, "input.size", "positive image side"},
        BadField{"layout", [](json& m) { m["input"]["layout"] = "NHWC BGR"; }, "input.layout", "expected \"NCHW RGB\""},
        BadField{"mean_two",
                 [](json& m) {
                     m["input"]["mean"] = {0.5, 0.5};
                 },
                 "input.mean", "3 numbers"},
        BadField{"std_zero",
                 [](json& m) {
                     m["input"]["std"] = {0.5, 0.0, 0.5};
                 },
                 "input.std", "3 positive numbers"},
        BadField{"scale", [](json& m) { m["input"]["scale"] = 255; }, "input.scale", "expected a number in"},
        BadField{"score", [](json& m) { m["thresholds"]["score"] = 1.5; }, "thresholds.score",
                 "expected a number in [0"},
        BadField{"dtype", [](json& m) { m["dtype"] = "int8"; }, "dtype", "expected one of"},
        BadField{"batch", [](json& m) { m["batch"] = 2; }, "batch", "expected an object"},
        BadField{"batch_max", [](json& m) { m["batch"]["max"] = 0; }, "batch.max", "1 to 1024"},
        BadField{"presence", [](json& m) { m["thresholds"].erase("presence"); }, "thresholds.presence",
                 "missing required field"},
        BadField{"encoder_outputs",
                 [](json& m) {
                     m["vision_encoder"]["outputs"] = {"fpn_0", "fpn_1"};
                 },
                 "vision_encoder.outputs", "the feature levels then the position encoding"},
        BadField{"mask_inputs",
                 [](json& m) {
                     m["mask_decoder"]["inputs"] = {"fpn_0",          "fpn_1",         "queries",
                                                    "encoder_hidden", "text_features", "text_mask"};
                 },
                 "mask_decoder.inputs", "encoder_hidden and queries"},
        BadField{"mask_missing", [](json& m) { m.erase("mask_decoder"); }, "mask_decoder", "missing required field"},
        BadField{"artefact_missing", [](json& m) { m["files"].erase("mask_decoder.ts"); }, "files",
                 "format \"torchscript\" is listed but its mask_decoder artefact mask_decoder.ts"},
        BadField{"encoder_inputs", [](json& m) { m["vision_encoder"]["inputs"] = {"image"}; }, "vision_encoder.inputs",
                 "expected [\"pixel_values\"]"},
        BadField{"decoder_inputs",
                 [](json& m) {
                     m["decoder"]["inputs"] = {"fpn_0", "fpn_pos_last", "text_features", "text_mask"};
                 },
                 "decoder.inputs", "the last feature level, its position encoding, then the text embedding"},
        BadField{
            "decoder_outputs",
            [](json& m) {
                m["decoder"]["outputs"] = {"pred_boxes", "pred_logits", "presence_logits", "queries", "encoder_hidden"};
            },
            "decoder.outputs", "expected [\"pred_logits\""},
        BadField{"format",
                 [](json& m) {
                     m["formats"] = {"torchscript", "tflite"};
                 },
                 "formats[1]", "expected one of"},
        BadField{"torch", [](json& m) { m["versions"].erase("torch"); }, "versions.torch", "missing required field"},
        BadField{"files_empty", [](json& m) { m["files"] = json::object(); }, "files", "expected a map"},
        BadField{"file_outside", [](json& m) { m["files"]["../other/decoder.ts"] = std::string(64, 'a'); },
                 "files[\"../other/decoder.ts\"]", "inside the package folder"},
        BadField{"file_absolute", [](json& m) { m["files"]["/etc/passwd"] = std::string(64, 'a'); },
                 "files[\"/etc/passwd\"]", "inside the package folder"},
        BadField{"digest", [](json& m) { m["files"]["decoder.ts"] = "ABC"; }, "files[\"decoder.ts\"]",
                 "64 lower-case hex digits"},
        BadField{"no_embeddings", [](json& m) { m["files"].erase("text_embeddings.safetensors"); }, "files",
                 "text_embeddings.safetensors"}),
    [](const ::testing::TestParamInfo<BadField>& info) { return std::string(info.param.name); });

TEST(TextEmbeddings, ReadsEveryPromptInManifestOrder) {
    Package p;
    p.write();
    std::vector<TextEmbedding> e = read_text_embeddings(open_model_package(p.dir.path));
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[1].prompt, "hen");
    EXPECT_EQ(e[1].features.shape, (std::vector<int64_t>{1, 4, 3}));
    EXPECT_EQ(e[1].mask.dtype, DType::int64);
}

Error embeddings_error(const SafetensorsFile& text) {
    Package p(text);
    p.write();
    try {
        read_text_embeddings(open_model_package(p.dir.path));
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, p.dir / "text_embeddings.safetensors");
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error("none");
}

TEST(TextEmbeddings, PromptsOfAnotherExportAreRefused) {
    Error e = embeddings_error(embeddings({"duck", "hen"}));
    EXPECT_EQ(e.place().field, "__metadata__.prompts");
    EXPECT_NE(e.message().find("expected the manifest's prompts [\"chicken\",\"hen\"]"), std::string::npos) << e.what();
}

TEST(TextEmbeddings, WrongDtypeOrShapeOrMissingTensorIsNamed) {
    SafetensorsFile text = embeddings(kPrompts);
    text.tensors[1].tensor = make_host_tensor(DType::int32, {1, 4});
    Error e = embeddings_error(text);
    EXPECT_EQ(e.place().field, "prompt_0.mask");
    EXPECT_NE(e.message().find("expected I64 of shape (1, T), found I32 (1, 4)"), std::string::npos) << e.what();

    text = embeddings(kPrompts);
    text.tensors[2].tensor = make_host_tensor(DType::float32, {1, 5, 3});
    text.tensors[3].tensor = make_host_tensor(DType::int64, {1, 5});
    e = embeddings_error(text);
    EXPECT_EQ(e.place().field, "prompt_1.features");
    EXPECT_NE(e.message().find("the decoder takes one text shape"), std::string::npos) << e.what();

    text = embeddings(kPrompts);
    text.tensors.pop_back();
    e = embeddings_error(text);
    EXPECT_NE(e.message().find("no tensor named \"prompt_1.mask\""), std::string::npos) << e.what();
}

}  // namespace
}  // namespace chickenseg
