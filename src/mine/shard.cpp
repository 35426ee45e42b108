#include "chickenseg/mine/shard.h"

#include <charconv>

#include "chickenseg/core/error.h"

namespace chickenseg {

Shard parse_shard(std::string_view text) {
    auto bad = [&]() -> Error {
        return Error("shard \"" + std::string(text) + "\": expected K/N with 1 <= K <= N (e.g. 2/8)");
    };
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) throw bad();
    Shard s;
    auto number = [&](std::string_view part, size_t& v) {
        if (part.empty()) throw bad();
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (ec != std::errc() || end != part.data() + part.size()) throw bad();
    };
    number(text.substr(0, slash), s.index);
    number(text.substr(slash + 1), s.count);
    if (s.count < 1 || s.index < 1 || s.index > s.count) throw bad();
    return s;
}

std::string shard_text(const Shard& s) { return std::to_string(s.index) + "/" + std::to_string(s.count); }

bool in_shard(size_t position, const Shard& s) { return position % s.count == s.index - 1; }

}  // namespace chickenseg
