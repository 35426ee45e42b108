#include "command.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <vector>

#include "chickenseg/core/build_info.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/progress.h"

namespace chickenseg::cli {

namespace {

std::vector<CommandSpec>& registry() {
    static std::vector<CommandSpec> specs;
    return specs;
}

GlobalOptions g_options;

const std::map<std::string, std::string> kGroupDescriptions = {
    {"data", "Dataset engine: convert annotations to SA-Co JSON, split, validate, merge, version"},
    {"model", "SAM 3 model workbench (Python): load, predict, export, verify"},
};

}  // namespace

CommandRegistrar::CommandRegistrar(CommandSpec spec) { registry().push_back(std::move(spec)); }

const GlobalOptions& global_options() { return g_options; }

void print_json(const json& value) { std::cout << value.dump(2) << '\n'; }

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

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    Progress::set_enabled_globally(!g_options.quiet && !g_options.json);
    for (auto& [cmd, run] : runners) {
        if (!cmd->parsed()) continue;
        try {
            return run();
        } catch (const Error& e) {
            std::cerr << "error: " << e.what() << '\n';
            return 1;
        } catch (const std::exception& e) {
            std::cerr << "error: " << e.what() << '\n';
            return 1;
        }
    }
    return 2;
}

}  // namespace chickenseg::cli
