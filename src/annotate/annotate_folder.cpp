#include "chickenseg/annotate/annotate_folder.h"

#include <fstream>
#include <set>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/data/dataset_layout.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;

// The LabelMe files `chickenseg mine` named in its state file (file -> labelme); none when
// the folder was not mined. Lines that are not such records are ignored: the names are only
// a preference, every one is checked like a request's path.
std::map<std::string, std::string> mined_labelme_names(const fs::path& root) {
    std::map<std::string, std::string> names;
    std::ifstream in(root / "mined.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_object() && j.contains("file") && j["file"].is_string() && j.contains("labelme") &&
            j["labelme"].is_string())
            names[j["file"].get<std::string>()] = j["labelme"].get<std::string>();
    }
    return names;
}

std::string stem_json(const std::string& file) {
    const fs::path rel(file);
    const fs::path name = rel.parent_path() / (rel.stem().string() + ".json");
    return name.generic_string();
}

// Whether a LabelMe file says it belongs to the image named `file_name` (its imagePath).
bool labelme_names(const fs::path& labelme, const std::string& file_name) {
    std::error_code ec;
    if (!fs::is_regular_file(labelme, ec)) return false;
    try {
        const json doc = read_json_file(labelme);
        return doc.is_object() && doc.contains("imagePath") && doc["imagePath"].is_string() &&
               fs::path(doc["imagePath"].get<std::string>()).filename() == file_name;
    } catch (const Error&) {
        return false;
    }
}

void read_flags(const fs::path& labelme, AnnotateImage& image) {
    try {
        const json doc = read_json_file(labelme);
        const json flags = doc.is_object() ? doc.value("flags", json::object()) : json::object();
        image.reviewed = flags.is_object() && flags.value(kReviewedFlag, false);
        image.negative = flags.is_object() && flags.value(kNegativeFlag, false);
    } catch (const std::exception&) {
        // A missing or broken file is an image not reviewed yet; opening it says what is wrong.
    }
}

}  // namespace

AnnotateFolder::AnnotateFolder(const fs::path& root) : root_(root) {
    std::error_code ec;
    canonical_root_ = fs::canonical(root, ec);
    if (ec || !fs::is_directory(canonical_root_)) throw Error("not a folder", root.string());
    const DatasetFolder found = scan_dataset_folder(root, ".json");
    if (found.images.empty())
        throw Error("no image files in the folder (looked for .jpg .jpeg .png .bmp .gif .webp .tif .tiff, recursively)",
                    root.string());
    const auto mined = mined_labelme_names(root);
    std::set<std::string> taken;
    for (const auto& file : found.images) {
        AnnotateImage image;
        image.file = file;
        const auto m = mined.find(file);
        const std::string name = fs::path(file).filename().string();
        // <stem>.json unless it belongs to another image (a.jpg beside a.png): then <name>.json.
        std::string labelme = m != mined.end() ? m->second : stem_json(file);
        if (m == mined.end() &&
            (taken.count(labelme) || (fs::exists(root / labelme, ec) && !labelme_names(root / labelme, name))))
            labelme = file + ".json";
        taken.insert(labelme);
        image.labelme = labelme;
        try {
            const ImageInfo info = read_image_info(root / file);
            image.width = info.width;
            image.height = info.height;
        } catch (const Error&) {
            // Listed all the same: opening it shows the error.
        }
        read_flags(root / labelme, image);
        index_[file] = images_.size();
        images_.push_back(std::move(image));
    }
}

std::vector<AnnotateImage> AnnotateFolder::images() const {
    std::lock_guard lock(mutex_);
    return images_;
}

size_t AnnotateFolder::reviewed_count() const {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& im : images_) n += im.reviewed;
    return n;
}

fs::path AnnotateFolder::checked_path(const std::string& relative) const {
    if (relative.empty() || relative.size() > 4096) throw RequestError(403, "refused path: empty or too long");
    if (relative.find('\0') != std::string::npos || relative.find('\\') != std::string::npos)
        throw RequestError(403, "refused path \"" + relative + "\": NUL or backslash");
    if (relative.front() == '/') throw RequestError(403, "refused path \"" + relative + "\": absolute");
    size_t start = 0;
    while (start <= relative.size()) {
        const size_t end = std::min(relative.find('/', start), relative.size());
        const std::string part = relative.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            throw RequestError(403, "refused path \"" + relative + "\": outside the folder or not a plain path");
        start = end + 1;
    }
    // Through symbolic links, the file (or, when it does not exist yet, its folder) must stay inside.
    std::error_code ec;
    const fs::path resolved = fs::weakly_canonical(root_ / relative, ec);
    if (ec || relative_inside(resolved, canonical_root_).empty())
        throw RequestError(403, "refused path \"" + relative + "\": leads outside the folder");
    return root_ / relative;
}

AnnotateImage AnnotateFolder::image(const std::string& file) const {
    checked_path(file);
    std::lock_guard lock(mutex_);
    const auto it = index_.find(file);
    if (it == index_.end()) throw RequestError(404, "no image \"" + file + "\" in the folder");
    return images_[it->second];
}

fs::path AnnotateFolder::image_path(const AnnotateImage& image) const { return checked_path(image.file); }

Annotation AnnotateFolder::read(const std::string& file) const {
    const AnnotateImage im = image(file);
    if (im.width == 0) read_image_info(checked_path(im.file));  // throws the image's own error
    try {
        return read_annotation(checked_path(im.labelme), im.width, im.height);
    } catch (const RequestError&) {
        throw;
    } catch (const Error& e) {
        throw RequestError(409, e.what());
    }
}

std::shared_ptr<std::mutex> AnnotateFolder::file_lock(const std::string& file) {
    std::lock_guard lock(mutex_);
    auto& m = locks_[file];
    if (!m) m = std::make_shared<std::mutex>();
    return m;
}

AnnotateImage AnnotateFolder::save(const std::string& file, const json& body) {
    const AnnotateImage im = image(file);
    if (im.width == 0) read_image_info(checked_path(im.file));
    Annotation a;
    try {
        a = annotation_from_json(body, im.width, im.height);
    } catch (const Error& e) {
        throw RequestError(400, e.what());
    }
    const fs::path image_path = checked_path(im.file), labelme = checked_path(im.labelme);
    {
        const auto lock = file_lock(file);
        std::lock_guard guard(*lock);
        try {
            write_annotation(labelme, image_path, a);
        } catch (const Error& e) {
            // The checks of write_labelme_file (a polygon outside the image, ...) are the request's fault.
            throw RequestError(400, e.what());
        }
    }
    std::lock_guard lock(mutex_);
    AnnotateImage& stored = images_[index_.at(file)];
    stored.reviewed = true;
    stored.negative = a.flags.count(kNegativeFlag) && a.flags.at(kNegativeFlag);
    return stored;
}

}  // namespace chickenseg
