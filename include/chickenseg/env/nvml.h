// What the NVIDIA driver reports about this machine's GPUs, read through NVML.
// NVML (libnvidia-ml.so.1) ships with the driver, not with the toolkit, so it is
// loaded at run time with dlopen: the tool builds and runs on machines without a
// GPU and then reports "no driver" instead of failing to start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chickenseg {

inline constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";

struct GpuProcess {
    unsigned pid = 0;
    std::string name;                    // /proc/<pid>/comm; empty when not visible (other namespace)
    std::optional<uint64_t> used_bytes;  // empty when the driver does not say (e.g. no permission)
    std::string type;                    // "compute", "graphics" or "compute+graphics"
};

struct GpuDevice {
    unsigned index = 0;
    std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
    std::string uuid;
    bool memory_known = false;  // false when nvmlDeviceGetMemoryInfo failed (see error)
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;
    uint64_t used_bytes = 0;
    int compute_major = 0;  // CUDA compute capability, 0 when unknown
    int compute_minor = 0;
    std::vector<GpuProcess> processes;
    std::string error;  // queries that failed for this device, "; "-separated; empty when none
};

struct NvmlSnapshot {
    std::string library = kNvmlLibrary;
    bool library_loaded = false;
    std::string load_error;  // dlerror() text when the library could not be loaded
    bool initialized = false;
    std::string init_error;       // nvmlInit's error when the library loaded but the driver did not answer
    std::string driver_version;   // e.g. "550.54.15"
    int cuda_driver_version = 0;  // nvmlSystemGetCudaDriverVersion: 12040 = CUDA 12.4; 0 unknown
    std::vector<GpuDevice> gpus;
    std::string error;  // failures after init (device count, driver version), "; "-separated
};

// Loads `library`, initialises NVML, reads driver, CUDA driver version and every
// device with its memory and processes, then shuts NVML down and unloads it.
// Never throws: every failure is recorded in the snapshot.
NvmlSnapshot read_nvml(const std::string& library = kNvmlLibrary);

}  // namespace chickenseg
