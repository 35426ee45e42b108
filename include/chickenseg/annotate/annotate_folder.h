// The folder being annotated (what `chickenseg mine` writes: images with a LabelMe file beside
// each): which images it holds, where each one's LabelMe file is, which paths a request may
// name, and the saves.
//
// Paths: a request names an image by its path relative to the folder ('/' separators). Only
// the images found when the folder was opened can be named; a path that is absolute, holds a
// "..", "." or empty component, a backslash or a NUL, or that leads out of the folder through
// a symbolic link (the image or its LabelMe file) is refused (RequestError 403) before any
// file is touched.
//
// Saves: atomic (write_labelme_file writes a temporary file and renames it), and one at a time
// per image (a lock per file), so two annotators saving the same image leave one whole file,
// the later save's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chickenseg/annotate/annotation.h"
#include "chickenseg/core/error.h"

namespace chickenseg {

// A request that cannot be served, with the HTTP status that says why (400 bad request,
// 403 refused path, 404 unknown image, 409 a file that cannot be edited here).
class RequestError : public Error {
public:
    RequestError(int status, std::string message) : Error(std::move(message)), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

struct AnnotateImage {
    std::string file;     // relative to the folder, '/' separators
    std::string labelme;  // its LabelMe file, relative likewise
    uint32_t width = 0;   // upright (EXIF orientation applied); 0 when the header is unreadable
    uint32_t height = 0;
    bool reviewed = false;  // saved by an annotator (kReviewedFlag)
    bool negative = false;  // confirmed "no <concept>" (kNegativeFlag)
};

class AnnotateFolder {
public:
    // Lists the images (recursive, sorted, hidden entries skipped), finds each one's LabelMe
    // file (mined.jsonl's name where `chickenseg mine` recorded one, else <stem>.json beside it,
    // or <name>.json when two images share a stem) and reads its flags. Throws Error when the
    // folder holds no image.
    explicit AnnotateFolder(const std::filesystem::path& root);

    const std::filesystem::path& root() const { return root_; }
    std::vector<AnnotateImage> images() const;  // a snapshot, in folder order
    size_t reviewed_count() const;

    // The listed image a request names, checked as above; throws RequestError.
    AnnotateImage image(const std::string& file) const;
    std::filesystem::path image_path(const AnnotateImage& image) const;

    Annotation read(const std::string& file) const;
    // Checks and writes what the page sent (annotation_from_json), under the file's lock.
    AnnotateImage save(const std::string& file, const json& body);

private:
    std::filesystem::path checked_path(const std::string& relative) const;
    std::shared_ptr<std::mutex> file_lock(const std::string& file);

    std::filesystem::path root_;
    std::filesystem::path canonical_root_;
    mutable std::mutex mutex_;  // images_'s flags and locks_
    std::vector<AnnotateImage> images_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

}  // namespace chickenseg
