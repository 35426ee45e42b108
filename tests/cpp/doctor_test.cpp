// `chickenseg doctor` logic without a GPU: made-up probes (2 GPUs, an old driver,
// low VRAM, no driver, Python problems) go through run_doctor; the parsers get real
// texts; the NVML loader is exercised against fake libnvidia-ml libraries compiled
// here, so its dlopen/dlsym fallbacks and struct layouts are tested on any machine.
#include "test_support.h"
#include "chickenseg/env/doctor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/python_env.h"
#include "chickenseg/env/nvml.h"

namespace fs = std::filesystem;
using namespace chickenseg;

using chickenseg::test::TempDir;

namespace {

std::string python_output(const json& facts) {
    // Real runs print import warnings before the probe line; the parser must skip them.
    return "UserWarning: something noisy\n" + std::string(kPythonProbeMarker) + facts.dump() + "\n";
}

json cuda_torch_facts() {
    return {{"python", "3.11.7"},
            {"executable", "/venv/bin/python"},
            {"torch", "2.5.1+cu124"},
            {"torch_cuda", "12.4"},
            {"cuda_available", true},
            {"cuda_warnings", json::array()},
            {"devices", {"NVIDIA H100 80GB HBM3", "NVIDIA GeForce RTX 3090"}},
            {"transformers", "5.17.0"}};
}

DoctorProbe base_probe() {
    DoctorProbe p;
    p.meminfo_text = "MemTotal:       65000000 kB\nMemFree:         1000000 kB\nMemAvailable:   60000000 kB\n";
    p.cpu_online = 16;
    p.cpu_affinity = 16;
    DiskProbe d;
    d.path = "/data";
    d.measured_at = "/data";
    d.ok = true;
    d.available_bytes = 500'000'000'000;
    d.total_bytes = 1'000'000'000'000;
    p.disks.push_back(d);
    p.python.program = "/venv/bin/python";
    p.python.started = true;
    p.python.exit_code = 0;
    json facts = cuda_torch_facts();
    facts["torch"] = "2.5.1+cpu";
    facts["torch_cuda"] = nullptr;
    facts["cuda_available"] = false;
    facts["devices"] = json::array();
    p.python.output = python_output(facts);
    p.nvcc.program = "nvcc";
    p.nvml.library_loaded = false;
    p.nvml.load_error = "libnvidia-ml.so.1: cannot open shared object file: No such file or directory";
    return p;
}

NvmlSnapshot two_gpus() {
    NvmlSnapshot s;
    s.library_loaded = true;
    s.initialized = true;
    s.driver_version = "550.54.15";
    s.cuda_driver_version = 12040;
    GpuDevice a;
    a.index = 0;
    a.name = "NVIDIA H100 80GB HBM3";
    a.memory_known = true;
    a.total_bytes = 85'520'809'984;  // 81559 MiB: what an "80GB" H100 reports
    a.free_bytes = 80'000'000'000;
    a.used_bytes = 5'520'809'984;
    a.compute_major = 9;
    a.processes.push_back({1234, "python", 5'000'000'000ULL, "compute"});
    a.processes.push_back({777, "", std::nullopt, "compute"});
    GpuDevice b;
    b.index = 1;
    b.name = "NVIDIA GeForce RTX 3090";
    b.memory_known = true;
    b.total_bytes = 25'769'803'776;
    b.free_bytes = 25'000'000'000;
    b.used_bytes = 769'803'776;
    b.compute_major = 8;
    b.compute_minor = 6;
    s.gpus = {a, b};
    return s;
}

DoctorProbe gpu_probe() {
    DoctorProbe p = base_probe();
    p.nvml = two_gpus();
    p.python.output = python_output(cuda_torch_facts());
    return p;
}

const Check& get(const DoctorReport& r, const std::string& name) {
    const Check* c = r.find(name);
    if (!c) throw std::runtime_error("no check named " + name);
    return *c;
}

}  // namespace

// --- Parsers -----------------------------------------------------------------------

TEST(DoctorParse, MeminfoReadsTotalAndAvailable) {
    MemInfo m = parse_meminfo("MemTotal:       24683656 kB\nMemFree:  1 kB\nMemAvailable:   24182840 kB\n");
    EXPECT_EQ(m.total_bytes, 24683656ULL * 1024);
    ASSERT_TRUE(m.available_bytes);
    EXPECT_EQ(*m.available_bytes, 24182840ULL * 1024);
    MemInfo old_kernel = parse_meminfo("MemTotal: 1024 kB\nMemFree: 512 kB\n");
    EXPECT_EQ(old_kernel.total_bytes, 1024ULL * 1024);
    EXPECT_FALSE(old_kernel.available_bytes);
}

TEST(DoctorParse, MeminfoErrorsNameFileLineAndKey) {
    try {
        parse_meminfo("MemFree: 1 kB\nMemTotal: lots\n", "fake_meminfo");
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "fake_meminfo");
        EXPECT_EQ(e.place().line, 2);
        EXPECT_EQ(e.place().field, "MemTotal");
        EXPECT_NE(std::string(e.what()).find("expected '<number> kB'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_meminfo("MemTotal: 12 MB\n"), Error);
    try {
        parse_meminfo("MemFree: 1 kB\n", "fake_meminfo");
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "fake_meminfo: MemTotal: no MemTotal line");
    }
}

TEST(DoctorParse, Versions) {
    EXPECT_EQ(driver_major("535.104.05"), 535);
    EXPECT_EQ(driver_major("470.82.01"), 470);
    EXPECT_FALSE(driver_major("unknown"));
    EXPECT_FALSE(driver_major(""));
    EXPECT_EQ(cuda_version_string(12040), "12.4");
    EXPECT_EQ(cuda_version_string(11020), "11.2");
    EXPECT_EQ(cuda_version_string(13000), "13.0");
    EXPECT_EQ(cuda_version_string(0), "");
    EXPECT_LT(compare_versions("12.4", "12.10"), 0);
    EXPECT_GT(compare_versions("13.0", "12.9"), 0);
    EXPECT_EQ(compare_versions("12.4", "12.4.0"), 0);
    EXPECT_LT(compare_versions("4.57.1", "5.0"), 0);
    EXPECT_EQ(compare_versions("5.0.0rc1", "5.0"), 0);
    EXPECT_GT(compare_versions("2.5.1+cu124", "2.5"), 0);
}

TEST(DoctorParse, NvccOutput) {
    const std::string out =
        "nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2025 NVIDIA Corporation\n"
        "Built on Wed_Aug_20_01:58:59_PM_PDT_2025\nCuda compilation tools, release 13.0, V13.0.88\n"
        "Build cuda_13.0.r13.0/compiler.36424714_0\n";
    EXPECT_EQ(parse_nvcc_version(out), "13.0.88");
    EXPECT_EQ(parse_nvcc_version("Cuda compilation tools, release 11.8\n"), "11.8");
    EXPECT_EQ(parse_nvcc_version("command not found"), "");
}

TEST(DoctorParse, CudaVersionJson) {
    EXPECT_EQ(parse_cuda_version_json(R"({"cuda": {"name": "CUDA SDK", "version": "12.4.1"}})", "v.json"), "12.4.1");
    try {
        parse_cuda_version_json(R"({"cuda": {"name": "CUDA SDK"}})", "v.json");
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "v.json");
        EXPECT_EQ(e.place().field, "cuda.version");
    }
    try {
        parse_cuda_version_json("{\n\"cuda\": \n}", "v.json");
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "v.json");
        EXPECT_EQ(e.place().line, 3);
    }
}

// --- GPU checks ------------------------------------------------------------------------

TEST(Doctor, NoDriverSkipsGpuChecksAndPasses) {
    DoctorParams params;
    DoctorReport r = run_doctor(params, base_probe());
    const Check& driver = get(r, "nvidia_driver");
    EXPECT_EQ(driver.status, CheckStatus::skipped);
    EXPECT_EQ(driver.value, "no NVIDIA driver found (libnvidia-ml.so.1 not loadable): GPU checks skipped");
    EXPECT_NE(driver.detail.find("cannot open shared object file"), std::string::npos);
    EXPECT_EQ(get(r, "gpu").status, CheckStatus::skipped);
    EXPECT_EQ(get(r, "cuda_driver").status, CheckStatus::skipped);
    EXPECT_EQ(get(r, "vram").status, CheckStatus::skipped);
    EXPECT_EQ(get(r, "pytorch_cuda").status, CheckStatus::skipped);
    EXPECT_EQ(r.find("gpu:0"), nullptr);
    EXPECT_EQ(doctor_exit_code(r), 0);
}

TEST(Doctor, RequireGpuFailsWithoutDriver) {
    DoctorParams params;
    params.require_gpu = true;
    DoctorReport r = run_doctor(params, base_probe());
    EXPECT_EQ(get(r, "nvidia_driver").status, CheckStatus::fail);
    EXPECT_EQ(get(r, "gpu").status, CheckStatus::fail);
    EXPECT_NE(get(r, "gpu").detail.find("--require-gpu"), std::string::npos);
    // CPU-only torch cannot use a GPU either: required, so it fails too.
    EXPECT_EQ(get(r, "pytorch_cuda").status, CheckStatus::fail);
    EXPECT_EQ(doctor_exit_code(r), 1);
}

TEST(Doctor, DriverPresentButNvmlInitFails) {
    DoctorProbe p = base_probe();
    p.nvml.library_loaded = true;
    p.nvml.init_error = "nvmlInit: Driver Not Loaded";
    DoctorParams params;
    DoctorReport r = run_doctor(params, p);
    EXPECT_EQ(get(r, "nvidia_driver").status, CheckStatus::warn);
    EXPECT_EQ(get(r, "nvidia_driver").detail, "nvmlInit: Driver Not Loaded");
    EXPECT_EQ(doctor_exit_code(r), 0);
    params.require_gpu = true;
    EXPECT_EQ(doctor_exit_code(run_doctor(params, p)), 1);
}

TEST(Doctor, TwoGpusReportModelMemoryAndProcesses) {
    DoctorParams params;
    params.require_gpu = true;
    DoctorReport r = run_doctor(params, gpu_probe());
    EXPECT_EQ(get(r, "nvidia_driver").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "nvidia_driver").value, "550.54.15");
    EXPECT_EQ(get(r, "cuda_driver").value, "12.4");
    EXPECT_EQ(get(r, "gpu").value, "2 GPUs");
    const Check& g0 = get(r, "gpu:0");
    EXPECT_EQ(g0.status, CheckStatus::ok);
    EXPECT_EQ(g0.value, "NVIDIA H100 80GB HBM3: 85.5 GB total, 80.0 GB free, 5.5 GB used");
    EXPECT_EQ(g0.detail,
              "compute capability 9.0; processes: 1234 python 5.0 GB, 777 (not visible) (memory not reported)");
    EXPECT_EQ(g0.data["total_bytes"], 85'520'809'984ULL);
    EXPECT_EQ(g0.data["processes"][1]["used_bytes"], nullptr);
    EXPECT_EQ(get(r, "gpu:1").value, "NVIDIA GeForce RTX 3090: 25.8 GB total, 25.0 GB free, 0.8 GB used");
    EXPECT_EQ(get(r, "gpu:1").detail, "compute capability 8.6; no processes");
    const Check& torch_cuda = get(r, "pytorch_cuda");
    EXPECT_EQ(torch_cuda.status, CheckStatus::ok);
    EXPECT_EQ(torch_cuda.value, "2 device(s): NVIDIA H100 80GB HBM3, NVIDIA GeForce RTX 3090");
    EXPECT_EQ(get(r, "pytorch").value, "2.5.1+cu124 (built for CUDA 12.4)");
    EXPECT_EQ(doctor_exit_code(r), 0);
}

TEST(Doctor, OldDriverFails) {
    DoctorProbe p = gpu_probe();
    p.nvml.driver_version = "470.82.01";
    p.nvml.cuda_driver_version = 11040;
    DoctorReport r = run_doctor(DoctorParams{}, p);
    const Check& driver = get(r, "nvidia_driver");
    EXPECT_EQ(driver.status, CheckStatus::fail);
    EXPECT_EQ(driver.value, "470.82.01 (older than 525)");
    EXPECT_NE(driver.detail.find("update the NVIDIA driver"), std::string::npos);
    EXPECT_EQ(get(r, "cuda_driver").value, "11.4");
    EXPECT_EQ(doctor_exit_code(r), 1);
    // The boundary: 525 itself is new enough.
    p.nvml.driver_version = "525.60.13";
    EXPECT_EQ(get(run_doctor(DoctorParams{}, p), "nvidia_driver").status, CheckStatus::ok);
}

TEST(Doctor, MinVramNeedsOneGpuLargeEnough) {
    DoctorParams params;
    params.min_vram_gb = 40;
    DoctorReport r = run_doctor(params, gpu_probe());
    EXPECT_EQ(get(r, "vram").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "vram").value, "1 of 2 GPUs have at least 40 GB");
    EXPECT_EQ(get(r, "gpu:0").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "gpu:1").status, CheckStatus::warn);
    EXPECT_NE(get(r, "gpu:1").detail.find("below --min-vram 40 GB"), std::string::npos);
    EXPECT_EQ(doctor_exit_code(r), 0);  // the small GPU is a warning, not a failure

    // "80GB" cards hold 85.5e9 bytes: GB are decimal so --min-vram 80 accepts them.
    params.min_vram_gb = 80;
    EXPECT_EQ(get(run_doctor(params, gpu_probe()), "vram").status, CheckStatus::ok);

    params.min_vram_gb = 100;
    r = run_doctor(params, gpu_probe());
    EXPECT_EQ(get(r, "vram").status, CheckStatus::fail);
    EXPECT_EQ(get(r, "vram").value, "no GPU has at least 100 GB (--min-vram)");
    EXPECT_EQ(get(r, "vram").detail, "largest: GPU 0 with 85.5 GB");
    EXPECT_EQ(doctor_exit_code(r), 1);
}

