// Parsers for the texts the doctor reads: /proc/meminfo, driver and CUDA versions.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "chickenseg/core/error.h"
#include "chickenseg/env/doctor.h"

namespace chickenseg {

namespace {

std::string trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

// Leading decimal digits of `s` as a number; nullopt when there are none.
// `consumed` receives how many characters the number took.
std::optional<long long> leading_number(std::string_view s, size_t* consumed = nullptr) {
    long long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr == s.data()) return std::nullopt;
    if (consumed) *consumed = static_cast<size_t>(ptr - s.data());
    return v;
}

}  // namespace

MemInfo parse_meminfo(const std::string& text, const std::string& name) {
    MemInfo info;
    bool have_total = false;
    std::istringstream in(text);
    std::string line;
    long line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        if (key != "MemTotal" && key != "MemAvailable") continue;  // the only keys used
        // "MemTotal:       24683656 kB": the kernel always prints kibibytes.
        std::string value = trim(std::string_view(line).substr(colon + 1));
        size_t digits = 0;
        auto number = leading_number(value, &digits);
        std::string unit = number ? trim(std::string_view(value).substr(digits)) : "";
        if (!number || *number < 0 || unit != "kB")
            throw Error("expected '<number> kB', found '" + value + "'", name, line_no, key);
        uint64_t bytes = static_cast<uint64_t>(*number) * 1024;
        if (key == "MemTotal") {
            info.total_bytes = bytes;
            have_total = true;
        } else {
            info.available_bytes = bytes;
        }
    }
    if (!have_total) throw Error("no MemTotal line", name, 0, "MemTotal");
    return info;
}

std::optional<int> driver_major(const std::string& driver_version) {
    auto n = leading_number(driver_version);
    if (!n || *n <= 0 || *n > 1000000) return std::nullopt;
    return static_cast<int>(*n);
}

std::string cuda_version_string(int v) {
    if (v <= 0) return {};
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string parse_nvcc_version(const std::string& output) {
    // "Cuda compilation tools, release 13.0, V13.0.88": the V-number is the full version.
    auto rel = output.find("release ");
    if (rel == std::string::npos) return {};
    auto line_end = output.find('\n', rel);
    std::string line = output.substr(rel, line_end == std::string::npos ? std::string::npos : line_end - rel);
    auto v = line.find(", V");
    auto take_version = [](std::string_view s) {
        size_t n = 0;
        while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
        return std::string(s.substr(0, n));
    };
    if (v != std::string::npos) {
        std::string full = take_version(std::string_view(line).substr(v + 3));
        if (!full.empty()) return full;
    }
    return take_version(std::string_view(line).substr(8));
}

std::string parse_cuda_version_json(const std::string& text, const std::string& name) {
    json doc = parse_json_text(text, name);
    const json& cuda = require_field(doc, "cuda", "", name);
    return require_string(cuda, "version", "cuda", name);
}

int compare_versions(const std::string& a, const std::string& b) {
    auto parts = [](const std::string& s) {
        std::vector<long long> out;
        std::string_view rest(s);
        while (!rest.empty()) {
            size_t digits = 0;
            auto n = leading_number(rest, &digits);
            if (!n) break;  // "+cpu", "rc1", "dev0": the numeric prefix decides
            out.push_back(*n);
            rest.remove_prefix(digits);
            if (rest.empty() || rest.front() != '.') break;
            rest.remove_prefix(1);
        }
        return out;
    };
    auto pa = parts(a), pb = parts(b);
    size_t n = std::max(pa.size(), pb.size());
    for (size_t i = 0; i < n; ++i) {
        long long x = i < pa.size() ? pa[i] : 0, y = i < pb.size() ? pb[i] : 0;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

}  // namespace chickenseg
