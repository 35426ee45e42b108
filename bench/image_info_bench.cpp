// Speed of read_image_info over a folder of images: how long header reading
// takes for N files (cycling through the folder until N reads are done), the
// target being well under a second for 10,000 files.
//
//   image_info_bench FOLDER [READS=10000]
//
// Prints one table row. The files are in the page cache after the first
// cycle, so this measures our parsing and system-call cost, not the disk.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/core/image.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: image_info_bench FOLDER [READS=10000]\n");
        return 2;
    }
    const long reads = argc == 3 ? std::atol(argv[2]) : 10000;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(argv[1], ec))
        if (entry.is_regular_file()) files.push_back(entry.path());
    if (ec || files.empty() || reads <= 0) {
        std::fprintf(stderr, "image_info_bench: no files under %s\n", argv[1]);
        return 1;
    }
    std::sort(files.begin(), files.end());

    std::map<std::string, long> formats;
    long errors = 0;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < reads; ++i) {
        try {
            const fs::path& file = files[static_cast<size_t>(i) % files.size()];
            chickenseg::ImageInfo info = chickenseg::read_image_info(file);
            ++formats[chickenseg::image_format_name(info.format)];
        } catch (const chickenseg::Error&) {
            ++errors;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::string mix;
    for (const auto& [name, n] : formats) mix += (mix.empty() ? "" : " ") + name + "=" + std::to_string(n);
    std::printf("%-8s %-8s %-10s %-12s %-8s %s\n", "files", "reads", "seconds", "us_per_read", "errors", "formats");
    std::printf("%-8zu %-8ld %-10.3f %-12.1f %-8ld %s\n", files.size(), reads, seconds, seconds * 1e6 / double(reads),
                errors, mix.c_str());
    return 0;
}