TEST(Doctor, MinVramWarnsWhenOtherProcessesHoldTheMemory) {
    DoctorProbe p = gpu_probe();
    p.nvml.gpus[0].free_bytes = 10'000'000'000;
    DoctorParams params;
    params.min_vram_gb = 40;
    DoctorReport r = run_doctor(params, p);
    EXPECT_EQ(get(r, "vram").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "gpu:0").status, CheckStatus::warn);
    EXPECT_NE(get(r, "gpu:0").detail.find("only 10.0 GB free"), std::string::npos);
}

TEST(Doctor, MinVramWithoutGpuFails) {
    DoctorParams params;
    params.min_vram_gb = 8;
    DoctorReport r = run_doctor(params, base_probe());
    EXPECT_EQ(get(r, "vram").status, CheckStatus::fail);
    EXPECT_EQ(get(r, "vram").detail, "no NVIDIA driver");
    EXPECT_EQ(doctor_exit_code(r), 1);
}

TEST(Doctor, OldGpuAndNvmlErrorsWarn) {
    DoctorProbe p = gpu_probe();
    p.nvml.gpus[1].compute_major = 7;
    p.nvml.gpus[1].compute_minor = 5;
    p.nvml.gpus[1].error = "nvmlDeviceGetComputeRunningProcesses: Insufficient Permissions";
    DoctorReport r = run_doctor(DoctorParams{}, p);
    const Check& g1 = get(r, "gpu:1");
    EXPECT_EQ(g1.status, CheckStatus::warn);
    EXPECT_NE(g1.detail.find("no bfloat16"), std::string::npos);
    EXPECT_NE(g1.detail.find("Insufficient Permissions"), std::string::npos);
    EXPECT_EQ(doctor_exit_code(r), 0);
}

