// COCO RLE: hand-computed cases, pixel-level reference checks on random masks, and
// error handling. Bit-compatibility with pycocotools itself is checked by
// tests/python/test_rle_pycocotools.py.
#include "chickenseg/core/rle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "chickenseg/core/error.h"
#include "core/rle_decode.h"
#include "core/rle_iou.h"

namespace chickenseg {
namespace {

using Counts = std::vector<uint32_t>;

// Column-major mask from rows written top to bottom, e.g. {"01", "10"}.
std::vector<uint8_t> mask_from_rows(const std::vector<std::string>& rows) {
    uint32_t h = static_cast<uint32_t>(rows.size()), w = static_cast<uint32_t>(rows[0].size());
    std::vector<uint8_t> m(size_t{h} * w);
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) m[size_t{x} * h + y] = rows[y][x] == '1';
    return m;
}

std::vector<uint8_t> random_mask(std::mt19937& rng, uint32_t h, uint32_t w) {
    // Blocky masks (runs of random length) exercise long runs as well as single pixels.
    std::vector<uint8_t> m(size_t{h} * w);
    std::uniform_int_distribution<int> run(1, 7), coin(0, 3);
    uint8_t v = static_cast<uint8_t>(coin(rng) == 0);
    for (size_t i = 0; i < m.size();) {
        int n = run(rng);
        for (int k = 0; k < n && i < m.size(); ++k) m[i++] = v;
        v = static_cast<uint8_t>(coin(rng) == 0 ? v : !v);
    }
    return m;
}

void expect_error_containing(const std::function<void()>& f, const std::string& needle) {
    try {
        f();
        ADD_FAILURE() << "expected an Error containing '" << needle << "'";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(RleEncode, EmptyFullAndOnePixelMasks) {
    EXPECT_EQ(rle_encode(mask_from_rows({"000", "000"}), 2, 3).counts, Counts({6}));
    EXPECT_EQ(rle_encode(mask_from_rows({"11", "11"}), 2, 2).counts, Counts({0, 4}));
    EXPECT_EQ(rle_encode(mask_from_rows({"0"}), 1, 1).counts, Counts({1}));
    EXPECT_EQ(rle_encode(mask_from_rows({"1"}), 1, 1).counts, Counts({0, 1}));
    // Pixel (x=1, y=2) of a 3x2 mask is column-major index 1*3+2 = 5.
    Rle one = rle_encode(mask_from_rows({"00", "00", "01"}), 3, 2);
    EXPECT_EQ(one.counts, Counts({5, 1}));
    EXPECT_EQ(one.h, 3u);
    EXPECT_EQ(one.w, 2u);
}

TEST(RleEncode, ColumnMajorRuns) {
    // Columns: x=0 -> 0,1 ; x=1 -> 1,1 ; x=2 -> 0,0  => 0 | 1 1 1 | 0 0
    EXPECT_EQ(rle_encode(mask_from_rows({"010", "110"}), 2, 3).counts, Counts({1, 3, 2}));
    // Any non-zero byte is foreground.
    std::vector<uint8_t> m = {0, 255, 7, 0};
    EXPECT_EQ(rle_encode(m, 2, 2).counts, Counts({1, 2, 1}));
}

TEST(RleEncode, ZeroSizedMask) {
    Rle r = rle_encode({}, 0, 5);
    EXPECT_EQ(r.counts, Counts({0}));
    EXPECT_EQ(rle_area(r), 0u);
    EXPECT_TRUE(rle_decode(r).empty());
}

TEST(RleEncode, RejectsWrongMaskSize) {
    std::vector<uint8_t> m(5);
    expect_error_containing([&] { rle_encode(m, 2, 3); }, "expected h*w = 6");
}

TEST(RleDecode, RoundTripsRandomMasks) {
    std::mt19937 rng(1);
    for (int i = 0; i < 300; ++i) {
        uint32_t h = 1 + rng() % 12, w = 1 + rng() % 12;
        auto m = random_mask(rng, h, w);
        Rle r = rle_encode(m, h, w);
        EXPECT_EQ(rle_decode(r), m);
        size_t ones = 0;
        for (uint8_t v : m) ones += v;
        EXPECT_EQ(rle_area(r), ones);
        EXPECT_EQ(rle_from_string(rle_to_string(r), h, w), r);
    }
}

TEST(RleDecode, RejectsCountsNotSummingToSize) {
    Rle r{2, 2, {1, 2}};
    expect_error_containing([&] { rle_decode(r); }, "RLE counts sum to 3, expected h*w = 2*2 = 4");
    EXPECT_NO_THROW(rle_check(Rle{2, 2, {1, 2, 1}}));
}

TEST(RleBbox, HandComputed) {
    EXPECT_EQ(rle_to_bbox(Rle{3, 2, {6}}), (BoxXywh{0, 0, 0, 0}));
    EXPECT_EQ(rle_to_bbox(Rle{3, 2, {5, 1}}), (BoxXywh{1, 2, 1, 1}));
    EXPECT_EQ(rle_to_bbox(Rle{2, 2, {0, 4}}), (BoxXywh{0, 0, 2, 2}));
    // Pixels (x=0,y=1) and (x=1,y=0) of a 2x3 mask: one run across a column
    // boundary, so the box covers the full height, as maskApi computes it.
    EXPECT_EQ(rle_to_bbox(Rle{2, 3, {1, 2, 3}}), (BoxXywh{0, 0, 2, 2}));
    // Two separate runs in columns 0 and 2 of a 4x3 mask: rows 1..2 and 0..0.
    auto m = mask_from_rows({"001", "100", "100", "000"});
    EXPECT_EQ(rle_to_bbox(rle_encode(m, 4, 3)), (BoxXywh{0, 0, 3, 3}));
}

TEST(RleBbox, MatchesPixelBoxWhenRunsStayInColumns) {
    std::mt19937 rng(2);
    for (int i = 0; i < 200; ++i) {
        uint32_t h = 2 + rng() % 10, w = 2 + rng() % 10;
        // One foreground rectangle: its runs never cross a column boundary
        // unless it spans the full height.
        uint32_t x0 = rng() % w, y0 = rng() % h;
        uint32_t x1 = x0 + rng() % (w - x0), y1 = y0 + rng() % (h - y0);
        std::vector<uint8_t> m(size_t{h} * w);
        for (uint32_t x = x0; x <= x1; ++x)
            for (uint32_t y = y0; y <= y1; ++y) m[size_t{x} * h + y] = 1;
        BoxXywh want{double(x0), double(y0), double(x1 - x0 + 1), double(y1 - y0 + 1)};
        EXPECT_EQ(rle_to_bbox(rle_encode(m, h, w)), want);
    }
}

TEST(RleString, KnownStrings) {
    EXPECT_EQ(rle_to_string(Rle{2, 3, {6}}), "6");
    EXPECT_EQ(rle_to_string(Rle{2, 2, {0, 4}}), "04");
    // 16 needs a second character: 16 & 0x1f = 16 has the sign bit 0x10, so a
    // continuation (0x20) follows: 48 + 48 = '`', then '0'.
    EXPECT_EQ(rle_to_string(Rle{4, 4, {16}}), "`0");
    // The fourth run is stored as 1 - 2 = -1: five 1-bits, sign set, no continuation: 'O'.
    EXPECT_EQ(rle_to_string(Rle{7, 1, {3, 2, 1, 1}}), "321O");
    EXPECT_EQ(rle_to_string(Rle{0, 0, {}}), "");
}

TEST(RleString, ParsesKnownStrings) {
    EXPECT_EQ(rle_from_string("321O", 7, 1).counts, Counts({3, 2, 1, 1}));
    EXPECT_EQ(rle_from_string("`0", 4, 4).counts, Counts({16}));
    EXPECT_EQ(rle_from_string("", 0, 3).counts, Counts({}));
    // Large runs and deltas both ways survive the round trip, up to 2^32 - 1.
    Rle big{65535, 65537, {4294967295u}};
    EXPECT_EQ(rle_from_string(rle_to_string(big), big.h, big.w), big);
    Rle mixed{100000, 1, {1, 99990, 3, 1, 5}};
    EXPECT_EQ(rle_from_string(rle_to_string(mixed), mixed.h, mixed.w), mixed);
}

TEST(RleString, RejectsMalformedInput) {
    expect_error_containing([] { rle_from_string("3 2", 5, 1); }, "invalid character (byte 32) at offset 1");
    expect_error_containing([] { rle_from_string("3p", 5, 1); }, "invalid character (byte 112) at offset 1");
    expect_error_containing([] { rle_from_string(std::string("3\0", 2), 5, 1); }, "invalid character (byte 0)");
    expect_error_containing([] { rle_from_string("3`", 5, 1); }, "run 1 at offset 1 is truncated");
    // 'O' alone is -1: a negative first run.
    expect_error_containing([] { rle_from_string("O", 5, 1); }, "run 0 at offset 0 decodes to -1");
    // Third run 1, fourth run stored as a delta of -2 from the second (1): -1.
    expect_error_containing([] { rle_from_string("111N", 5, 1); }, "run 3 at offset 3 decodes to -1");
    expect_error_containing([] { rle_from_string("5", 2, 2); }, "counts sum to 5, expected h*w = 2*2 = 4");
    expect_error_containing([] { rle_from_string("````````0", 2, 2); }, "longer than 7 characters");
    // Seven characters hold 35 bits: 2^34 is a valid encoding but not a 32-bit run.
    expect_error_containing([] { rle_from_string("PPPPPP4", 2, 2); }, "expected a run length < 2^32");
}

TEST(RleString, RandomBytesNeverCrash) {
    // Every byte string either decodes to counts summing to h*w or throws Error.
    std::mt19937 rng(3);
    int accepted = 0;
    for (int i = 0; i < 100000; ++i) {
        std::string s(rng() % 12, '\0');
        bool printable = i % 2 == 0;  // half restricted to the valid alphabet
        for (auto& c : s) c = static_cast<char>(printable ? 48 + rng() % 64 : rng() % 256);
        uint32_t h = rng() % 40, w = rng() % 40;
        try {
            Rle r = rle_from_string(s, h, w);
            EXPECT_NO_THROW(rle_check(r));
            EXPECT_EQ(rle_decode(r).size(), size_t{h} * w);
            ++accepted;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("malformed RLE counts"), std::string::npos) << e.what();
        }
    }
    EXPECT_GT(accepted, 0);
}

TEST(RleString, CheckAndDecodeAgree) {
    // rle_check_string (validation only) accepts exactly what rle_from_string accepts,
    // with the same message; multi-character runs (large deltas) are included.
    std::mt19937 rng(5);
    int accepted = 0;
    for (int i = 0; i < 100000; ++i) {
        std::string s(rng() % 14, '\0');
        for (auto& c : s) c = static_cast<char>(i % 3 ? 48 + rng() % 64 : rng() % 256);
        uint32_t h = rng() % 40, w = rng() % 40;
        std::string decode_error, check_error;
        try {
            rle_from_string(s, h, w);
        } catch (const Error& e) {
            decode_error = e.what();
        }
        try {
            rle_check_string(s, h, w);
        } catch (const Error& e) {
            check_error = e.what();
        }
        EXPECT_EQ(decode_error, check_error) << s;
        accepted += decode_error.empty();
    }
    EXPECT_GT(accepted, 0);
    for (uint32_t h : {1u, 1000u, 70000u}) {  // runs of 1 to 4 characters
        std::vector<uint8_t> m(size_t{h} * 3, 0);
        std::fill(m.begin() + h / 3, m.begin() + h + h / 2, 1);
        Rle r = rle_encode(m, h, 3);
        EXPECT_NO_THROW(rle_check_string(rle_to_string(r), h, 3));
        EXPECT_EQ(rle_from_string(rle_to_string(r), h, 3), r);
    }
}

// The SIMD string decoder against the scalar reference (detail::rle_string_decode):
// accept/reject always, and the runs, their sum and the stored values where accepted
// (on a reject the callers re-run the message decoder and drop both). The buffer has
// guard values after the capacity the decoder is allowed to use.
detail::RleStringDecode expect_decoders_agree(std::string_view s) {
    using detail::RleStringDecoder;
    constexpr uint32_t kGuard = 0xDEADBEEF;
    const size_t capacity = detail::rle_string_capacity(s);
    std::vector<uint32_t> want(capacity + 64, kGuard), got(capacity + 64, kGuard);
    auto ref = detail::rle_string_decode(s, want.data(), RleStringDecoder::scalar);
    auto fast = detail::rle_string_decode(s, got.data(), RleStringDecoder::fastest);
    auto ref_check = detail::rle_string_decode(s, nullptr, RleStringDecoder::scalar);
    auto fast_check = detail::rle_string_decode(s, nullptr, RleStringDecoder::fastest);
    EXPECT_EQ(fast.ok, ref.ok) << s;
    EXPECT_EQ(ref_check.ok, ref.ok) << s;
    EXPECT_EQ(fast_check.ok, ref.ok) << s;
    if (ref.ok && fast.ok) {
        EXPECT_EQ(fast.runs, ref.runs) << s;
        EXPECT_EQ(fast.sum, ref.sum) << s;
        EXPECT_EQ(fast_check.runs, ref.runs) << s;
        EXPECT_EQ(fast_check.sum, ref.sum) << s;
        EXPECT_EQ(fast_check.block_chars, fast.block_chars) << s;
        EXPECT_LE(ref.runs, capacity - detail::kRleStoreSlack);
        EXPECT_TRUE(std::equal(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(ref.runs), got.begin())) << s;
    }
    for (size_t i = capacity; i < got.size(); ++i) EXPECT_EQ(got[i], kGuard) << "wrote past the capacity: " << s;
    return fast;
}

bool have_simd() { return std::string(detail::rle_string_simd_name()) != "none"; }

// Appends one stored value (a delta from run 3 on) in COCO's format, in at least
// min_chars characters (a longer encoding than needed still decodes to the same value).
void append_value(std::string& s, int64_t x, int min_chars = 1) {
    for (int n = 1;; ++n) {
        int c = static_cast<int>(x & 0x1f);
        x >>= 5;
        bool more = ((c & 0x10) ? x != -1 : x != 0) || n < min_chars;
        if (more) c |= 0x20;
        s.push_back(static_cast<char>(c + 48));
        if (!more) return;
    }
}

// Realistic masks: unions of ellipses of many sizes, bands that give every column one
// run, and the full and empty masks.
std::vector<uint8_t> blob_mask(std::mt19937& rng, uint32_t h, uint32_t w, int kind) {
    std::vector<uint8_t> m(size_t{h} * w, 0);
    if (kind == 0) return m;
    if (kind == 1) return std::vector<uint8_t>(m.size(), 1);
    if (kind == 2) {  // a horizontal band: one foreground run in every column
        uint32_t y0 = rng() % h, y1 = y0 + rng() % (h - y0);
        for (uint32_t x = 0; x < w; ++x)
            for (uint32_t y = y0; y <= y1; ++y) m[size_t{x} * h + y] = 1;
        return m;
    }
    int blobs = 1 + static_cast<int>(rng() % 4);
    for (int b = 0; b < blobs; ++b) {
        double cx = rng() % w, cy = rng() % h;
        double rx = 1 + rng() % std::max(1u, w / 2), ry = 1 + rng() % std::max(1u, h / 2);
        for (uint32_t x = 0; x < w; ++x)
            for (uint32_t y = 0; y < h; ++y) {
                double u = (x - cx) / rx, v = (y - cy) / ry;
                if (u * u + v * v <= 1) m[size_t{x} * h + y] = 1;
            }
    }
    return m;
}

std::vector<std::string> realistic_strings() {
    std::mt19937 rng(11);
    std::vector<std::string> out;
    for (int i = 0; i < 400; ++i) {
        uint32_t h = 1 + rng() % (i % 4 == 0 ? 2000 : 300), w = 1 + rng() % 160;
        out.push_back(rle_to_string(rle_encode(blob_mask(rng, h, w, i % 7), h, w)));
    }
    return out;
}

TEST(RleStringSimd, MatchesScalarOnRealisticMasks) {
    size_t chars = 0, block_chars = 0;
    for (const auto& s : realistic_strings()) {
        auto r = expect_decoders_agree(s);
        EXPECT_TRUE(r.ok) << s;
        chars += s.size();
        block_chars += r.block_chars;
    }
    if (!have_simd()) GTEST_SKIP() << "no SIMD decoder on this CPU or build; compared scalar with itself";
    // Most characters go through SIMD blocks (the rest: the first three runs, long
    // values that cross a block, short strings).
    EXPECT_GT(block_chars, chars * 8 / 10) << block_chars << " of " << chars;
}

TEST(RleStringSimd, MatchesScalarOnMutatedStrings) {
    std::mt19937 rng(12);
    auto strings = realistic_strings();
    int rejected = 0, accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string s = strings[rng() % strings.size()];
        int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            size_t pos = s.empty() ? 0 : rng() % s.size();
            std::string value;
            switch (rng() % 6) {
                case 0:  // another valid character
                    if (!s.empty()) s[pos] = static_cast<char>(48 + rng() % 64);
                    break;
                case 1:  // any byte
                    if (!s.empty()) s[pos] = static_cast<char>(rng() % 256);
                    break;
                case 2:  // truncate
                    s.resize(pos);
                    break;
                case 3:  // insert a value of 1 to 8 characters
                    append_value(value, static_cast<int64_t>(rng() % 2000) - 1000, 1 + static_cast<int>(rng() % 8));
                    s.insert(pos, value);
                    break;
                case 4:  // a large delta, which may push later runs past 2^32 - 1 or below 0
                    append_value(value, (rng() % 2 ? 1 : -1) * static_cast<int64_t>(rng() % 0x1FFFFFFFFull));
                    s.insert(pos, value);
                    break;
                default:  // a strongly negative one-character delta
                    if (!s.empty()) s[pos] = static_cast<char>(48 + 16 + rng() % 4);
                    break;
            }
        }
        auto r = expect_decoders_agree(s);
        (r.ok ? accepted : rejected)++;
    }
    EXPECT_GT(accepted, 1000);
    EXPECT_GT(rejected, 1000);
}

