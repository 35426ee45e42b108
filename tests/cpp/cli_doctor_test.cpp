// End to end: the real `chickenseg doctor` on this machine. Without a GPU it passes
// (GPU checks skipped) and fails with --require-gpu; --json prints the schema-versioned
// report; a checkpoint from the environment variable is checked; bad options exit 2.
#include <gtest/gtest.h>

#include <filesystem>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/env/nvml.h"
#include "cli_support.h"

namespace fs = std::filesystem;
using namespace chickenseg;
using namespace chickenseg::test;  // CliResult, run_chickenseg, Stderr, TempDir

namespace {

const json* find_check(const json& report, const std::string& name) {
    for (const auto& c : report["checks"])
        if (c["name"] == name) return &c;
    return nullptr;
}

// Whether this machine has a working NVIDIA driver with a GPU (then --require-gpu passes).
bool machine_has_gpu() {
    NvmlSnapshot s = read_nvml();
    return s.initialized && !s.gpus.empty();
}

// Runs without starting torch: the Python checks are then warnings, fast.
const std::string kNoPython = "CHICKENSEG_PYTHON=/nonexistent/chickenseg-python";

}  // namespace

TEST(CliDoctor, JsonReportOnThisMachine) {
    TempDir dir;
    CliResult r = run_chickenseg("--json doctor --min-disk 0 --path " + dir.path.string(), Stderr::Separate);
    json report = parse_json_text(r.out, "doctor stdout");
    EXPECT_EQ(report["schema"], "chickenseg.doctor/1");
    for (const char* name : {"cpu", "ram", "nvidia_driver", "cuda_driver", "gpu", "vram", "cuda_toolkit", "python",
                             "pytorch", "pytorch_cuda", "transformers", "checkpoint"}) {
        const json* c = find_check(report, name);
        ASSERT_NE(c, nullptr) << name;
        for (const char* key : {"name", "status", "value", "detail"}) EXPECT_TRUE((*c)[key].is_string()) << name;
        EXPECT_TRUE((*c)["status"] == "ok" || (*c)["status"] == "warn" || (*c)["status"] == "fail" ||
                    (*c)["status"] == "skipped");
    }
    const json* disk = find_check(report, "disk:" + dir.path.string());
    ASSERT_NE(disk, nullptr) << r.out;
    EXPECT_EQ((*disk)["status"], "ok");
    EXPECT_GT((*disk)["data"]["total_bytes"].get<uint64_t>(), 0u);
    // The project's .venv exists where these tests run: the probe must reach it.
    EXPECT_EQ((*find_check(report, "python"))["status"], "ok") << (*find_check(report, "python")).dump();
    EXPECT_EQ((*find_check(report, "cpu"))["data"]["online"].get<unsigned>(), sysconf(_SC_NPROCESSORS_ONLN));
    if (!machine_has_gpu()) {
        EXPECT_EQ((*find_check(report, "nvidia_driver"))["status"], "skipped");
        EXPECT_NE((*find_check(report, "nvidia_driver"))["value"].get<std::string>().find(
                      "no NVIDIA driver found (libnvidia-ml.so.1 not loadable): GPU checks skipped"),
                  std::string::npos);
    }
    EXPECT_EQ(r.code, report["ok"] == true ? 0 : 1);
    EXPECT_EQ(r.code, 0) << r.out;  // no requirement given that this machine could miss
}

TEST(CliDoctor, RequireGpu) {
    CliResult r = run_chickenseg("--json doctor --min-disk 0 --require-gpu", Stderr::Separate, kNoPython);
    json report = parse_json_text(r.out, "doctor stdout");
    if (machine_has_gpu()) {
        EXPECT_EQ((*find_check(report, "gpu"))["status"], "ok");
    } else {
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_EQ((*find_check(report, "gpu"))["status"], "fail");
        EXPECT_EQ(report["ok"], false);
    }
}