TEST(Doctor, DriverWithoutGpus) {
    DoctorProbe p = gpu_probe();
    p.nvml.gpus.clear();
    DoctorParams params;
    EXPECT_EQ(get(run_doctor(params, p), "gpu").status, CheckStatus::warn);
    params.require_gpu = true;
    EXPECT_EQ(get(run_doctor(params, p), "gpu").status, CheckStatus::fail);
}

// --- Python ------------------------------------------------------------------------------

TEST(Doctor, PythonMissing) {
    DoctorProbe p = base_probe();
    p.python = {"/nowhere/python", false, -1, ""};
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "python").status, CheckStatus::warn);
    EXPECT_EQ(get(r, "python").value, "python not found: /nowhere/python");
    EXPECT_NE(get(r, "python").detail.find("CHICKENSEG_PYTHON"), std::string::npos);
    EXPECT_EQ(get(r, "pytorch").status, CheckStatus::skipped);
    EXPECT_EQ(get(r, "transformers").status, CheckStatus::skipped);
    EXPECT_EQ(doctor_exit_code(r), 0);
}

TEST(Doctor, TorchNotInstalled) {
    DoctorProbe p = base_probe();
    p.python.output = python_output({{"python", "3.11.2"},
                                     {"torch_error", "ModuleNotFoundError: No module named 'torch'"},
                                     {"transformers_error", "ModuleNotFoundError: No module named 'transformers'"}});
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "python").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "python").value, "3.11.2 (/venv/bin/python)");
    EXPECT_EQ(get(r, "pytorch").status, CheckStatus::warn);
    EXPECT_EQ(get(r, "pytorch").value, "torch not installed");
    EXPECT_EQ(get(r, "pytorch").detail, "ModuleNotFoundError: No module named 'torch' (in /venv/bin/python)");
    EXPECT_EQ(get(r, "pytorch_cuda").status, CheckStatus::skipped);
    EXPECT_EQ(get(r, "transformers").value, "transformers not installed");
}

