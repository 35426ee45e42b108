// What this binary is: version, git commit, build options (printed by --version).
#pragma once

#include <string>

namespace chickenseg {

struct BuildInfo {
    const char* version;
    const char* git_commit;
    const char* build_type;
    const char* compiler;
    const char* source_dir;  // where the project (and its .venv) was built from
};

const BuildInfo& build_info();
std::string version_string();

}  // namespace chickenseg
