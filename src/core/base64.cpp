#include "chickenseg/core/base64.h"

#include <array>
#include <cstdio>

namespace chickenseg {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kNotInAlphabet = 0xFF;

constexpr std::array<uint8_t, 256> make_decode_table() {
    std::array<uint8_t, 256> table{};
    for (auto& v : table) v = kNotInAlphabet;
    for (uint8_t i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = i;
    return table;
}
constexpr std::array<uint8_t, 256> kDecodeTable = make_decode_table();

std::string describe_char(char c) {
    char buf[32];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F)
        std::snprintf(buf, sizeof buf, "'%c' (0x%02x)", c, u);
    else
        std::snprintf(buf, sizeof buf, "byte 0x%02x", u);
    return buf;
}

}  // namespace

std::vector<uint8_t> base64_decode(std::string_view text, const ErrorPlace& place) {
    auto fail = [&](const std::string& what) { throw Error("invalid base64: " + what, place); };

    std::vector<uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    uint32_t group = 0;  // up to 4 sextets being assembled
    int group_size = 0;  // sextets in `group`
    size_t symbols = 0;  // characters seen, line breaks excluded
    size_t padding = 0;  // '=' seen so far
    size_t first_pad_offset = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n' || c == '\r') continue;
        ++symbols;
        if (c == '=') {
            if (padding == 0) first_pad_offset = i;
            ++padding;
            continue;
        }
        if (padding > 0)
            fail("'=' padding at offset " + std::to_string(first_pad_offset) + " is followed by data at offset " +
                 std::to_string(i) + "; '=' may only end the text");
        uint8_t v = kDecodeTable[static_cast<unsigned char>(c)];
        if (v == kNotInAlphabet)
            fail(describe_char(c) + " at offset " + std::to_string(i) +
                 "; expected A-Z, a-z, 0-9, '+', '/' or '=' padding");
        group = (group << 6) | v;
        if (++group_size == 4) {
            out.push_back(static_cast<uint8_t>(group >> 16));
            out.push_back(static_cast<uint8_t>(group >> 8));
            out.push_back(static_cast<uint8_t>(group));
            group = 0;
            group_size = 0;
        }
    }
    if (symbols % 4 != 0)
        fail("length " + std::to_string(symbols) +
             " (line breaks not counted) is not a multiple of 4; the text is cut short or "
             "lacks its '=' padding");
    if (padding > 2) fail(std::to_string(padding) + " '=' padding characters; at most 2 allowed");
    // A final group of 2 sextets carries 1 byte, of 3 sextets 2 bytes; `padding`
    // says which, and the length check above ties the two together.
    if (group_size == 2) {
        out.push_back(static_cast<uint8_t>(group >> 4));
    } else if (group_size == 3) {
        out.push_back(static_cast<uint8_t>(group >> 10));
        out.push_back(static_cast<uint8_t>(group >> 2));
    }
    return out;
}

std::string base64_encode(std::span<const uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    size_t rest = bytes.size() - i;
    if (rest == 1) {
        uint32_t v = uint32_t{bytes[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

}  // namespace chickenseg
