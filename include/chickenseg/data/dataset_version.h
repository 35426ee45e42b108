// Dataset versions: a short id that names exactly which dataset files and image
// bytes a model was trained and evaluated on, so it can be stored with the model.
// With DVC installed the data is recorded with DVC (init, remote, add, push) and
// the id comes from the md5s DVC records; without it a content manifest (SHA-256
// of every dataset file and every image it references) is written and its own
// SHA-256 is the id. Either way `<dataset>.version.json` records the result.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"

namespace chickenseg {

inline constexpr const char* kManifestSchema = "chickenseg.dataset_manifest/1";
inline constexpr const char* kVersionRecordSchema = "chickenseg.dataset_version/1";

struct VersionParams {
    std::vector<std::filesystem::path> datasets;  // SA-Co JSON files, at least one
    std::filesystem::path image_root;             // the folder their file_names are relative to
    // DVC remote URL or folder (s3://..., /mnt/nas/dvc, ...); empty: the repository's
    // default remote if it has one, else the folder <dvc root>/.dvc-storage.
    std::string remote;
    bool use_dvc = true;  // false: always the manifest
    // A name for this version (e.g. v1.1), written into the record; where the record lies in a
    // git work tree, the version's files are committed and the commit tagged with it. Empty: none.
    std::string tag;
};

// ---------- content manifest ----------

struct ManifestEntry {
    std::string path;  // datasets: relative to the manifest's folder; images: file_name
    std::string sha256;
    uint64_t bytes = 0;
};

struct ContentManifest {
    std::vector<ManifestEntry> datasets;  // sorted by path
    std::vector<ManifestEntry> images;    // every file_name referenced, once, sorted
    // The part the id is computed from: {"datasets", "images", "schema"} (no locations,
    // so moving the data does not change the id).
    json canonical() const;
    // SHA-256 of canonical().dump() (compact, keys sorted).
    std::string version_id() const;
};

// Hashes the datasets and every image they reference (read under image_root).
// Dataset paths are written relative to `manifest_dir`. Throws Error naming the
// dataset file and JSON path when an image cannot be read.
ContentManifest build_content_manifest(const std::vector<std::filesystem::path>& datasets,
                                       const std::filesystem::path& image_root,
                                       const std::filesystem::path& manifest_dir);

// canonical() plus "version_id" and "image_root" (relative to the manifest's folder).
json manifest_to_json(const ContentManifest& m, const std::string& image_root_relative);

// ---------- DVC ----------

// The dvc executable: $CHICKENSEG_DVC, else `dvc` beside project_python() (the
// project virtualenv's bin/), else `dvc` on PATH; nullopt when none is found.
std::optional<std::string> find_dvc();

// A path DVC tracks and the md5 it records in the .dvc file ("....dir" for folders).
struct DvcOutput {
    std::string path;  // relative to the DVC root
    std::string md5;
    std::string dvc_file;  // relative to the DVC root
};

// ---------- the command ----------

struct DatasetVersion {
    std::string method;                   // "dvc" or "manifest"
    std::string version_id;               // 64 hex digits
    std::string why_manifest;             // when method is "manifest": "--no-dvc" or "dvc not found"
    std::filesystem::path record_path;    // <first dataset>.version.json
    std::filesystem::path manifest_path;  // manifest method only
    size_t dataset_files = 0;
    size_t image_files = 0;
    // DVC method only:
    std::filesystem::path dvc_root;
    bool dvc_initialised = false;  // this run ran `dvc init`
    std::string dvc_init_mode;     // "git" (root is the git top level), "subdir", "no-scm"; "" when it existed
    std::string remote;            // the URL pushed to
    std::vector<DvcOutput> outputs;
    // With a tag:
    std::string tag;
    std::string git_commit;  // the tagged commit; empty when the record is not in a git work tree
};

// Records the datasets (see the file comment). Throws Error when a dataset or
// image cannot be read, when a DVC command fails (its output is included), or
// when the image root cannot be tracked by DVC (it must be a strict subfolder
// of the DVC root).
DatasetVersion version_dataset(const VersionParams& params);

json dataset_version_to_json(const DatasetVersion& v);

// --tag: throws Error for a name git or a file system would not take, or one the git
// repository holding `record_dir` already has (checked before any work).
void check_dataset_tag(const std::string& tag, const std::filesystem::path& record_dir);
// Commits the version's files (only those) and tags the commit; returns its hash, or "" when
// `record_dir` is not in a git work tree. Throws Error with git's message when git fails.
std::string commit_and_tag_version(const std::string& tag, const DatasetVersion& v,
                                   const std::filesystem::path& record_dir);

// The record written beside a dataset, read back by later steps (train, export)
// to store the version with a model; nullopt when the dataset has none.
std::optional<json> read_dataset_version_record(const std::filesystem::path& dataset);
std::filesystem::path dataset_version_record_path(const std::filesystem::path& dataset);
std::filesystem::path dataset_manifest_path(const std::filesystem::path& dataset);

}  // namespace chickenseg