TEST(Doctor, PythonProbeCrashShowsTheOutput) {
    DoctorProbe p = base_probe();
    p.python.exit_code = 1;
    p.python.output = "Traceback (most recent call last):\nSyntaxError: invalid syntax\n";
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "python").status, CheckStatus::warn);
    EXPECT_EQ(get(r, "python").value, "the Python probe failed (exit 1)");
    EXPECT_NE(get(r, "python").detail.find("SyntaxError: invalid syntax"), std::string::npos);
}

TEST(Doctor, CpuTorchWithGpuPresentWarns) {
    DoctorProbe p = gpu_probe();
    p.python.output = base_probe().python.output;  // the CPU-only torch
    DoctorReport r = run_doctor(DoctorParams{}, p);
    const Check& c = get(r, "pytorch_cuda");
    EXPECT_EQ(c.status, CheckStatus::warn);
    EXPECT_NE(c.detail.find("CPU-only build"), std::string::npos);
    EXPECT_NE(c.detail.find("install a CUDA build of torch"), std::string::npos);
    EXPECT_EQ(get(r, "pytorch").value, "2.5.1+cpu (CPU-only build)");
}

TEST(Doctor, TorchBuiltForNewerCudaThanTheDriver) {
    DoctorProbe p = gpu_probe();
    json facts = cuda_torch_facts();
    facts["torch"] = "2.11.0+cu130";
    facts["torch_cuda"] = "13.0";
    facts["cuda_available"] = false;
    facts["cuda_warnings"] = {"CUDA initialization: The NVIDIA driver on your system is too old"};
    p.python.output = python_output(facts);
    DoctorReport r = run_doctor(DoctorParams{}, p);
    const Check& c = get(r, "pytorch_cuda");
    EXPECT_EQ(c.status, CheckStatus::warn);
    EXPECT_NE(c.detail.find("driver on your system is too old"), std::string::npos);
    EXPECT_NE(c.detail.find("built for CUDA 13.0 but the driver supports up to 12.4"), std::string::npos);
}

TEST(Doctor, OldTransformersWarns) {
    DoctorProbe p = gpu_probe();
    json facts = cuda_torch_facts();
    facts["transformers"] = "4.57.1";
    p.python.output = python_output(facts);
    const Check c = get(run_doctor(DoctorParams{}, p), "transformers");
    EXPECT_EQ(c.status, CheckStatus::warn);
    EXPECT_NE(c.detail.find("5.0 or newer"), std::string::npos);
}

// The real probe script in the project's Python: whatever is installed, it must
// print one parseable probe line naming the interpreter.
TEST(Doctor, PythonProbeScriptRunsInTheProjectPython) {
    CommandResult r = run_command({project_python(), "-c", python_probe_script()});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    DoctorProbe p = base_probe();
    p.python = {project_python(), true, r.exit_code, r.output};
    DoctorReport report = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(report, "python").status, CheckStatus::ok) << get(report, "python").detail;
    EXPECT_NE(get(report, "pytorch").status, CheckStatus::skipped);
}

// --- CUDA toolkit ------------------------------------------------------------------------

