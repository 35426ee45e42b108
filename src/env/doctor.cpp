// Turns the facts of a DoctorProbe into checks. Pure: same probe, same report.
// Only requirements fail (--require-gpu, --min-vram, --min-disk, a driver older than
// 525, a checkpoint that was asked for and is not there); everything else warns.
#include "chickenseg/env/doctor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace {

std::string gb(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / kBytesPerGb);
    return buf;
}

std::string gb_limit(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g GB", value);
    return buf;
}

uint64_t gb_to_bytes(double value) { return static_cast<uint64_t>(std::llround(value * kBytesPerGb)); }

Check make_check(std::string name, CheckStatus status, std::string value, std::string detail = {}) {
    Check c;
    c.name = std::move(name);
    c.status = status;
    c.value = std::move(value);
    c.detail = std::move(detail);
    return c;
}

void add_detail(Check& c, const std::string& more) {
    if (more.empty()) return;
    if (!c.detail.empty()) c.detail += "; ";
    c.detail += more;
}

// The worse of two statuses (fail > warn > ok > skipped).
CheckStatus worse(CheckStatus a, CheckStatus b) {
    auto rank = [](CheckStatus s) {
        switch (s) {
            case CheckStatus::skipped:
                return 0;
            case CheckStatus::ok:
                return 1;
            case CheckStatus::warn:
                return 2;
            case CheckStatus::fail:
                return 3;
        }
        return 0;
    };
    return rank(a) >= rank(b) ? a : b;
}

// "13.0.88" -> "13.0": CUDA compatibility is decided by major.minor; the patch level never matters.
std::string major_minor(const std::string& version) {
    auto first = version.find('.');
    if (first == std::string::npos) return version;
    return version.substr(0, version.find('.', first + 1));
}

std::string last_lines(const std::string& text, size_t n) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) lines.push_back(line);
    std::string out;
    for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
        if (!out.empty()) out += " | ";
        out += lines[i];
    }
    return out;
}

// --- CPU and memory -------------------------------------------------------------

