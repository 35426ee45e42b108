// Image preprocessing for the vision encoder: properties of the Pillow-compatible bilinear
// resize and of the normalisation, and the errors. (Byte-for-byte agreement with Pillow and
// the Python reference is checked by tests/python/test_runtime_package.py.)
#include "chickenseg/runtime/preprocess.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace chickenseg
