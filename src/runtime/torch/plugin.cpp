// The entry points of libchickenseg-torch.so (backend.h): the engine loads this plugin at run
// time, so the chickenseg tool itself never links LibTorch.
#include <torch/version.h>

#include "chickenseg/runtime/backend.h"

namespace chickenseg {
Backend* create_torch_backend(const ModelPackage& package, const BackendParams& params);
}

#define CHICKENSEG_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

CHICKENSEG_PLUGIN_EXPORT int chickenseg_backend_abi_version() { return chickenseg::kBackendAbiVersion; }

CHICKENSEG_PLUGIN_EXPORT const char* chickenseg_backend_runtime_version() { return TORCH_VERSION; }

CHICKENSEG_PLUGIN_EXPORT chickenseg::Backend* chickenseg_backend_create(const chickenseg::ModelPackage* package,
                                                                        const chickenseg::BackendParams* params) {
    return chickenseg::create_torch_backend(*package, *params);
}
