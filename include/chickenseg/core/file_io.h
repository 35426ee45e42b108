// Reading whole files and writing them atomically: a temporary file in the same
// folder, flushed to disk, then renamed over the target, so a crash or an error
// never leaves a half-written output and never touches the input.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chickenseg {

namespace fs = std::filesystem;

// Throws Error naming the path when the file cannot be read.
std::string read_file(const fs::path& path);

// A whole file, read-only, mapped into memory (a large JSON input is then neither
// copied nor backed by freshly zeroed pages, a measurable part of `eval`). Falls back to
// read_file for what cannot be mapped (an empty file, a pipe). The view is valid as
// long as the object lives.
class MappedFile {
public:
    explicit MappedFile(const fs::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    std::string_view view() const { return view_; }

private:
    void* map_ = nullptr;
    size_t map_size_ = 0;
    std::string fallback_;
    std::string_view view_;
};

// Creates missing parent folders. Throws Error on failure; the target is then unchanged.
// The content goes to `<path>.tmp.<pid>.<n>` first, then is renamed over `path`. Temporaries
// a killed writer left (`*.tmp.<pid>.<n>` whose process no longer runs, older than
// kStaleTemporaryAge) are removed the first time a process writes into their folder.
void write_file_atomic(const fs::path& path, std::string_view content);

// How old a dead writer's temporary must be before it is removed: a writer in another PID
// namespace (whose pid this process cannot see) is given this long to finish.
inline constexpr int kStaleTemporaryAgeSeconds = 600;

struct FileContent {
    fs::path path;
    std::string_view content;
};
// Several outputs that belong together (a train/val split): every file is written and
// flushed to a temporary file first, and only then are they renamed into place, so a
// failure while writing (disk full, a folder that cannot be made) changes no target.
// Renames within a folder do not fail in practice; if one does, the error names the
// files already replaced.
void write_files_atomic(std::span<const FileContent> files);

// Path of `path` relative to `base` with '/' separators, or empty when `path`
// is not inside `base` (after resolving "." and ".." lexically).
std::string relative_inside(const fs::path& path, const fs::path& base);

// root / name when `name` (a dataset's file_name) is a relative path that stays inside `root`
// (lexically); nullopt for an absolute name or one that climbs out ("../x", "a/../../x").
// Every reader of a dataset's image files goes through it: a file_name of "/etc/passwd"
// is refused, never read.
std::optional<fs::path> path_inside_root(const fs::path& root, const std::string& name);

}  // namespace chickenseg
