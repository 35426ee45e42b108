// MKL's code path on this CPU (mkl_dispatch.cpp says how the plugin chooses it).
#pragma once

#include <string>

namespace chickenseg {

// "AVX2", "AVX-512", "SSE4.2", "generic" ...: the kernels MKL dispatches to here; "" when this
// LibTorch has no MKL. Asking makes MKL detect the CPU (once).
std::string mkl_code_path();

}  // namespace chickenseg
