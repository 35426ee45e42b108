// Which code path Intel's MKL (inside LibTorch's CPU library, where every float32 matrix product
// of the model runs, the CPU attention kernel's included) takes on this CPU.
//
// MKL chooses its kernels by vendor before it looks at features: on a CPU that is not Intel's it
// takes its generic path, SSE for the small products this model is made of, even where the CPU
// has AVX2 and FMA (every AMD EPYC and Ryzen since Zen 1). MKL asks one function of its own,
// mkl_serv_intel_cpu_true, and LibTorch calls it through the dynamic linker; this plugin is the
// first library of its own load group, so the definition below answers for it. It says "Intel"
// only where the CPU has what MKL's AVX2 kernels use (AVX2 and FMA); the kernels then check the
// features they need themselves, as they do on Intel's CPUs. docs/runtime.md has the measurement.
//
// It changes nothing where LibTorch was loaded before this plugin (a Python program that imported
// torch first binds MKL's own answer), nor with a LibTorch built without MKL.
#include "mkl_dispatch.h"

#include <cpuid.h>

#include <cstring>

extern "C" {
// MKL's own (weak: absent in a LibTorch without MKL). The branch numbers are mkl_cbwr.h's.
int mkl_serv_cbwr_get_auto_branch() __attribute__((weak));
}

namespace chickenseg {
namespace {

bool genuine_intel() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
    char vendor[13] = {0};
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    return std::strcmp(vendor, "GenuineIntel") == 0;
}

bool has_avx2_and_fma() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace

std::string mkl_code_path() {
    if (!mkl_serv_cbwr_get_auto_branch) return "";
    const int branch = mkl_serv_cbwr_get_auto_branch();
    if (branch >= 11) return "AVX-512";
    switch (branch) {
        case 4:
            return "SSE2";
        case 6:
            return "SSSE3";
        case 7:
            return "SSE4.1";
        case 8:
            return "SSE4.2";
        case 9:
            return "AVX";
        case 10:
            return "AVX2";
        default:
            return "generic";  // 2, MKL_CBWR_AUTO: no branch of its own, the vendor-neutral kernels
    }
}

}  // namespace chickenseg

extern "C" __attribute__((visibility("default"))) int mkl_serv_intel_cpu_true() {
    static const bool answer = chickenseg::genuine_intel() || chickenseg::has_avx2_and_fma();
    return answer ? 1 : 0;
}
