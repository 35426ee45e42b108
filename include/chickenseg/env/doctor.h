// `chickenseg doctor`: is this machine ready for SAM 3 work? GPUs and their memory,
// the driver, CUDA, PyTorch in the project's Python, disk, RAM, CPUs, a checkpoint.
//
// Two steps, so every decision can be tested without a GPU:
//   probe_system(params) gathers raw facts (NVML results, /proc/meminfo text, statvfs
//   results, the Python probe's output, ...) into a DoctorProbe;
//   run_doctor(params, probe) turns facts into checks. Tests build a DoctorProbe by hand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/env/nvml.h"

namespace chickenseg {

inline constexpr const char* kDoctorSchema = "chickenseg.doctor/1";
inline constexpr int kMinDriverMajor = 525;  // oldest NVIDIA driver branch accepted
inline constexpr const char* kCheckpointEnv = "CHICKENSEG_SAM3_CHECKPOINT";
inline constexpr const char* kPythonProbeMarker = "CHICKENSEG_DOCTOR_JSON ";
inline constexpr const char* kCudaVersionJson = "/usr/local/cuda/version.json";
inline constexpr double kBytesPerGb = 1e9;  // GB here are decimal, like disk vendors and "80GB" cards

struct DoctorParams {
    bool require_gpu = false;                  // fail unless NVML sees a GPU (and PyTorch, if installed, can use CUDA)
    double min_vram_gb = 0;                    // 0: none; else at least one GPU needs this much total memory
    double min_disk_gb = 100;                  // free space needed at every path (fail below)
    double min_ram_gb = 16;                    // total RAM below this is a warning
    std::vector<std::filesystem::path> paths;  // data/checkpoint folders; empty: current directory
    std::string checkpoint;                    // SAM 3 checkpoint folder or sam3.pt; empty: check skipped
    bool load_checkpoint = false;              // also load it with the model package (slow: seconds to minutes)
    std::string wandb = "auto";                // the W&B mode training will use (logging.wandb): auto, online,
                                               // offline, disabled; online fails without a login
};

// --- Raw facts -------------------------------------------------------------

struct DiskProbe {
    std::string path;         // as the user gave it
    std::string measured_at;  // nearest existing folder (path itself when it exists)
    bool exists = true;       // false: the path does not exist yet (measured_at is an ancestor)
    bool ok = false;          // statvfs succeeded
    std::string error;
    uint64_t available_bytes = 0;  // for unprivileged users (f_bavail)
    uint64_t total_bytes = 0;
};

struct CommandProbe {
    std::string program;   // what was run (python path, "nvcc")
    bool started = false;  // false: not found / not executable
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

struct CheckpointFileProbe {
    std::string name;  // "config.json", "model.safetensors", "sam3.pt"
    bool exists = false;
    uint64_t size_bytes = 0;
    bool lfs_pointer = false;  // a Git LFS pointer text instead of the real file
};

struct CheckpointProbe {
    std::string path;
    bool exists = false;
    bool is_directory = false;
    std::vector<CheckpointFileProbe> files;  // for a folder: the three names; for a file: itself
    std::string config_model_type;           // config.json "model_type", when readable
    std::string config_error;                // why config.json could not be read
};

// Is this user logged in to Weights & Biases, as training decides it (train/tracking.py):
// WANDB_API_KEY set, or an api.wandb.ai entry in ~/.netrc (what `wandb login` writes). Never
// on line: the key itself is not checked with the server.
struct WandbProbe {
    bool api_key_env = false;  // $WANDB_API_KEY is set and not empty
    std::string netrc_path;    // ~/.netrc
    bool netrc_entry = false;  // it has a `machine api.wandb.ai` entry
    std::string netrc_error;   // why it could not be read (absent: empty)
};

struct DoctorProbe {
    NvmlSnapshot nvml;
    std::string meminfo_text;    // /proc/meminfo
    std::string meminfo_error;   // why it could not be read
    unsigned cpu_online = 0;     // sysconf(_SC_NPROCESSORS_ONLN)
    unsigned cpu_affinity = 0;   // CPUs this process may run on (sched_getaffinity); 0 unknown
    std::string cgroup_cpu_max;  // /sys/fs/cgroup/cpu.max ("max 100000", "200000 100000"); empty if none
    std::vector<DiskProbe> disks;
    CommandProbe python;                           // project_python() -c python_probe_script()
    CommandProbe nvcc;                             // nvcc --version
    std::optional<std::string> cuda_version_json;  // text of /usr/local/cuda/version.json
    std::optional<CheckpointProbe> checkpoint;
    std::optional<CommandProbe> checkpoint_load;  // `chickenseg_model info --model PATH`, when asked
    WandbProbe wandb;
};

DoctorProbe probe_system(const DoctorParams& params);
DiskProbe probe_disk(const std::filesystem::path& path);
CheckpointProbe probe_checkpoint(const std::filesystem::path& path);
WandbProbe probe_wandb();

// The Python run by the probe: prints one line, kPythonProbeMarker + JSON with
// python, torch, torch_cuda, cuda_available, devices, transformers (or *_error).
const std::string& python_probe_script();

// --- Parsers (exposed for tests) ---------------------------------------------

struct MemInfo {
    uint64_t total_bytes = 0;
    std::optional<uint64_t> available_bytes;  // MemAvailable (kernels >= 3.14)
};
// Throws Error naming `name_for_errors`, the line and the key when MemTotal is
// missing or a needed line is not "<key>: <number> kB".
MemInfo parse_meminfo(const std::string& text, const std::string& name_for_errors = "/proc/meminfo");

// "535.104.05" -> 535; empty when the text does not start with a number.
std::optional<int> driver_major(const std::string& driver_version);
// NVML's integer form: 12040 -> "12.4".
std::string cuda_version_string(int nvml_cuda_version);
// "Cuda compilation tools, release 12.4, V12.4.131" -> "12.4.131" (or "12.4"); empty if absent.
std::string parse_nvcc_version(const std::string& nvcc_output);
// {"cuda": {"version": "12.4.1"}} -> "12.4.1"; throws Error naming the file and "cuda.version".
std::string parse_cuda_version_json(const std::string& text, const std::string& name_for_errors);
// Whether a .netrc text has an entry for `host` (`machine HOST`, tokens separated by any
// whitespace, as Python's netrc module reads it).
bool netrc_has_machine(const std::string& netrc_text, const std::string& host);
// Orders dotted versions numerically: "12.10" > "12.4". Missing parts count as 0.
int compare_versions(const std::string& a, const std::string& b);

// --- Checks --------------------------------------------------------------------

enum class CheckStatus { ok, warn, fail, skipped };
const char* check_status_name(CheckStatus status);

struct Check {
    std::string name;  // stable identifier, e.g. "nvidia_driver", "gpu:0", "disk:/data"
    CheckStatus status = CheckStatus::ok;
    std::string value;           // what was found, one line
    std::string detail;          // why the status, what to do; may be empty
    json data = json::object();  // the same facts as numbers (bytes, versions) for scripts
};

struct DoctorReport {
    std::vector<Check> checks;
    size_t count(CheckStatus status) const;
    bool failed() const { return count(CheckStatus::fail) > 0; }
    const Check* find(const std::string& name) const;  // nullptr when absent
};

DoctorReport run_doctor(const DoctorParams& params, const DoctorProbe& probe);
// The "wandb" check on its own (run_doctor includes it).
Check check_wandb(const DoctorParams& params, const WandbProbe& probe);

// {"schema": kDoctorSchema, "ok": bool, "summary": {...}, "checks": [{name, status, value, detail, data}]}
json doctor_report_json(const DoctorReport& report);

// 0 when no check failed, 1 otherwise (warnings never fail).
int doctor_exit_code(const DoctorReport& report);

}  // namespace chickenseg
