// The text embeddings of a package's prompts (text_embeddings.safetensors): the text encoder
// runs once at export, so the decoder takes these instead of text. Per prompt i, in manifest
// order: "prompt_<i>.features" F32 (1, T, D) and "prompt_<i>.mask" I64 (1, T); the header's
// metadata "prompts" is the JSON list of prompts, which must equal the manifest's.
#pragma once

#include <string>
#include <vector>

#include "chickenseg/runtime/host_tensor.h"
#include "chickenseg/runtime/model_package.h"

namespace chickenseg {

struct TextEmbedding {
    std::string prompt;
    HostTensor features;  // F32 (1, T, D)
    HostTensor mask;      // I64 (1, T): 1 for a token, 0 for padding
};

// Every prompt's embedding, checked: both tensors present with the dtypes and shapes above,
// the same T and D for every prompt (the decoder was compiled for one shape), the metadata's
// prompts equal to the manifest's. Errors name the file and the tensor.
std::vector<TextEmbedding> read_text_embeddings(const ModelPackage& package);

}  // namespace chickenseg
