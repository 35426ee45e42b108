#include "command.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "chickenseg/core/build_info.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/text_format.h"

namespace chickenseg::cli {

namespace {

std::vector<CommandSpec>& registry() {
    static std::vector<CommandSpec> specs;
    return specs;
}

GlobalOptions g_options;

// The first word of the command line that should name a command (or a group's subcommand) but
// names none, as "predikt" or "data convrt"; nullopt when all do. CLI11 answers --help before
// it looks at the command, so `chickenseg predikt --help` printed the main help and exited 0.
// Above a command only flags are accepted (--json, -q, --version), so every other word names
// a command; below it the command's own arguments begin.
std::optional<std::string> unknown_command(int argc, char** argv, const CLI::App& app) {
    const CLI::App* level = &app;
    std::string prefix;
    for (int i = 1; i < argc; ++i) {
        std::string word = argv[i];
        if (word == "--") return std::nullopt;
        if (!word.empty() && word[0] == '-') continue;
        // Option groups (predict's "input", run-package's) are CLI11 subcommands too, but no
        // word names them: only real commands count.
        auto subs = level->get_subcommands(
            [](const CLI::App* s) { return dynamic_cast<const CLI::Option_group*>(s) == nullptr; });
        if (subs.empty()) return std::nullopt;  // a command: its own arguments from here
        const CLI::App* next = nullptr;
        for (const CLI::App* s : subs)
            if (s->check_name(word)) next = s;
        if (!next) return prefix + word;
        prefix += word + " ";
        level = next;
    }
    return std::nullopt;
}

const std::map<std::string, std::string> kGroupDescriptions = {
    {"data", "Dataset engine: convert annotations to SA-Co JSON, split, validate, merge, version"},
    {"model", "SAM 3 model workbench (Python): load, predict, export, verify"},
};

}  // namespace

CommandRegistrar::CommandRegistrar(CommandSpec spec) { registry().push_back(std::move(spec)); }

const GlobalOptions& global_options() { return g_options; }

namespace {

// What the Python side (python/chickenseg_model, run by `model`, `train`, `baseline`) needs from
// the running tool, through the environment its children inherit: this binary's own path, so
// that training's validation runs `chickenseg eval` with the same build rather than a guessed
// <repo>/build/chickenseg, and --quiet / --json, so that it prints no progress either.
void tell_python_children() {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) ::setenv("CHICKENSEG_BIN", self.c_str(), /*overwrite=*/0);
    if (g_options.quiet || g_options.json) ::setenv("CHICKENSEG_QUIET", "1", 1);
}

}  // namespace

// A string that is not valid UTF-8 (which the readers refuse, so none should get here) is
// printed with U+FFFD in its place rather than failing after the work is done and written.
void print_json(const json& value) { std::cout << value.dump(2, ' ', false, json::error_handler_t::replace) << '\n'; }

void exit_without_teardown(int code) {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    std::_Exit(code);
}

int run_cli(int argc, char** argv) {
    CLI::App app{
        "chickenseg: segment every chicken in farm camera images and video with SAM 3, and report\n"
        "nothing when there is none. Exit status: 0 success, 1 failure, 2 usage error.",
        "chickenseg"};
    app.require_subcommand(1);
    app.fallthrough();
    app.set_version_flag("--version", version_string());
    app.add_flag("--json", g_options.json, "Print machine-readable JSON on stdout instead of tables");
    app.add_flag("-q,--quiet", g_options.quiet, "No progress display");

    auto specs = registry();
    std::stable_sort(specs.begin(), specs.end(), [](const CommandSpec& a, const CommandSpec& b) {
        return std::tie(a.group, a.order, a.name) < std::tie(b.group, b.order, b.name);
    });
    std::map<std::string, CLI::App*> groups;
    std::vector<std::pair<CLI::App*, Runner>> runners;
    for (const auto& spec : specs) {
        CLI::App* parent = &app;
        if (!spec.group.empty()) {
            auto& g = groups[spec.group];
            if (!g) {
                auto it = kGroupDescriptions.find(spec.group);
                g = app.add_subcommand(spec.group, it != kGroupDescriptions.end() ? it->second : spec.group);
                g->require_subcommand(1);
                g->fallthrough();
            }
            parent = g;
        }
        CLI::App* cmd = parent->add_subcommand(spec.name, spec.description);
        cmd->fallthrough();
        runners.emplace_back(cmd, spec.setup(*cmd));
    }

    if (auto unknown = unknown_command(argc, argv, app)) {
        std::cerr << "error: unknown command \"" << terminal_safe(*unknown) << "\" (`chickenseg "
                  << (unknown->find(' ') == std::string::npos ? "" : unknown->substr(0, unknown->rfind(' ')) + " ")
                  << "--help` lists the commands)\n";
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    Progress::set_enabled_globally(!g_options.quiet && !g_options.json);
    tell_python_children();
    for (auto& [cmd, run] : runners) {
        if (!cmd->parsed()) continue;
        try {
            return run();
        } catch (const Error& e) {
            std::cerr << "error: " << e.what() << '\n';
            return 1;
        } catch (const std::exception& e) {
            std::cerr << "error: " << terminal_safe(e.what()) << '\n';
            return 1;
        }
    }
    return 2;
}

}  // namespace chickenseg::cli