// Runs written directly: the first three absolute, then deltas.
std::string string_from_runs(const std::vector<int64_t>& runs) {
    std::string s;
    for (size_t i = 0; i < runs.size(); ++i) append_value(s, runs[i] - (i > 2 ? runs[i - 2] : 0));
    return s;
}

TEST(RleStringSimd, RunsBelowZeroAndAbove32BitsAtEveryPosition) {
    std::mt19937 rng(13);
    for (int start : {0, 1, 2, 40, 1000}) {
        // Small runs that drift down: one of them goes negative at position i (every
        // position, so at every lane and block boundary).
        for (size_t i = 3; i < 100; ++i) {
            std::vector<int64_t> runs(110);
            for (size_t j = 0; j < runs.size(); ++j) runs[j] = start + static_cast<int64_t>(rng() % 16);
            runs[i] = (i % 2 ? -1 : -static_cast<int64_t>(rng() % 16) - 1);
            std::string s = string_from_runs(runs);
            EXPECT_FALSE(expect_decoders_agree(s).ok);
            runs[i] = 0;  // and at zero exactly: accepted
            EXPECT_TRUE(expect_decoders_agree(string_from_runs(runs)).ok);
        }
    }
    // Runs close to 2^32 - 1, below and past it at every position, with bases around the
    // SIMD decoder's limits (2^32 - 1 - 120 and - 240).
    const int64_t kMax = 0xFFFFFFFF;
    for (int64_t below : {0, 1, 15, 100, 119, 120, 121, 239, 240, 241, 300, 1000}) {
        for (size_t i = 3; i < 80; ++i) {
            std::vector<int64_t> runs(90);
            for (size_t j = 0; j < runs.size(); ++j) runs[j] = kMax - below + static_cast<int64_t>(rng() % 16) - 15;
            runs[i] = kMax + 1 + static_cast<int64_t>(rng() % 3);
            EXPECT_FALSE(expect_decoders_agree(string_from_runs(runs)).ok);
            runs[i] = kMax;
            EXPECT_TRUE(expect_decoders_agree(string_from_runs(runs)).ok);
        }
        // Random walks of one-character deltas near 2^32 - 1 that may cross it and come
        // back (only the runs in between are over).
        for (int walk = 0; walk < 100; ++walk) {
            std::vector<int64_t> runs;
            for (int j = 0; j < 3; ++j) runs.push_back(kMax - below - static_cast<int64_t>(rng() % 16));
            while (runs.size() < 120) runs.push_back(runs[runs.size() - 2] + static_cast<int64_t>(rng() % 32) - 16);
            expect_decoders_agree(string_from_runs(runs));
        }
        // Runs that climb past 2^32 - 1 by one-character deltas.
        std::vector<int64_t> runs{kMax - below, kMax - below, kMax - below};
        for (int j = 0; j < 200; ++j) runs.push_back(runs[runs.size() - 2] + 15);
        EXPECT_FALSE(expect_decoders_agree(string_from_runs(runs)).ok);
    }
}

