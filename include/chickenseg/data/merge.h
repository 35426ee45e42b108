// Appending a newly converted batch to an existing SA-Co dataset. The base's
// records come out byte-for-byte as they went in, and the batch's images and
// annotations follow with ids continuing after the base's largest. Images are
// compared by content (SHA-256 of the file bytes), so a photo that is already in
// the dataset is not added twice, whatever its name, and merging the same batch
// again adds nothing. The one exception is `replace`, for corrections: a batch
// image already in the base takes the place of its record there (annotations and
// flags; the base's id and file_name stay), so a re-annotated image is corrected,
// not duplicated, and one confirmed as "no chicken" becomes a negative.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {

enum class DuplicatePolicy { skip, error, replace };
const char* duplicate_policy_name(DuplicatePolicy policy);  // "skip" / "error" / "replace"
// "skip" / "error" / "replace"; throws Error for anything else.
DuplicatePolicy parse_duplicate_policy(const std::string& text);

struct MergeParams {
    // Folder the base's file_names are relative to; also the one root of the output.
    std::filesystem::path image_root;
    // Folder the batch's file_names are relative to; empty = image_root.
    std::filesystem::path add_image_root;
    // What an image of the batch whose content is already present does.
    DuplicatePolicy on_duplicate = DuplicatePolicy::skip;
};

// A batch image that was not added because the same bytes are already present
// (in the base, or earlier in the same batch).
struct MergeDuplicate {
    int64_t add_image_id = 0;
    std::string add_file_name;     // as written in the batch
    int64_t matched_image_id = 0;  // id in the merged output (a base id, or a newly added one)
    std::string matched_file_name;
    bool matched_in_base = true;  // false: a duplicate inside the batch itself
    std::string sha256;
    size_t annotations_skipped = 0;
};

struct MergeSummary {
    size_t base_images = 0;
    size_t base_annotations = 0;
    size_t batch_images = 0;
    size_t batch_annotations = 0;
    size_t added_images = 0;
    size_t added_annotations = 0;
    size_t added_positives = 0;
    size_t added_negatives = 0;
    size_t skipped_images = 0;
    size_t skipped_annotations = 0;
    size_t replaced_images = 0;        // base images whose record the batch replaced (replace)
    size_t replaced_annotations = 0;   // their base annotations, removed
    size_t replacing_annotations = 0;  // the batch's annotations that took their place
    size_t renamed_file_names = 0;     // batch file_names rewritten to be relative to image_root
    int64_t first_new_image_id = 0;    // 0 when nothing was added
    int64_t first_new_annotation_id = 0;
    std::vector<MergeDuplicate> duplicates;
    std::vector<std::string> warnings;
};

struct MergeResult {
    SacoDataset merged;
    MergeSummary summary;
};

// Merges `batch` (read from batch_file) into `base` (read from base_file); the
// file names are used in errors. Throws Error, naming the file and JSON path,
// when:
//  - the concept differs: a batch image's text_input, or the categories (id and name);
//  - an image file cannot be read under its root;
//  - a batch image lies outside image_root (its file_name cannot be made relative to it);
//  - a batch image's (rewritten) file_name equals one already present whose bytes differ;
//  - a batch annotation names an image id the batch does not have;
//  - on_duplicate is error and a duplicate is found (all duplicates are listed);
//  - on_duplicate is replace and the batch holds the same image twice (which one is the
//    correction?).
MergeResult merge_saco(const SacoDataset& base, const std::string& base_file, const SacoDataset& batch,
                       const std::string& batch_file, const MergeParams& params);

// Reads both files, merges, writes `out` atomically (deterministic bytes). The
// image roots default as the CLI documents: image_root empty -> the base file's
// folder. Throws Error when `out` is one of the inputs (inputs are never modified).
MergeSummary merge_saco_files(const std::filesystem::path& base, const std::filesystem::path& batch,
                              const std::filesystem::path& out, MergeParams params);

// Annotations in the merged output (replace swaps some of the base's).
size_t merged_annotation_count(const MergeSummary& s);
json merge_summary_to_json(const MergeSummary& s);

}  // namespace chickenseg
