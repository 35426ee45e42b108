// `data version --tag`: a human name for a dataset version (the plan's v1.1). It is written
// into the version record in every case; where the record lies in a git work tree, the files
// the version consists of (the record, the manifest or DVC's .dvc files and the .gitignore
// entries DVC wrote) are committed, only those, and the commit is tagged, so `git checkout
// v1.1 && dvc pull` brings that dataset back.
#include <regex>

#include "chickenseg/core/error.h"
#include "chickenseg/core/python_env.h"
#include "chickenseg/data/dataset_version.h"

namespace chickenseg {

namespace fs = std::filesystem;

namespace {

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// The git work tree holding `folder`, or nullopt (no git, or not inside a repository).
std::optional<fs::path> git_top(const fs::path& folder) {
    CommandResult r = run_command({"git", "-C", folder.string(), "rev-parse", "--show-toplevel"}, Capture::all);
    if (r.exit_code != 0) return std::nullopt;
    return fs::path(trimmed(r.output));
}

std::string run_git(const fs::path& top, std::vector<std::string> args, const std::string& what) {
    args.insert(args.begin(), {"git", "-C", top.string()});
    CommandResult r = run_command(args, Capture::all);
    if (r.exit_code != 0)
        throw Error(what + " failed in " + top.string() + " (exit " + std::to_string(r.exit_code) +
                    "): " + trimmed(r.output) + "; the version record is written, the tag is not");
    return trimmed(r.output);
}

// The files this version consists of, relative to the git top: only these are committed.
std::vector<std::string> version_files(const DatasetVersion& v, const fs::path& top) {
    std::vector<fs::path> files{v.record_path};
    if (v.method == "manifest") files.push_back(v.manifest_path);
    for (const auto& out : v.outputs) {
        files.push_back(v.dvc_root / out.dvc_file);
        files.push_back((v.dvc_root / out.path).parent_path() / ".gitignore");  // DVC lists the data there
    }
    if (!v.dvc_root.empty())
        for (const char* f : {".dvc/config", ".dvc/.gitignore", ".dvcignore"}) files.push_back(v.dvc_root / f);
    std::vector<std::string> rel;
    std::error_code ec;
    const fs::path canonical_top = fs::weakly_canonical(top);
    for (const auto& f : files) {
        if (!fs::exists(f, ec)) continue;
        std::string r = fs::weakly_canonical(fs::absolute(f)).lexically_relative(canonical_top).generic_string();
        if (!r.empty() && r.rfind("..", 0) != 0 && std::find(rel.begin(), rel.end(), r) == rel.end()) rel.push_back(r);
    }
    return rel;
}

}  // namespace

void check_dataset_tag(const std::string& tag, const fs::path& record_dir) {
    // git's ref rules, narrowed to what reads well in a file name too.
    static const std::regex kTag("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    if (!std::regex_match(tag, kTag) || tag.find("..") != std::string::npos || tag.ends_with(".lock") ||
        tag.ends_with("."))
        throw Error(
            "--tag: expected a name such as v1.1 (letters, digits, '.', '_', '-'; at most 100 characters, "
            "starting with a letter or digit), found '" +
            tag + "'");
    if (auto top = git_top(record_dir)) {
        CommandResult r =
            run_command({"git", "-C", top->string(), "rev-parse", "-q", "--verify", "refs/tags/" + tag}, Capture::all);
        if (r.exit_code == 0)
            throw Error("--tag " + tag + ": the tag already exists in the git repository " + top->string() +
                        " (a version name is given once; choose the next one)");
    }
}

std::string commit_and_tag_version(const std::string& tag, const DatasetVersion& v, const fs::path& record_dir) {
    std::optional<fs::path> top = git_top(record_dir);
    if (!top) return "";
    std::vector<std::string> files = version_files(v, *top);
    std::vector<std::string> add{"add", "--"};
    add.insert(add.end(), files.begin(), files.end());
    run_git(*top, add, "git add");
    std::vector<std::string> commit{"commit",
                                    "--quiet",
                                    "--allow-empty",
                                    "-m",
                                    "chickenseg data version " + tag + " (" + v.version_id.substr(0, 12) + ")",
                                    "--"};
    commit.insert(commit.end(), files.begin(), files.end());
    run_git(*top, commit, "git commit");
    run_git(*top, {"tag", "-a", tag, "-m", "dataset version " + v.version_id + " (" + v.method + ")"}, "git tag");
    return run_git(*top, {"rev-parse", "HEAD"}, "git rev-parse");
}

}  // namespace chickenseg
