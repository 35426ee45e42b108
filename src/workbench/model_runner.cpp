#include "chickenseg/workbench/model_runner.h"

#include "chickenseg/core/error.h"
#include "chickenseg/core/python_env.h"

namespace chickenseg {

json run_model_package(const std::vector<std::string>& args) {
    std::string what = "chickenseg model " + (args.empty() ? std::string() : args.front());
    CommandResult r = run_command(model_package_argv(args), Capture::stdout_only, model_package_env());
    if (r.exit_code < 0)
        throw Error(what + ": cannot start the project's Python (" + project_python() + "): " + r.output +
                    "; run scripts/setup or set CHICKENSEG_PYTHON");
    if (r.exit_code != 0) throw Error(what + " failed (exit " + std::to_string(r.exit_code) + ", see above)");
    try {
        return json::parse(r.output);
    } catch (const json::parse_error&) {
        throw Error(what + " printed no JSON result: " + r.output.substr(0, 300));
    }
}

}  // namespace chickenseg
