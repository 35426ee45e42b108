#include "chickenseg/core/text_format.h"

#include <cstdio>

namespace chickenseg {

std::string format_fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (1..4), its code point in `cp`; 0 when
// the bytes there are not one (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i, char32_t& cp) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    size_t n;
    char32_t min;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    char32_t cp = 0;
    for (size_t i = 0; i < text.size();) {
        size_t n = utf8_sequence(text, i, cp);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string terminal_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    char buf[8];
    char32_t cp = 0;
    for (size_t i = 0; i < text.size();) {
        size_t n = utf8_sequence(text, i, cp);
        if (n == 0 || ((cp < 0x20 || cp == 0x7F) && cp != '\n' && cp != '\t')) {
            std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[i])));
            out += buf;
            i += 1;
        } else if (cp >= 0x80 && cp <= 0x9F) {
            std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(cp));
            out += buf;
            i += n;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

}  // namespace chickenseg
