// COCO RLE: hand-computed cases, pixel-level reference checks on random masks, and
// error handling. Bit-compatibility with pycocotools itself is checked by
// tests/python/test_rle_pycocotools.py.
#include "chickenseg/core/rle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "chickenseg/core/error.h"

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
    expect_error_containing([] { rle_from_string(std::string("3\0", 2), 5, 1); },
                            "invalid character (byte 0)");
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
    EXPECT_EQ(rle_decode(rle_from_bbox({0, 0, 2, 2}, 4, 4)),
              mask_from_rows({"1100", "1100", "0000", "0000"}));
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

TEST(RleFromPolygon, DegenerateInputs) {
    EXPECT_EQ(rle_from_polygon(std::vector<double>{}, 3, 3).counts, Counts({9}));
    EXPECT_EQ(rle_from_polygon(std::vector<double>{1, 1}, 3, 3).counts, Counts({9}));
    std::vector<double> repeated{1, 1, 1, 1, 1, 1};
    EXPECT_EQ(rle_area(rle_from_polygon(repeated, 3, 3)), 0u);
    EXPECT_NO_THROW(rle_check(rle_from_polygon(std::vector<double>{0, 0, 2, 2, 0, 2, 2, 0}, 3, 3)));
}

TEST(RleFromPolygon, Errors) {
    expect_error_containing([] { rle_from_polygon(std::vector<double>{1, 2, 3}, 3, 3); },
                            "polygon has 3 values, expected an even number");
    double nan = std::numeric_limits<double>::quiet_NaN();
    expect_error_containing([&] { rle_from_polygon(std::vector<double>{0, 0, nan, 1, 1, 1}, 3, 3); },
                            "polygon value 2 is nan");
    expect_error_containing([] { rle_from_polygon(std::vector<double>{0, 0, 2e7, 1, 1, 1}, 3, 3); },
                            "within +-1e7");
    expect_error_containing([] { rle_from_polygon(std::vector<double>{0, 0, 1, 1, 1, 0}, 70000, 70000); },
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