TEST(CliDoctor, TableByDefault) {
    CliResult r = run_chickenseg("doctor --min-disk 0 --path .", Stderr::Separate, kNoPython);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.rfind("STATUS  CHECK", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("python not found: /nonexistent/chickenseg-python"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\ndoctor: "), std::string::npos);
    EXPECT_NE(r.out.find(": ready\n"), std::string::npos);
}

TEST(CliDoctor, MinDiskAboveWhatAnyDiskHasFails) {
    CliResult r = run_chickenseg("--json doctor --min-disk 1000000000 --path .", Stderr::Separate, kNoPython);
    EXPECT_EQ(r.code, 1);
    json report = parse_json_text(r.out, "doctor stdout");
    EXPECT_EQ((*find_check(report, "disk:."))["status"], "fail");
}

TEST(CliDoctor, CheckpointFromTheEnvironment) {
    TempDir dir;
    CliResult missing = run_chickenseg("--json doctor --min-disk 0", Stderr::Separate,
                                       kNoPython + " CHICKENSEG_SAM3_CHECKPOINT=" + (dir.path / "nope").string());
    EXPECT_EQ(missing.code, 1);
    json report = parse_json_text(missing.out, "doctor stdout");
    EXPECT_EQ((*find_check(report, "checkpoint"))["status"], "fail");

    write_file_atomic(dir.path / "config.json", R"({"model_type": "sam3"})");
    write_file_atomic(dir.path / "model.safetensors", std::string(2048, 'w'));
    // The flag wins over the environment variable.
    CliResult present = run_chickenseg("--json doctor --min-disk 0 --checkpoint " + dir.path.string(), Stderr::Separate,
                                       kNoPython + " CHICKENSEG_SAM3_CHECKPOINT=" + (dir.path / "nope").string());
    EXPECT_EQ(present.code, 0) << present.out;
    report = parse_json_text(present.out, "doctor stdout");
    EXPECT_EQ((*find_check(report, "checkpoint"))["value"], "present (not loaded)");
}

TEST(CliDoctor, BadOptionsAreUsageErrors) {
    EXPECT_EQ(run_chickenseg("doctor --min-disk -5", Stderr::Separate, kNoPython).code, 2);
    EXPECT_EQ(run_chickenseg("doctor --min-vram lots", Stderr::Separate, kNoPython).code, 2);
    EXPECT_EQ(run_chickenseg("doctor --no-such-option", Stderr::Separate, kNoPython).code, 2);
}

// The login is read from the environment and ~/.netrc only: HOME points at a temporary folder.
TEST(CliDoctor, WandbLoginFromNetrcOrTheEnvironment) {
    TempDir home;
    const std::string env = kNoPython + " HOME=" + shell_quote(home.path.string()) + " WANDB_API_KEY=";
    CliResult out = run_chickenseg("--json doctor --min-disk 0 --wandb online", Stderr::Separate, env);
    EXPECT_EQ(out.code, 1) << out.out;
    json report = parse_json_text(out.out, "doctor stdout");
    ASSERT_NE(find_check(report, "wandb"), nullptr);
    EXPECT_EQ((*find_check(report, "wandb"))["status"], "fail");

    out = run_chickenseg("--json doctor --min-disk 0", Stderr::Separate, env);  // auto: fine, offline
    EXPECT_EQ(out.code, 0) << out.out;
    EXPECT_EQ((*find_check(parse_json_text(out.out, "doctor stdout"), "wandb"))["value"],
              "not logged in: runs stay offline");

    write_file_atomic(home.path / ".netrc", "machine api.wandb.ai\n  login user\n  password 0123\n");
    out = run_chickenseg("--json doctor --min-disk 0 --wandb online", Stderr::Separate, env);
    EXPECT_EQ(out.code, 0) << out.out;

    out = run_chickenseg("--json doctor --min-disk 0 --wandb online", Stderr::Separate,
                         kNoPython + " HOME=/nonexistent-home WANDB_API_KEY=k");
    EXPECT_EQ(out.code, 0) << out.out;
    EXPECT_EQ(run_chickenseg("doctor --wandb sometimes", Stderr::Separate, kNoPython).code, 2);
}