// "200000 100000" -> 2.0 CPUs; "max 100000" or unreadable -> nullopt.
std::optional<double> cgroup_cpu_quota(const std::string& cpu_max) {
    std::istringstream in(cpu_max);
    std::string quota, period;
    if (!(in >> quota >> period) || quota == "max") return std::nullopt;
    try {
        double q = std::stod(quota), p = std::stod(period);
        if (q > 0 && p > 0) return q / p;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

Check check_cpu(const DoctorProbe& probe) {
    unsigned usable = probe.cpu_affinity ? probe.cpu_affinity : probe.cpu_online;
    std::string value = std::to_string(probe.cpu_online) + " online";
    if (probe.cpu_affinity && probe.cpu_affinity != probe.cpu_online)
        value += ", " + std::to_string(probe.cpu_affinity) + " usable by this process";
    auto quota = cgroup_cpu_quota(probe.cgroup_cpu_max);
    if (quota) {
        char buf[64];
        std::snprintf(buf, sizeof buf, ", cgroup quota %.1f CPUs", *quota);
        value += buf;
        usable = std::min<unsigned>(usable, static_cast<unsigned>(std::max(1.0, std::ceil(*quota))));
    }
    Check c = make_check("cpu", probe.cpu_online ? CheckStatus::ok : CheckStatus::warn, value);
    if (!probe.cpu_online) c.detail = "the number of CPUs could not be read";
    c.data = {{"online", probe.cpu_online}, {"affinity", probe.cpu_affinity}, {"usable", usable}};
    c.data["cgroup_quota"] = quota ? json(*quota) : json(nullptr);
    return c;
}

Check check_ram(const DoctorParams& params, const DoctorProbe& probe) {
    if (!probe.meminfo_error.empty()) return make_check("ram", CheckStatus::warn, "unknown", probe.meminfo_error);
    MemInfo mem;
    try {
        mem = parse_meminfo(probe.meminfo_text);
    } catch (const Error& e) {
        return make_check("ram", CheckStatus::warn, "unknown", e.what());
    }
    std::string value = mem.available_bytes ? gb(*mem.available_bytes) + " available of " + gb(mem.total_bytes)
                                            : gb(mem.total_bytes) + " total (available unknown)";
    Check c = make_check("ram", CheckStatus::ok, value);
    if (mem.total_bytes < gb_to_bytes(params.min_ram_gb)) {
        c.status = CheckStatus::warn;
        c.detail = "less than " + gb_limit(params.min_ram_gb) +
                   " (--min-ram): loading SAM 3 (3.4 GB of fp32 weights) and data loaders may run out of memory";
    }
    c.data = {{"total_bytes", mem.total_bytes}};
    c.data["available_bytes"] = mem.available_bytes ? json(*mem.available_bytes) : json(nullptr);
    return c;
}

Check check_disk(const DoctorParams& params, const DiskProbe& d) {
    Check c = make_check("disk:" + d.path, CheckStatus::ok, "");
    c.data = {{"path", d.path}, {"measured_at", d.measured_at}, {"min_bytes", gb_to_bytes(params.min_disk_gb)}};
    if (!d.ok) {
        c.status = CheckStatus::fail;
        c.value = "cannot measure free space";
        c.detail = d.measured_at + ": " + d.error;
        return c;
    }
    c.value = gb(d.available_bytes) + " free of " + gb(d.total_bytes);
    c.data["available_bytes"] = d.available_bytes;
    c.data["total_bytes"] = d.total_bytes;
    c.data["exists"] = d.exists;
    if (!d.exists) c.detail = "does not exist yet; measured on " + d.measured_at;
    if (d.available_bytes < gb_to_bytes(params.min_disk_gb)) {
        c.status = CheckStatus::fail;
        add_detail(c, "needs " + gb_limit(params.min_disk_gb) + " free (--min-disk)");
    }
    return c;
}

// --- GPU, driver, CUDA --------------------------------------------------------------

std::string describe_processes(const GpuDevice& gpu) {
    if (gpu.processes.empty()) return "no processes";
    std::string out = "processes:";
    for (const auto& p : gpu.processes) {
        out += " " + std::to_string(p.pid) + " " + (p.name.empty() ? "(not visible)" : p.name);
        out += " " + (p.used_bytes ? gb(*p.used_bytes) : std::string("(memory not reported)"));
        out += ",";
    }
    out.pop_back();
    return out;
}

json gpu_json(const GpuDevice& gpu) {
    json processes = json::array();
    for (const auto& p : gpu.processes) {
        processes.push_back({{"pid", p.pid},
                             {"name", p.name},
                             {"type", p.type},
                             {"used_bytes", p.used_bytes ? json(*p.used_bytes) : json(nullptr)}});
    }
    json j = {{"index", gpu.index}, {"name", gpu.name}, {"uuid", gpu.uuid}, {"processes", processes}};
    if (gpu.memory_known) {
        j["total_bytes"] = gpu.total_bytes;
        j["free_bytes"] = gpu.free_bytes;
        j["used_bytes"] = gpu.used_bytes;
    } else {
        j["total_bytes"] = j["free_bytes"] = j["used_bytes"] = nullptr;
    }
    j["compute_capability"] = gpu.compute_major
                                  ? json(std::to_string(gpu.compute_major) + "." + std::to_string(gpu.compute_minor))
                                  : json(nullptr);
    if (!gpu.error.empty()) j["error"] = gpu.error;
    return j;
}

Check check_gpu_device(const DoctorParams& params, const GpuDevice& gpu) {
    Check c =
        make_check("gpu:" + std::to_string(gpu.index), CheckStatus::ok, gpu.name.empty() ? "unknown GPU" : gpu.name);
    c.data = gpu_json(gpu);
    if (gpu.memory_known) {
        c.value +=
            ": " + gb(gpu.total_bytes) + " total, " + gb(gpu.free_bytes) + " free, " + gb(gpu.used_bytes) + " used";
    }
    if (gpu.compute_major) {
        add_detail(c,
                   "compute capability " + std::to_string(gpu.compute_major) + "." + std::to_string(gpu.compute_minor));
        if (gpu.compute_major < 8) {
            c.status = CheckStatus::warn;
            add_detail(c, "no bfloat16 tensor cores (needs 8.0+): SAM 3 fine-tuning uses bf16 autocast");
        }
    }
    add_detail(c, describe_processes(gpu));
    if (!gpu.error.empty()) {
        c.status = CheckStatus::warn;
        add_detail(c, gpu.error);
    }
    if (params.min_vram_gb > 0) {
        uint64_t need = gb_to_bytes(params.min_vram_gb);
        if (!gpu.memory_known || gpu.total_bytes < need) {
            c.status = CheckStatus::warn;
            add_detail(c, "below --min-vram " + gb_limit(params.min_vram_gb));
        } else if (gpu.free_bytes < need) {
            c.status = CheckStatus::warn;
            add_detail(c, "only " + gb(gpu.free_bytes) + " free, less than --min-vram " + gb_limit(params.min_vram_gb) +
                              ": other processes hold memory");
        }
    }
    return c;
}

void add_gpu_checks(const DoctorParams& params, const DoctorProbe& probe, std::vector<Check>& out) {
    const NvmlSnapshot& nv = probe.nvml;
    const CheckStatus missing = params.require_gpu ? CheckStatus::fail : CheckStatus::skipped;
    const std::string why_required = params.require_gpu ? "a GPU is required (--require-gpu)" : "";

    Check driver = make_check("nvidia_driver", CheckStatus::ok, nv.driver_version);
    Check cuda = make_check("cuda_driver", CheckStatus::skipped, "unknown");
    Check gpus = make_check("gpu", CheckStatus::ok, "");
    driver.data = {{"library", nv.library}, {"driver_version", nv.driver_version}, {"min_major", kMinDriverMajor}};
    bool usable = false;
    if (!nv.library_loaded) {
        driver.status = missing;
        driver.value = "no NVIDIA driver found (" + nv.library + " not loadable): GPU checks skipped";
        driver.detail = nv.load_error;
        add_detail(driver, why_required);
        cuda.value = "no NVIDIA driver";
        gpus.status = missing;
        gpus.value = "no GPU visible";
        gpus.detail = why_required;
    } else if (!nv.initialized) {
        // The library is there but the kernel driver did not answer: a broken install.
        driver.status = params.require_gpu ? CheckStatus::fail : CheckStatus::warn;
        driver.value = nv.library + " loaded but NVML did not start";
        driver.detail = nv.init_error;
        add_detail(driver, why_required);
        cuda.value = "no NVIDIA driver";
        gpus.status = missing;
        gpus.value = "no GPU visible";
        gpus.detail = why_required;
    } else {
        usable = true;
        auto major = driver_major(nv.driver_version);
        if (!major) {
            driver.status = CheckStatus::warn;
            driver.value = nv.driver_version.empty() ? "unknown version" : nv.driver_version;
            driver.detail = "could not read the driver version";
            add_detail(driver, nv.error);
        } else if (*major < kMinDriverMajor) {
            driver.status = CheckStatus::fail;
            driver.value += " (older than " + std::to_string(kMinDriverMajor) + ")";
            driver.detail = "PyTorch builds for CUDA 12 and later need driver " + std::to_string(kMinDriverMajor) +
                            " or newer: update the NVIDIA driver";
        } else {
            driver.detail = "at least " + std::to_string(kMinDriverMajor);
        }
        if (nv.cuda_driver_version > 0) {
            cuda.status = CheckStatus::ok;
            cuda.value = cuda_version_string(nv.cuda_driver_version);
            cuda.detail = "newest CUDA version this driver supports";
        } else {
            cuda.status = CheckStatus::warn;
            cuda.detail = "nvmlSystemGetCudaDriverVersion gave no answer";
        }
        cuda.data = {{"nvml_value", nv.cuda_driver_version}};
        gpus.value = std::to_string(nv.gpus.size()) + (nv.gpus.size() == 1 ? " GPU" : " GPUs");
        if (nv.gpus.empty()) {
            gpus.status = params.require_gpu ? CheckStatus::fail : CheckStatus::warn;
            gpus.detail = "the driver answers but sees no GPU";
            add_detail(gpus, why_required);
        }
        if (!nv.error.empty()) {
            gpus.status = worse(gpus.status, CheckStatus::warn);
            add_detail(gpus, nv.error);
        }
    }
    gpus.data = {{"count", nv.gpus.size()}};
    out.push_back(std::move(driver));
    out.push_back(std::move(cuda));
    out.push_back(std::move(gpus));
    if (usable)
        for (const auto& gpu : nv.gpus) out.push_back(check_gpu_device(params, gpu));

    Check vram = make_check("vram", CheckStatus::skipped, "no --min-vram given");
    if (params.min_vram_gb > 0) {
        uint64_t need = gb_to_bytes(params.min_vram_gb);
        std::vector<unsigned> enough;
        const GpuDevice* largest = nullptr;
        for (const auto& gpu : nv.gpus) {
            if (!gpu.memory_known) continue;
            if (gpu.total_bytes >= need) enough.push_back(gpu.index);
            if (!largest || gpu.total_bytes > largest->total_bytes) largest = &gpu;
        }
        vram.data = {{"min_bytes", need}, {"gpus_meeting", enough}};
        if (!enough.empty()) {
            vram.status = CheckStatus::ok;
            vram.value = std::to_string(enough.size()) + " of " + std::to_string(nv.gpus.size()) +
                         " GPUs have at least " + gb_limit(params.min_vram_gb);
        } else {
            vram.status = CheckStatus::fail;
            vram.value = "no GPU has at least " + gb_limit(params.min_vram_gb) + " (--min-vram)";
            if (largest)
                vram.detail = "largest: GPU " + std::to_string(largest->index) + " with " + gb(largest->total_bytes);
            else if (!usable)
                vram.detail = "no NVIDIA driver";
        }
    }
    out.push_back(std::move(vram));
}

Check check_cuda_toolkit(const DoctorProbe& probe) {
    Check c = make_check("cuda_toolkit", CheckStatus::ok, "");
    std::string version, source;
    if (probe.nvcc.started && probe.nvcc.exit_code == 0) {
        version = parse_nvcc_version(probe.nvcc.output);
        source = "nvcc --version";
        if (version.empty()) {
            c.status = CheckStatus::warn;
            c.value = "unknown";
            c.detail = "nvcc --version printed no release: " + last_lines(probe.nvcc.output, 2);
            return c;
        }
    } else if (probe.cuda_version_json) {
        source = kCudaVersionJson;
        try {
            version = parse_cuda_version_json(*probe.cuda_version_json, kCudaVersionJson);
        } catch (const Error& e) {
            c.status = CheckStatus::warn;
            c.value = "unknown";
            c.detail = e.what();
            return c;
        }
    } else {
        c.value = "not installed";
        c.detail = std::string("no nvcc on PATH and no ") + kCudaVersionJson +
                   "; only needed to build C++ code against CUDA (PyTorch wheels carry their own CUDA runtime)";
        c.data = {{"version", nullptr}};
        return c;
    }
    c.value = version;
    c.detail = "from " + source;
    c.data = {{"version", version}, {"source", source}};
    if (probe.nvml.cuda_driver_version > 0) {
        std::string driver_cuda = cuda_version_string(probe.nvml.cuda_driver_version);
        if (compare_versions(major_minor(version), driver_cuda) > 0) {
            auto toolkit_major = driver_major(version);
            if (toolkit_major && *toolkit_major > probe.nvml.cuda_driver_version / 1000) {
                c.status = CheckStatus::warn;
                add_detail(c, "newer than the driver supports (CUDA " + driver_cuda +
                                  "): programs it builds will not start; update the driver");
            } else {
                add_detail(c, "newer than the driver's CUDA " + driver_cuda +
                                  ": works through CUDA minor-version compatibility");
            }
        }
    }
    return c;
}

// --- Python, PyTorch, transformers ----------------------------------------------

void add_python_checks(const DoctorParams& params, const DoctorProbe& probe, std::vector<Check>& out) {
    const CommandProbe& py = probe.python;
    Check python = make_check("python", CheckStatus::ok, "");
    python.data = {{"program", py.program}};
    json facts;
    if (!py.started) {
        python.status = CheckStatus::warn;
        python.value = "python not found: " + py.program;
        python.detail = "set CHICKENSEG_PYTHON or run scripts/setup to create the project's .venv";
    } else {
        auto at = py.output.rfind(kPythonProbeMarker);
        if (at != std::string::npos) {
            size_t begin = at + std::string(kPythonProbeMarker).size();
            size_t end = py.output.find('\n', begin);
            try {
                facts = json::parse(py.output.substr(begin, end == std::string::npos ? end : end - begin));
                if (!facts.is_object()) facts = json();
            } catch (const json::exception&) {
                facts = json();
            }
        }
        if (facts.is_null()) {
            python.status = CheckStatus::warn;
            python.value = "the Python probe failed (exit " + std::to_string(py.exit_code) + ")";
            python.detail = py.program + ": " + last_lines(py.output, 3);
        } else {
            python.value = facts.value("python", std::string("?")) + " (" + py.program + ")";
            python.data["version"] = facts.value("python", std::string());
        }
    }
    out.push_back(python);

    Check torch = make_check("pytorch", CheckStatus::skipped, "python not available");
    Check torch_cuda = make_check("pytorch_cuda", CheckStatus::skipped, "PyTorch not available");
    Check transformers = make_check("transformers", CheckStatus::skipped, "python not available");
    if (!facts.is_null()) {
        if (facts.contains("torch") && facts["torch"].is_string()) {
            std::string version = facts["torch"].get<std::string>();
            std::string built_for = facts.contains("torch_cuda") && facts["torch_cuda"].is_string()
                                        ? facts["torch_cuda"].get<std::string>()
                                        : "";
            torch.status = CheckStatus::ok;
            torch.value = version + (built_for.empty() ? " (CPU-only build)" : " (built for CUDA " + built_for + ")");
            torch.data = {{"version", version}, {"cuda", built_for.empty() ? json(nullptr) : json(built_for)}};

            bool available = facts.value("cuda_available", false);
            std::vector<std::string> devices;
            if (facts.contains("devices") && facts["devices"].is_array())
                for (const auto& d : facts["devices"])
                    if (d.is_string()) devices.push_back(d.get<std::string>());
            torch_cuda.data = {{"available", available}, {"devices", devices}};
            if (available) {
                torch_cuda.status = CheckStatus::ok;
                torch_cuda.value = std::to_string(devices.size()) + " device(s)";
                for (size_t i = 0; i < devices.size(); ++i) torch_cuda.value += (i ? ", " : ": ") + devices[i];
            } else {
                torch_cuda.value = "not available";
                bool gpu_present = probe.nvml.initialized && !probe.nvml.gpus.empty();
                if (params.require_gpu)
                    torch_cuda.status = CheckStatus::fail;
                else
                    torch_cuda.status = gpu_present ? CheckStatus::warn : CheckStatus::skipped;
                if (built_for.empty())
                    torch_cuda.detail = "this PyTorch is a CPU-only build";
                else if (!gpu_present)
                    torch_cuda.detail = "no usable NVIDIA GPU here";
                if (facts.contains("cuda_warnings") && facts["cuda_warnings"].is_array())
                    for (const auto& w : facts["cuda_warnings"])
                        if (w.is_string()) add_detail(torch_cuda, w.get<std::string>());
                if (!built_for.empty() && probe.nvml.cuda_driver_version > 0 &&
                    compare_versions(major_minor(built_for), cuda_version_string(probe.nvml.cuda_driver_version)) > 0)
                    add_detail(torch_cuda, "PyTorch is built for CUDA " + built_for +
                                               " but the driver supports up to " +
                                               cuda_version_string(probe.nvml.cuda_driver_version) +
                                               ": update the driver or install a matching torch build");
                if (gpu_present && built_for.empty())
                    add_detail(torch_cuda, "a GPU is here: install a CUDA build of torch");
                if (params.require_gpu) add_detail(torch_cuda, "a GPU is required (--require-gpu)");
            }
        } else {
            std::string error = facts.value("torch_error", std::string("unknown error"));
            torch.status = CheckStatus::warn;
            torch.value = error.rfind("ModuleNotFoundError", 0) == 0 ? "torch not installed" : "torch import failed";
            torch.detail = error + " (in " + py.program + ")";
        }

        if (facts.contains("transformers") && facts["transformers"].is_string()) {
            std::string version = facts["transformers"].get<std::string>();
            transformers.value = version;
            transformers.data = {{"version", version}};
            if (compare_versions(version, "5.0") < 0) {
                transformers.status = CheckStatus::warn;
                transformers.detail = "SAM 3 (Sam3Model) needs transformers 5.0 or newer";
            } else {
                transformers.status = CheckStatus::ok;
            }
        } else {
            std::string error = facts.value("transformers_error", std::string("unknown error"));
            transformers.status = CheckStatus::warn;
            transformers.value = error.rfind("ModuleNotFoundError", 0) == 0 ? "transformers not installed"
                                                                            : "transformers import failed";
            transformers.detail = error + " (in " + py.program + ")";
        }
    }
    out.push_back(std::move(torch));
    out.push_back(std::move(torch_cuda));
    out.push_back(std::move(transformers));
}

// --- Checkpoint -----------------------------------------------------------------

Check check_checkpoint_files(const DoctorProbe& probe) {
    if (!probe.checkpoint)
        return make_check("checkpoint", CheckStatus::skipped, "no checkpoint given",
                          std::string("pass --checkpoint PATH or set ") + kCheckpointEnv);
    const CheckpointProbe& cp = *probe.checkpoint;
    Check c = make_check("checkpoint", CheckStatus::fail, "");
    c.data = {{"path", cp.path}, {"loaded", false}};
    if (!cp.exists) {
        c.value = "not found: " + cp.path;
        c.detail = "expected a folder with config.json + model.safetensors, or a sam3.pt file";
        return c;
    }
    auto file = [&](const std::string& name) -> const CheckpointFileProbe* {
        for (const auto& f : cp.files)
            if (f.name == name && f.exists) return &f;
        return nullptr;
    };
    // A usable weights file: present, not empty, not a Git LFS pointer.
    auto weights_problem = [&](const CheckpointFileProbe& f) -> std::string {
        if (f.lfs_pointer) return f.name + " is a Git LFS pointer, not the weights: run 'git lfs pull' in " + cp.path;
        if (f.size_bytes == 0) return f.name + " is empty";
        return {};
    };
    if (!cp.is_directory) {
        const CheckpointFileProbe& f = cp.files.front();
        if (std::filesystem::path(cp.path).extension() != ".pt") {
            c.value = "not a checkpoint: " + cp.path;
            c.detail = "expected a folder with config.json + model.safetensors, or a sam3.pt file";
            return c;
        }
        if (auto problem = weights_problem(f); !problem.empty()) {
            c.value = "unusable: " + cp.path;
            c.detail = problem;
            return c;
        }
        c.status = CheckStatus::ok;
        c.value = "present (not loaded)";
        c.detail = "original format: " + f.name + " (" + gb(f.size_bytes) + ")";
        c.data["format"] = "sam3.pt";
        c.data["bytes"] = f.size_bytes;
        return c;
    }
    const auto* config = file("config.json");
    const auto* safetensors = file("model.safetensors");
    const auto* pt = file("sam3.pt");
    std::vector<std::string> problems;
    if (config && safetensors) {
        if (config->lfs_pointer)
            problems.push_back("config.json is a Git LFS pointer: run 'git lfs pull' in " + cp.path);
        if (auto p = weights_problem(*safetensors); !p.empty()) problems.push_back(p);
        if (!cp.config_error.empty()) problems.push_back(cp.config_error);
        if (problems.empty()) {
            c.status = CheckStatus::ok;
            c.value = "present (not loaded)";
            c.detail = "Hugging Face format: config.json + model.safetensors (" + gb(safetensors->size_bytes) + ")";
            c.data["format"] = "huggingface";
            c.data["bytes"] = safetensors->size_bytes;
            c.data["model_type"] = cp.config_model_type;
            if (cp.config_model_type != "sam3") {
                c.status = CheckStatus::warn;
                add_detail(c, "config.json model_type is '" + cp.config_model_type + "', expected 'sam3'");
            }
            return c;
        }
    }
    if (pt) {
        if (auto p = weights_problem(*pt); p.empty()) {
            c.status = problems.empty() ? CheckStatus::ok : CheckStatus::warn;
            c.value = "present (not loaded)";
            c.detail = "original format: sam3.pt (" + gb(pt->size_bytes) + ")";
            for (const auto& p2 : problems) add_detail(c, p2);
            c.data["format"] = "sam3.pt";
            c.data["bytes"] = pt->size_bytes;
            return c;
        } else {
            problems.push_back(p);
        }
    }
    if (!config && !pt) problems.push_back("config.json missing");
    if (!safetensors && !pt) problems.push_back("model.safetensors missing");
    c.value = "incomplete: " + cp.path;
    for (const auto& p : problems) add_detail(c, p);
    add_detail(c, "expected config.json + model.safetensors, or sam3.pt");
    return c;
}

// Files first; with --load, the model package then loads the checkpoint (on the CPU).
Check check_checkpoint(const DoctorProbe& probe) {
    Check c = check_checkpoint_files(probe);
    if (!probe.checkpoint_load || c.status == CheckStatus::fail) return c;
    const CommandProbe& load = *probe.checkpoint_load;
    // The model package prints its JSON last; progress and warnings come before it.
    size_t brace = load.output.rfind("\n{");
    std::string text = brace == std::string::npos ? load.output : load.output.substr(brace + 1);
    json info;
    try {
        info = json::parse(text);
    } catch (const json::parse_error&) {
    }
    if (load.exit_code != 0 || !info.is_object()) {
        c.status = CheckStatus::fail;
        c.value = "present, does not load";
        std::string out = load.output;
        if (size_t e = out.rfind("error: "); e != std::string::npos) out = out.substr(e + 7);
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
        c.detail = load.started ? out.substr(0, 400) : "cannot start " + load.program;
        c.data["loaded"] = false;
        return c;
    }
    c.value = "loaded";
    c.data["loaded"] = true;
    c.data["parameters"] = info.value("parameters", 0);
    c.data["image_size"] = info.value("image_size", 0);
    add_detail(c, "loaded on the CPU: " + std::to_string(info.value("parameters", 0)) + " parameters, input " +
                      std::to_string(info.value("image_size", 0)) + " px");
    return c;
}

}  // namespace

const char* check_status_name(CheckStatus status) {
    switch (status) {
        case CheckStatus::ok:
            return "ok";
        case CheckStatus::warn:
            return "warn";
        case CheckStatus::fail:
            return "fail";
        case CheckStatus::skipped:
            return "skipped";
    }
    return "?";
}

size_t DoctorReport::count(CheckStatus status) const {
    return static_cast<size_t>(
        std::count_if(checks.begin(), checks.end(), [&](const Check& c) { return c.status == status; }));
}

const Check* DoctorReport::find(const std::string& name) const {
    for (const auto& c : checks)
        if (c.name == name) return &c;
    return nullptr;
}

DoctorReport run_doctor(const DoctorParams& params, const DoctorProbe& probe) {
    DoctorReport report;
    auto& out = report.checks;
    out.push_back(check_cpu(probe));
    out.push_back(check_ram(params, probe));
    for (const auto& d : probe.disks) out.push_back(check_disk(params, d));
    add_gpu_checks(params, probe, out);
    out.push_back(check_cuda_toolkit(probe));
    add_python_checks(params, probe, out);
    out.push_back(check_checkpoint(probe));
    out.push_back(check_wandb(params, probe.wandb));
    return report;
}

json doctor_report_json(const DoctorReport& report) {
    json checks = json::array();
    for (const auto& c : report.checks) {
        checks.push_back({{"name", c.name},
                          {"status", check_status_name(c.status)},
                          {"value", c.value},
                          {"detail", c.detail},
                          {"data", c.data}});
    }
    return {{"schema", kDoctorSchema},
            {"ok", !report.failed()},
            {"summary",
             {{"ok", report.count(CheckStatus::ok)},
              {"warn", report.count(CheckStatus::warn)},
              {"fail", report.count(CheckStatus::fail)},
              {"skipped", report.count(CheckStatus::skipped)}}},
            {"checks", checks}};
}

int doctor_exit_code(const DoctorReport& report) { return report.failed() ? 1 : 0; }

}  // namespace chickenseg
