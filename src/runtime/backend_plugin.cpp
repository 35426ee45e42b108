#include "backend_plugin.h"

#include <dlfcn.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

std::filesystem::path program_folder() {
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : exe.parent_path();
}

std::string dl_error() {
    const char* e = dlerror();
    return e ? e : "unknown error";
}

template <class Fn>
Fn symbol(void* handle, const char* name, const std::filesystem::path& path) {
    void* s = dlsym(handle, name);
    if (!s) throw Error(std::string("not a chickenseg backend plugin: no symbol ") + name, path.string());
    return reinterpret_cast<Fn>(s);
}

// LibTorch calls the BLAS functions it carries (sgemm_ ...) through its PLT, so a BLAS already in
// the process's global scope takes them over: Debian's reference libblas.so.3 made every matrix
// product of the model several times slower, the CPU attention kernel's included, when FFmpeg's
// libavdevice (which brings it) was linked into the tool (video_source.cpp now loads that one
// locally). The plugin cannot undo it once loaded (RTLD_DEEPBIND would, but breaks LibTorch's
// C++ runtime type checks), so it says so, once, naming the library.
void warn_of_a_foreign_blas() {
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    if (!sgemm) return;
    Dl_info info{};
    std::string where = dladdr(sgemm, &info) && info.dli_fname ? info.dli_fname : "a library loaded before it";
    std::cerr << "warning: " << where
              << " provides BLAS functions in this process, and LibTorch's matrix products run on it instead of "
                 "LibTorch's own (much slower with a reference BLAS); remove it from LD_PRELOAD or from the "
                 "program's links\n";
}

}  // namespace

std::vector<std::filesystem::path> plugin_search_path(const std::filesystem::path& plugin_dir) {
    if (!plugin_dir.empty()) return {plugin_dir};
    std::vector<std::filesystem::path> dirs;
    if (const char* env = std::getenv("CHICKENSEG_PLUGIN_DIR"); env && *env) dirs.emplace_back(env);
    if (auto exe = program_folder(); !exe.empty()) {
        dirs.push_back(exe);
        dirs.push_back(exe.parent_path() / "lib" / "chickenseg");
    }
    return dirs;
}

std::filesystem::path find_plugin(const char* file, const std::filesystem::path& plugin_dir, std::string& looked) {
    looked.clear();
    for (const auto& dir : plugin_search_path(plugin_dir)) {
        looked += (looked.empty() ? "" : ", ") + dir.string();
        if (std::filesystem::is_regular_file(dir / file)) return dir / file;
    }
    if (looked.empty()) looked = "nothing";
    return {};
}

void* open_plugin(const std::filesystem::path& path) {
    // OpenMP's idle threads spin for a while before they sleep (libgomp's default is long). Beside
    // the image decoding threads (and anything else the machine runs) spinning threads take the
    // cores the others need, and a small operator's barrier then waits for a preempted thread:
    // forced spinning made the tiny model's worst latencies a hundred times its median on this
    // project's 2-core machine under load, no spinning doubled the median, a short spin did
    // neither (measured in docs/runtime.md). libgomp reads the setting once, when it loads: with
    // LibTorch, or with FFmpeg (libswresample -> libsoxr), whichever plugin comes first; that is
    // why the tool links neither. A setting the user made is kept.
    if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "1000", 0);
    // RTLD_LOCAL: a plugin's libraries stay inside it (FFmpeg's bring a reference BLAS that would
    // take LibTorch's matrix products). Never closed: LibTorch registers operators and threads
    // that do not survive unloading.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw Error("cannot load the plugin: " + dl_error(), path.string());
    return handle;
}

const BackendPlugin& load_backend_plugin(const std::filesystem::path& plugin_dir) {
    static std::mutex mutex;
    static std::map<std::filesystem::path, std::unique_ptr<BackendPlugin>> loaded;
    std::lock_guard lock(mutex);

    std::string looked;
    const std::filesystem::path path = find_plugin(kTorchPluginFile, plugin_dir, looked);
    if (path.empty())
        throw Error(std::string("the LibTorch backend plugin ") + kTorchPluginFile + " was not found (looked in: " +
                    looked + "); build chickenseg with LibTorch (scripts/setup does), or set CHICKENSEG_PLUGIN_DIR");
    if (auto it = loaded.find(path); it != loaded.end()) return *it->second;

    void* handle = open_plugin(path);
    warn_of_a_foreign_blas();
    int abi = symbol<BackendAbiVersionFn>(handle, "chickenseg_backend_abi_version", path)();
    if (abi != kBackendAbiVersion)
        throw Error("backend plugin built for interface version " + std::to_string(abi) + ", this program uses " +
                        std::to_string(kBackendAbiVersion) + ": rebuild chickenseg (scripts/setup)",
                    path.string());
    auto plugin = std::make_unique<BackendPlugin>();
    plugin->path = path;
    plugin->runtime_version = symbol<BackendRuntimeVersionFn>(handle, "chickenseg_backend_runtime_version", path)();
    plugin->create = symbol<BackendCreateFn>(handle, "chickenseg_backend_create", path);
    return *loaded.emplace(path, std::move(plugin)).first->second;
}

}  // namespace chickenseg
