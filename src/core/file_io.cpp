#include "chickenseg/core/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <vector>

#include "chickenseg/core/error.h"

namespace chickenseg {

std::string read_file(const fs::path& path) {
    // An ifstream opens a folder on Linux and reports its size as huge: without this check a
    // folder given for a file was std::bad_alloc, naming nothing.
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw Error("is a folder, expected a file", path.string());
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(std::string("cannot open file: ") + std::strerror(errno), path.string());
    std::string data;
    in.seekg(0, std::ios::end);
    auto size = in.tellg();
    if (size > 0) {
        data.resize(static_cast<size_t>(size));
        in.seekg(0);
        in.read(data.data(), size);
    }
    if (!in && !in.eof()) throw Error("read failed", path.string());
    return data;
}

MappedFile::MappedFile(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(std::string("cannot open file: ") + std::strerror(errno), path.string());
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) {
            map_ = p;
            map_size_ = static_cast<size_t>(st.st_size);
            view_ = std::string_view(static_cast<const char*>(p), map_size_);
        }
    }
    ::close(fd);
    if (!map_) {
        fallback_ = read_file(path);
        view_ = fallback_;
    }
}

MappedFile::~MappedFile() {
    if (map_) ::munmap(map_, map_size_);
}

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The pid in a temporary's name "<target>.tmp.<pid>.<n>", or -1 when the name is not one.
long temporary_pid(const std::string& name) {
    size_t last = name.rfind('.');
    if (last == std::string::npos || !all_digits(std::string_view(name).substr(last + 1))) return -1;
    size_t pid_dot = name.rfind('.', last - 1);
    if (pid_dot == std::string::npos || pid_dot < 5) return -1;
    std::string_view pid = std::string_view(name).substr(pid_dot + 1, last - pid_dot - 1);
    if (!all_digits(pid) || name.compare(pid_dot - 4, 4, ".tmp") != 0) return -1;
    return std::stol(std::string(pid));
}

// Removes the temporaries a killed writer left in `folder` (once per folder and process).
void remove_stale_temporaries(const fs::path& folder) {
    static std::mutex mutex;
    static std::set<fs::path> cleaned;
    {
        std::lock_guard lock(mutex);
        if (!cleaned.insert(folder).second) return;
    }
    const auto now = fs::file_time_type::clock::now();
    std::error_code ec;
    for (auto it = fs::directory_iterator(folder.empty() ? fs::path(".") : folder, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
        long pid = temporary_pid(it->path().filename().string());
        if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
        std::error_code e2;
        if (!it->is_regular_file(e2)) continue;
        auto age = now - it->last_write_time(e2);
        if (e2 || age < std::chrono::seconds(kStaleTemporaryAgeSeconds)) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running (or not ours)
        fs::remove(it->path(), e2);
    }
}

// Writes `content` to a new temporary file beside `path` and flushes it to disk; returns
// its name. On failure nothing is left behind and Error names `path`.
fs::path stage_temporary(const fs::path& path, std::string_view content) {
    std::error_code ec;
    if (path.has_parent_path()) {
        fs::create_directories(path.parent_path(), ec);
        if (ec) throw Error("cannot create folder: " + ec.message(), path.parent_path().string());
    }
    remove_stale_temporaries(path.parent_path());
    std::random_device rd;
    fs::path tmp = path;
    tmp += ".tmp." + std::to_string(getpid()) + "." + std::to_string(rd() % 1000000);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(std::string("cannot create file: ") + std::strerror(errno), tmp.string());
    const char* p = content.data();
    size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw Error(std::string("write failed: ") + std::strerror(err), path.string());
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw Error(std::string("cannot flush file: ") + std::strerror(err), path.string());
    }
    return tmp;
}

}  // namespace

void write_files_atomic(std::span<const FileContent> files) {
    std::vector<fs::path> staged;
    try {
        for (const auto& f : files) staged.push_back(stage_temporary(f.path, f.content));
    } catch (...) {
        for (const auto& tmp : staged) ::unlink(tmp.c_str());
        throw;
    }
    for (size_t i = 0; i < files.size(); ++i) {
        if (::rename(staged[i].c_str(), files[i].path.c_str()) != 0) {
            int err = errno;
            for (size_t k = i; k < staged.size(); ++k) ::unlink(staged[k].c_str());
            std::string done;
            for (size_t k = 0; k < i; ++k) done += (k ? ", " : "") + files[k].path.string();
            throw Error(std::string("cannot rename temporary file into place: ") + std::strerror(err) +
                            (i ? " (already replaced: " + done + ")" : ""),
                        files[i].path.string());
        }
    }
}

void write_file_atomic(const fs::path& path, std::string_view content) {
    FileContent one{path, content};
    write_files_atomic(std::span<const FileContent>(&one, 1));
}

std::optional<fs::path> path_inside_root(const fs::path& root, const std::string& name) {
    fs::path rel(name);
    if (name.empty() || rel.is_absolute() || rel.has_root_name() || rel.has_root_directory()) return std::nullopt;
    fs::path joined = root / rel;
    if (relative_inside(joined, root).empty()) return std::nullopt;
    return joined;
}

std::string relative_inside(const fs::path& path, const fs::path& base) {
    fs::path p = fs::absolute(path).lexically_normal();
    fs::path b = fs::absolute(base).lexically_normal();
    fs::path rel = p.lexically_relative(b);
    if (rel.empty()) return {};
    auto first = rel.begin();
    if (first != rel.end() && *first == "..") return {};
    if (rel == ".") return {};
    return rel.generic_string();
}

}  // namespace chickenseg