TEST(RleStringSimd, ClimbsJustPast32BitsAndBack) {
    // One run chain climbs by 15 per step (the most a one-character delta adds) for as
    // many steps as a block holds per parity (8 for 16 characters, 16 for 32), reaching
    // 2^32 - 1 + over, and comes back down: rejected exactly when over > 0, wherever the
    // climb starts relative to the blocks.
    const int64_t kMax = 0xFFFFFFFF;
    for (int steps : {7, 8, 9, 15, 16, 17}) {
        for (int64_t over : {-1, 0, 1, 5, 15}) {
            for (int offset = 0; offset < 40; ++offset) {
                int64_t start = kMax + over - 15 * steps;
                std::vector<int64_t> runs{start, start, start};
                for (int j = 0; j < offset; ++j) runs.push_back(runs[runs.size() - 2]);
                for (int dir : {15, -15})
                    for (int j = 0; j < steps; ++j) {
                        runs.push_back(runs[runs.size() - 2] + dir);
                        runs.push_back(runs[runs.size() - 2]);
                    }
                for (int j = 0; j < 40; ++j) runs.push_back(runs[runs.size() - 2]);
                EXPECT_EQ(expect_decoders_agree(string_from_runs(runs)).ok, over <= 0);
            }
        }
    }
}

TEST(RleStringSimd, EveryLengthAndMultiCharacterPosition) {
    // One-character deltas around a base of 500, with the first multi-character value
    // (or an invalid byte, or a value cut short by the end) at every position of every
    // length up to 80, so at every lane of every block and in the tail.
    std::mt19937 rng(14);
    int tested = 0;
    for (size_t len = 0; len <= 80; ++len) {
        for (size_t pos = 0; pos <= len + 1; ++pos) {
            for (int variant = 0; variant < 6; ++variant) {
                std::string s = "`?0`?0`?0";  // three runs of 500, as 2-character values
                s.resize(std::min(s.size(), len));
                while (s.size() < len) s.push_back(static_cast<char>(48 + rng() % 32));
                if (pos < len) {
                    std::string value;
                    switch (variant) {
                        case 0:
                            append_value(value, static_cast<int64_t>(rng() % 1000) - 500);
                            break;
                        case 1:
                            append_value(value, static_cast<int64_t>(rng() % 40) - 20, 2 + static_cast<int>(rng() % 6));
                            break;
                        case 2:
                            append_value(value, 0, 8);
                            break;  // too long
                        case 3:
                            value = static_cast<char>(rng() % 2 ? 112 + rng() % 144 : rng() % 48);
                            break;
                        case 4:
                            append_value(value, 1000);
                            value.pop_back();
                            break;  // truncated
                        default:
                            append_value(value, -600);
                            break;  // a negative run
                    }
                    s.replace(pos, std::min(value.size(), len - pos), value);
                    if (variant == 4) s.resize(std::min(s.size(), pos + value.size()));
                }
                expect_decoders_agree(s);
                ++tested;
            }
        }
    }
    EXPECT_GT(tested, 20000);
}

