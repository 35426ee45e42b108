// The animated barn (data/sample_video.h): deterministic, the same ground truth with and
// without pictures, chickens that walk smoothly, enter and leave, overlap and hide each other,
// a stretch with no chicken, negatives that never get a chicken id, the files on disk.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/data/sample_video.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace chickenseg;
using chickenseg::test::TempDir;

namespace {

SampleVideoParams video_params(int frames, uint64_t seed = 0, bool pictures = false) {
    SampleVideoParams p;
    p.frames = frames;
    p.seed = seed;
    p.pictures = pictures;
    p.width = 320;
    p.height = 240;
    return p;
}

std::vector<SampleVideoFrame> all_frames(const SampleVideo& v) {
    std::vector<SampleVideoFrame> out;
    for (int i = 0; i < v.params().frames; ++i) out.push_back(v.frame(i));
    return out;
}

bool intersect(const BoxXywh& a, const BoxXywh& b) {
    return std::min(a[0] + a[2], b[0] + b[2]) > std::max(a[0], b[0]) &&
           std::min(a[1] + a[3], b[1] + b[3]) > std::max(a[1], b[1]);
}

}  // namespace

TEST(SampleVideo, SameSeedSameFramesAndPicturesDoNotChangeTheTruth) {
    SampleVideo a(video_params(12, 3, true)), b(video_params(12, 3, true)), gt_only(video_params(12, 3, false));
    SampleVideo other(video_params(12, 4, true));
    for (int i : {0, 5, 11}) {
        SampleVideoFrame fa = a.frame(i), fb = b.frame(i), fg = gt_only.frame(i);
        EXPECT_EQ(fa.image.pixels, fb.image.pixels) << i;
        EXPECT_EQ(fa.image.width, 320u);
        EXPECT_TRUE(fg.image.pixels.empty());
        ASSERT_EQ(fa.objects.size(), fg.objects.size()) << i;
        for (size_t k = 0; k < fa.objects.size(); ++k) {
            EXPECT_EQ(fa.objects[k].id, fg.objects[k].id);
            EXPECT_EQ(fa.objects[k].bbox, fg.objects[k].bbox);
            EXPECT_EQ(fa.objects[k].visibility, fg.objects[k].visibility);
        }
        EXPECT_NE(fa.image.pixels, other.frame(i).image.pixels);
    }
    // Consecutive frames differ (the birds move, the sensor noise is new) but share the barn.
    EXPECT_NE(a.frame(0).image.pixels, a.frame(1).image.pixels);
    EXPECT_THROW(a.frame(12), Error);
}

TEST(SampleVideo, ChickensWalkEnterLeaveOverlapAndTheBarnEmptiesOnce) {
    int overlaps = 0, hidden = 0, entered = 0, left = 0, quiet = 0, quiet_with_duck = 0;
    for (uint64_t seed : {0, 1, 2}) {
        SampleVideoParams p = video_params(300, seed);  // 12 s at 25 fps
        SampleVideo v(p);
        auto frames = all_frames(v);
        std::map<int, std::pair<int, int>> span;  // id -> first, last frame seen
        std::map<int, SampleVideoObject> last;
        std::map<int, int> last_frame;
        for (const auto& f : frames) {
            std::vector<BoxXywh> chickens;
            bool duck = false;
            for (const auto& o : f.objects) {
                EXPECT_GE(o.visibility, 0.0);
                EXPECT_LE(o.visibility, 1.0);
                EXPECT_GE(o.bbox[0], 0.0);
                EXPECT_LE(o.bbox[0] + o.bbox[2], 320.0 + 1e-6);
                if (o.category != "chicken") {
                    EXPECT_EQ(o.id, 0) << o.category << " got a chicken id";  // negatives never do
                    duck |= o.category == "duck";
                    continue;
                }
                ASSERT_GT(o.id, 0);
                EXPECT_TRUE(std::set<std::string>({"chicken", "Chicken", "hen", "rooster", "chick"}).count(o.label));
                chickens.push_back(o.bbox);
                hidden += o.visibility < 0.5;
                auto it = span.find(o.id);
                if (it == span.end()) {
                    span[o.id] = {f.index, f.index};
                } else {
                    it->second.second = f.index;
                    // Smooth: from one frame to the next the box centre moves a fraction of its size.
                    EXPECT_EQ(last_frame[o.id], f.index - 1) << "chicken " << o.id << " came back";
                    // (A box cut by the border grows and shrinks as the chicken walks in or out.)
                    const BoxXywh& b = last[o.id].bbox;
                    double moved = std::hypot(o.bbox[0] + o.bbox[2] / 2 - b[0] - b[2] / 2,
                                              o.bbox[1] + o.bbox[3] / 2 - b[1] - b[3] / 2);
                    if (!o.cut_at_border && !last[o.id].cut_at_border) {
                        EXPECT_LT(moved, 0.25 * std::max(b[2], b[3])) << "chicken " << o.id << " jumped";
                    }
                }
                last[o.id] = o;
                last_frame[o.id] = f.index;
            }
            for (size_t i = 0; i < chickens.size(); ++i)
                for (size_t j = i + 1; j < chickens.size(); ++j) overlaps += intersect(chickens[i], chickens[j]);
            quiet += chickens.empty();
            quiet_with_duck += chickens.empty() && duck;
        }
        for (const auto& [id, s] : span) {
            entered += s.first > 0;
            left += s.second < p.frames - 1;
        }
        // Every id issued is seen, but for one still walking in when the video ends.
        EXPECT_LE(static_cast<int>(span.size()), v.chickens());
        EXPECT_GE(static_cast<int>(span.size()), v.chickens() - 1);
    }
    EXPECT_GT(entered, 3);
    EXPECT_GT(left, 3);
    EXPECT_GT(overlaps, 10);
    EXPECT_GT(hidden, 0);
    EXPECT_GE(quiet, 3 * 25);  // at least a second without a chicken per video
    EXPECT_GT(quiet_with_duck, 0);
}

