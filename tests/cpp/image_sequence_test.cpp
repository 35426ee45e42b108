// The stream's image sequence reader without FFmpeg (stream/image_sequence.h): a folder and a
// %d pattern of generated PNG and JPEG frames read back in order with their sizes and 25 fps
// times, the pattern's first number found as image2 finds it, and the errors (a size change, a
// frame that does not decode, a folder without pictures, a pattern without its first file).
// Built in every build; the last test runs VideoSource on a sequence, which FFmpeg reads in one
// build and this reader in the other, with the same frames either way.
#include "stream/image_sequence.h"

#include <gtest/gtest.h>

#include <functional>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "test_support.h"

namespace chickenseg {
namespace {

using test::error_of;
using test::TempDir;

// A frame whose top-left pixel's red value is its number, to check the order.
RgbImage numbered_frame(int number, uint32_t width = 64, uint32_t height = 48) {
    RgbImage img{width, height, std::vector<uint8_t>(size_t{width} * height * 3, 40)};
    for (uint32_t y = 0; y < 8; ++y)
        for (uint32_t x = 0; x < 8; ++x) img.pixels[(size_t{y} * width + x) * 3] = static_cast<uint8_t>(number * 20);
    return img;
}

std::vector<VideoFrame> read_all(ImageSequence& seq) {
    std::vector<VideoFrame> frames;
    VideoFrame f;
    while (seq.read(f)) frames.push_back(f);
    return frames;
}

TEST(ImageSequence, ReadsAFolderInNameOrderAt25Fps) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "seq" / "sub");
    for (int i = 0; i < 4; ++i) write_png(dir.path / "seq" / ("f" + std::to_string(i) + ".png"), numbered_frame(i));
    // Not frames: another extension, a hidden file, a subfolder's picture.
    write_file_atomic(dir.path / "seq" / "notes.txt", "not a frame\n");
    write_png(dir.path / "seq" / ".hidden.png", numbered_frame(9, 32, 32));
    write_png(dir.path / "seq" / "sub" / "x.png", numbered_frame(9, 32, 32));
    ImageSequence seq(dir / "seq");
    EXPECT_EQ(seq.width(), 64u);
    EXPECT_EQ(seq.height(), 48u);
    EXPECT_EQ(seq.description(), "png 64x48 25 fps (image sequence)");
    const auto frames = read_all(seq);
    ASSERT_EQ(frames.size(), 4u);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(frames[i].index, i);
        EXPECT_DOUBLE_EQ(frames[i].time, i / 25.0);
        EXPECT_EQ(frames[i].image.width, 64u);
        EXPECT_EQ(frames[i].image.height, 48u);
        EXPECT_EQ(frames[i].image.pixels[0], i * 20) << "frame " << i;  // PNG: exact
    }
}

TEST(ImageSequence, ReadsAPatternFromItsFirstNumberToTheFirstGap) {
    TempDir dir;
    // MOTChallenge's numbering from 1 (data sample --video), JPEG frames, a gap after 5.
    for (int i : {1, 2, 3, 4, 5, 7}) {
        char name[32];
        std::snprintf(name, sizeof name, "%06d.jpg", i);
        write_jpeg(dir.path / name, numbered_frame(i), 95);
    }
    ImageSequence seq(dir / "%06d.jpg");
    EXPECT_EQ(seq.description(), "jpeg 64x48 25 fps (image sequence)");
    const auto frames = read_all(seq);
    ASSERT_EQ(frames.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(frames[i].index, i);
        EXPECT_DOUBLE_EQ(frames[i].time, i / 25.0);
        EXPECT_NEAR(frames[i].image.pixels[0], (i + 1) * 20, 8) << "frame " << i;  // JPEG: near
    }
    // %% is a '%', and an unpadded %d.
    std::filesystem::create_directories(dir.path / "100%");
    write_png(dir.path / "100%" / "f0.png", numbered_frame(0));
    ImageSequence plain(dir / "100%%/f%d.png");
    EXPECT_EQ(read_all(plain).size(), 1u);
}

