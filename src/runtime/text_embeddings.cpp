#include "chickenseg/runtime/text_embeddings.h"

#include <nlohmann/json.hpp>

#include "chickenseg/core/error.h"
#include "chickenseg/runtime/safetensors.h"

namespace chickenseg {
namespace {

const HostTensor& require_tensor(const SafetensorsFile& f, const std::string& name, DType dtype, size_t rank,
                                 const std::string& file) {
    const HostTensor& t = f.require(name, file);
    if (t.dtype != dtype || t.shape.size() != rank || t.shape[0] != 1)
        throw Error(std::string("expected ") + dtype_name(dtype) + " of shape (1, " + (rank == 3 ? "T, D" : "T") +
                        "), found " + dtype_name(t.dtype) + " " + shape_string(t.shape),
                    file, 0, name);
    return t;
}

}  // namespace

std::vector<TextEmbedding> read_text_embeddings(const ModelPackage& package) {
    const std::filesystem::path path = package.file(kPackageTextEmbeddings);
    const std::string file = path.string();
    SafetensorsFile f = read_safetensors(path);

    auto meta = f.metadata.find("prompts");
    if (meta == f.metadata.end())
        throw Error("missing: expected the JSON list of prompts", file, 0, "__metadata__.prompts");
    nlohmann::json listed = nlohmann::json::parse(meta->second, nullptr, false);
    if (listed != nlohmann::json(package.prompts))
        throw Error("expected the manifest's prompts " + nlohmann::json(package.prompts).dump() + ", found " +
                        meta->second + " (the embeddings belong to another export)",
                    file, 0, "__metadata__.prompts");

    std::vector<TextEmbedding> out;
    for (size_t i = 0; i < package.prompts.size(); ++i) {
        const std::string stem = "prompt_" + std::to_string(i);
        TextEmbedding e;
        e.prompt = package.prompts[i];
        e.features = require_tensor(f, stem + ".features", DType::float32, 3, file);
        e.mask = require_tensor(f, stem + ".mask", DType::int64, 2, file);
        if (e.mask.shape[1] != e.features.shape[1])
            throw Error("expected (1, " + std::to_string(e.features.shape[1]) + ") to match " + stem + ".features " +
                            shape_string(e.features.shape) + ", found " + shape_string(e.mask.shape),
                        file, 0, stem + ".mask");
        if (!out.empty() && e.features.shape != out.front().features.shape)
            throw Error("expected " + shape_string(out.front().features.shape) +
                            " like prompt_0.features (the decoder takes one text shape), found " +
                            shape_string(e.features.shape),
                        file, 0, stem + ".features");
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace chickenseg
