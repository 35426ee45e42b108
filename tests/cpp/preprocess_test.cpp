// Image preprocessing for the vision encoder: properties of the Pillow-compatible bilinear
// resize and of the normalisation, and the errors. (Byte-for-byte agreement with Pillow and
// the Python reference is checked by tests/python/test_runtime_package.py.)
#include "chickenseg/runtime/preprocess.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "chickenseg/core/error.h"
#include "chickenseg/runtime/image_resize.h"

namespace chickenseg {
namespace {

RgbImage solid(uint32_t w, uint32_t h, uint8_t r, uint8_t g, uint8_t b) {
    RgbImage im{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
    for (size_t i = 0; i < im.pixels.size(); i += 3) {
        im.pixels[i] = r;
        im.pixels[i + 1] = g;
        im.pixels[i + 2] = b;
    }
    return im;
}

ModelPackage package_of_size(int size) {
    ModelPackage p;
    p.folder = "pkg";
    p.input = {size, "NCHW RGB", kPackageResize, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, 1.0 / 255.0};
    return p;
}

TEST(ImageResize, SolidColourStaysSolidWhetherShrinkingOrGrowing) {
    for (auto [w, h] : {std::pair{7u, 300u}, {300u, 7u}, {1u, 1u}, {50u, 40u}}) {
        RgbImage out = resize_bilinear(solid(w, h, 10, 128, 255), 23, 17);
        ASSERT_EQ(out.width, 23u);
        ASSERT_EQ(out.height, 17u);
        for (size_t i = 0; i < out.pixels.size(); i += 3) {
            ASSERT_EQ(out.pixels[i], 10) << w << "x" << h;
            ASSERT_EQ(out.pixels[i + 1], 128);
            ASSERT_EQ(out.pixels[i + 2], 255);
        }
    }
}

TEST(ImageResize, SameSizeIsACopyAndShrinkingAverages) {
    RgbImage im = solid(2, 1, 0, 0, 0);
    im.pixels[3] = 200;  // left pixel red 0, right pixel red 200
    EXPECT_EQ(resize_bilinear(im, 2, 1).pixels, im.pixels);
    RgbImage one = resize_bilinear(im, 1, 1);
    EXPECT_EQ(one.pixels[0], 100);  // antialiased: both inputs weigh the same
}

TEST(ImageResize, BadInputsAreRefused) {
    RgbImage im = solid(4, 4, 1, 2, 3);
    EXPECT_THROW(resize_bilinear(im, 0, 4), Error);
    EXPECT_THROW(resize_bilinear(RgbImage{}, 4, 4), Error);
    im.pixels.pop_back();
    try {
        resize_bilinear(im, 2, 2);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("holds 47 bytes, expected 48"), std::string::npos) << e.what();
    }
}

TEST(Preprocess, NormalisesToNchwWithMeanAndStd) {
    HostTensor t = image_to_pixel_values(solid(5, 3, 0, 255, 51), package_of_size(4));
    EXPECT_EQ(t.shape, (std::vector<int64_t>{1, 3, 4, 4}));
    auto v = t.values<float>();
    EXPECT_FLOAT_EQ(v[0], -1.0f);        // red plane: 0 -> (0 - 0.5) / 0.5
    EXPECT_FLOAT_EQ(v[16], 1.0f);        // green plane: 255 -> 1
    EXPECT_FLOAT_EQ(v[32 + 15], -0.6f);  // blue plane: 51 / 255 = 0.2 -> -0.6
}

TEST(Preprocess, AnotherResizeInTheManifestIsRefused) {
    ModelPackage p = package_of_size(4);
    p.input.resize = "longest side, padded";
    try {
        image_to_pixel_values(solid(2, 2, 0, 0, 0), p);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().field, "input.resize");
        EXPECT_EQ(e.place().file, (std::filesystem::path("pkg") / "manifest.json").string());
        EXPECT_NE(e.message().find("expected \"square, bilinear, aspect not kept\""), std::string::npos);
    }
}

RgbImage noise(uint32_t w, uint32_t h, uint32_t seed) {
    RgbImage im{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
    for (size_t i = 0; i < im.pixels.size(); ++i) {
        seed = seed * 1664525u + 1013904223u;
        im.pixels[i] = static_cast<uint8_t>(seed >> 24);
    }
    return im;
}

// The same pixels stored as OpenCV gives them (B, G, R), in rows padded to `row_bytes`, bottom
// row first when `flipped` (a negative row stride, as NumPy's a[::-1]).
struct StoredBgr {
    std::vector<uint8_t> bytes;
    RgbView view;
    StoredBgr(const RgbImage& rgb, size_t row_bytes, bool flipped) : bytes(row_bytes * rgb.height, 0xEE) {
        for (uint32_t y = 0; y < rgb.height; ++y)
            for (uint32_t x = 0; x < rgb.width; ++x)
                for (int c = 0; c < 3; ++c)
                    bytes[y * row_bytes + x * 3 + (2 - c)] = rgb.pixels[(y * rgb.width + x) * 3 + c];
        // Row y of the image is stored row y (or height - 1 - y when flipped).
        const uint8_t* row0 = bytes.data() + (flipped ? (rgb.height - 1) * row_bytes : 0);
        const ptrdiff_t stride = flipped ? -static_cast<ptrdiff_t>(row_bytes) : static_cast<ptrdiff_t>(row_bytes);
        if (flipped) {  // store the rows upside down so that the view reads them upright
            std::vector<uint8_t> upright = bytes;
            for (uint32_t y = 0; y < rgb.height; ++y)
                std::copy_n(upright.data() + y * row_bytes, row_bytes, bytes.data() + (rgb.height - 1 - y) * row_bytes);
        }
        view = {row0 + 2, rgb.width, rgb.height, stride, 3, -1};
    }
};

// A view read in place (any strides, BGR) resizes to the same bytes as the packed RGB image, for
// both of Pillow's pass orders, one pass only, and the same size.
TEST(Preprocess, AViewWithStridesResizesLikeThePackedImage) {
    const uint32_t sizes[][4] = {{640, 480, 224, 224}, {221, 300, 224, 224}, {300, 900, 224, 224},
                                 {50, 40, 50, 17},     {50, 40, 13, 40},     {31, 29, 31, 29}};
    for (const auto& s : sizes) {
        RgbImage rgb = noise(s[0], s[1], s[0] * 7 + s[1]);
        RgbImage expected = resize_bilinear(rgb, s[2], s[3]);
        for (bool flipped : {false, true}) {
            StoredBgr stored(rgb, s[0] * 3 + 5, flipped);
            RgbImage got = resize_bilinear(stored.view, s[2], s[3]);
            EXPECT_EQ(got.width, expected.width);
            EXPECT_EQ(got.height, expected.height);
            EXPECT_TRUE(got.pixels == expected.pixels)
                << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3] << (flipped ? " flipped" : "");
        }
        EXPECT_TRUE(resize_bilinear(rgb_view(rgb), s[2], s[3]).pixels == expected.pixels);
    }
    ModelPackage p = package_of_size(32);
    RgbImage rgb = noise(90, 70, 3);
    StoredBgr stored(rgb, 90 * 3, false);
    HostTensor a = image_to_pixel_values(rgb, p), b = image_to_pixel_values(stored.view, p);
    ASSERT_EQ(a.bytes.size(), b.bytes.size());
    EXPECT_TRUE(a.bytes == b.bytes);
}

}  // namespace
}  // namespace chickenseg