TEST(RleStringSimd, MatchesScalarOnRandomWalks) {
    // Long strings of mostly one-character deltas around a large base, so most are
    // accepted; multi-character and invalid values at random.
    std::mt19937 rng(15);
    int accepted = 0;
    for (int i = 0; i < 5000; ++i) {
        std::string s;
        int64_t base = static_cast<int64_t>(rng() % 3000);
        for (int j = 0; j < 3; ++j) append_value(s, base);
        size_t len = rng() % 300;
        while (s.size() < len) {
            unsigned r = rng() % 1000;
            if (r < 940)
                s.push_back(static_cast<char>(48 + rng() % 32));
            else if (r < 995)
                append_value(s, static_cast<int64_t>(rng() % 200) - 100, 1 + static_cast<int>(rng() % 3));
            else
                s.push_back(static_cast<char>(rng() % 256));
        }
        accepted += expect_decoders_agree(s).ok;
    }
    EXPECT_GT(accepted, 1000);
}

TEST(RleMerge, UnionAndIntersectionMatchPixels) {
    std::mt19937 rng(4);
    for (int i = 0; i < 300; ++i) {
        uint32_t h = 1 + rng() % 9, w = 1 + rng() % 9;
        size_t n = 2 + rng() % 3;
        std::vector<Rle> rles;
        std::vector<uint8_t> uni(size_t{h} * w, 0), inter(size_t{h} * w, 1);
        for (size_t k = 0; k < n; ++k) {
            auto m = random_mask(rng, h, w);
            for (size_t p = 0; p < m.size(); ++p) {
                uni[p] |= m[p];
                inter[p] &= m[p];
            }
            rles.push_back(rle_encode(m, h, w));
        }
        EXPECT_EQ(rle_merge(rles, false), rle_encode(uni, h, w));
        EXPECT_EQ(rle_merge(rles, true), rle_encode(inter, h, w));
    }
}

TEST(RleMerge, EdgeCasesAndErrors) {
    EXPECT_EQ(rle_merge({}, false), Rle{});
    Rle a{2, 2, {1, 2, 1}};
    std::vector<Rle> one{a};
    EXPECT_EQ(rle_merge(one, true), a);
    std::vector<Rle> mismatch{a, Rle{4, 1, {4}}};
    expect_error_containing([&] { rle_merge(mismatch); }, "mask 1 is 4x1, expected the size of mask 0, 2x2");
    std::vector<Rle> bad{a, Rle{2, 2, {1}}};
    expect_error_containing([&] { rle_merge(bad); }, "counts sum to 1");
}

double pixel_iou(const std::vector<uint8_t>& d, const std::vector<uint8_t>& g, bool crowd) {
    uint64_t i = 0, u = 0, ad = 0;
    for (size_t p = 0; p < d.size(); ++p) {
        i += d[p] && g[p];
        u += d[p] || g[p];
        ad += d[p];
    }
    if (i == 0) return 0.0;
    return static_cast<double>(i) / static_cast<double>(crowd ? ad : u);
}

