// The model registry: a JSON file listing every model version the promotion gate
// accepted, each under a tag "<prefix>-v<N>" (production-candidate-v1, -v2, ...).
// Entries are only ever appended: an existing entry (even one this version does not
// understand) is kept byte-for-byte as JSON, and the file is rewritten atomically.
//
// File format (schema "chickenseg.registry/1"):
//   {"schema": "chickenseg.registry/1",
//    "models": [{"name", "tag", "decision", "iou_type",
//                "baseline_metrics": {"file", "sha256", "cgF1"},
//                "candidate_metrics": {"file", "sha256", "cgF1"},
//                "checkpoint" (the promoted checkpoint folder, absolute),
//                "dataset_version" (the version it was trained on),
//                "gate": {...the numbers the gate compared...}}, ...]}
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "chickenseg/core/json_file.h"

namespace chickenseg {

inline constexpr const char* kRegistrySchema = "chickenseg.registry/1";

struct RegistryMetricsRef {
    std::string file;            // path as given on the command line
    std::string sha256;          // of the file's bytes, lower-case hex
    std::optional<double> cgf1;  // x100, as in the metrics file; nullopt when undefined
};

struct RegistryEntry {
    std::string name;  // the model version's name (e.g. a run id)
    std::string tag;   // set by register_model
    std::string decision = "promote";
    std::string iou_type = "segm";
    RegistryMetricsRef baseline;
    RegistryMetricsRef candidate;
    std::optional<std::string> checkpoint;       // the promoted checkpoint folder, absolute
    std::optional<std::string> dataset_version;  // the dataset version it was trained on
    json gate = json::object();                  // the gate's numbers (see compare.h)
};

json registry_entry_to_json(const RegistryEntry& entry);

// The registry document; a missing file reads as an empty registry. Throws Error
// naming the file and JSON path when the file is not a registry (wrong schema,
// "models" not a list, an entry without a string "tag").
json read_model_registry(const std::filesystem::path& path);

// "<prefix>-v<N+1>" where N is the highest version already tagged with that prefix
// (0 when none). Tags of other prefixes do not count. Throws Error when N is the largest
// version number (2^63 - 1): the next would overflow.
std::string next_registry_tag(const json& registry, const std::string& prefix);

struct RegistrationResult {
    std::string tag;
    bool already_registered = false;  // the same name + candidate metrics were tagged before
    json entry;                       // the entry as stored
};

// Appends `entry` under the next tag of `prefix` and rewrites the registry atomically,
// holding an advisory lock (<registry>.lock) so two promotions cannot lose each other's
// entry. Re-registering the same name with the same candidate metrics SHA-256 under the
// same prefix returns the existing entry and leaves the file unchanged (re-running the
// gate does not mint a new version). Throws Error on an invalid name or prefix.
RegistrationResult register_model(const std::filesystem::path& registry_path, const std::string& prefix,
                                  RegistryEntry entry);

}  // namespace chickenseg