TEST(Doctor, CudaToolkitFromNvccOrVersionJson) {
    DoctorProbe p = gpu_probe();
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "cuda_toolkit").value, "not installed");
    EXPECT_EQ(get(r, "cuda_toolkit").status, CheckStatus::ok);

    p.cuda_version_json = R"({"cuda": {"name": "CUDA SDK", "version": "12.4.1"}})";
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "cuda_toolkit").value, "12.4.1");
    EXPECT_EQ(get(r, "cuda_toolkit").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "cuda_toolkit").detail, "from /usr/local/cuda/version.json");  // 12.4.1 is CUDA 12.4

    p.cuda_version_json = R"({"cuda": 12})";
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "cuda_toolkit").status, CheckStatus::warn);
    EXPECT_NE(get(r, "cuda_toolkit").detail.find("/usr/local/cuda/version.json"), std::string::npos);

    // nvcc wins over version.json; a major version above the driver's is a warning.
    p.nvcc = {"nvcc", true, 0, "Cuda compilation tools, release 13.0, V13.0.88\n"};
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "cuda_toolkit").value, "13.0.88");
    EXPECT_EQ(get(r, "cuda_toolkit").status, CheckStatus::warn);
    EXPECT_NE(get(r, "cuda_toolkit").detail.find("newer than the driver supports (CUDA 12.4)"), std::string::npos);

    // The patch level does not count: toolkit 13.0.88 matches a driver for CUDA 13.0 (seen on an H100).
    p.nvml.cuda_driver_version = 13000;
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "cuda_toolkit").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "cuda_toolkit").detail, "from nvcc --version");
    p.nvml.cuda_driver_version = 12040;

    p.nvcc.output = "Cuda compilation tools, release 12.6, V12.6.20\n";
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "cuda_toolkit").status, CheckStatus::ok);
    EXPECT_NE(get(r, "cuda_toolkit").detail.find("minor-version compatibility"), std::string::npos);
}

// --- RAM, CPU, disk ------------------------------------------------------------------------

TEST(Doctor, RamAndCpu) {
    DoctorProbe p = base_probe();
    p.cpu_affinity = 4;
    p.cgroup_cpu_max = "200000 100000\n";
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "ram").value, "61.4 GB available of 66.6 GB");
    EXPECT_EQ(get(r, "ram").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "cpu").value, "16 online, 4 usable by this process, cgroup quota 2.0 CPUs");
    EXPECT_EQ(get(r, "cpu").data["usable"], 2);

    p.meminfo_text = "MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n";
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "ram").status, CheckStatus::warn);
    EXPECT_NE(get(r, "ram").detail.find("less than 16 GB (--min-ram)"), std::string::npos);
    EXPECT_EQ(doctor_exit_code(r), 0);

    p.meminfo_text = "MemTotal: garbage\n";
    r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "ram").status, CheckStatus::warn);
    EXPECT_EQ(get(r, "ram").detail, "/proc/meminfo:1: MemTotal: expected '<number> kB', found 'garbage'");
}

TEST(Doctor, DiskBelowMinimumFails) {
    DoctorProbe p = base_probe();
    DiskProbe small;
    small.path = "/scratch/new";
    small.measured_at = "/scratch";
    small.exists = false;
    small.ok = true;
    small.available_bytes = 50'000'000'000;
    small.total_bytes = 200'000'000'000;
    DiskProbe broken;
    broken.path = "/mnt/gone";
    broken.measured_at = "/mnt/gone";
    broken.error = "Permission denied";
    p.disks.push_back(small);
    p.disks.push_back(broken);
    DoctorParams params;
    DoctorReport r = run_doctor(params, p);
    EXPECT_EQ(get(r, "disk:/data").status, CheckStatus::ok);
    EXPECT_EQ(get(r, "disk:/data").value, "500.0 GB free of 1000.0 GB");
    const Check& s = get(r, "disk:/scratch/new");
    EXPECT_EQ(s.status, CheckStatus::fail);
    EXPECT_EQ(s.detail, "does not exist yet; measured on /scratch; needs 100 GB free (--min-disk)");
    EXPECT_EQ(get(r, "disk:/mnt/gone").status, CheckStatus::fail);
    EXPECT_EQ(get(r, "disk:/mnt/gone").detail, "/mnt/gone: Permission denied");
    EXPECT_EQ(doctor_exit_code(r), 1);

    params.min_disk_gb = 40;
    p.disks.pop_back();
    EXPECT_EQ(doctor_exit_code(run_doctor(params, p)), 0);
}

TEST(Doctor, ProbeDiskMeasuresTheNearestExistingFolder) {
    TempDir dir;
    DiskProbe d = probe_disk(dir.path / "not" / "yet");
    EXPECT_TRUE(d.ok) << d.error;
    EXPECT_FALSE(d.exists);
    EXPECT_EQ(fs::path(d.measured_at), fs::absolute(dir.path).lexically_normal());
    EXPECT_GT(d.total_bytes, 0u);
    EXPECT_LE(d.available_bytes, d.total_bytes);
    DiskProbe here = probe_disk(dir.path);
    EXPECT_TRUE(here.exists);
    EXPECT_EQ(here.measured_at, d.measured_at);
}

// --- Checkpoint ------------------------------------------------------------------------------

TEST(Doctor, CheckpointSkippedWhenNotGiven) {
    const Check c = get(run_doctor(DoctorParams{}, base_probe()), "checkpoint");
    EXPECT_EQ(c.status, CheckStatus::skipped);
    EXPECT_NE(c.detail.find(kCheckpointEnv), std::string::npos);
}