TEST(ImageSequence, BadSequencesNameTheFile) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "empty");
    write_file_atomic(dir.path / "empty" / "notes.txt", "no pictures\n");
    std::string e = error_of([&] { ImageSequence s(dir / "empty"); });
    EXPECT_NE(e.find("no .jpg, .jpeg, .png or .bmp pictures in the folder"), std::string::npos) << e;
    e = error_of([&] { ImageSequence s(dir / "missing_%04d.png"); });
    EXPECT_NE(e.find("no such file for the numbers 0 to 4"), std::string::npos) << e;
    e = error_of([&] { ImageSequence s(dir / "f%s.png"); });
    EXPECT_NE(e.find("expected one %d"), std::string::npos) << e;

    std::filesystem::create_directories(dir.path / "size");
    write_png(dir.path / "size" / "a.png", numbered_frame(0, 64, 48));
    write_png(dir.path / "size" / "b.png", numbered_frame(1, 32, 24));
    ImageSequence size(dir / "size");
    VideoFrame f;
    ASSERT_TRUE(size.read(f));
    e = error_of([&] { size.read(f); });
    EXPECT_NE(e.find("frame size changed from 64x48 to 32x24 at frame 1"), std::string::npos) << e;
    EXPECT_NE(e.find("b.png"), std::string::npos) << e;

    std::filesystem::create_directories(dir.path / "corrupt");
    write_jpeg(dir.path / "corrupt" / "a.jpg", numbered_frame(0));
    write_file_atomic(dir.path / "corrupt" / "b.jpg", std::string("\xff\xd8\xff\xe0 cut short", 14));
    ImageSequence corrupt(dir / "corrupt");
    ASSERT_TRUE(corrupt.read(f));
    e = error_of([&] { corrupt.read(f); });
    EXPECT_NE(e.find("cannot decode frame 1"), std::string::npos) << e;
    EXPECT_NE(e.find("b.jpg"), std::string::npos) << e;
    // A first frame that does not decode fails when opening.
    std::filesystem::create_directories(dir.path / "bad_first");
    write_file_atomic(dir.path / "bad_first" / "a.png", "not a png");
    e = error_of([&] { ImageSequence s(dir / "bad_first"); });
    EXPECT_NE(e.find("a.png"), std::string::npos) << e;
}

// VideoSource reads a sequence in every build: FFmpeg's image2 or this reader, the same frames
// (PNG is lossless, so the same pixels too). Other sources without FFmpeg are one clear error.
TEST(ImageSequence, VideoSourceReadsSequencesInEveryBuild) {
    TempDir dir;
    for (int i = 0; i < 3; ++i) write_png(dir.path / ("f" + std::to_string(i) + ".png"), numbered_frame(i));
    VideoSource src({dir.path.string()});
    EXPECT_EQ(src.kind(), SourceKind::image_sequence);
    EXPECT_EQ(src.width(), 64u);
    EXPECT_NEAR(src.fps(), 25, 1e-9);
    VideoFrame f;
    int n = 0;
    while (src.read(f)) {
        EXPECT_EQ(f.index, n);
        EXPECT_NEAR(f.time, n / 25.0, 1e-6);
        EXPECT_EQ(f.image.pixels, numbered_frame(n).pixels) << "frame " << n;
        ++n;
    }
    EXPECT_EQ(n, 3);
    if (!video_support_available()) {
        const std::string e = error_of([&] { VideoSource s({dir / "barn.mp4"}); });
        EXPECT_NE(e.find("has no FFmpeg ("), std::string::npos) << e;
        VideoSourceParams p{dir.path.string()};
        p.hwaccel = "auto";
        EXPECT_NE(VideoSource(p).hwaccel_note().find("decoding the pictures in software"), std::string::npos);
    }
}

}  // namespace
}  // namespace chickenseg
