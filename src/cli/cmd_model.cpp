// `chickenseg model SUBCOMMAND ...`: the SAM 3 workbench. PyTorch holds the model, so
// these run the project's Python package (python/chickenseg_model) and pass every
// argument on unchanged; `chickenseg model SUBCOMMAND --help` shows its options.
#include <iostream>

#include "chickenseg/core/python_env.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

Runner setup_passthrough(CLI::App& cmd, const std::string& name) {
    cmd.prefix_command();    // everything after the subcommand goes to Python untouched,
    cmd.allow_extras();      // options included,
    cmd.fallthrough(false);  // none of them claimed by the parent commands,
    cmd.set_help_flag();     // and --help is answered by the Python side
    return [&cmd, name]() {
        std::vector<std::string> args{name};
        for (const auto& a : cmd.remaining()) args.push_back(a);
        CommandResult r = run_command(model_package_argv(args), Capture::none, model_package_env());
        if (r.exit_code < 0) {
            std::cerr << "error: " << r.output << " (the project's Python: " << project_python()
                      << "; run scripts/setup or set CHICKENSEG_PYTHON)\n";
            return 1;
        }
        return r.exit_code;
    };
}

struct Passthrough {
    const char* name;
    const char* description;
};

constexpr Passthrough kCommands[] = {
    {"info", "Load a SAM 3 checkpoint (or --model tiny) and describe it"},
    {"build-tiny", "Write a tiny random SAM 3 as a Hugging Face folder (tests, demo)"},
    {"convert", "Convert Meta's original sam3.pt into a Hugging Face folder (--model sam3.pt caches it)"},
    {"predict", "Reference inference over an SA-Co dataset -> predictions + presence JSON"},
    {"export", "Export a model package: vision encoder + decoder (ONNX, AOTInductor), text embeddings"},
    {"verify", "Check a model package's SHA-256s and run its artefacts against PyTorch"},
};

int register_all() {
    int order = 0;
    for (const auto& c : kCommands) {
        std::string name = c.name;
        CommandRegistrar(CommandSpec{"model", name, c.description, order++,
                                     [name](CLI::App& cmd) { return setup_passthrough(cmd, name); }});
    }
    return 0;
}

const int registered = register_all();

}  // namespace
}  // namespace chickenseg::cli
