#include "chickenseg/runtime/predict_job.h"

#include <map>
#include <sstream>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/data/dataset_layout.h"
#include "chickenseg/data/saco.h"

namespace chickenseg {
namespace {

void check_prompts(const std::vector<std::string>& prompts) {
    if (prompts.empty()) throw Error("no prompt to detect (give --prompt, or a package with prompts)");
}

// Pair ids 1, 2, ... in file order, then prompt order.
void assign_pairs(PredictJob& job, const std::vector<std::string>& prompts) {
    int64_t next = 1;
    for (auto& image : job.images)
        for (const auto& p : prompts) image.pairs.push_back({next++, p});
    job.ids_assigned = true;
}

}  // namespace

PredictJob predict_job_from_folder(const std::filesystem::path& folder, const std::vector<std::string>& prompts) {
    check_prompts(prompts);
    DatasetFolder found = scan_dataset_folder(folder, "");
    if (found.images.empty())
        throw Error("no image files in the folder (looked for .jpg .jpeg .png .bmp .gif .webp .tif .tiff, recursively)",
                    folder.string());
    PredictJob job;
    job.image_root = folder;
    for (const auto& rel : found.images) job.images.push_back({rel, folder / rel, 0, 0, {}});
    assign_pairs(job, prompts);
    return job;
}

PredictJob predict_job_from_list(const std::filesystem::path& list, const std::vector<std::string>& prompts) {
    check_prompts(prompts);
    std::istringstream lines(read_file(list));
    PredictJob job;
    job.image_root = list.parent_path();
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        const size_t last = line.find_last_not_of(" \t");
        std::filesystem::path path(line.substr(first, last - first + 1));
        std::filesystem::path where = path.is_absolute() ? path : job.image_root / path;
        std::string rel = relative_inside(where, job.image_root);
        job.images.push_back({rel.empty() ? where.generic_string() : rel, where, 0, 0, {}});
    }
    if (job.images.empty())
        throw Error("the list names no image (one path per line; '#' starts a comment)", list.string());
    assign_pairs(job, prompts);
    return job;
}

PredictJob predict_job_from_dataset(const std::filesystem::path& dataset, const std::filesystem::path& image_root,
                                    const std::string& prompt) {
    SacoDataset ds = read_saco_json(dataset);
    if (ds.images.empty()) throw Error("the dataset has no images", dataset.string(), 0, "images");
    PredictJob job;
    job.image_root = image_root;
    std::map<std::string, size_t> by_file;
    for (size_t i = 0; i < ds.images.size(); ++i) {
        const SacoImage& im = ds.images[i];
        const std::string field = json_index("images", i);
        std::filesystem::path where = image_root / im.file_name;
        if (std::filesystem::path(im.file_name).is_absolute() || relative_inside(where, image_root).empty())
            throw Error("file_name \"" + im.file_name + "\" is outside the image root " + image_root.string(),
                        dataset.string(), 0, field + ".file_name");
        const std::string text = prompt.empty() ? im.text_input : prompt;
        if (text.empty())
            throw Error("no text_input: give the prompt with --prompt", dataset.string(), 0, field + ".text_input");
        auto [it, added] = by_file.emplace(im.file_name, job.images.size());
        if (added) job.images.push_back({im.file_name, where, im.width, im.height, {}});
        PredictImage& image = job.images[it->second];
        if (image.width != im.width || image.height != im.height)
            throw Error("the same file is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                            " in an earlier entry and " + std::to_string(im.width) + "x" + std::to_string(im.height) +
                            " here",
                        dataset.string(), 0, field);
        image.pairs.push_back({im.id, text});
    }
    return job;
}

}  // namespace chickenseg
