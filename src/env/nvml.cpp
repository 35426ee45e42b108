// The NVML loader. nvml.h is not needed to build: the few types and entry points
// used are declared here with the layouts of NVIDIA's stable ABI, and every symbol
// is looked up with dlsym, newest version first, so old drivers still answer.
#include "chickenseg/env/nvml.h"

#include <dlfcn.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace chickenseg {

namespace {

// --- The NVML ABI subset (from nvml.h; values and layouts are part of the driver ABI).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlErrorInsufficientSize = 7;
constexpr unsigned long long kNvmlValueNotAvailable = ~0ULL;
constexpr unsigned kSystemDriverVersionBufferSize = 80;
constexpr unsigned kDeviceNameBufferSize = 96;
constexpr unsigned kDeviceUuidBufferSize = 96;

struct NvmlMemory {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};
// nvmlProcessInfo_v1_t: used by nvmlDevice*RunningProcesses (drivers before the _v2 calls).
struct NvmlProcessInfoV1 {
    unsigned int pid;
    unsigned long long usedGpuMemory;
};
// nvmlProcessInfo_t (v2 layout): used by the _v2 and _v3 process calls.
struct NvmlProcessInfoV2 {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
};

using InitFn = nvmlReturn_t (*)();
using ShutdownFn = nvmlReturn_t (*)();
using ErrorStringFn = const char* (*)(nvmlReturn_t);
using GetStringFn = nvmlReturn_t (*)(char*, unsigned);
using GetIntFn = nvmlReturn_t (*)(int*);
using GetCountFn = nvmlReturn_t (*)(unsigned*);
using GetHandleFn = nvmlReturn_t (*)(unsigned, nvmlDevice_t*);
using DeviceStringFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned);
using DeviceMemoryFn = nvmlReturn_t (*)(nvmlDevice_t, NvmlMemory*);
using DeviceComputeCapabilityFn = nvmlReturn_t (*)(nvmlDevice_t, int*, int*);
using DeviceProcessesV1Fn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*, NvmlProcessInfoV1*);
using DeviceProcessesV2Fn = nvmlReturn_t (*)(nvmlDevice_t, unsigned*, NvmlProcessInfoV2*);

// Closes the library on every path out of read_nvml.
class Library {
public:
    explicit Library(const std::string& name) : handle_(::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        if (!handle_) {
            const char* e = ::dlerror();
            error_ = e ? e : "dlopen failed";
        }
    }
    ~Library() {
        if (handle_) ::dlclose(handle_);
    }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;

    bool loaded() const { return handle_ != nullptr; }
    const std::string& error() const { return error_; }

    // The first of `names` the library exports, or nullptr.
    template <typename Fn>
    Fn find(std::initializer_list<const char*> names) const {
        for (const char* n : names) {
            if (void* p = ::dlsym(handle_, n)) return reinterpret_cast<Fn>(p);
        }
        return nullptr;
    }

private:
    void* handle_;
    std::string error_;
};

void append_error(std::string& to, const std::string& what) {
    if (!to.empty()) to += "; ";
    to += what;
}

std::string process_name(unsigned pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
}

struct NvmlApi {
    ErrorStringFn error_string = nullptr;
    DeviceProcessesV2Fn compute_v2 = nullptr;  // _v3 or _v2
    DeviceProcessesV2Fn graphics_v2 = nullptr;
    DeviceProcessesV1Fn compute_v1 = nullptr;
    DeviceProcessesV1Fn graphics_v1 = nullptr;

    std::string describe(const char* call, nvmlReturn_t rc) const {
        std::string text = error_string ? error_string(rc) : "";
        if (text.empty()) text = "NVML error " + std::to_string(rc);
        return std::string(call) + ": " + text;
    }
};

