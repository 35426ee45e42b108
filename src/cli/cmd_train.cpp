// `chickenseg train -c CONFIG [key=value ...]`: fine-tune SAM 3. PyTorch holds the model, so
// this runs the project's Python package (`python -m chickenseg_model train ...`) and passes
// every argument on unchanged (`chickenseg train --help` shows the Python side's options).
// Progress goes to the terminal as it happens; the Python side's result (one JSON document
// on stdout) is printed as a short summary, or as is with --json.
#include <cstdio>
#include <iostream>

#include "chickenseg/core/python_env.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

std::string number_or_dash(const json& v) {
    if (v.is_number_float()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.4f", v.get<double>());
        return buf;
    }
    if (v.is_number()) return v.dump();
    if (v.is_string()) return v.get<std::string>();
    return "-";
}

void print_summary(const json& doc) {
    if (doc.contains("config")) {  // --print-config
        std::cout << doc["config"].dump(2) << '\n';
        return;
    }
    if (doc.contains("job_id")) {  // --use-cluster 1
        std::cout << "submitted job " << doc["job_id"].get<std::string>() << " (" << doc.value("backend", "slurm")
                  << "); logs in " << doc.value("folder", "") << '\n';
        return;
    }
    if (doc.contains("sbatch")) {  // --dry-run
        std::cout << "sbatch script written to " << doc["sbatch"].get<std::string>() << " (nothing submitted)\n";
        return;
    }
    std::cout << "run folder   " << doc.value("run_dir", "") << '\n'
              << "epochs       " << number_or_dash(doc.value("epochs", json())) << '\n'
              << "steps        " << number_or_dash(doc.value("global_step", json())) << '\n'
              << "device       " << doc.value("device", "") << " x " << number_or_dash(doc.value("world_size", json()))
              << '\n'
              << "best " << doc.value("monitor", "") << "  " << number_or_dash(doc.value("best_value", json()))
              << " (epoch " << number_or_dash(doc.value("best_epoch", json())) << ")\n";
    const json val = doc.value("val", json::object());
    for (const char* key : {"val_loss", "cgF1", "pmF1", "IL_MCC"})
        if (val.contains(key))
            std::cout << "last " << key << std::string(8 - std::string(key).size(), ' ') << number_or_dash(val[key])
                      << '\n';
    std::cout << "weights      " << doc.value("run_dir", "") << "/best (Hugging Face folder: --model for "
              << "`chickenseg model predict`)\n";
}

const CommandRegistrar registrar(CommandSpec{
    "", "train", "Fine-tune SAM 3 (config YAML + key=value overrides; frozen backbone, presence loss)", 60,
    [](CLI::App& cmd) -> Runner {
        cmd.prefix_command();    // everything after `train` goes to Python untouched,
        cmd.allow_extras();      // options included,
        cmd.fallthrough(false);  // none of them claimed by the parent app,
        cmd.set_help_flag();     // and --help is answered by the Python side
        return [&cmd]() {
            std::vector<std::string> args{"train"};
            for (const auto& a : cmd.remaining()) args.push_back(a);
            bool help = false;
            for (const auto& a : args) help = help || a == "--help" || a == "-h";
            // --help prints text, not JSON: let it through untouched.
            Capture capture = help ? Capture::none : Capture::stdout_only;
            CommandResult r = run_command(model_package_argv(args), capture, model_package_env());
            if (r.exit_code < 0) {
                std::cerr << "error: " << r.output << " (the project's Python: " << project_python()
                          << "; run scripts/setup or set CHICKENSEG_PYTHON)\n";
                return 1;
            }
            if (help || r.exit_code != 0) {
                std::cout << r.output;
                return r.exit_code;
            }
            if (global_options().json) {
                std::cout << r.output;
                return 0;
            }
            json doc = json::parse(r.output, nullptr, false);
            if (doc.is_discarded()) {
                std::cerr << "error: the trainer printed no JSON result:\n" << r.output << '\n';
                return 1;
            }
            print_summary(doc);
            return 0;
        };
    }});

}  // namespace
}  // namespace chickenseg::cli
