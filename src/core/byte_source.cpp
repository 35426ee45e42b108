#include "byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "chickenseg/core/error.h"

namespace chickenseg {

std::vector<uint8_t> ByteSource::read_vector(uint64_t offset, size_t n) const {
    std::vector<uint8_t> out(n);
    if (!read_at(offset, out.data(), n)) out.clear();
    return out;
}

bool SpanByteSource::read_at(uint64_t offset, uint8_t* dst, size_t n) const {
    if (!contains(offset, n)) return false;
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
    return true;
}

namespace {

// pread until `n` bytes are in or the file ends; false on a short or failed read.
bool pread_fully(int fd, uint8_t* dst, size_t n, uint64_t offset) {
    while (n > 0) {
        ssize_t got = ::pread(fd, dst, n, static_cast<off_t>(offset));
        if (got < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (got == 0) return false;
        dst += got;
        n -= static_cast<size_t>(got);
        offset += static_cast<uint64_t>(got);
    }
    return true;
}

}  // namespace

FileByteSource::FileByteSource(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error(std::string("cannot open file: ") + std::strerror(errno), path_);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        int err = errno;
        ::close(fd_);
        throw Error(std::string("cannot stat file: ") + std::strerror(err), path_);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw Error(S_ISDIR(st.st_mode) ? "is a folder, expected an image file"
                                        : "is not a regular file, expected an image file",
                    path_);
    }
    size_ = static_cast<uint64_t>(st.st_size);
    head_.resize(static_cast<size_t>(std::min<uint64_t>(size_, kHeadSize)));
    if (!pread_fully(fd_, head_.data(), head_.size(), 0)) {
        int err = errno;
        ::close(fd_);
        throw Error(std::string("read failed: ") + std::strerror(err), path_);
    }
}

FileByteSource::~FileByteSource() {
    if (fd_ >= 0) ::close(fd_);
}

bool FileByteSource::read_at(uint64_t offset, uint8_t* dst, size_t n) const {
    if (!contains(offset, n)) return false;
    if (n == 0) return true;
    if (offset + n <= head_.size()) {
        std::memcpy(dst, head_.data() + offset, n);
        return true;
    }
    // A file that shrank since fstat() reads short: report it as out of range,
    // which the parsers turn into a "truncated image" error.
    return pread_fully(fd_, dst, n, offset);
}

}  // namespace chickenseg
