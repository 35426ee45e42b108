// The stream's FFmpeg input and output (stream/video_source.h, video_writer.h,
// frame_grabber.h): a synthetic video written and read back frame for frame with its
// timestamps, image sequences, a live HTTP source on 127.0.0.1 that drops frames when the
// consumer is slow and is reconnected when it ends, and the bad inputs: not a video, no such
// file, a server that never answers, a frame size that changes.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "chickenseg/core/error.h"
#include "chickenseg/stream/frame_grabber.h"
#include "chickenseg/stream/video_source.h"
#include "test_support.h"
#include "video_fixtures.h"

namespace chickenseg {
namespace {

using test::error_of;
using test::TempDir;

// Mean brightness of a square, to find the drawn squares back after lossy coding.
double mean_at(const RgbImage& img, uint32_t x0, uint32_t y0, uint32_t size) {
    double sum = 0;
    for (uint32_t y = y0; y < y0 + size; ++y)
        for (uint32_t x = x0; x < x0 + size; ++x) sum += img.pixels[(size_t{y} * img.width + x) * 3];
    return sum / (size * size);
}

TEST(VideoSource, SourceKindsFromTheAddress) {
    EXPECT_EQ(source_kind("rtsp://cam/1"), SourceKind::rtsp);
    EXPECT_EQ(source_kind("https://x/y.m3u8"), SourceKind::http);
    EXPECT_EQ(source_kind("/dev/video0"), SourceKind::device);
    EXPECT_EQ(source_kind("frames/%05d.png"), SourceKind::image_sequence);
    EXPECT_EQ(source_kind("barn.mp4"), SourceKind::file);
    EXPECT_TRUE(source_is_live(SourceKind::rtsp));
    EXPECT_FALSE(source_is_live(SourceKind::file));
}

TEST(VideoSource, ReadsBackEveryFrameWithItsTimestamp) {
    ASSERT_TRUE(video_support_available());
    TempDir dir;
    for (const std::string& codec : {std::string(), std::string("mpeg4")}) {
        const auto path = dir.path / ("v" + codec + ".mp4");
        test::write_synthetic_video(path, 30, 10, codec);
        VideoSource src({path.string()});
        EXPECT_EQ(src.width(), 160u);
        EXPECT_EQ(src.height(), 120u);
        EXPECT_NEAR(src.fps(), 10, 0.01);
        VideoFrame f;
        int n = 0;
        while (src.read(f)) {
            EXPECT_EQ(f.index, n);
            EXPECT_NEAR(f.time, n * 0.1, 1e-3) << codec;
            // The square entering from the left is where it was drawn.
            if (n == 10) {
                EXPECT_GT(mean_at(f.image, 14, 24, 14), 180) << codec;
            }
            ++n;
        }
        EXPECT_EQ(n, 30) << codec;
    }
}

// --hwaccel auto uses a device where FFmpeg opens one and otherwise decodes in software with a
// note; it never fails for want of a device. Where it fell back (this CPU machine) the frames are
// the same bytes as --hwaccel none; on a device, the same picture up to the colour conversion.
TEST(VideoSource, HardwareDecodingFallsBackToSoftwareCleanly) {
    TempDir dir;
    const auto path = dir.path / "v.mp4";
    test::write_synthetic_video(path, 12, 10);
    VideoSourceParams none{path.string()}, aut{path.string()};
    aut.hwaccel = "auto";
    VideoSource a(none), b(aut);
    EXPECT_EQ(a.hwaccel(), "");
    EXPECT_EQ(a.hwaccel_note(), "");
    EXPECT_FALSE(b.hwaccel_note().empty());
    if (b.hwaccel().empty()) {
        EXPECT_NE(b.hwaccel_note().find("decoding in software"), std::string::npos) << b.hwaccel_note();
    }
    VideoFrame fa, fb;
    int n = 0;
    while (a.read(fa)) {
        ASSERT_TRUE(b.read(fb)) << n;
        EXPECT_EQ(fa.time, fb.time);
        if (b.hwaccel().empty()) {
            EXPECT_EQ(fa.image.pixels, fb.image.pixels) << n;
        } else {
            EXPECT_NEAR(mean_at(fa.image, 14, 24, 14), mean_at(fb.image, 14, 24, 14), 4) << n;
        }
        ++n;
    }
    EXPECT_FALSE(b.read(fb));
    EXPECT_EQ(n, 12);
    // A device type this machine lacks falls back too; an unknown name is an error.
    VideoSourceParams vaapi{path.string()};
    vaapi.hwaccel = "vaapi";
    EXPECT_NO_THROW(VideoSource{vaapi});
    EXPECT_EQ(check_hwaccel_name("auto"), "");
    EXPECT_EQ(check_hwaccel_name("cuda"), "");
    EXPECT_NE(check_hwaccel_name("warp9").find("unknown hardware decoder 'warp9'"), std::string::npos);
    VideoSourceParams bad{path.string()};
    bad.hwaccel = "warp9";
    EXPECT_NE(error_of([&] { VideoSource s(bad); }).find("--hwaccel: unknown hardware decoder"), std::string::npos);
}

TEST(VideoSource, ImageSequencesFromAFolderOrAPattern) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "seq");
    for (int i = 0; i < 5; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "f%03d.png", i);
        write_png(dir.path / "seq" / name, test::synthetic_frame(i));
    }
    for (const std::string& url : {dir / "seq", dir / "seq/f%03d.png"}) {
        VideoSource src({url});
        VideoFrame f;
        int n = 0;
        while (src.read(f)) ++n;
        EXPECT_EQ(n, 5) << url;
    }
}