TEST(RleIou, MatchesPixelComputation) {
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
        uint32_t h = 1 + rng() % 10, w = 1 + rng() % 10;
        size_t nd = rng() % 4, ng = rng() % 4;
        std::vector<std::vector<uint8_t>> dm, gm;
        std::vector<Rle> dt, gt;
        std::vector<uint8_t> crowd;
        for (size_t k = 0; k < nd; ++k) {
            dm.push_back(random_mask(rng, h, w));
            dt.push_back(rle_encode(dm.back(), h, w));
        }
        for (size_t k = 0; k < ng; ++k) {
            gm.push_back(random_mask(rng, h, w));
            gt.push_back(rle_encode(gm.back(), h, w));
            crowd.push_back(static_cast<uint8_t>(rng() % 2));
        }
        auto iou = rle_iou(dt, gt, crowd);
        auto iou_no_crowd = rle_iou(dt, gt, {});
        ASSERT_EQ(iou.size(), nd * ng);
        for (size_t d = 0; d < nd; ++d)
            for (size_t g = 0; g < ng; ++g) {
                EXPECT_EQ(iou[d * ng + g], pixel_iou(dm[d], gm[g], crowd[g] != 0));
                EXPECT_EQ(iou_no_crowd[d * ng + g], pixel_iou(dm[d], gm[g], false));
            }
    }
}

TEST(RleIou, HandComputedAndErrors) {
    // 2x2 masks: left column vs top row: intersection 1, union 3; crowd: 1 / area(dt) = 1/2.
    Rle left{2, 2, {0, 2, 2}}, top{2, 2, {0, 1, 1, 1, 1}};
    std::vector<Rle> dt{left}, gt{top};
    EXPECT_EQ(rle_iou(dt, gt, {}), std::vector<double>({1.0 / 3.0}));
    std::vector<uint8_t> crowd{1};
    EXPECT_EQ(rle_iou(dt, gt, crowd), std::vector<double>({0.5}));
    std::vector<Rle> empty{Rle{2, 2, {4}}};
    EXPECT_EQ(rle_iou(empty, empty, {}), std::vector<double>({0.0}));
    std::vector<Rle> other{Rle{1, 4, {4}}};
    expect_error_containing([&] { rle_iou(dt, other, {}); }, "gt mask 0 is 1x4, expected 2x2");
    std::vector<uint8_t> two{0, 1};
    expect_error_containing([&] { rle_iou(dt, gt, two); }, "iscrowd has 2 entries, expected one per GT (1)");
    EXPECT_TRUE(rle_iou({}, gt, {}).empty());
}

// The per-column fast path of rle_iou against the interval merge it replaces (the reference,
// detail::RleIouPath::merge) and against pixels.

// A mask with at most one piece per column: per column empty, full, touching the top or
// the bottom edge, or anywhere, so that runs often cross column boundaries.
std::vector<uint8_t> random_column_mask(std::mt19937& rng, uint32_t h, uint32_t w) {
    std::vector<uint8_t> m(size_t{h} * w);
    for (uint32_t x = 0; x < w; ++x) {
        // Kinds 0..5: empty, full, from the top edge, to the bottom edge, anywhere (twice).
        unsigned kind = rng() % 6;
        uint32_t top = static_cast<uint32_t>(rng() % (h + 1));
        uint32_t bottom = top + static_cast<uint32_t>(rng() % (h - top + 1));
        if (kind == 0) top = bottom = 0;
        if (kind == 1 || kind == 3) bottom = h;
        if (kind == 1 || kind == 2) top = 0;
        std::fill(m.begin() + size_t{x} * h + top, m.begin() + size_t{x} * h + bottom, uint8_t{1});
    }
    return m;
}

// An ellipse centred at (cx, cy) with radii (rx, ry), clipped by the image: one piece per
// column. With `hole`, a smaller ellipse is cut out of it (two pieces in its middle columns).
std::vector<uint8_t> ellipse_mask(uint32_t h, uint32_t w, double cx, double cy, double rx, double ry,
                                  bool hole = false) {
    std::vector<uint8_t> m(size_t{h} * w);
    for (uint32_t x = 0; x < w; ++x)
        for (uint32_t y = 0; y < h; ++y) {
            double dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
            double r2 = dx * dx + dy * dy;
            m[size_t{x} * h + y] = r2 <= 1.0 && !(hole && r2 <= 0.25);
        }
    return m;
}

std::vector<uint8_t> random_ellipse(std::mt19937& rng, uint32_t h, uint32_t w, bool hole = false) {
    // Centres up to a radius outside the image: clipped blobs touch the edges.
    std::uniform_real_distribution<double> u(-0.3, 1.3), r(0.02, 0.8);
    return ellipse_mask(h, w, u(rng) * w, u(rng) * h, r(rng) * w + 0.3, r(rng) * h + 0.3, hole);
}

bool one_piece_per_column(const std::vector<uint8_t>& m, uint32_t h, uint32_t w) {
    for (uint32_t x = 0; x < w; ++x) {
        int pieces = 0;
        for (uint32_t y = 0; y < h; ++y) pieces += m[size_t{x} * h + y] && (y == 0 || !m[size_t{x} * h + y - 1]);
        if (pieces > 1) return false;
    }
    return true;
}

bool share_a_column(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, uint32_t h, uint32_t w) {
    auto first_last = [&](const std::vector<uint8_t>& m) {
        uint32_t lo = w, hi = 0;
        for (uint32_t x = 0; x < w; ++x)
            for (uint32_t y = 0; y < h; ++y)
                if (m[size_t{x} * h + y]) {
                    lo = std::min(lo, x);
                    hi = std::max(hi, x + 1);
                }
        return std::pair{lo, hi};
    };
    auto [a0, a1] = first_last(a);
    auto [b0, b1] = first_last(b);
    return std::max(a0, b0) < std::min(a1, b1);
}