TEST(Doctor, CheckpointHuggingFaceFolderPresentNotLoaded) {
    TempDir dir;
    write_file_atomic(dir.path / "config.json", R"({"model_type": "sam3", "architectures": ["Sam3Model"]})");
    write_file_atomic(dir.path / "model.safetensors", std::string(4096, '\x01'));
    DoctorProbe p = base_probe();
    p.checkpoint = probe_checkpoint(dir.path);
    const Check c = get(run_doctor(DoctorParams{}, p), "checkpoint");
    EXPECT_EQ(c.status, CheckStatus::ok);
    EXPECT_EQ(c.value, "present (not loaded)");
    EXPECT_EQ(c.detail, "Hugging Face format: config.json + model.safetensors (0.0 GB)");
    EXPECT_EQ(c.data["format"], "huggingface");
    EXPECT_EQ(c.data["loaded"], false);
    EXPECT_EQ(c.data["bytes"], 4096);

    write_file_atomic(dir.path / "config.json", R"({"model_type": "sam2"})");
    p.checkpoint = probe_checkpoint(dir.path);
    const Check other = get(run_doctor(DoctorParams{}, p), "checkpoint");
    EXPECT_EQ(other.status, CheckStatus::warn);
    EXPECT_NE(other.detail.find("model_type is 'sam2', expected 'sam3'"), std::string::npos);
}

TEST(Doctor, CheckpointProblemsFail) {
    TempDir dir;
    DoctorProbe p = base_probe();
    p.checkpoint = probe_checkpoint(dir.path / "missing");
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "checkpoint").status, CheckStatus::fail);
    EXPECT_EQ(get(r, "checkpoint").value, "not found: " + (dir.path / "missing").string());
    EXPECT_EQ(doctor_exit_code(r), 1);

    write_file_atomic(dir.path / "config.json", R"({"model_type": "sam3"})");
    p.checkpoint = probe_checkpoint(dir.path);
    const Check incomplete = get(run_doctor(DoctorParams{}, p), "checkpoint");
    EXPECT_EQ(incomplete.status, CheckStatus::fail);
    EXPECT_NE(incomplete.detail.find("model.safetensors missing"), std::string::npos);

    // A clone without git-lfs leaves ~130-byte pointer files where the weights should be.
    write_file_atomic(dir.path / "model.safetensors",
                      "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3440000000\n");
    p.checkpoint = probe_checkpoint(dir.path);
    const Check lfs = get(run_doctor(DoctorParams{}, p), "checkpoint");
    EXPECT_EQ(lfs.status, CheckStatus::fail);
    EXPECT_NE(lfs.detail.find("model.safetensors is a Git LFS pointer"), std::string::npos);

    write_file_atomic(dir.path / "model.safetensors", std::string(100, 'x'));
    write_file_atomic(dir.path / "config.json", "{\n  \"model_type\": sam3\n}");
    p.checkpoint = probe_checkpoint(dir.path);
    const Check bad_config = get(run_doctor(DoctorParams{}, p), "checkpoint");
    EXPECT_EQ(bad_config.status, CheckStatus::fail);
    EXPECT_NE(bad_config.detail.find((dir.path / "config.json").string() + ":2:"), std::string::npos)
        << bad_config.detail;
}

TEST(Doctor, CheckpointOriginalSam3Pt) {
    TempDir dir;
    write_file_atomic(dir.path / "sam3.pt", std::string(2048, '\x02'));
    DoctorProbe p = base_probe();
    for (const fs::path& path : {dir.path, dir.path / "sam3.pt"}) {
        p.checkpoint = probe_checkpoint(path);
        const Check c = get(run_doctor(DoctorParams{}, p), "checkpoint");
        EXPECT_EQ(c.status, CheckStatus::ok) << path;
        EXPECT_EQ(c.value, "present (not loaded)");
        EXPECT_EQ(c.data["format"], "sam3.pt");
    }
    write_file_atomic(dir.path / "notes.txt", "hello");
    p.checkpoint = probe_checkpoint(dir.path / "notes.txt");
    EXPECT_EQ(get(run_doctor(DoctorParams{}, p), "checkpoint").status, CheckStatus::fail);
}

// --- Report ------------------------------------------------------------------------------

TEST(Doctor, JsonReportIsSchemaVersionedAndStable) {
    DoctorParams params;
    params.min_vram_gb = 100;
    DoctorProbe p = gpu_probe();
    DoctorReport r = run_doctor(params, p);
    json j = doctor_report_json(r);
    EXPECT_EQ(j["schema"], "chickenseg.doctor/1");
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["summary"]["fail"], 1);
    EXPECT_EQ(j["checks"].size(), r.checks.size());
    size_t total = 0;
    for (const char* s : {"ok", "warn", "fail", "skipped"}) total += j["summary"][s].get<size_t>();
    EXPECT_EQ(total, r.checks.size());
    for (const auto& c : j["checks"]) {
        for (const char* key : {"name", "status", "value", "detail"}) EXPECT_TRUE(c[key].is_string()) << key;
        EXPECT_TRUE(c["data"].is_object());
    }
    EXPECT_EQ(j.dump(), doctor_report_json(run_doctor(params, p)).dump());  // same facts, same bytes
}

// --- The NVML loader against fake libraries ------------------------------------------------

