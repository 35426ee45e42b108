// What `chickenseg predict` runs on: image files, each with the (image id, prompt) pairs to
// detect in it. SA-Co counts one image entry per (image, noun phrase) pair, so a file holds
// several pairs when several prompts are asked of it, all from one vision encoder run.
//
// Three sources: a folder of images (recursive), an SA-Co dataset with its image root (each
// image entry's text_input is its prompt, or one prompt for all), a text file of image paths.
// For a folder or a list the pair ids are made here (1, 2, ... in file order, then prompt
// order) and listed in the presence file, since no dataset names them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace chickenseg {

struct PredictPair {
    int64_t image_id = 0;
    std::string prompt;
};

struct PredictImage {
    std::string file;            // as outputs name it: relative to the image root, '/' separators
    std::filesystem::path path;  // where it is read from
    uint32_t width = 0;          // what the dataset says (checked after decoding); 0: not known
    uint32_t height = 0;
    std::vector<PredictPair> pairs;
};

struct PredictJob {
    std::filesystem::path image_root;  // what `file` is relative to
    std::vector<PredictImage> images;  // in output order
    bool ids_assigned = false;         // ids made here (folder, list), not read from a dataset
};

// Every image file under `folder` (recursive, sorted, hidden entries skipped; a folder that
// cannot be listed is an error), each with one pair per prompt.
PredictJob predict_job_from_folder(const std::filesystem::path& folder, const std::vector<std::string>& prompts);

// One image path per line (relative paths are relative to the list file's folder; blank lines
// and lines starting with '#' are skipped), each with one pair per prompt. A missing file is
// reported when it is read, like any other bad image.
PredictJob predict_job_from_list(const std::filesystem::path& list, const std::vector<std::string>& prompts);

// The images of an SA-Co dataset (file_name relative to `image_root`), grouped by file: each
// image entry is a pair with its id and its text_input, or `prompt` for all when not empty.
// A file_name outside the image root is an Error naming the entry.
PredictJob predict_job_from_dataset(const std::filesystem::path& dataset, const std::filesystem::path& image_root,
                                    const std::string& prompt);

}  // namespace chickenseg
