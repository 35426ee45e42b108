#include "chickenseg/data/dataset_layout.h"

#include <algorithm>
#include <unordered_map>

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Text files that live in YOLO folders without being label files.
bool is_non_label_text(const std::string& filename) {
    std::string name = lower(filename);
    return name == "classes.txt" || name.starts_with("readme") || name.starts_with("license") ||
           name.starts_with("licence");
}

}  // namespace

bool has_image_extension(const fs::path& path) {
    std::string ext = lower(path.extension().string());
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".gif" || ext == ".webp" ||
           ext == ".tif" || ext == ".tiff";
}

std::string DatasetFolder::display(const std::string& relative) const {
    std::string base = root.generic_string();
    if (base.empty() || base == ".") return relative;
    if (base.back() == '/') return base + relative;
    return base + "/" + relative;
}

DatasetFolder scan_dataset_folder(const fs::path& root, const std::string& label_extension,
                                  const std::vector<fs::path>& skip) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw Error("expected a dataset folder", root.string());
    DatasetFolder out;
    out.root = root;
    std::vector<fs::path> skip_abs;
    for (const auto& s : skip)
        if (!s.empty()) skip_abs.push_back(fs::absolute(s).lexically_normal());
    fs::path root_abs = fs::absolute(root).lexically_normal();

    // A folder that cannot be listed is an error, never skipped: its images would be lost
    // without a word. The iterator fails while entering the folder it stands on, so that
    // folder is the one named. A failed increment also leaves the iterator at its end, so the
    // error is checked before the end is.
    auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
    if (ec) throw Error("cannot list folder: " + ec.message(), root.string());
    fs::path last = root;
    for (;; it.increment(ec)) {
        if (ec) throw Error("cannot list folder: " + ec.message(), last.string());
        if (it == fs::recursive_directory_iterator()) break;
        const fs::path& p = it->path();
        last = p;
        std::string name = p.filename().string();
        bool skipped = name.starts_with('.');
        if (!skipped && !skip_abs.empty()) {
            fs::path abs = root_abs / p.lexically_relative(root);
            skipped = std::find(skip_abs.begin(), skip_abs.end(), abs.lexically_normal()) != skip_abs.end();
        }
        if (skipped) {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file(ec)) continue;
        std::string rel = p.lexically_relative(root).generic_string();
        if (has_image_extension(p)) {
            out.images.push_back(std::move(rel));
        } else if (lower(p.extension().string()) == label_extension) {
            if (label_extension == ".txt" && is_non_label_text(name)) continue;
            out.label_files.push_back(std::move(rel));
        }
    }
    std::sort(out.images.begin(), out.images.end());
    std::sort(out.label_files.begin(), out.label_files.end());
    return out;
}

std::vector<std::string> label_file_candidates(const std::string& image, const std::string& label_extension) {
    fs::path p(image);
    std::string stem = p.stem().string();
    std::vector<std::string> dirs;
    for (const auto& part : p.parent_path()) dirs.push_back(part.string());
    auto join = [](const std::vector<std::string>& parts, size_t begin, size_t end) {
        std::string s;
        for (size_t i = begin; i < end; ++i) s += parts[i] + "/";
        return s;
    };
    std::vector<std::string> out;
    auto add = [&](std::string c) {
        if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
    };
    auto images_at = std::find(dirs.rbegin(), dirs.rend(), std::string("images"));
    if (images_at != dirs.rend()) {
        size_t k = static_cast<size_t>(dirs.rend() - images_at) - 1;  // index of "images"
        std::string prefix = join(dirs, 0, k) + "labels/";
        add(prefix + join(dirs, k + 1, dirs.size()) + stem + label_extension);
        add(prefix + stem + label_extension);
    }
    add(join(dirs, 0, dirs.size()) + stem + label_extension);
    return out;
}

StemPairing pair_by_stem(const DatasetFolder& folder, const std::string& label_extension, Diagnostics& diagnostics) {
    StemPairing out;
    out.label_of_image.resize(folder.images.size());
    out.images_of_label.resize(folder.label_files.size());
    std::unordered_map<std::string, size_t> label_index;
    for (size_t i = 0; i < folder.label_files.size(); ++i) label_index.emplace(folder.label_files[i], i);

    for (size_t i = 0; i < folder.images.size(); ++i) {
        std::vector<size_t> found;
        for (const auto& c : label_file_candidates(folder.images[i], label_extension))
            if (auto it = label_index.find(c); it != label_index.end()) found.push_back(it->second);
        if (found.empty()) continue;
        if (found.size() > 1) {
            std::string list;
            for (size_t f : found) list += (list.empty() ? "" : ", ") + folder.display(folder.label_files[f]);
            diagnostics.error("image matches several label files by name: " + list + "; keep one",
                              {folder.display(folder.images[i]), 0, {}});
        }
        out.label_of_image[i] = found.front();
        out.images_of_label[found.front()].push_back(i);
    }
    for (size_t l = 0; l < folder.label_files.size(); ++l) {
        const auto& claimants = out.images_of_label[l];
        if (claimants.size() < 2) continue;
        std::string list;
        for (size_t i : claimants) list += (list.empty() ? "" : ", ") + folder.display(folder.images[i]);
        diagnostics.error("several images share this label file's name: " + list +
                              " (same stem, different extension or folder); rename or remove all but one",
                          {folder.display(folder.label_files[l]), 0, {}});
    }
    return out;
}

}  // namespace chickenseg
