// A strict, allocation-free JSON scanner for the fast paths of the large readers
// (SA-Co ground truth, COCO results lists). It accepts a subset of JSON exactly as
// the grammar says and throws JsonScanner::GiveUp on anything else (a syntax error,
// a \u escape, an integer beyond 2^53, ...): the caller then hands the whole text to
// the general reader (nlohmann), which either accepts it or names the error with its
// line. So a fast path never decides what is an error, only what is easy.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace chickenseg {

class JsonScanner {
public:
    // Thrown to give up: the caller catches it and hands the text to the general reader.
    struct GiveUp {};

    explicit JsonScanner(std::string_view text, size_t start = 0) : s_(text), i_(start) {}
    size_t position() const { return i_; }

    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    bool at_end() {
        ws();
        return i_ == s_.size();
    }
    char peek() {
        ws();
        if (i_ >= s_.size()) throw GiveUp{};
        return s_[i_];
    }
    void expect(char c) {
        if (peek() != c) throw GiveUp{};
        ++i_;
    }
    bool consume(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }

    // A JSON string of ASCII characters. Escapes are decoded into `scratch` (COCO RLE
    // strings contain backslashes, which json writers escape); \u escapes, control
    // characters and non-ASCII bytes make us give up.
    std::string_view string(std::string& scratch) {
        expect('"');
        size_t start = i_;
        bool escaped = false;
        for (; i_ < s_.size(); ++i_) {
            unsigned char c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') break;
            // Control characters are errors; bytes >= 0x80 are left to the general
            // reader, which checks that they are valid UTF-8.
            if (c < 0x20 || c >= 0x80) throw GiveUp{};
            if (c == '\\') {
                escaped = true;
                ++i_;
                if (i_ >= s_.size()) throw GiveUp{};
            }
        }
        if (i_ >= s_.size()) throw GiveUp{};
        std::string_view raw = s_.substr(start, i_ - start);
        ++i_;
        if (!escaped) return raw;
        if (!unescape(raw, scratch)) throw GiveUp{};
        return scratch;
    }

    // Decodes the escapes of a string's raw text into `out`; false for \u escapes
    // (left to the general reader) and malformed ones.
    static bool unescape(std::string_view raw, std::string& out) {
        out.clear();
        out.reserve(raw.size());
        for (size_t k = 0; k < raw.size(); ++k) {
            // Copy the run up to the next backslash in one append, not byte by byte.
            size_t backslash = raw.find('\\', k);
            if (backslash == std::string_view::npos) {
                out.append(raw.substr(k));
                break;
            }
            out.append(raw.substr(k, backslash - k));
            k = backslash + 1;
            if (k >= raw.size()) return false;
            switch (raw[k]) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    // A JSON string as written (escapes not decoded); `escaped` tells whether it has any.
    // Control characters are not looked for here: only for callers that check every
    // character themselves (the RLE decoder rejects every byte outside 48..111).
    std::string_view raw_string(bool& escaped) {
        expect('"');
        size_t start = i_;
        escaped = false;
        for (;;) {
            i_ = find_quote_or_backslash(i_);
            if (i_ >= s_.size()) throw GiveUp{};
            if (s_[i_] == '"') break;
            escaped = true;
            i_ += 2;  // the backslash and what it escapes
        }
        std::string_view raw = s_.substr(start, i_ - start);
        ++i_;
        return raw;
    }

    // A JSON number, checked against the JSON grammar (from_chars alone would also
    // take "inf", "nan" or "1."). `is_integer` tells whether it had no fraction/exponent.
    double number(bool* is_integer = nullptr) {
        ws();
        size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ >= s_.size()) throw GiveUp{};
        if (s_[i_] == '0') {
            ++i_;
        } else if (s_[i_] >= '1' && s_[i_] <= '9') {
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        } else {
            throw GiveUp{};
        }
        bool integer = true;
        if (i_ < s_.size() && s_[i_] == '.') {
            integer = false;
            ++i_;
            size_t d = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            if (i_ == d) throw GiveUp{};
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            integer = false;
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            size_t d = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            if (i_ == d) throw GiveUp{};
        }
        double v = 0;
        auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + i_, v);
        if (ec != std::errc() || end != s_.data() + i_ || !std::isfinite(v)) throw GiveUp{};
        if (is_integer) *is_integer = integer;
        return v;
    }

    int64_t integer() {
        // Short plain integers (ids, sizes: most numbers in these files) are read
        // digit by digit; anything else goes through number() and its grammar checks.
        ws();
        size_t k = i_;
        bool negative = k < s_.size() && s_[k] == '-';
        k += negative;
        size_t first = k;
        int64_t value = 0;
        while (k < s_.size() && k - first < 15 && s_[k] >= '0' && s_[k] <= '9') value = value * 10 + (s_[k++] - '0');
        bool plain = k > first && (k - first == 1 || s_[first] != '0') &&
                     (k == s_.size() || (s_[k] != '.' && s_[k] != 'e' && s_[k] != 'E' && (s_[k] < '0' || s_[k] > '9')));
        if (plain) {
            i_ = k;
            return negative ? -value : value;
        }
        bool is_int = false;
        double v = number(&is_int);
        // From 2^53 on, a double no longer holds every integer (2^53 + 1 reads as 2^53):
        // leave those to the general reader.
        if (!is_int || std::fabs(v) >= 9007199254740992.0) throw GiveUp{};
        return static_cast<int64_t>(v);
    }

    // Skips any JSON value and returns its text (for fields kept as they were read:
    // the caller parses that small span with the general parser).
    std::string_view raw_value() {
        ws();
        size_t start = i_;
        skip_value();
        return s_.substr(start, i_ - start);
    }

    // Skips any JSON value (for fields the reader keeps no record of).
    void skip_value(int depth = 0) {
        if (depth > 64) throw GiveUp{};
        std::string scratch;
        char c = peek();
        if (c == '"') {
            string(scratch);
        } else if (c == '{') {
            ++i_;
            if (consume('}')) return;
            do {
                string(scratch);
                expect(':');
                skip_value(depth + 1);
            } while (consume(','));
            expect('}');
        } else if (c == '[') {
            ++i_;
            if (consume(']')) return;
            do skip_value(depth + 1);
            while (consume(','));
            expect(']');
        } else if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 4, "null") == 0) {
            i_ += 4;
        } else if (s_.compare(i_, 5, "false") == 0) {
            i_ += 5;
        } else {
            number();
        }
    }

private:
    // The first '"' or '\\' at or after `i` (s_.size() if none), 16 bytes at a time: one
    // pass over an RLE string instead of a memchr for each (most hold no backslash).
    size_t find_quote_or_backslash(size_t i) const {
        const char* p = s_.data();
        size_t n = s_.size();
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
        for (; i + 16 <= n; i += 16) {
            __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
            auto hits = static_cast<unsigned>(
                _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(c, quote), _mm_cmpeq_epi8(c, backslash))));
            if (hits) return i + static_cast<size_t>(__builtin_ctz(hits));
        }
#endif
        for (; i < n; ++i)
            if (p[i] == '"' || p[i] == '\\') return i;
        return n;
    }

    std::string_view s_;
    size_t i_ = 0;
};

}  // namespace chickenseg