// Calls a process-list entry point, growing the buffer while the driver says it is too small.
template <typename Info, typename Fn>
nvmlReturn_t list_processes(Fn fn, nvmlDevice_t device, std::vector<Info>& out) {
    std::vector<Info> buffer(64);
    for (int attempt = 0; attempt < 4; ++attempt) {
        unsigned count = static_cast<unsigned>(buffer.size());
        nvmlReturn_t rc = fn(device, &count, buffer.data());
        if (rc == kNvmlErrorInsufficientSize) {
            // Processes can start between the calls: leave some room.
            buffer.resize(std::max<size_t>(count + 16, buffer.size() * 2));
            continue;
        }
        if (rc == kNvmlSuccess) buffer.resize(std::min<size_t>(count, buffer.size()));
        out = std::move(buffer);
        return rc;
    }
    return kNvmlErrorInsufficientSize;
}

void add_processes(const NvmlApi& api, nvmlDevice_t device, bool compute, GpuDevice& gpu,
                   std::map<unsigned, GpuProcess>& by_pid) {
    const char* type = compute ? "compute" : "graphics";
    std::vector<std::pair<unsigned, unsigned long long>> found;
    nvmlReturn_t rc = kNvmlSuccess;
    const char* call = "";
    if (auto fn = compute ? api.compute_v2 : api.graphics_v2) {
        std::vector<NvmlProcessInfoV2> infos;
        rc = list_processes(fn, device, infos);
        call = compute ? "nvmlDeviceGetComputeRunningProcesses" : "nvmlDeviceGetGraphicsRunningProcesses";
        for (const auto& i : infos) found.emplace_back(i.pid, i.usedGpuMemory);
    } else if (auto fn1 = compute ? api.compute_v1 : api.graphics_v1) {
        std::vector<NvmlProcessInfoV1> infos;
        rc = list_processes(fn1, device, infos);
        call = compute ? "nvmlDeviceGetComputeRunningProcesses" : "nvmlDeviceGetGraphicsRunningProcesses";
        for (const auto& i : infos) found.emplace_back(i.pid, i.usedGpuMemory);
    } else {
        return;  // this driver cannot list processes
    }
    if (rc != kNvmlSuccess) {
        append_error(gpu.error, api.describe(call, rc));
        return;
    }
    for (const auto& [pid, used] : found) {
        auto [it, inserted] = by_pid.try_emplace(pid);
        GpuProcess& p = it->second;
        if (inserted) {
            p.pid = pid;
            p.name = process_name(pid);
            p.type = type;
        } else {
            p.type = "compute+graphics";
        }
        if (used != kNvmlValueNotAvailable) p.used_bytes = std::max<uint64_t>(p.used_bytes.value_or(0), used);
    }
}

}  // namespace

