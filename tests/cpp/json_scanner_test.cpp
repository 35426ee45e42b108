// JsonScanner's integers: the digit-by-digit path for short plain integers must read
// exactly what the general number path reads, and give up on the same inputs.
#include "core/json_scanner.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace chickenseg {
namespace {

// The integer at the start of `text` and where the scanner stopped; nullopt on GiveUp.
std::optional<std::pair<int64_t, size_t>> read_integer(const std::string& text) {
    JsonScanner sc(text);
    try {
        int64_t v = sc.integer();
        return std::make_pair(v, sc.position());
    } catch (const JsonScanner::GiveUp&) {
        return std::nullopt;
    }
}

TEST(JsonScanner, IntegersReadAsJsonSays) {
    EXPECT_EQ(read_integer("0"), std::make_pair(int64_t{0}, size_t{1}));
    EXPECT_EQ(read_integer("-0"), std::make_pair(int64_t{0}, size_t{2}));
    EXPECT_EQ(read_integer(" 7,"), std::make_pair(int64_t{7}, size_t{2}));
    EXPECT_EQ(read_integer("-42]"), std::make_pair(int64_t{-42}, size_t{3}));
    EXPECT_EQ(read_integer("123456789012345"), std::make_pair(int64_t{123456789012345}, size_t{15}));
    // Longer ones take the general path, which reads them exactly below 2^53.
    EXPECT_EQ(read_integer("1234567890123456"), std::make_pair(int64_t{1234567890123456}, size_t{16}));
    EXPECT_EQ(read_integer("9007199254740991"), std::make_pair(int64_t{9007199254740991}, size_t{16}));
    EXPECT_EQ(read_integer("-9007199254740991"), std::make_pair(int64_t{-9007199254740991}, size_t{17}));
    // "01" is 0 followed by junk for the caller to refuse, as the general path reads it.
    EXPECT_EQ(read_integer("01"), std::make_pair(int64_t{0}, size_t{1}));
    EXPECT_EQ(read_integer("-01.5"), std::make_pair(int64_t{0}, size_t{2}));
    EXPECT_EQ(read_integer("12x"), std::make_pair(int64_t{12}, size_t{2}));
}

TEST(JsonScanner, NonIntegersGiveUp) {
    // 2^53 + 1 would read as 2^53 through a double: from 2^53 on, the general reader decides.
    for (const char* text : {"9007199254740992", "9007199254740993", "-9007199254740993", "1.0", "1e3", "1E3", "-", "",
                             "+1", ".5", "1.", "x"})
        EXPECT_FALSE(read_integer(text).has_value()) << text;
}

TEST(JsonScanner, RawStringsFindTheirEndAcrossBlocks) {
    // The string's end and escapes at every position around the 16-byte blocks.
    for (size_t len = 0; len < 40; ++len)
        for (size_t at = 0; at <= len; ++at) {
            std::string body(len, 'a');
            if (at < len) body.replace(at, 1, "\\\"");  // an escaped quote: \"
            std::string text = "\"" + body + "\", 1";
            JsonScanner sc(text);
            bool escaped = false;
            std::string_view raw = sc.raw_string(escaped);
            EXPECT_EQ(raw, body);
            EXPECT_EQ(escaped, at < len);
            EXPECT_EQ(sc.position(), body.size() + 2);
        }
    for (const std::string& text : {std::string("\"abc"), std::string("\"abc\\"), "\"" + std::string(33, 'x') + "\\",
                                    "\"" + std::string(40, 'x')}) {
        JsonScanner sc(text);
        bool escaped = false;
        EXPECT_THROW(sc.raw_string(escaped), JsonScanner::GiveUp) << text;
    }
}

}  // namespace
}  // namespace chickenseg
