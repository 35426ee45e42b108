#include "chickenseg/core/python_env.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "chickenseg/core/build_info.h"

extern char** environ;

namespace chickenseg {

std::string project_python() {
    if (const char* env = std::getenv("CHICKENSEG_PYTHON"); env && *env) return env;
    std::filesystem::path venv = std::filesystem::path(build_info().source_dir) / ".venv/bin/python";
    std::error_code ec;
    if (std::filesystem::exists(venv, ec)) return venv.string();
    return "python3";
}

std::vector<std::string> model_package_argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv{project_python(), "-m", "chickenseg_model"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::vector<std::string> model_package_env() {
    std::string path = (std::filesystem::path(build_info().source_dir) / "python").string();
    if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += std::string(":") + old;
    // Unbuffered so progress lines reach the user as they happen.
    return {"PYTHONPATH=" + path, "PYTHONUNBUFFERED=1"};
}

CommandResult run_command(const std::vector<std::string>& argv, Capture capture,
                          const std::vector<std::string>& extra_env) {
    CommandResult result;
    if (argv.empty()) return result;
    int pipefd[2] = {-1, -1};
    if (capture != Capture::none && ::pipe2(pipefd, O_CLOEXEC) != 0) return result;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (capture != Capture::none) {
        posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
        if (capture == Capture::all) posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    // Environment: ours, with extra_env entries replacing same-named ones.
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e) {
        std::string entry = *e;
        std::string name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const auto& x : extra_env) replaced |= x.substr(0, x.find('=')) == name;
        if (!replaced) env_storage.push_back(std::move(entry));
    }
    env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (capture != Capture::none) ::close(pipefd[1]);
    if (rc != 0) {
        if (capture != Capture::none) ::close(pipefd[0]);
        result.output = std::string("cannot start ") + argv[0] + ": " + std::strerror(rc);
        return result;
    }
    // As system(3) does: while the child runs, Ctrl-C (SIGINT to the whole foreground group)
    // is the child's to handle; the parent stays to reap it and pass on its exit status.
    struct sigaction ignore {
    }, old_int{}, old_quit{};
    ignore.sa_handler = SIG_IGN;
    ::sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGQUIT, &ignore, &old_quit);
    if (capture != Capture::none) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(pipefd[0], buf, sizeof buf)) != 0) {
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            result.output.append(buf, static_cast<size_t>(n));
        }
        ::close(pipefd[0]);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

}  // namespace chickenseg