NvmlSnapshot read_nvml(const std::string& library_name) {
    NvmlSnapshot snap;
    snap.library = library_name;
    Library lib(library_name);
    if (!lib.loaded()) {
        snap.load_error = lib.error();
        return snap;
    }
    snap.library_loaded = true;

    NvmlApi api;
    api.error_string = lib.find<ErrorStringFn>({"nvmlErrorString"});
    auto init = lib.find<InitFn>({"nvmlInit_v2", "nvmlInit"});
    auto shutdown = lib.find<ShutdownFn>({"nvmlShutdown"});
    if (!init || !shutdown) {
        snap.init_error = library_name + " has no nvmlInit/nvmlShutdown: not an NVML library";
        return snap;
    }
    if (nvmlReturn_t rc = init(); rc != kNvmlSuccess) {
        snap.init_error = api.describe("nvmlInit", rc);
        return snap;
    }
    snap.initialized = true;

    if (auto fn = lib.find<GetStringFn>({"nvmlSystemGetDriverVersion"})) {
        char buf[kSystemDriverVersionBufferSize] = {};
        if (nvmlReturn_t rc = fn(buf, sizeof buf); rc == kNvmlSuccess)
            snap.driver_version = buf;
        else
            append_error(snap.error, api.describe("nvmlSystemGetDriverVersion", rc));
    }
    if (auto fn = lib.find<GetIntFn>({"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"})) {
        int v = 0;
        if (nvmlReturn_t rc = fn(&v); rc == kNvmlSuccess)
            snap.cuda_driver_version = v;
        else
            append_error(snap.error, api.describe("nvmlSystemGetCudaDriverVersion", rc));
    }

    api.compute_v2 = lib.find<DeviceProcessesV2Fn>(
        {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"});
    api.graphics_v2 = lib.find<DeviceProcessesV2Fn>(
        {"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2"});
    api.compute_v1 = lib.find<DeviceProcessesV1Fn>({"nvmlDeviceGetComputeRunningProcesses"});
    api.graphics_v1 = lib.find<DeviceProcessesV1Fn>({"nvmlDeviceGetGraphicsRunningProcesses"});
    auto get_count = lib.find<GetCountFn>({"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
    auto get_handle = lib.find<GetHandleFn>({"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
    auto get_name = lib.find<DeviceStringFn>({"nvmlDeviceGetName"});
    auto get_uuid = lib.find<DeviceStringFn>({"nvmlDeviceGetUUID"});
    auto get_memory = lib.find<DeviceMemoryFn>({"nvmlDeviceGetMemoryInfo"});
    auto get_cc = lib.find<DeviceComputeCapabilityFn>({"nvmlDeviceGetCudaComputeCapability"});

    unsigned count = 0;
    if (!get_count || !get_handle) {
        append_error(snap.error, "NVML lacks nvmlDeviceGetCount/nvmlDeviceGetHandleByIndex");
    } else if (nvmlReturn_t rc = get_count(&count); rc != kNvmlSuccess) {
        append_error(snap.error, api.describe("nvmlDeviceGetCount", rc));
        count = 0;
    }
    for (unsigned i = 0; i < count; ++i) {
        GpuDevice gpu;
        gpu.index = i;
        nvmlDevice_t device = nullptr;
        if (nvmlReturn_t rc = get_handle(i, &device); rc != kNvmlSuccess) {
            gpu.error = api.describe("nvmlDeviceGetHandleByIndex", rc);
            snap.gpus.push_back(std::move(gpu));
            continue;
        }
        if (get_name) {
            char buf[kDeviceNameBufferSize] = {};
            if (nvmlReturn_t rc = get_name(device, buf, sizeof buf); rc == kNvmlSuccess)
                gpu.name = buf;
            else
                append_error(gpu.error, api.describe("nvmlDeviceGetName", rc));
        }
        if (get_uuid) {
            char buf[kDeviceUuidBufferSize] = {};
            if (get_uuid(device, buf, sizeof buf) == kNvmlSuccess) gpu.uuid = buf;
        }
        if (get_memory) {
            NvmlMemory mem{};
            if (nvmlReturn_t rc = get_memory(device, &mem); rc == kNvmlSuccess) {
                gpu.memory_known = true;
                gpu.total_bytes = mem.total;
                gpu.free_bytes = mem.free;
                gpu.used_bytes = mem.used;
            } else {
                append_error(gpu.error, api.describe("nvmlDeviceGetMemoryInfo", rc));
            }
        }
        if (get_cc) {
            int major = 0, minor = 0;
            if (get_cc(device, &major, &minor) == kNvmlSuccess) {
                gpu.compute_major = major;
                gpu.compute_minor = minor;
            }
        }
        std::map<unsigned, GpuProcess> by_pid;  // sorted by pid: same machine state, same output
        add_processes(api, device, true, gpu, by_pid);
        add_processes(api, device, false, gpu, by_pid);
        for (auto& [pid, p] : by_pid) gpu.processes.push_back(std::move(p));
        snap.gpus.push_back(std::move(gpu));
    }
    shutdown();
    return snap;
}

}  // namespace chickenseg
