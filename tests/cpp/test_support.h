// Support shared by the C++ test suites: a temporary folder that removes itself,
// and a snapshot of a folder's files (for "same input, same bytes" checks).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <system_error>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"

namespace chickenseg::test {

// The message of the chickenseg::Error `f` throws; "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// A number unique within this process, for temporary names.
inline int next_temp_number() {
    static std::atomic<int> counter{0};
    return counter++;
}

// A folder under the system temp directory, unique per process and instance,
// removed with everything in it on destruction.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("chickenseg_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_temp_number()));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;  // never throw from a destructor
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    // A string, so it concatenates straight into a command line.
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Every file under `dir` with its bytes, keyed by '/'-separated relative path.
inline std::map<std::string, std::string> file_tree(const std::filesystem::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out[std::filesystem::relative(e.path(), dir).generic_string()] = read_file(e.path());
    return out;
}

}  // namespace chickenseg::test
