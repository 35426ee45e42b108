// Helpers for the `data convert` tests: a temporary folder that removes
// itself, and small real image files written into it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"

namespace chickenseg::fixtures {

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("chickenseg_convert_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

private:
    std::filesystem::path path_;
};

// A w x h grey image, as PNG (or JPEG) bytes.
inline RgbImage grey_image(uint32_t w, uint32_t h) {
    RgbImage im;
    im.width = w;
    im.height = h;
    im.pixels.assign(static_cast<size_t>(w) * h * 3, 128);
    return im;
}

inline void write_test_png(const std::filesystem::path& path, uint32_t w, uint32_t h) {
    write_png(path, grey_image(w, h));
}

inline void write_test_jpeg(const std::filesystem::path& path, uint32_t w, uint32_t h) {
    write_jpeg(path, grey_image(w, h));
}

inline void write_text(const std::filesystem::path& path, const std::string& text) { write_file_atomic(path, text); }

}  // namespace chickenseg::fixtures