// Runs every path on the masks and checks each IoU against the merge (bit for bit) and the
// pixels; with check_paths, also which path the pairs took: the per-column sums exactly for
// the pairs of two one-piece-per-column masks that share a column. Returns the fastest
// path's pairs.
detail::RleIouPairs expect_paths_agree(const std::vector<std::vector<uint8_t>>& dm,
                                       const std::vector<std::vector<uint8_t>>& gm, uint32_t h, uint32_t w,
                                       const std::vector<uint8_t>& crowd, bool check_paths = true) {
    using detail::RleIouPath;
    std::vector<Rle> dt, gt;
    for (const auto& m : dm) dt.push_back(rle_encode(m, h, w));
    for (const auto& m : gm) gt.push_back(rle_encode(m, h, w));
    std::vector<const Rle*> dp, gp;
    for (const Rle& r : dt) dp.push_back(&r);
    for (const Rle& r : gt) gp.push_back(&r);
    size_t want_column = 0, want_merge = 0;
    for (const auto& d : dm)
        for (const auto& g : gm) {
            if (!share_a_column(d, g, h, w)) continue;
            bool columns = one_piece_per_column(d, h, w) && one_piece_per_column(g, h, w);
            ++(columns ? want_column : want_merge);
        }
    detail::RleIouPairs merge_pairs, portable_pairs, fastest_pairs;
    auto ref = detail::rle_iou_path(dp, gp, crowd, RleIouPath::merge, &merge_pairs);
    auto portable = detail::rle_iou_path(dp, gp, crowd, RleIouPath::portable, &portable_pairs);
    auto fastest = detail::rle_iou_path(dp, gp, crowd, RleIouPath::fastest, &fastest_pairs);
    EXPECT_EQ(merge_pairs.column, 0u);
    EXPECT_EQ(merge_pairs.merge, want_column + want_merge);
    EXPECT_EQ(portable_pairs.column, fastest_pairs.column);
    EXPECT_EQ(portable_pairs.merge, fastest_pairs.merge);
    EXPECT_EQ(fastest_pairs.column + fastest_pairs.merge, want_column + want_merge);
    if (check_paths) {
        EXPECT_EQ(fastest_pairs.column, want_column);
        EXPECT_EQ(fastest_pairs.merge, want_merge);
    }
    EXPECT_EQ(rle_iou(dt, gt, crowd), fastest);  // the public entry point takes the fastest path
    if (ref.size() != dm.size() * gm.size() || portable.size() != ref.size() || fastest.size() != ref.size()) {
        ADD_FAILURE() << "wrong matrix size";
        return fastest_pairs;
    }
    for (size_t d = 0; d < dm.size(); ++d)
        for (size_t g = 0; g < gm.size(); ++g) {
            size_t k = d * gm.size() + g;
            EXPECT_EQ(ref[k], pixel_iou(dm[d], gm[g], !crowd.empty() && crowd[g] != 0)) << h << "x" << w;
            EXPECT_EQ(portable[k], ref[k]) << h << "x" << w << " dt " << d << " gt " << g;
            EXPECT_EQ(fastest[k], ref[k]) << h << "x" << w << " dt " << d << " gt " << g;
        }
    return fastest_pairs;
}

std::vector<uint8_t> random_crowd(std::mt19937& rng, size_t n) {
    std::vector<uint8_t> crowd;
    if (rng() % 3 == 0) return crowd;  // no flags at all
    for (size_t k = 0; k < n; ++k) crowd.push_back(static_cast<uint8_t>(rng() % 2));
    return crowd;
}

TEST(RleIouColumns, SimdName) {
    std::string name = detail::rle_iou_simd_name();
    EXPECT_TRUE(name == "avx2" || name == "none") << name;
    RecordProperty("rle_iou_simd", name);
}

TEST(RleIouColumns, BlobsOfManySizesTakeTheFastPath) {
    std::mt19937 rng(11);
    size_t column_pairs = 0;
    for (int i = 0; i < 300; ++i) {
        // Small images (every corner case), image strips (1xN, Nx1) and larger ones, where
        // the shared columns run past several SIMD blocks.
        uint32_t h = 1 + rng() % (i % 4 == 3 ? 90 : 12), w = 1 + rng() % (i % 4 == 3 ? 90 : 12);
        if (i % 4 == 1) h = 1, w = 1 + rng() % 60;
        if (i % 4 == 2) h = 1 + rng() % 60, w = 1;
        std::vector<std::vector<uint8_t>> dm, gm;
        size_t nd = 1 + rng() % 5, ng = 1 + rng() % 4;
        for (size_t k = 0; k < nd; ++k) dm.push_back(random_ellipse(rng, h, w));
        for (size_t k = 0; k < ng; ++k) gm.push_back(random_ellipse(rng, h, w));
        auto pairs = expect_paths_agree(dm, gm, h, w, random_crowd(rng, ng));
        EXPECT_EQ(pairs.merge, 0u);
        column_pairs += pairs.column;
    }
    EXPECT_GT(column_pairs, 1000u);
}

TEST(RleIouColumns, RunsCrossingColumnBoundaries) {
    // One piece per column, touching the top and bottom edges: runs go from the bottom of
    // column x into the top of x + 1, over full columns, and the whole image.
    std::mt19937 rng(12);
    size_t column_pairs = 0;
    for (int i = 0; i < 400; ++i) {
        uint32_t h = 1 + rng() % (i % 2 ? 5 : 40), w = 1 + rng() % (i % 3 ? 6 : 50);
        std::vector<std::vector<uint8_t>> dm, gm;
        size_t nd = 1 + rng() % 4, ng = 1 + rng() % 4;
        for (size_t k = 0; k < nd; ++k) dm.push_back(random_column_mask(rng, h, w));
        for (size_t k = 0; k < ng; ++k) gm.push_back(random_column_mask(rng, h, w));
        gm.push_back(std::vector<uint8_t>(size_t{h} * w, 1));  // the whole image
        auto pairs = expect_paths_agree(dm, gm, h, w, random_crowd(rng, gm.size()));
        EXPECT_EQ(pairs.merge, 0u);
        column_pairs += pairs.column;
    }
    EXPECT_GT(column_pairs, 1500u);
}

TEST(RleIouColumns, SeveralPiecesInAColumnTakeTheMerge) {
    // Rings and blobs stacked vertically (two pieces in some column) mixed with one-piece
    // masks: every pair with a several-piece mask merges, the others stay per column.
    std::mt19937 rng(13);
    size_t column_pairs = 0, merge_pairs = 0;
    for (int i = 0; i < 200; ++i) {
        uint32_t h = 4 + rng() % 50, w = 1 + rng() % 50;
        auto multi = [&] {
            unsigned kind = rng() % 3;
            if (kind == 0) return random_ellipse(rng, h, w, true);
            if (kind == 1) return random_mask(rng, h, w);  // blocky: pieces everywhere
            // Two blobs one above the other, in overlapping columns.
            double cx = (0.2 + 0.6 * (rng() % 100) / 100.0) * w, rx = 0.15 * w + 0.5;
            auto a = ellipse_mask(h, w, cx, 0.2 * h, rx, 0.15 * h);
            auto b = ellipse_mask(h, w, cx + rx / 2, 0.75 * h, rx, 0.15 * h);
            for (size_t p = 0; p < a.size(); ++p) a[p] |= b[p];
            return a;
        };
        std::vector<std::vector<uint8_t>> dm, gm;
        size_t nd = 1 + rng() % 4, ng = 1 + rng() % 4;
        for (size_t k = 0; k < nd; ++k) dm.push_back(rng() % 2 ? multi() : random_ellipse(rng, h, w));
        for (size_t k = 0; k < ng; ++k) gm.push_back(rng() % 2 ? multi() : random_ellipse(rng, h, w));
        auto pairs = expect_paths_agree(dm, gm, h, w, random_crowd(rng, ng));
        column_pairs += pairs.column;
        merge_pairs += pairs.merge;
    }
    EXPECT_GT(column_pairs, 50u);
    EXPECT_GT(merge_pairs, 200u);
}