TEST(SampleVideo, EverySizeAndRateWorks) {
    for (auto [w, h, fps] : {std::tuple{64u, 64u, 1.0}, {96u, 200u, 7.5}, {640u, 360u, 60.0}}) {
        SampleVideoParams p = video_params(30);
        p.width = w, p.height = h, p.fps = fps;
        SampleVideo v(p);
        int chickens = 0;
        for (int i = 0; i < p.frames; ++i)
            for (const auto& o : v.frame(i).objects) chickens += o.id > 0;
        EXPECT_GT(chickens, 0) << w << "x" << h << " at " << fps;
    }
    SampleVideoParams p = video_params(10);
    p.fps = 0;
    EXPECT_THROW(check_sample_video_params(p), Error);
    p = video_params(0);
    EXPECT_THROW(check_sample_video_params(p), Error);
    p = video_params(10);
    p.width = 32;
    EXPECT_THROW(SampleVideo{p}, Error);
}

TEST(SampleVideoFiles, MotLayoutGroundTruthAndReplacementRules) {
    TempDir t;
    SampleVideoParams p = video_params(30, 5, true);
    p.fps = 10;
    SampleVideoSummary s = write_sample_video(t.path / "v", p);
    EXPECT_EQ(s.frames, 30);
    EXPECT_TRUE(fs::exists(t.path / "v/img1/000001.jpg"));
    EXPECT_TRUE(fs::exists(t.path / "v/img1/000030.jpg"));
    EXPECT_FALSE(fs::exists(t.path / "v/img1/000031.jpg"));
    std::string seqinfo = read_file(t.path / "v/seqinfo.ini");
    EXPECT_NE(seqinfo.find("frameRate=10\n"), std::string::npos) << seqinfo;
    EXPECT_NE(seqinfo.find("seqLength=30\n"), std::string::npos) << seqinfo;
    json meta = read_json_file(t.path / "v/video.json");
    EXPECT_EQ(meta["schema"], kSampleVideoSchema);
    ASSERT_EQ(meta["frames"].size(), 30u);
    EXPECT_EQ(meta["frames"][0]["file_name"], "img1/000001.jpg");
    // gt.txt holds exactly the chickens of video.json, frames counted from 1.
    int chickens = 0;
    for (const auto& f : meta["frames"])
        for (const auto& o : f["objects"]) {
            if (o["category"] == "chicken") {
                ++chickens;
                EXPECT_TRUE(o["id"].is_number_integer());
            } else {
                EXPECT_TRUE(o["id"].is_null());
            }
        }
    std::istringstream gt(read_file(t.path / "v/gt/gt.txt"));
    std::string line;
    int lines = 0;
    while (std::getline(gt, line)) {
        ++lines;
        int frame = std::stoi(line.substr(0, line.find(',')));
        EXPECT_GE(frame, 1);
        EXPECT_LE(frame, 30);
        EXPECT_EQ(std::count(line.begin(), line.end(), ','), 8) << line;
    }
    EXPECT_EQ(lines, chickens);
    EXPECT_EQ(s.chicken_boxes, chickens);
    // The same call again replaces it with the same bytes; someone else's file is never deleted.
    auto before = test::file_tree(t.path / "v");
    write_sample_video(t.path / "v", p);
    EXPECT_EQ(test::file_tree(t.path / "v"), before);
    write_file_atomic(t.path / "v/notes.txt", "mine");
    EXPECT_THROW(write_sample_video(t.path / "v", p), Error);
    EXPECT_EQ(read_file(t.path / "v/notes.txt"), "mine");
    fs::create_directories(t.path / "other");
    write_file_atomic(t.path / "other/a.txt", "x");
    try {
        write_sample_video(t.path / "other", p);
        FAIL() << "a foreign folder was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no previous chickenseg sample video (no video.json)"), std::string::npos)
            << e.what();
    }
}
