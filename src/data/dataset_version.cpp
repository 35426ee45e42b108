#include "chickenseg/data/dataset_version.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/python_env.h"
#include "chickenseg/core/sha256.h"

namespace chickenseg {

namespace fs = std::filesystem;

namespace {

// Relative path with '/' separators ("." for the folder itself); may start with "..".
std::string relative_path(const fs::path& path, const fs::path& base) {
    fs::path rel =
        fs::weakly_canonical(fs::absolute(path)).lexically_relative(fs::weakly_canonical(fs::absolute(base)));
    return rel.empty() ? fs::absolute(path).lexically_normal().generic_string() : rel.generic_string();
}

bool strictly_inside(const fs::path& path, const fs::path& folder) {
    std::string rel = relative_inside(path, folder);
    return !rel.empty();
}

json entries_to_json(const std::vector<ManifestEntry>& entries) {
    json a = json::array();
    for (const auto& e : entries) a.push_back({{"path", e.path}, {"sha256", e.sha256}, {"bytes", e.bytes}});
    return a;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    size_t b = s.find_first_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b);
}

bool is_executable(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

json ContentManifest::canonical() const {
    json j;
    j["schema"] = kManifestSchema;
    j["datasets"] = entries_to_json(datasets);
    j["images"] = entries_to_json(images);
    return j;
}

std::string ContentManifest::version_id() const { return sha256_hex(canonical().dump()); }

ContentManifest build_content_manifest(const std::vector<fs::path>& datasets, const fs::path& image_root,
                                       const fs::path& manifest_dir) {
    ContentManifest m;
    std::map<std::string, std::pair<std::string, std::string>> file_names;  // file_name -> (dataset, json path)
    for (const auto& ds : datasets) {
        std::string bytes = read_file(ds);
        m.datasets.push_back({relative_path(ds, manifest_dir), sha256_hex(bytes), bytes.size()});
        json doc = parse_json_text(bytes, ds.string());
        const json& images = require_field(doc, "images", "", ds.string());
        if (!images.is_array()) throw Error("expected a list", ds.string(), 0, "images");
        for (size_t i = 0; i < images.size(); ++i)
            file_names.try_emplace(require_string(images[i], "file_name", json_index("images", i), ds.string()),
                                   ds.string(), json_index("images", i));
    }
    std::sort(m.datasets.begin(), m.datasets.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    Progress progress("hashing images", file_names.size());
    for (const auto& [name, where] : file_names) {
        std::optional<fs::path> inside = path_inside_root(image_root, name);
        if (!inside)
            throw Error("file_name \"" + name + "\" is outside the image root " + image_root.string() +
                            ": expected a path relative to it (not absolute, not climbing out with ..); not read",
                        where.first, 0, json_key(where.second, "file_name"));
        fs::path path = *inside;
        ManifestEntry e;
        e.path = name;
        try {
            e.sha256 = sha256_file_hex(path);
            e.bytes = fs::file_size(path);
        } catch (const std::exception& ex) {
            throw Error("cannot read the image " + path.string() + " (file_name relative to the image root " +
                            image_root.string() + "): " + ex.what(),
                        where.first, 0, json_key(where.second, "file_name"));
        }
        m.images.push_back(std::move(e));  // std::map order: sorted by file_name
        progress.tick();
    }
    return m;
}

json manifest_to_json(const ContentManifest& m, const std::string& image_root_relative) {
    json j = m.canonical();
    j["version_id"] = m.version_id();
    j["image_root"] = image_root_relative;
    return j;
}

std::optional<std::string> find_dvc() {
    if (const char* env = std::getenv("CHICKENSEG_DVC"); env && *env) return std::string(env);
    fs::path python = project_python();
    if (python.has_parent_path()) {
        fs::path beside = python.parent_path() / "dvc";
        if (is_executable(beside)) return beside.string();
    }
    if (const char* path = std::getenv("PATH")) {
        std::string p = path;
        size_t start = 0;
        while (start <= p.size()) {
            size_t end = p.find(':', start);
            if (end == std::string::npos) end = p.size();
            fs::path candidate = fs::path(p.substr(start, end - start)) / "dvc";
            if (end > start && is_executable(candidate)) return candidate.string();
            start = end + 1;
        }
    }
    return std::nullopt;
}

fs::path dataset_version_record_path(const fs::path& dataset) {
    return dataset.parent_path() / (dataset.stem().string() + ".version.json");
}

fs::path dataset_manifest_path(const fs::path& dataset) {
    return dataset.parent_path() / (dataset.stem().string() + ".manifest.json");
}

std::optional<json> read_dataset_version_record(const fs::path& dataset) {
    fs::path p = dataset_version_record_path(dataset);
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    json j = read_json_file(p);
    if (!j.is_object() || j.value("schema", "") != kVersionRecordSchema)
        throw Error(std::string("expected a dataset version record (schema ") + kVersionRecordSchema + ")", p.string());
    return j;
}

namespace {

// Runs dvc with the given arguments inside `root`; throws Error with its output when it fails.
std::string run_dvc(const std::string& dvc, const fs::path& root, std::vector<std::string> args) {
    std::vector<std::string> argv{dvc, "--cd", root.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = run_command(argv);
    if (r.exit_code != 0) {
        std::string cmd = "dvc";
        for (const auto& a : args) cmd += " " + a;
        std::string out = r.output.size() > 4000 ? "..." + r.output.substr(r.output.size() - 4000) : r.output;
        throw Error(cmd +
                    (r.exit_code < 0 ? " could not be started" : " failed (exit " + std::to_string(r.exit_code) + ")") +
                    " in " + root.string() + (out.empty() ? "" : ":\n" + trim(out)));
    }
    return r.output;
}

// Nearest folder holding all of `paths`.
fs::path common_ancestor(const std::vector<fs::path>& paths) {
    fs::path common = paths.front();
    for (const auto& p : paths) {
        fs::path next;
        auto a = common.begin(), b = p.begin();
        for (; a != common.end() && b != p.end() && *a == *b; ++a, ++b) next /= *a;
        common = next;
    }
    return common;
}

// An existing DVC repository at or above `from` (a folder with a .dvc/ folder in it).
std::optional<fs::path> find_dvc_root(fs::path from) {
    std::error_code ec;
    for (;;) {
        if (fs::is_directory(from / ".dvc", ec)) return from;
        if (from == from.root_path() || from.parent_path() == from) return std::nullopt;
        from = from.parent_path();
    }
}

DvcOutput read_dvc_file(const fs::path& root, const std::string& tracked) {
    fs::path file = root / (tracked + ".dvc");
    try {
        YAML::Node doc = YAML::LoadFile(file.string());
        YAML::Node out = doc["outs"][0];
        return {tracked, out["md5"].as<std::string>(), tracked + ".dvc"};
    } catch (const YAML::Exception& e) {
        throw Error(std::string("cannot read the md5 DVC recorded (outs[0].md5): ") + e.what(), file.string());
    }
}

// Adds `lines` to the DVC root's .dvcignore when missing (DVC's own file, created by `dvc init`).
void ensure_dvcignore(const fs::path& root, const std::vector<std::string>& lines) {
    fs::path p = root / ".dvcignore";
    std::error_code ec;
    std::string text = fs::exists(p, ec) ? read_file(p) : std::string();
    std::string added;
    for (const auto& l : lines)
        if (("\n" + text).find("\n" + l + "\n") == std::string::npos) added += l + "\n";
    if (added.empty()) return;
    if (!text.empty() && text.back() != '\n') text += '\n';
    write_file_atomic(p, text + "# chickenseg version records: not data\n" + added);
}

void check_version_params(const VersionParams& params) {
    if (params.datasets.empty()) throw Error("at least one --dataset is needed");
    std::error_code ec;
    for (const auto& d : params.datasets)
        if (!fs::is_regular_file(d, ec)) throw Error("dataset file not found", d.string());
    if (!fs::is_directory(params.image_root, ec)) throw Error("image root is not a folder", params.image_root.string());
}

// Without DVC: a manifest of every file's sha256 beside the first dataset, and the record.
DatasetVersion version_by_manifest(const VersionParams& params, DatasetVersion v, json record,
                                   const fs::path& record_dir) {
    v.method = "manifest";
    v.why_manifest = params.use_dvc ? "dvc not found" : "--no-dvc";
    v.manifest_path = dataset_manifest_path(params.datasets.front());
    ContentManifest m = build_content_manifest(params.datasets, params.image_root, record_dir);
    v.version_id = m.version_id();
    v.dataset_files = m.datasets.size();
    v.image_files = m.images.size();
    write_json_file(v.manifest_path, manifest_to_json(m, relative_path(params.image_root, record_dir)));
    record["method"] = v.method;
    record["version_id"] = v.version_id;
    record["manifest"] = relative_path(v.manifest_path, record_dir);
    write_json_file(v.record_path, record);
    return v;
}

// The DVC repository above the image folder and the datasets; one is created (`dvc init`,
// in the mode the enclosing git repository allows) when there is none.
fs::path open_dvc_repository(const std::string& dvc, const fs::path& image_root, const std::vector<fs::path>& datasets,
                             DatasetVersion& v) {
    // The image folder must be a strict subfolder of the DVC root (DVC cannot track its own root).
    std::vector<fs::path> folders{image_root.parent_path()};
    for (const auto& d : datasets) folders.push_back(d.parent_path());
    if (auto existing = find_dvc_root(common_ancestor(folders))) return *existing;
    fs::path root = common_ancestor(folders);
    CommandResult git = run_command({"git", "-C", root.string(), "rev-parse", "--show-toplevel"});
    std::vector<std::string> init{"init", "--quiet"};
    if (git.exit_code == 0) {
        fs::path top = fs::weakly_canonical(trim(git.output));
        v.dvc_init_mode = top == root ? "git" : "subdir";
        if (top != root) init.push_back("--subdir");
    } else {
        v.dvc_init_mode = "no-scm";
        init.push_back("--no-scm");
    }
    run_dvc(dvc, root, init);
    v.dvc_initialised = true;
    return root;
}

// Remote: the one asked for, else the repository's default, else a local folder; returns
// the remote's name for `dvc push` (v.remote gets its URL for the report).
std::string set_up_remote(const std::string& dvc, const fs::path& root, const VersionParams& params,
                          DatasetVersion& v) {
    if (!params.remote.empty()) {
        std::string url = params.remote;
        if (url.find("://") == std::string::npos) url = fs::absolute(url).lexically_normal().string();
        run_dvc(dvc, root, {"remote", "add", "--default", "--force", "chickenseg", url});
        v.remote = url;
        return "chickenseg";
    }
    CommandResult def = run_command({dvc, "--cd", root.string(), "remote", "default"});
    std::string name = def.exit_code == 0 ? trim(def.output) : "";
    if (name.empty() || name.find(' ') != std::string::npos) {
        fs::path storage = root / ".dvc-storage";
        std::error_code ec;
        fs::create_directories(storage, ec);
        if (ec) throw Error("cannot create the local DVC remote: " + ec.message(), storage.string());
        // Keeps the storage out of git without touching the user's own .gitignore files.
        if (!fs::exists(storage / ".gitignore", ec)) write_file_atomic(storage / ".gitignore", "*\n");
        run_dvc(dvc, root, {"remote", "add", "--default", "--force", "chickenseg", ".dvc-storage"});
        v.remote = storage.string();
        return "chickenseg";
    }
    std::string list = run_dvc(dvc, root, {"remote", "list"});
    v.remote = name;
    size_t pos = ("\n" + list).find("\n" + name + "\t");
    if (pos != std::string::npos) {
        size_t start = pos + name.size() + 1, end = list.find('\n', start);
        v.remote = trim(list.substr(start, end == std::string::npos ? std::string::npos : end - start));
    }
    return name;
}

// Track the image folder and every dataset file not already inside it; returns the paths
// tracked, relative to the DVC root.
std::vector<std::string> track_and_push(const std::string& dvc, const fs::path& root, const fs::path& image_root,
                                        const std::vector<fs::path>& datasets, const std::string& remote_name) {
    std::vector<std::string> tracked{relative_inside(image_root, root)};
    bool dataset_inside_images = false;
    for (const auto& d : datasets) {
        if (strictly_inside(d, image_root)) {
            dataset_inside_images = true;
            continue;
        }
        std::string rel = relative_inside(d, root);
        if (std::find(tracked.begin(), tracked.end(), rel) == tracked.end()) tracked.push_back(rel);
    }
    // A record written inside the tracked image folder must not change the folder's md5.
    if (dataset_inside_images) ensure_dvcignore(root, {"*.version.json", "*.manifest.json"});
    std::vector<std::string> add{"add", "--quiet"};
    add.insert(add.end(), tracked.begin(), tracked.end());
    run_dvc(dvc, root, add);
    run_dvc(dvc, root, {"push", "--quiet", "--remote", remote_name});
    return tracked;
}

// With DVC: the data goes to a DVC remote; the version id is a hash of the md5s DVC
// recorded, so it names the same content whoever computes it.
DatasetVersion version_by_dvc(const VersionParams& params, const std::string& dvc, DatasetVersion v, json record,
                              const fs::path& record_dir) {
    v.method = "dvc";
    fs::path image_root = fs::weakly_canonical(fs::absolute(params.image_root));
    std::vector<fs::path> datasets;
    for (const auto& d : params.datasets) datasets.push_back(fs::weakly_canonical(fs::absolute(d)));
    fs::path root = open_dvc_repository(dvc, image_root, datasets, v);
    v.dvc_root = root;
    if (!strictly_inside(image_root, root))
        throw Error("the image root must be a subfolder of the DVC repository " + root.string() +
                        " (DVC tracks folders inside its repository, never the repository itself)",
                    params.image_root.string());
    std::string remote_name = set_up_remote(dvc, root, params, v);
    std::vector<std::string> tracked = track_and_push(dvc, root, image_root, datasets, remote_name);

    json outs = json::array();
    for (const auto& t : tracked) v.outputs.push_back(read_dvc_file(root, t));
    std::sort(v.outputs.begin(), v.outputs.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    for (const auto& o : v.outputs) outs.push_back({{"path", o.path}, {"md5", o.md5}});
    json canonical = {{"schema", "chickenseg.dvc_version/1"}, {"outs", outs}};
    v.version_id = sha256_hex(canonical.dump());
    v.dataset_files = datasets.size();

    record["method"] = v.method;
    record["version_id"] = v.version_id;
    json dvc_json;
    dvc_json["root"] = relative_path(root, record_dir);
    dvc_json["remote"] = v.remote;
    json dvc_outs = json::array();
    for (const auto& o : v.outputs) dvc_outs.push_back({{"path", o.path}, {"md5", o.md5}, {"dvc_file", o.dvc_file}});
    dvc_json["outs"] = dvc_outs;
    record["dvc"] = dvc_json;
    write_json_file(v.record_path, record);
    return v;
}

}  // namespace

DatasetVersion version_dataset(const VersionParams& params) {
    check_version_params(params);
    // DVC sends usage analytics unless told not to; a farm's data tool should stay quiet.
    ::setenv("DVC_NO_ANALYTICS", "1", 0);

    DatasetVersion v;
    const fs::path& first = params.datasets.front();
    v.record_path = dataset_version_record_path(first);
    fs::path record_dir = first.parent_path().empty() ? fs::path(".") : first.parent_path();
    json record;
    record["schema"] = kVersionRecordSchema;
    json ds_list = json::array();
    for (const auto& d : params.datasets) ds_list.push_back(relative_path(d, record_dir));
    record["datasets"] = ds_list;
    record["image_root"] = relative_path(params.image_root, record_dir);
    if (!params.tag.empty()) {
        check_dataset_tag(params.tag, record_dir);
        record["tag"] = v.tag = params.tag;
    }

    std::optional<std::string> dvc = params.use_dvc ? find_dvc() : std::nullopt;
    v = dvc ? version_by_dvc(params, *dvc, std::move(v), std::move(record), record_dir)
            : version_by_manifest(params, std::move(v), std::move(record), record_dir);
    if (!v.tag.empty()) v.git_commit = commit_and_tag_version(v.tag, v, record_dir);
    return v;
}

json dataset_version_to_json(const DatasetVersion& v) {
    json j;
    j["method"] = v.method;
    j["version_id"] = v.version_id;
    j["record"] = v.record_path.string();
    if (!v.tag.empty()) {
        j["tag"] = v.tag;
        j["git_commit"] = v.git_commit.empty() ? json(nullptr) : json(v.git_commit);
    }
    if (v.method == "manifest") {
        j["why"] = v.why_manifest;
        j["manifest"] = v.manifest_path.string();
        j["dataset_files"] = v.dataset_files;
        j["image_files"] = v.image_files;
    } else {
        j["dvc_root"] = v.dvc_root.string();
        j["dvc_initialised"] = v.dvc_initialised;
        if (v.dvc_initialised) j["dvc_init_mode"] = v.dvc_init_mode;
        j["remote"] = v.remote;
        json outs = json::array();
        for (const auto& o : v.outputs) outs.push_back({{"path", o.path}, {"md5", o.md5}, {"dvc_file", o.dvc_file}});
        j["outputs"] = outs;
    }
    return j;
}

}  // namespace chickenseg
