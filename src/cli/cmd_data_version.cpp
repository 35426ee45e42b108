// `chickenseg data version`: records the dataset with DVC, or a content manifest.
#include <cstdio>

#include "chickenseg/data/dataset_version.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

struct VersionOptions {
    std::vector<std::string> datasets;
    std::string image_root, remote, tag;
    bool no_dvc = false;
};

int run_version(const VersionOptions& o) {
    VersionParams params;
    for (const auto& d : o.datasets) params.datasets.emplace_back(d);
    params.image_root = o.image_root;
    params.remote = o.remote;
    params.use_dvc = !o.no_dvc;
    params.tag = o.tag;
    DatasetVersion v = version_dataset(params);
    if (global_options().json) {
        print_json(dataset_version_to_json(v));
        return 0;
    }
    if (v.method == "manifest") {
        std::printf("content manifest (%s): %zu dataset file(s), %zu image(s)\n", v.why_manifest.c_str(),
                    v.dataset_files, v.image_files);
        std::printf("  manifest  %s\n", v.manifest_path.c_str());
    } else {
        std::printf("recorded with DVC in %s%s\n", v.dvc_root.c_str(),
                    v.dvc_initialised ? (" (dvc init: " + v.dvc_init_mode + ")").c_str() : "");
        std::printf("  remote    %s\n", v.remote.c_str());
        for (const auto& out : v.outputs) std::printf("  md5       %-40s %s\n", out.md5.c_str(), out.path.c_str());
        if (v.dvc_init_mode != "no-scm")
            std::printf("  commit the .dvc files (and .gitignore changes) with git to keep this version\n");
    }
    std::printf("  record    %s\n", v.record_path.c_str());
    std::printf("version_id %s\n", v.version_id.c_str());
    if (!v.tag.empty())
        std::printf("tag        %s%s\n", v.tag.c_str(),
                    v.git_commit.empty() ? " (in the record; no git repository here to tag)"
                                         : (" (git commit " + v.git_commit.substr(0, 12) + ", tagged)").c_str());
    return 0;
}

const CommandRegistrar kRegistrar({
    "data",
    "version",
    "Record a dataset version (DVC add + push, or a SHA-256 content manifest) and print its id",
    70,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<VersionOptions>();
        cmd.add_option("--dataset", o->datasets, "SA-Co dataset JSON (repeat for several)")->required();
        cmd.add_option("--image-root", o->image_root, "Folder the datasets' file_names are relative to")->required();
        cmd.add_option("--remote", o->remote,
                       "DVC remote (folder or URL such as s3://bucket/path); default: the repository's "
                       "default remote, else <dvc root>/.dvc-storage");
        cmd.add_option("--tag", o->tag,
                       "Name this version (e.g. v1.1): written into the record; in a git repository the "
                       "version's files are committed and the commit tagged");
        cmd.add_flag("--no-dvc", o->no_dvc, "Write the content manifest even when DVC is installed");
        return [o] { return run_version(*o); };
    },
});

}  // namespace
}  // namespace chickenseg::cli
