// `chickenseg doctor`: checks this machine for SAM 3 work (see docs/doctor.md).
#include <algorithm>
#include <iostream>
#include <memory>

#include "chickenseg/env/doctor.h"
#include "command.h"

namespace chickenseg::cli {

namespace {

void print_table(const DoctorReport& report) {
    size_t width = std::string("CHECK").size();
    for (const auto& c : report.checks) width = std::max(width, c.name.size());
    auto pad = [](const std::string& s, size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
    std::cout << pad("STATUS", 8) << pad("CHECK", width + 2) << "VALUE\n";
    for (const auto& c : report.checks) {
        std::cout << pad(check_status_name(c.status), 8) << pad(c.name, width + 2) << c.value << '\n';
        if (!c.detail.empty()) std::cout << std::string(8 + width + 2, ' ') << "  " << c.detail << '\n';
    }
    std::cout << "\ndoctor: " << report.count(CheckStatus::ok) << " ok, " << report.count(CheckStatus::warn)
              << " warn, " << report.count(CheckStatus::fail) << " fail, " << report.count(CheckStatus::skipped)
              << " skipped: " << (report.failed() ? "NOT READY (a required check failed)" : "ready") << '\n';
}

const CommandRegistrar doctor_command{CommandSpec{
    "", "doctor", "Check this machine for SAM 3 work: GPUs, driver, CUDA, PyTorch, disk, RAM, checkpoint", 10,
    [](CLI::App& cmd) -> Runner {
        auto params = std::make_shared<DoctorParams>();
        auto paths = std::make_shared<std::vector<std::string>>();
        cmd.add_flag("--require-gpu", params->require_gpu,
                     "Fail unless an NVIDIA GPU is visible (and PyTorch, if installed, can use CUDA)");
        cmd.add_option("--min-vram", params->min_vram_gb,
                       "Fail unless at least one GPU has this much total memory (GB = 1e9 bytes)")
            ->check(CLI::NonNegativeNumber);
        cmd.add_option("--min-disk", params->min_disk_gb, "Free space needed at every --path (GB), else fail")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        cmd.add_option("--min-ram", params->min_ram_gb, "Total RAM below this is a warning (GB)")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        cmd.add_option("--path", *paths, "Data/checkpoint folder to check for free space (repeatable; default: .)");
        cmd.add_option("--checkpoint", params->checkpoint,
                       "SAM 3 checkpoint: a folder with config.json + model.safetensors, or sam3.pt")
            ->envname(kCheckpointEnv);
        cmd.add_option("--wandb", params->wandb,
                       "The W&B mode training will use (logging.wandb): online fails without a login")
            ->check(CLI::IsMember({"auto", "online", "offline", "disabled"}))
            ->capture_default_str();
        cmd.add_flag("--load", params->load_checkpoint,
                     "Also load the checkpoint with the model package (on the CPU) to prove it is usable");
        return [params, paths]() {
            for (const auto& p : *paths) params->paths.emplace_back(p);
            DoctorReport report = run_doctor(*params, probe_system(*params));
            if (global_options().json)
                print_json(doctor_report_json(report));
            else
                print_table(report);
            return doctor_exit_code(report);
        };
    }}};

}  // namespace

}  // namespace chickenseg::cli