TEST(RleIouColumns, BlockyMasksMatchTheMerge) {
    std::mt19937 rng(14);
    for (int i = 0; i < 300; ++i) {
        uint32_t h = 1 + rng() % 12, w = 1 + rng() % 12;
        std::vector<std::vector<uint8_t>> dm, gm;
        size_t nd = 1 + rng() % 4, ng = 1 + rng() % 4;
        for (size_t k = 0; k < nd; ++k)
            dm.push_back(rng() % 2 ? random_mask(rng, h, w) : random_column_mask(rng, h, w));
        for (size_t k = 0; k < ng; ++k)
            gm.push_back(rng() % 2 ? random_mask(rng, h, w) : random_column_mask(rng, h, w));
        expect_paths_agree(dm, gm, h, w, random_crowd(rng, ng));
    }
}

TEST(RleIouColumns, EmptyMasksAndNoSharedColumns) {
    const uint32_t h = 20, w = 30;
    std::vector<uint8_t> empty(size_t{h} * w, 0);
    auto left = ellipse_mask(h, w, 5, 10, 4, 6), right = ellipse_mask(h, w, 24, 10, 4, 6);
    auto middle = ellipse_mask(h, w, 15, 10, 12, 3);
    // left and right share no column: neither path runs for them.
    auto pairs = expect_paths_agree({left, empty}, {right, empty}, h, w, {});
    EXPECT_EQ(pairs.column, 0u);
    EXPECT_EQ(pairs.merge, 0u);
    pairs = expect_paths_agree({left, right, empty}, {middle, empty}, h, w, {1, 0});
    EXPECT_EQ(pairs.column, 2u);
    EXPECT_EQ(pairs.merge, 0u);
    // A several-piece mask among them sends the pairs it is in (only) to the merge.
    auto ring = ellipse_mask(h, w, 15, 10, 10, 9, true);
    pairs = expect_paths_agree({left, ring, empty}, {middle, right}, h, w, {});
    EXPECT_EQ(pairs.column, 1u);  // left with middle (left and right share no column)
    EXPECT_EQ(pairs.merge, 2u);   // ring with middle and with right
}

TEST(RleIouColumns, MasksOfZeroPixels) {
    using detail::RleIouPath;
    for (auto [h, w] : {std::pair<uint32_t, uint32_t>{0, 0}, {0, 5}, {5, 0}}) {
        std::vector<Rle> masks{Rle{h, w, {0}}, Rle{h, w, {}}, Rle{h, w, {0, 0, 0}}};
        std::vector<const Rle*> p;
        for (const Rle& r : masks) p.push_back(&r);
        for (RleIouPath path : {RleIouPath::merge, RleIouPath::portable, RleIouPath::fastest}) {
            detail::RleIouPairs pairs;
            EXPECT_EQ(detail::rle_iou_path(p, p, {}, path, &pairs), std::vector<double>(9, 0.0));
            EXPECT_EQ(pairs.column + pairs.merge, 0u);
        }
    }
}

TEST(RleIouColumns, ZeroLengthRunsInsideTheCounts) {
    // Writers other than pycocotools may leave zero-length runs: two foreground runs that
    // touch (one piece), a zero-length foreground run, leading zero-length runs.
    using detail::RleIouPath;
    const uint32_t h = 4, w = 3;
    std::vector<Rle> dt{Rle{h, w, {1, 1, 0, 2, 3, 1, 4}}, Rle{h, w, {0, 0, 5, 0, 2, 3, 2}}, Rle{h, w, {0, 0, 0, 12}},
                        Rle{h, w, {2, 0, 10}}};
    std::vector<Rle> gt{Rle{h, w, {0, 3, 2, 5, 2}}, Rle{h, w, {4, 0, 0, 4, 4}}};
    std::vector<const Rle*> dp, gp;
    for (const Rle& r : dt) dp.push_back(&r);
    for (const Rle& r : gt) gp.push_back(&r);
    detail::RleIouPairs pairs;
    auto ref = detail::rle_iou_path(dp, gp, {}, RleIouPath::merge, nullptr);
    EXPECT_EQ(detail::rle_iou_path(dp, gp, {}, RleIouPath::portable, nullptr), ref);
    EXPECT_EQ(detail::rle_iou_path(dp, gp, {}, RleIouPath::fastest, &pairs), ref);
    EXPECT_EQ(pairs.merge, 0u);  // the touching runs are one piece
    EXPECT_EQ(pairs.column, 6u);
    for (size_t d = 0; d < dt.size(); ++d)
        for (size_t g = 0; g < gt.size(); ++g)
            EXPECT_EQ(ref[d * gt.size() + g], pixel_iou(rle_decode(dt[d]), rle_decode(gt[g]), false));
}

TEST(RleIouColumns, WideImagesOfFewRows) {
    // Wider than the per-column form is kept for (runs over many whole columns): such masks
    // are left to the merge, with the same results.
    const uint32_t h = 2, w = 9000;
    std::vector<uint8_t> whole(size_t{h} * w, 1), strip(size_t{h} * w, 0), blob(size_t{h} * w, 0);
    std::fill(strip.begin() + 100, strip.begin() + 15000, uint8_t{1});
    std::fill(blob.begin() + 8000, blob.begin() + 8007, uint8_t{1});
    auto pairs = expect_paths_agree({whole, blob}, {strip, blob, whole}, h, w, {0, 1, 0}, false);
    EXPECT_EQ(pairs.column, 1u);  // blob with blob
    EXPECT_EQ(pairs.merge, 5u);
}