TEST(VideoSource, BadInputsAreOneClearError) {
    TempDir dir;
    write_file_atomic(dir.path / "notes.txt", "these are not frames\n");
    write_file_atomic(dir.path / "junk.mp4", std::string(4096, '\x17'));
    std::string e = error_of([&] { VideoSource src({dir / "notes.txt"}); });
    EXPECT_NE(e.find("notes.txt: not a video"), std::string::npos) << e;
    e = error_of([&] { VideoSource src({dir / "junk.mp4"}); });
    EXPECT_NE(e.find("junk.mp4: not a video"), std::string::npos) << e;
    e = error_of([&] { VideoSource src({dir / "missing.mp4"}); });
    EXPECT_NE(e.find("missing.mp4: no such file"), std::string::npos) << e;
    e = error_of([&] { VideoSource src({dir.path.string()}); });  // a folder without pictures
    EXPECT_NE(e.find("no .jpg"), std::string::npos) << e;
    VideoSourceParams p;
    p.url = "rtsp://127.0.0.1:1/cam";
    p.open_timeout = 2;
    e = error_of([&] { VideoSource src(p); });
    EXPECT_NE(e.find("rtsp://127.0.0.1:1/cam: cannot open"), std::string::npos) << e;
}

TEST(VideoSource, AServerThatNeverAnswersTimesOut) {
    test::LocalHttpServer server("", 1, /*silent=*/true);
    VideoSourceParams p;
    p.url = server.url();
    p.open_timeout = 1;
    const auto t0 = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { VideoSource src(p); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(e.find(p.url + ": no answer within 1 s"), std::string::npos) << e;
    EXPECT_LT(s, 5);
}

TEST(VideoSource, AFrameSizeChangeIsAnError) {
    TempDir dir;
    std::filesystem::create_directories(dir.path / "seq");
    write_png(dir.path / "seq" / "a.png", test::synthetic_frame(0, 160, 120));
    write_png(dir.path / "seq" / "b.png", test::synthetic_frame(1, 128, 96));
    VideoSource src({dir / "seq"});
    VideoFrame f;
    ASSERT_TRUE(src.read(f));
    const std::string e = error_of([&] { src.read(f); });
    EXPECT_NE(e.find("frame size changed from 160x120 to 128x96 at frame 1"), std::string::npos) << e;
}

TEST(VideoWriter, RefusesAnotherFrameSizeAndLeavesNoPartialFile) {
    TempDir dir;
    {
        VideoWriter w({dir.path / "o.mp4", 160, 120, 10, ""});
        w.write(test::synthetic_frame(0), 0);
        EXPECT_THROW(w.write(test::synthetic_frame(0, 128, 96), 0.1), Error);
    }  // not closed: nothing at the target, no temporary file left
    EXPECT_TRUE(std::filesystem::is_empty(dir.path));
}

TEST(FrameGrabber, AFileGivesEveryFrameInOrder) {
    TempDir dir;
    test::write_synthetic_video(dir.path / "v.mp4", 40);
    std::atomic<bool> stop{false};
    FrameGrabberParams p;
    p.source.url = dir / "v.mp4";
    FrameGrabber g(p, stop, [](const std::string&) {});
    VideoFrame f;
    int n = 0;
    while (g.next(f)) {
        EXPECT_EQ(f.index, n++);
        EXPECT_EQ(f.dropped_before, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow model loses nothing
    }
    EXPECT_EQ(n, 40);
    EXPECT_EQ(g.stats().dropped, 0);
    EXPECT_EQ(g.stats().decoded, 40);
}

// A live source read by a slow consumer drops, counted; when the server's stream ends it is
// reconnected, the gap is reported on the first frame after it and the numbering goes on.
// --realtime: a file released at its frame rate, as a camera would deliver it; a model slower
// than the rate loses frames (counted), and every frame carries the time it arrived.
TEST(FrameGrabber, ARealtimeFileKeepsItsPaceAndDropsWhenBehind) {
    TempDir dir;
    test::write_synthetic_video(dir.path / "v.mp4", 20, 20);  // 1 s
    std::atomic<bool> stop{false};
    FrameGrabberParams p;
    p.source.url = dir / "v.mp4";
    p.realtime = true;
    const auto started = std::chrono::steady_clock::now();
    FrameGrabber g(p, stop, [](const std::string&) {});
    VideoFrame f;
    int taken = 0;
    int64_t dropped = 0;
    double last_arrived = 0;
    while (g.next(f)) {
        ++taken;
        dropped += f.dropped_before;
        EXPECT_GT(f.arrived, last_arrived);
        last_arrived = f.arrived;
        std::this_thread::sleep_for(std::chrono::milliseconds(120));  // a model at about 8 fps
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_GE(seconds, 0.9);  // not read as fast as it decodes
    EXPECT_GT(g.stats().dropped, 0);
    EXPECT_EQ(taken + g.stats().dropped, 20);
    EXPECT_EQ(dropped, g.stats().dropped);
    EXPECT_LT(taken, 20);
}

TEST(FrameGrabber, ALiveSourceDropsWhenBehindAndReconnects) {
    TempDir dir;
    test::write_synthetic_video(dir.path / "v.ts", 60);
    test::LocalHttpServer server(read_file(dir.path / "v.ts"), 2);
    std::atomic<bool> stop{false};
    FrameGrabberParams p;
    p.source.url = server.url();
    p.source.open_timeout = p.source.read_timeout = 1;
    p.max_reconnects = 1;
    p.backoff_initial = 0.1;
    std::vector<std::string> log;
    FrameGrabber g(p, stop, [&](const std::string& line) { log.push_back(line); });
    EXPECT_TRUE(g.live());
    VideoFrame f;
    int64_t taken = 0, dropped = 0, last_index = -1;
    double gap = 0;
    std::string error;
    try {
        while (g.next(f)) {
            ++taken;
            dropped += f.dropped_before;
            gap += f.gap_before;
            EXPECT_EQ(f.index, last_index + 1 + f.dropped_before);
            last_index = f.index;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    } catch (const Error& e) {
        error = e.what();
    }
    // Two connections served, then the third try finds nobody answering: it gives up.
    EXPECT_NE(error.find("gave up on " + p.source.url + " after 1 reconnect"), std::string::npos) << error;
    const FrameGrabberStats s = g.stats();
    EXPECT_EQ(s.decoded, 120);
    EXPECT_EQ(s.reconnects, 1);
    EXPECT_GT(s.dropped, 0);
    EXPECT_EQ(taken + s.dropped, s.decoded);
    EXPECT_EQ(dropped, s.dropped);
    EXPECT_GT(gap, 0);
    ASSERT_GE(log.size(), 2u);
    EXPECT_NE(log[0].find("reconnecting in"), std::string::npos) << log[0];
    EXPECT_NE(log[1].find("reconnected to"), std::string::npos) << log[1];
}

TEST(FrameGrabber, StopEndsItAtOnce) {
    TempDir dir;
    test::write_synthetic_video(dir.path / "v.mp4", 40);
    std::atomic<bool> stop{false};
    FrameGrabberParams p;
    p.source.url = dir / "v.mp4";
    FrameGrabber g(p, stop, [](const std::string&) {});
    VideoFrame f;
    ASSERT_TRUE(g.next(f));
    stop = true;
    EXPECT_FALSE(g.next(f));
}

}  // namespace
}  // namespace chickenseg