namespace {

// A stand-in for libnvidia-ml.so.1 with NVML's C ABI. MODERN exports the _v2/_v3
// entry points and 70 processes (more than the loader's first buffer of 64);
// OLD exports only the first-generation names and the v1 process struct.
const char* kFakeNvml = R"C(
#include <string.h>
typedef struct dev* nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int pid; unsigned long long used; } info_v1;
typedef struct { unsigned int pid; unsigned long long used; unsigned int gi, ci; } info_v2;
static nvmlDevice_t handle(unsigned i) { return (nvmlDevice_t)(unsigned long)(i + 1); }
static unsigned index_of(nvmlDevice_t d) { return (unsigned)(unsigned long)d - 1; }
const char* nvmlErrorString(int rc) { return rc == 9 ? "Driver Not Loaded" : "Some Error"; }
int nvmlShutdown(void) { return 0; }
int nvmlDeviceGetName(nvmlDevice_t d, char* b, unsigned n) {
  strncpy(b, index_of(d) == 0 ? "Fake GPU Zero" : "Fake GPU One", n); return 0; }
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  if (index_of(d) == 1) return 999;
  m->total = 85520809984ULL; m->free = 80000000000ULL; m->used = 5520809984ULL; return 0; }
#ifdef MODERN
int nvmlInit_v2(void) { return INIT_RC; }
int nvmlSystemGetDriverVersion(char* b, unsigned n) { strncpy(b, "550.54.15", n); return 0; }
int nvmlSystemGetCudaDriverVersion(int* v) { *v = 12040; return 0; }
int nvmlDeviceGetCount_v2(unsigned* c) { *c = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t* d) { *d = handle(i); return 0; }
int nvmlDeviceGetUUID(nvmlDevice_t d, char* b, unsigned n) { strncpy(b, "GPU-fake", n); return 0; }
int nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int* a, int* b) { *a = 9; *b = 0; return 0; }
int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned* count, info_v2* out) {
  unsigned want = index_of(d) == 0 ? 70 : 0;
  if (*count < want) { *count = want; return 7; }
  for (unsigned i = 0; i < want; ++i) {
    out[i].pid = i == 0 ? SELF_PID : 4000000 + i;
    out[i].used = i == 1 ? ~0ULL : 1000000000ULL * (i + 1); out[i].gi = out[i].ci = 0xFFFFFFFF; }
  *count = want; return 0; }
int nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned* count, info_v2* out) {
  if (index_of(d) != 0) { *count = 0; return 0; }
  if (*count < 1) { *count = 1; return 7; }
  out[0].pid = SELF_PID; out[0].used = 500; *count = 1; return 0; }
#else
int nvmlInit(void) { return 0; }
int nvmlSystemGetDriverVersion(char* b, unsigned n) { strncpy(b, "470.82.01", n); return 0; }
int nvmlDeviceGetCount(unsigned* c) { *c = 1; return 0; }
int nvmlDeviceGetHandleByIndex(unsigned i, nvmlDevice_t* d) { *d = handle(i); return 0; }
int nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned* count, info_v1* out) {
  if (*count < 2) { *count = 2; return 7; }
  out[0].pid = 4000001; out[0].used = 3000000000ULL; out[1].pid = 4000002; out[1].used = 7;
  *count = 2; return 0; }
#endif
)C";

// Compiles kFakeNvml with `defines` into dir/name; fails the test with the compiler's output.
fs::path build_fake_nvml(const fs::path& dir, const std::string& name, const std::vector<std::string>& defines) {
    fs::path src = dir / "fake_nvml.c";
    write_file_atomic(src, kFakeNvml);
    fs::path lib = dir / name;
    std::vector<std::string> argv = {"cc", "-shared", "-fPIC", "-o", lib.string(), src.string()};
    for (const auto& d : defines) argv.push_back("-D" + d);
    CommandResult r = run_command(argv);
    EXPECT_EQ(r.exit_code, 0) << "compiling the fake NVML failed (needs cc on PATH): " << r.output;
    return lib;
}

}  // namespace

TEST(Nvml, MissingLibraryIsReportedNotThrown) {
    NvmlSnapshot s = read_nvml("libchickenseg-no-such-nvml.so.1");
    EXPECT_FALSE(s.library_loaded);
    EXPECT_FALSE(s.initialized);
    EXPECT_NE(s.load_error.find("libchickenseg-no-such-nvml.so.1"), std::string::npos) << s.load_error;
    EXPECT_TRUE(s.gpus.empty());
}

TEST(Nvml, ModernDriverThroughTheV3Calls) {
    TempDir dir;
    std::string self = std::to_string(::getpid());
    fs::path lib = build_fake_nvml(dir.path, "libfake-modern.so", {"MODERN", "INIT_RC=0", "SELF_PID=" + self});
    NvmlSnapshot s = read_nvml(lib.string());
    ASSERT_TRUE(s.library_loaded) << s.load_error;
    ASSERT_TRUE(s.initialized) << s.init_error;
    EXPECT_EQ(s.driver_version, "550.54.15");
    EXPECT_EQ(s.cuda_driver_version, 12040);
    EXPECT_EQ(s.error, "");
    ASSERT_EQ(s.gpus.size(), 2u);
    const GpuDevice& g0 = s.gpus[0];
    EXPECT_EQ(g0.name, "Fake GPU Zero");
    EXPECT_EQ(g0.uuid, "GPU-fake");
    EXPECT_TRUE(g0.memory_known);
    EXPECT_EQ(g0.total_bytes, 85520809984ULL);
    EXPECT_EQ(g0.compute_major, 9);
    ASSERT_EQ(g0.processes.size(), 70u);  // the buffer grew past 64
    // Sorted by pid; this test process is listed as both compute and graphics and named from /proc.
    const GpuProcess& me = g0.processes.front();
    EXPECT_EQ(me.pid, static_cast<unsigned>(::getpid()));
    EXPECT_EQ(me.type, "compute+graphics");
    EXPECT_EQ(me.name, "doctor_test");
    EXPECT_EQ(me.used_bytes, 1000000000ULL);
    EXPECT_EQ(g0.processes[1].pid, 4000001u);
    EXPECT_FALSE(g0.processes[1].used_bytes);  // NVML_VALUE_NOT_AVAILABLE
    EXPECT_EQ(g0.processes[1].name, "");
    EXPECT_EQ(g0.processes[2].used_bytes, 3000000000ULL);
    const GpuDevice& g1 = s.gpus[1];
    EXPECT_EQ(g1.name, "Fake GPU One");
    EXPECT_FALSE(g1.memory_known);
    EXPECT_EQ(g1.error, "nvmlDeviceGetMemoryInfo: Some Error");
    EXPECT_TRUE(g1.processes.empty());
}

