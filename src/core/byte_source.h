// Random access to the bytes of an image without reading it whole: the header
// parsers ask for a few bytes at a time at known offsets (segment headers, the
// last bytes of the file), so a 20 MB photo costs a handful of small reads.
// Private to src/core.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace chickenseg {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    // Copies exactly `n` bytes at `offset` into `dst`; false (nothing copied)
    // when [offset, offset + n) is not inside the source.
    virtual bool read_at(uint64_t offset, uint8_t* dst, size_t n) const = 0;

    // Convenience: the bytes [offset, offset + n) or an empty vector when out of range.
    std::vector<uint8_t> read_vector(uint64_t offset, size_t n) const;
    bool contains(uint64_t offset, uint64_t n) const { return offset <= size() && n <= size() - offset; }
};

class SpanByteSource final : public ByteSource {
public:
    explicit SpanByteSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }
    bool read_at(uint64_t offset, uint8_t* dst, size_t n) const override;

private:
    std::span<const uint8_t> bytes_;
};

// An open file read with pread(). The first kHeadSize bytes are read once at
// open, since nearly every header lies there.
class FileByteSource final : public ByteSource {
public:
    static constexpr size_t kHeadSize = 16 * 1024;
    // Throws Error naming the path when it cannot be opened or is not a regular file.
    explicit FileByteSource(const std::filesystem::path& path);
    ~FileByteSource() override;
    FileByteSource(const FileByteSource&) = delete;
    FileByteSource& operator=(const FileByteSource&) = delete;

    uint64_t size() const override { return size_; }
    bool read_at(uint64_t offset, uint8_t* dst, size_t n) const override;

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
    std::vector<uint8_t> head_;
};

// Byte-order helpers over raw pointers (callers check the bounds).
inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint32_t load_le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
inline uint32_t load_le24(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16); }

}  // namespace chickenseg
