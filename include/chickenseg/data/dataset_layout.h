// Where the images and label files of a dataset folder are, and which label
// file belongs to which image (by name: the same stem). Supported layouts:
//   root/images/chicken/a.jpg  + root/labels/chicken/a.json   (mirrored folders)
//   root/images/chicken/a.jpg  + root/labels/a.json           (flat labels/)
//   root/photos/a.jpg          + root/photos/a.json           (label beside its image)
//   root/images/train/a.jpg    + root/labels/train/a.txt      (YOLO)
// "images" is the last folder of that name in the image's path; labels/ is its sibling.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/diagnostics.h"

namespace chickenseg {

// .jpg .jpeg .png .bmp .gif .webp .tif .tiff, any case. Only used to find the
// files; the format itself is always read from the bytes.
bool has_image_extension(const std::filesystem::path& path);

struct DatasetFolder {
    std::filesystem::path root;
    std::vector<std::string> images;       // relative to root, '/' separators, sorted bytewise
    std::vector<std::string> label_files;  // likewise
    // How messages name a file: the root as the user gave it, then the relative path.
    std::string display(const std::string& relative) const;
};

// Walks `root` recursively, in sorted order. Skips hidden entries (names
// starting with '.'), the paths in `skip` (the output file, the class-names
// file, ...) and everything under a skipped folder. Label files are those
// ending in `label_extension` (".json" or ".txt"); for ".txt", classes.txt and
// readme/license texts are not labels. Throws Error when root is not a folder.
DatasetFolder scan_dataset_folder(const std::filesystem::path& root, const std::string& label_extension,
                                  const std::vector<std::filesystem::path>& skip = {});

// The label files an image may have, most specific first: mirrored under
// labels/, flat under labels/, beside the image. Relative paths, '/' separators.
std::vector<std::string> label_file_candidates(const std::string& image, const std::string& label_extension);

struct StemPairing {
    // For each DatasetFolder::images[i], the index into label_files of its label file.
    std::vector<std::optional<size_t>> label_of_image;
    // For each label file, the images that match it by name (usually 0 or 1).
    std::vector<std::vector<size_t>> images_of_label;
};

// Pairs images with label files by stem. Errors added: an image matching two
// label files (e.g. labels/a.txt and one beside it); a label file matched by
// two images (a.jpg and a.png). Label files matched by no image are left for
// the caller (YOLO: an error; LabelMe: its imagePath decides).
StemPairing pair_by_stem(const DatasetFolder& folder, const std::string& label_extension, Diagnostics& diagnostics);

}  // namespace chickenseg
