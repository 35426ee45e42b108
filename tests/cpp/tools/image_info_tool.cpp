// Test helper for tests/python/test_image_info.py: exposes the core image and
// SHA-256 functions to Python, which checks them against PIL and hashlib.
//
//   image_info_tool info PATH...       JSON array: read_image_info of each path
//                                      (or {"path", "error"} when it throws)
//   image_info_tool decode IN OUT.png  decode_image(IN), then write_png(OUT)
//   image_info_tool decode-rgb IN OUT  decode_image(IN), then its RGB bytes as they
//                                      are (row-major, 3 per pixel) to OUT; faster
//                                      to compare than a PNG. Both decode modes print
//                                      {"width", "height"}; an error exits with 1.
//   image_info_tool sha256 PATH...     JSON object: path -> sha256_file_hex
#include <cstdio>
#include <iostream>
#include <string>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/core/sha256.h"

namespace cs = chickenseg;

namespace {

cs::json info_json(const std::string& path) {
    try {
        cs::ImageInfo info = cs::read_image_info(path);
        return {{"path", path},
                {"format", cs::image_format_name(info.format)},
                {"extension", cs::image_format_extension(info.format)},
                {"width", info.width},
                {"height", info.height},
                {"stored_width", info.stored_width},
                {"stored_height", info.stored_height},
                {"exif_orientation", info.exif_orientation},
                {"progressive", info.progressive},
                {"trailing_bytes", info.trailing_bytes}};
    } catch (const cs::Error& e) {
        return {{"path", path}, {"error", e.what()}};
    }
}

int usage() {
    std::cerr << "usage: image_info_tool info PATH... | decode IN OUT.png | decode-rgb IN OUT | sha256 PATH...\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    const std::string mode = argv[1];
    try {
        if (mode == "info") {
            cs::json out = cs::json::array();
            for (int i = 2; i < argc; ++i) out.push_back(info_json(argv[i]));
            std::cout << out.dump(1) << "\n";
            return 0;
        }
        if ((mode == "decode" || mode == "decode-rgb") && argc == 4) {
            cs::RgbImage image = cs::decode_image(argv[2]);
            if (mode == "decode")
                cs::write_png(argv[3], image);
            else
                cs::write_file_atomic(argv[3], std::string(image.pixels.begin(), image.pixels.end()));
            std::cout << cs::json{{"width", image.width}, {"height", image.height}}.dump() << "\n";
            return 0;
        }
        if (mode == "sha256") {
            cs::json out = cs::json::object();
            for (int i = 2; i < argc; ++i) out[argv[i]] = cs::sha256_file_hex(argv[i]);
            std::cout << out.dump(1) << "\n";
            return 0;
        }
    } catch (const cs::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return usage();
}