TEST(Nvml, OldDriverThroughTheFirstGenerationCalls) {
    TempDir dir;
    fs::path lib = build_fake_nvml(dir.path, "libfake-old.so", {});
    NvmlSnapshot s = read_nvml(lib.string());
    ASSERT_TRUE(s.initialized) << s.init_error << s.load_error;
    EXPECT_EQ(s.driver_version, "470.82.01");
    EXPECT_EQ(s.cuda_driver_version, 0);  // that entry point is absent: unknown, not an error
    ASSERT_EQ(s.gpus.size(), 1u);
    ASSERT_EQ(s.gpus[0].processes.size(), 2u);  // read with the 16-byte v1 layout
    EXPECT_EQ(s.gpus[0].processes[0].pid, 4000001u);
    EXPECT_EQ(s.gpus[0].processes[0].used_bytes, 3000000000ULL);
    EXPECT_EQ(s.gpus[0].processes[1].used_bytes, 7ULL);
    EXPECT_EQ(s.gpus[0].processes[0].type, "compute");

    DoctorProbe p = base_probe();
    p.nvml = s;
    DoctorReport r = run_doctor(DoctorParams{}, p);
    EXPECT_EQ(get(r, "nvidia_driver").status, CheckStatus::fail);
    EXPECT_EQ(get(r, "cuda_driver").status, CheckStatus::warn);
}

TEST(Nvml, InitFailureIsReportedWithNvmlsMessage) {
    TempDir dir;
    fs::path lib = build_fake_nvml(dir.path, "libfake-noinit.so", {"MODERN", "INIT_RC=9", "SELF_PID=1"});
    NvmlSnapshot s = read_nvml(lib.string());
    EXPECT_TRUE(s.library_loaded);
    EXPECT_FALSE(s.initialized);
    EXPECT_EQ(s.init_error, "nvmlInit: Driver Not Loaded");
}

TEST(DoctorParse, NetrcMachineEntries) {
    EXPECT_TRUE(netrc_has_machine("machine api.wandb.ai\n  login user\n  password abc\n", "api.wandb.ai"));
    EXPECT_TRUE(
        netrc_has_machine("default login x password y\nmachine\tapi.wandb.ai login u password p", "api.wandb.ai"));
    EXPECT_FALSE(netrc_has_machine("machine github.com login u password api.wandb.ai\n", "api.wandb.ai"));
    EXPECT_FALSE(netrc_has_machine("machine api.wandb.ai.example.com login u\n", "api.wandb.ai"));
    EXPECT_FALSE(netrc_has_machine("", "api.wandb.ai"));
}

TEST(Doctor, WandbOnlineNeedsALoginAndAutoSaysRunsStayOffline) {
    WandbProbe none;
    none.netrc_path = "/home/u/.netrc";
    DoctorParams params;
    params.wandb = "online";
    Check c = check_wandb(params, none);
    EXPECT_EQ(c.status, CheckStatus::fail);
    EXPECT_NE(c.detail.find("wandb login"), std::string::npos) << c.detail;

    params.wandb = "auto";
    c = check_wandb(params, none);
    EXPECT_EQ(c.status, CheckStatus::ok);
    EXPECT_EQ(c.value, "not logged in: runs stay offline");
    EXPECT_EQ(c.data["logged_in"], false);

    WandbProbe netrc = none;
    netrc.netrc_entry = true;
    params.wandb = "online";
    c = check_wandb(params, netrc);
    EXPECT_EQ(c.status, CheckStatus::ok);
    EXPECT_EQ(c.value, "logged in (/home/u/.netrc (api.wandb.ai)): runs go online");

    WandbProbe key;
    key.api_key_env = true;
    c = check_wandb(params, key);
    EXPECT_EQ(c.status, CheckStatus::ok);
    EXPECT_EQ(c.value, "logged in (WANDB_API_KEY): runs go online");

    params.wandb = "offline";
    EXPECT_EQ(check_wandb(params, none).status, CheckStatus::ok);
    params.wandb = "disabled";
    EXPECT_EQ(check_wandb(params, none).status, CheckStatus::skipped);

    // run_doctor includes it: an online run without a login fails the whole report.
    params.wandb = "online";
    DoctorProbe p = base_probe();
    p.wandb = none;
    DoctorReport r = run_doctor(params, p);
    EXPECT_EQ(get(r, "wandb").status, CheckStatus::fail);
    EXPECT_TRUE(r.failed());
}
