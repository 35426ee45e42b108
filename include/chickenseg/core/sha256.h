// SHA-256 (FIPS 180-4), written here rather than taken from OpenSSL because the
// runtime must build on machines that have only header-only libraries. Used for
// the model package manifest (a digest of every file) and dataset versioning.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace chickenseg {

using Sha256Digest = std::array<uint8_t, 32>;

// Which block-compression routine a hasher uses. Both give identical digests;
// kShaNi uses the x86 SHA extensions (several times faster) and kAuto picks it
// when the running CPU has them. Exposed so tests can run both on one machine.
enum class Sha256Backend { kAuto, kPortable, kShaNi };

// True when this build has the SHA-NI routine and the running CPU supports it.
bool sha256_shani_available();

// Streaming hasher: update() any number of times, then finish() once.
class Sha256 {
public:
    Sha256();
    // Throws Error when kShaNi is asked for but sha256_shani_available() is false.
    explicit Sha256(Sha256Backend backend);
    void update(std::span<const uint8_t> bytes);
    void update(std::string_view bytes);
    // Pads, returns the digest. The hasher must not be updated afterwards
    // (doing so throws Error); call reset() to start over.
    Sha256Digest finish();
    void reset();

private:
    void compress(const uint8_t* blocks, size_t count);
    bool use_shani_ = false;
    std::array<uint32_t, 8> state_;
    std::array<uint8_t, 64> block_;
    size_t block_used_ = 0;
    uint64_t total_bytes_ = 0;
    bool finished_ = false;
};

// Lower-case hex, two characters per byte.
std::string to_hex(std::span<const uint8_t> bytes);

// Hex digest of a byte string ("e3b0c442..." for the empty string).
std::string sha256_hex(std::string_view bytes);
// Hex digest of a file's content, read in blocks (never the whole file at once).
// Throws Error naming the file when it cannot be opened or read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace chickenseg