TEST(RleIouColumns, SameErrorsAsTheMerge) {
    using detail::RleIouPath;
    auto message = [](const std::vector<Rle>& dt, const std::vector<Rle>& gt, RleIouPath path) {
        std::vector<const Rle*> dp, gp;
        for (const Rle& r : dt) dp.push_back(&r);
        for (const Rle& r : gt) gp.push_back(&r);
        try {
            detail::rle_iou_path(dp, gp, {}, path, nullptr);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    Rle good{4, 3, {1, 2, 9}};
    // Too short, too long (a run past h*w, and trailing background past it), a mask of
    // zero pixels with a run, a several-piece mask before a bad one, a bad size.
    std::vector<std::vector<Rle>> bad_gts{{Rle{4, 3, {1, 2, 3}}},        {Rle{4, 3, {1, 20}}},
                                          {Rle{4, 3, {11, 2}}},          {Rle{4, 3, {1, 2, 9, 1}}},
                                          {Rle{4, 3, {1, 1, 1, 1, 10}}}, {Rle{4, 3, {0, 1, 1, 1, 3, 8}}},
                                          {good, Rle{4, 2, {8}}}};
    for (const auto& gt : bad_gts) {
        std::string want = message({good}, gt, RleIouPath::merge);
        EXPECT_NE(want, "no error");
        EXPECT_EQ(message({good}, gt, RleIouPath::portable), want);
        EXPECT_EQ(message({good}, gt, RleIouPath::fastest), want);
        EXPECT_EQ(message(gt, {good}, RleIouPath::fastest), message(gt, {good}, RleIouPath::merge));
    }
    std::vector<Rle> zero{Rle{0, 3, {1, 1}}};
    EXPECT_EQ(message(zero, zero, RleIouPath::fastest), message(zero, zero, RleIouPath::merge));
    EXPECT_NE(message(zero, zero, RleIouPath::merge), "no error");
}

TEST(BboxIou, HandComputed) {
    std::vector<BoxXywh> dt{{0, 0, 2, 2}}, gt{{1, 1, 2, 2}, {5, 5, 1, 1}};
    EXPECT_EQ(bbox_iou(dt, gt, {}), std::vector<double>({1.0 / 7.0, 0.0}));
    std::vector<uint8_t> crowd{1, 0};
    EXPECT_EQ(bbox_iou(dt, gt, crowd), std::vector<double>({0.25, 0.0}));
    // Touching edges do not overlap.
    std::vector<BoxXywh> touch{{2, 0, 1, 1}};
    EXPECT_EQ(bbox_iou(dt, touch, {}), std::vector<double>({0.0}));
}

TEST(RleFromPolygon, AxisAlignedSquares) {
    // pycocotools fills a pixel when its centre lies inside the polygon (edges land on
    // half-pixel grid lines): the box [0,0,2,2] covers pixels 0..1 in x and y.
    EXPECT_EQ(rle_decode(rle_from_bbox({0, 0, 2, 2}, 4, 4)), mask_from_rows({"1100", "1100", "0000", "0000"}));
    EXPECT_EQ(rle_area(rle_from_bbox({1, 1, 2, 3}, 5, 5)), 6u);
    EXPECT_EQ(rle_to_bbox(rle_from_bbox({1, 1, 2, 3}, 5, 5)), (BoxXywh{1, 1, 2, 3}));
    // Clipped at the image border.
    EXPECT_EQ(rle_area(rle_from_bbox({-3, -3, 5, 5}, 4, 4)), 4u);
    // Outside the image: empty.
    EXPECT_EQ(rle_from_bbox({10, 10, 3, 3}, 4, 4).counts, Counts({16}));
    // The same square as a polygon, either orientation.
    std::vector<double> cw{0, 0, 2, 0, 2, 2, 0, 2}, ccw{0, 0, 0, 2, 2, 2, 2, 0};
    EXPECT_EQ(rle_from_polygon(cw, 4, 4), rle_from_bbox({0, 0, 2, 2}, 4, 4));
    EXPECT_EQ(rle_from_polygon(ccw, 4, 4), rle_from_bbox({0, 0, 2, 2}, 4, 4));
}

TEST(RleFromPolygon, NegativeVerticesTruncateTowardZeroAsMaskApiDoes) {
    // maskApi scales by 5 and casts with (int)(5x + .5): toward zero, so -1.03 -> (int)-4.65 =
    // -4, where flooring gives -5 and fills one more pixel. Only pycocotools caught a flooring
    // rasteriser before; the expected mask is pycocotools' (frPyObjects + decode), area 9.
    std::vector<double> triangle{-1.2, 2.46, 1.95, -1.03, 3.31, 4.89};
    Rle r = rle_from_polygon(triangle, 6, 6);
    EXPECT_EQ(r.counts, Counts({1, 2, 3, 4, 3, 3, 20}));
    EXPECT_EQ(rle_area(r), 9u);
    // The vertices flooring would give ((floor(5x + .5) - .5) / 5) fill 10 pixels: different.
    std::vector<double> floored{-1.3, 2.46, 1.95, -1.1, 3.31, 4.89};
    EXPECT_EQ(rle_area(rle_from_polygon(floored, 6, 6)), 10u);
}

TEST(RleFromPolygon, DegenerateInputs) {
    EXPECT_EQ(rle_from_polygon(std::vector<double>{}, 3, 3).counts, Counts({9}));
    EXPECT_EQ(rle_from_polygon(std::vector<double>{1, 1}, 3, 3).counts, Counts({9}));
    std::vector<double> repeated{1, 1, 1, 1, 1, 1};
    EXPECT_EQ(rle_area(rle_from_polygon(repeated, 3, 3)), 0u);
    EXPECT_NO_THROW(rle_check(rle_from_polygon(std::vector<double>{0, 0, 2, 2, 0, 2, 2, 0}, 3, 3)));
}

TEST(RleFromPolygon, Errors) {
    expect_error_containing(
        [] {
            rle_from_polygon(std::vector<double>{1, 2, 3}, 3, 3);
        },
        "polygon has 3 values, expected an even number");
    double nan = std::numeric_limits<double>::quiet_NaN();
    expect_error_containing(
        [&] {
            rle_from_polygon(std::vector<double>{0, 0, nan, 1, 1, 1}, 3, 3);
        },
        "polygon value 2 is nan");
    expect_error_containing([] { rle_from_polygon(std::vector<double>{0, 0, 2e7, 1, 1, 1}, 3, 3); }, "within +-1e7");
    expect_error_containing(
        [] {
            rle_from_polygon(std::vector<double>{0, 0, 1, 1, 1, 0}, 70000, 70000);
        },
        "more than 2^32-1 pixels");
    std::vector<std::vector<double>> polys{{0, 0, 1, 1, 1, 0}, {0, 0, 1}};
    expect_error_containing([&] { rle_from_polygons(polys, 3, 3); }, "polygon 1: polygon has 3 values");
}

TEST(RleFromPolygons, UnionOfParts) {
    std::vector<std::vector<double>> polys{{0, 0, 2, 0, 2, 2, 0, 2}, {1, 1, 3, 1, 3, 3, 1, 3}};
    Rle merged = rle_from_polygons(polys, 4, 4);
    EXPECT_EQ(rle_decode(merged), mask_from_rows({"1100", "1110", "0110", "0000"}));
    EXPECT_EQ(rle_from_polygons({}, 2, 3).counts, Counts({6}));
    // A 4-value list is a (degenerate) polygon, not a box as in pycocotools' frPyObjects.
    std::vector<std::vector<double>> four{{0, 0, 2, 2}};
    EXPECT_EQ(rle_area(rle_from_polygons(four, 4, 4)), 0u);
}

}  // namespace
}  // namespace chickenseg
