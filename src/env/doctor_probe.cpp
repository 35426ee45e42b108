// Gathers the raw facts `chickenseg doctor` judges: nothing here decides ok/warn/fail
// (doctor.cpp does), so that every decision can be tested with made-up facts.
#include <sched.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/python_env.h"
#include "chickenseg/env/doctor.h"

namespace chickenseg {

namespace {

// Reads a small text file; nullopt when it cannot be opened.
std::optional<std::string> read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

CommandProbe run_probe(const std::vector<std::string>& argv) {
    CommandProbe probe;
    probe.program = argv.front();
    CommandResult r = run_command(argv);
    probe.started = r.exit_code != -1;
    probe.exit_code = r.exit_code;
    probe.output = std::move(r.output);
    return probe;
}

bool is_lfs_pointer(const std::filesystem::path& path, uint64_t size) {
    // Pointer files are ~130 bytes of text; real weights are gigabytes.
    if (size > 1024) return false;
    auto text = read_text(path);
    return text && text->rfind("version https://git-lfs.github.com/spec/", 0) == 0;
}

CheckpointFileProbe probe_checkpoint_file(const std::filesystem::path& path) {
    CheckpointFileProbe f;
    f.name = path.filename().string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return f;
    f.exists = true;
    f.size_bytes = std::filesystem::file_size(path, ec);
    if (ec) f.size_bytes = 0;
    f.lfs_pointer = is_lfs_pointer(path, f.size_bytes);
    return f;
}

}  // namespace

const std::string& python_probe_script() {
    // Warnings raised while asking for CUDA (e.g. "driver too old") say why it is
    // unavailable, so they are caught and reported instead of lost on stderr.
    static const std::string script = R"PY(
import json, sys, warnings
r = {"python": sys.version.split()[0], "executable": sys.executable}
try:
    import torch
    r["torch"] = torch.__version__
    r["torch_cuda"] = torch.version.cuda
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r["cuda_available"] = bool(torch.cuda.is_available())
    r["cuda_warnings"] = [str(w.message).strip() for w in caught]
    r["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if r["cuda_available"] else []
except Exception as e:
    r["torch_error"] = type(e).__name__ + ": " + str(e)
try:
    import transformers
    r["transformers"] = transformers.__version__
except Exception as e:
    r["transformers_error"] = type(e).__name__ + ": " + str(e)
print(")PY" + std::string(kPythonProbeMarker) +
                                      R"PY(" + json.dumps(r), flush=True)
)PY";
    return script;
}

DiskProbe probe_disk(const std::filesystem::path& path) {
    DiskProbe d;
    d.path = path.string();
    std::error_code ec;
    // A data folder that does not exist yet will be created on the nearest
    // existing ancestor's file system, so that is where space is measured.
    std::filesystem::path at = std::filesystem::absolute(path, ec).lexically_normal();
    if (ec) at = path;
    if (!at.has_filename() && at.has_parent_path()) at = at.parent_path();  // "/data/" -> "/data"
    while (!std::filesystem::exists(at, ec) && at.has_parent_path() && at.parent_path() != at) at = at.parent_path();
    d.exists = std::filesystem::exists(path, ec);
    d.measured_at = at.string();
    struct statvfs st {};
    if (::statvfs(at.c_str(), &st) != 0) {
        d.error = std::strerror(errno);
        return d;
    }
    d.ok = true;
    d.available_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    d.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    return d;
}

CheckpointProbe probe_checkpoint(const std::filesystem::path& path) {
    CheckpointProbe c;
    c.path = path.string();
    std::error_code ec;
    c.exists = std::filesystem::exists(path, ec);
    if (!c.exists) return c;
    c.is_directory = std::filesystem::is_directory(path, ec);
    if (!c.is_directory) {
        c.files.push_back(probe_checkpoint_file(path));
        return c;
    }
    for (const char* name : {"config.json", "model.safetensors", "sam3.pt"})
        c.files.push_back(probe_checkpoint_file(path / name));
    if (c.files[0].exists && !c.files[0].lfs_pointer) {
        try {
            json config = read_json_file(path / "config.json");
            if (config.is_object() && config.contains("model_type") && config["model_type"].is_string())
                c.config_model_type = config["model_type"].get<std::string>();
            else if (!config.is_object())
                c.config_error = (path / "config.json").string() + ": expected a JSON object";
        } catch (const Error& e) {
            c.config_error = e.what();
        }
    }
    return c;
}

DoctorProbe probe_system(const DoctorParams& params) {
    DoctorProbe p;
    p.nvml = read_nvml();

    if (auto text = read_text("/proc/meminfo"))
        p.meminfo_text = std::move(*text);
    else
        p.meminfo_error = "/proc/meminfo: cannot be read";

    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    p.cpu_online = online > 0 ? static_cast<unsigned>(online) : 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) p.cpu_affinity = static_cast<unsigned>(CPU_COUNT(&set));
    if (auto text = read_text("/sys/fs/cgroup/cpu.max")) p.cgroup_cpu_max = *text;

    std::vector<std::filesystem::path> paths = params.paths;
    if (paths.empty()) paths.emplace_back(".");
    for (const auto& path : paths) p.disks.push_back(probe_disk(path));

    p.python = run_probe({project_python(), "-c", python_probe_script()});
    p.nvcc = run_probe({"nvcc", "--version"});
    p.cuda_version_json = read_text(kCudaVersionJson);

    p.wandb = probe_wandb();
    if (!params.checkpoint.empty()) p.checkpoint = probe_checkpoint(params.checkpoint);
    if (params.load_checkpoint && p.checkpoint && p.checkpoint->exists) {
        // Loading is the model package's job: ask it, on the CPU, so no GPU is needed.
        CommandResult r = run_command(model_package_argv({"info", "--model", params.checkpoint, "--device", "cpu"}),
                                      Capture::all, model_package_env());
        p.checkpoint_load = CommandProbe{project_python(), r.exit_code >= 0, r.exit_code, r.output};
    }
    return p;
}

}  // namespace chickenseg
