// The "wandb" check of `chickenseg doctor` (plan 1.3.4): online logging needs a login, and a
// run that is not logged in stays offline (train/tracking.py decides the same way).
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "chickenseg/env/doctor.h"

namespace chickenseg {

bool netrc_has_machine(const std::string& netrc_text, const std::string& host) {
    std::istringstream tokens(netrc_text);
    std::string token, previous;
    while (tokens >> token) {
        if (previous == "machine" && token == host) return true;
        previous = token;
    }
    return false;
}

WandbProbe probe_wandb() {
    WandbProbe p;
    const char* key = std::getenv("WANDB_API_KEY");
    p.api_key_env = key && *key;
    const char* home = std::getenv("HOME");
    if (!home || !*home) {
        p.netrc_error = "$HOME is not set";
        return p;
    }
    p.netrc_path = (std::filesystem::path(home) / ".netrc").string();
    std::error_code ec;
    if (!std::filesystem::exists(p.netrc_path, ec)) return p;
    std::ifstream in(p.netrc_path, std::ios::binary);
    if (!in) {
        p.netrc_error = p.netrc_path + ": cannot be read";
        return p;
    }
    std::ostringstream text;
    text << in.rdbuf();
    p.netrc_entry = netrc_has_machine(text.str(), "api.wandb.ai");
    return p;
}

Check check_wandb(const DoctorParams& params, const WandbProbe& probe) {
    Check c;
    c.name = "wandb";
    const std::string& mode = params.wandb;
    const bool logged_in = probe.api_key_env || probe.netrc_entry;
    const std::string how = probe.api_key_env ? "WANDB_API_KEY" : probe.netrc_path + " (api.wandb.ai)";
    c.data = {{"mode", mode},
              {"logged_in", logged_in},
              {"api_key_env", probe.api_key_env},
              {"netrc_entry", probe.netrc_entry}};
    const std::string offline_detail =
        "runs are logged offline under RUN/wandb; upload them later with `wandb sync RUN/wandb/offline-run-*`";
    if (mode == "disabled") {
        c.status = CheckStatus::skipped;
        c.value = "not used (logging.wandb=disabled)";
    } else if (mode == "offline") {
        c.value = "offline (logging.wandb=offline)";
        c.detail = offline_detail;
    } else if (logged_in) {
        c.value = "logged in (" + how + "): runs go online";
        c.detail = "the key is not checked with the server (doctor makes no network connection)";
    } else if (mode == "online") {
        c.status = CheckStatus::fail;
        c.value = "not logged in";
        c.detail =
            "logging.wandb=online needs a W&B login: run `wandb login` or set WANDB_API_KEY (or use "
            "logging.wandb=auto, which logs offline without one)";
    } else {
        c.value = "not logged in: runs stay offline";
        c.detail = offline_detail + "; `wandb login` (or WANDB_API_KEY) makes them go online";
    }
    if (!probe.netrc_error.empty()) c.detail += (c.detail.empty() ? "" : "; ") + probe.netrc_error;
    return c;
}

}  // namespace chickenseg
