// Finding and loading plugins with dlopen: the LibTorch backend (backend.h) and FFmpeg
// (stream/video_plugin.h), once per process.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chickenseg/runtime/backend.h"

namespace chickenseg {

inline constexpr const char* kTorchPluginFile = "libchickenseg-torch.so";

struct BackendPlugin {
    std::filesystem::path path;
    std::string runtime_version;  // "2.14.1": the LibTorch it was built with
    BackendCreateFn create = nullptr;
};

// The folders searched, in order: `plugin_dir` if not empty (only it), else
// $CHICKENSEG_PLUGIN_DIR, the running program's folder, <that folder>/../lib/chickenseg.
std::vector<std::filesystem::path> plugin_search_path(const std::filesystem::path& plugin_dir);

// `file` in the first folder of plugin_search_path(plugin_dir) that has it; empty when none
// does, and `looked` then lists the folders (for the error message).
std::filesystem::path find_plugin(const char* file, const std::filesystem::path& plugin_dir, std::string& looked);

// dlopen, RTLD_LOCAL, after the process-wide settings that the plugins' libraries read when they
// load (OpenMP's spin). Throws Error naming the path and dlopen's reason.
void* open_plugin(const std::filesystem::path& path);

// Loads the plugin on first use and keeps it loaded (LibTorch does not support unloading).
// Throws Error naming where it looked, or why dlopen failed, or an ABI mismatch.
const BackendPlugin& load_backend_plugin(const std::filesystem::path& plugin_dir);

}  // namespace chickenseg
