#include "chickenseg/core/base64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace chickenseg {
namespace {

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> as_bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The message of the Error base64_decode throws for `text`, or "" when it succeeds.
std::string decode_error(std::string_view text, const ErrorPlace& place = {}) {
    try {
        base64_decode(text, place);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(Base64, Rfc4648Vectors) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : cases) {
        EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
        EXPECT_EQ(as_string(base64_decode(encoded)), plain);
    }
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
    std::mt19937 rng(1234);
    for (size_t n = 0; n < 300; ++n) {
        std::vector<uint8_t> bytes(n);
        for (auto& b : bytes) b = static_cast<uint8_t>(rng());
        std::string text = base64_encode(bytes);
        EXPECT_EQ(text.size() % 4, 0u);
        EXPECT_EQ(base64_decode(text), bytes) << "length " << n;
    }
    std::vector<uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(base64_decode(base64_encode(all)), all);
    // '+' and '/' are the 62nd and 63rd symbols.
    EXPECT_EQ(base64_encode(std::vector<uint8_t>{0xfb, 0xff}), "+/8=");
}

TEST(Base64, LineBreaksOfMimeEncodersAreAccepted) {
    // Python's base64.encodebytes wraps at 76 characters with "\n"; "\r\n" also occurs.
    EXPECT_EQ(as_string(base64_decode("Zm9v\nYmFy\n")), "foobar");
    EXPECT_EQ(as_string(base64_decode("Zm9v\r\nYmE=\r\n")), "fooba");
}

TEST(Base64, BadCharacterIsAnErrorWithOffsetAndCharacter) {
    std::string e = decode_error("Zm9v YmFy");
    EXPECT_NE(e.find("' ' (0x20) at offset 4"), std::string::npos) << e;
    e = decode_error("Zm9v%mFy");
    EXPECT_NE(e.find("'%' (0x25) at offset 4"), std::string::npos) << e;
    // URL-safe symbols are a different alphabet: rejected, not silently mapped.
    EXPECT_NE(decode_error("Zm9-").find("'-'"), std::string::npos);
    EXPECT_NE(decode_error("Zm9_").find("'_'"), std::string::npos);
    EXPECT_NE(decode_error(std::string("Zm9\x01", 4)).find("byte 0x01 at offset 3"), std::string::npos);
    EXPECT_NE(decode_error("Zm9\t").find("byte 0x09"), std::string::npos);
}

TEST(Base64, PaddingRulesAreStrict) {
    std::string e = decode_error("Zm9vYg");
    EXPECT_NE(e.find("length 6"), std::string::npos) << e;
    EXPECT_NE(e.find("not a multiple of 4"), std::string::npos) << e;
    e = decode_error("Zm==Zm9v");
    EXPECT_NE(e.find("'=' padding at offset 2 is followed by data at offset 4"), std::string::npos) << e;
    e = decode_error("Z===");
    EXPECT_NE(e.find("3 '=' padding characters"), std::string::npos) << e;
    EXPECT_NE(decode_error("====").find("4 '=' padding"), std::string::npos);
    EXPECT_NE(decode_error("Zm9vY").find("length 5"), std::string::npos);
}

TEST(Base64, ErrorNamesTheFileAndField) {
    try {
        base64_decode("ab$d", ErrorPlace{"photos/a.json", 0, "imageData"});
        FAIL() << "expected Error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "photos/a.json");
        EXPECT_EQ(e.place().field, "imageData");
        EXPECT_EQ(std::string(e.what()),
                  "photos/a.json: imageData: invalid base64: '$' (0x24) at offset 2; expected A-Z, "
                  "a-z, 0-9, '+', '/' or '=' padding");
    }
}

}  // namespace
}  // namespace chickenseg
