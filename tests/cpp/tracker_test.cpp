// The stream's ByteTrack-style tracker (stream/tracker.h) and its Kalman filter on scripted
// motion: ids through crossing paths and occlusions, deaths after max_age, the low-score
// second stage, prediction between sparse detections, and masks moved with their boxes.
#include <gtest/gtest.h>

#include <map>

#include "chickenseg/core/error.h"
#include "chickenseg/stream/kalman_box.h"
#include "chickenseg/stream/tracker.h"

namespace chickenseg {
namespace {

TrackerDetection det(double x, double y, double w, double h, float score = 0.9f) { return {{x, y, w, h}, score, {}}; }

TEST(KalmanBox, LearnsAConstantVelocityAndPredictsAhead) {
    KalmanBox k({0, 100, 40, 30});
    for (int i = 1; i <= 20; ++i) {
        k.predict(0.1);
        k.update({10.0 * i, 100, 40, 30});  // 100 px/s to the right
    }
    k.predict(0.5);
    const BoxXywh b = k.box();
    EXPECT_NEAR(b[0], 250, 5);
    EXPECT_NEAR(b[1], 100, 1);
    EXPECT_NEAR(b[2], 40, 1);
    EXPECT_NEAR(b[3], 30, 1);
}

TEST(KalmanBox, ZeroTimeChangesNothingAndTheFirstBoxIsKept) {
    KalmanBox k({5, 6, 20, 10});
    k.predict(0);
    EXPECT_NEAR(k.box()[0], 5, 1e-9);
    EXPECT_NEAR(k.box()[2], 20, 1e-9);
    EXPECT_EQ(k.mean()[4], 0);
}

// Two chickens walk towards each other along nearly the same line and cross. Without a motion
// model the previous box of one is nearer the other's new box at the crossing, so the ids swap.
TEST(ByteTracker, IdsSurviveCrossingPaths) {
    ByteTracker tracker;
    std::map<int64_t, char> who;  // id -> 'A' (walks right) or 'B' (walks left)
    for (int f = 0; f <= 40; ++f) {
        const double t = f * 0.1;
        const double ax = 20.0 + 15 * f, bx = 620.0 - 15 * f;
        auto tracks = tracker.update(t, {det(ax, 100, 40, 40), det(bx, 106, 40, 40)});
        ASSERT_EQ(tracks.size(), 2u) << "frame " << f;
        for (const auto& tr : tracks) {
            ASSERT_GE(tr.detection, 0);
            const char is = tr.detection == 0 ? 'A' : 'B';
            auto [it, fresh] = who.emplace(tr.id, is);
            EXPECT_EQ(it->second, is) << "id " << tr.id << " changed chicken at frame " << f;
        }
    }
    EXPECT_EQ(tracker.ids_issued(), 2);
}

TEST(ByteTracker, ATrackSurvivesAShortOcclusionWithItsId) {
    TrackerParams p;
    p.max_age = 2.0;
    ByteTracker tracker(p);
    int64_t id = 0;
    for (int f = 0; f <= 10; ++f) {
        auto tracks = tracker.update(f * 0.1, {det(100.0 + 8 * f, 50, 40, 40)});
        ASSERT_EQ(tracks.size(), 1u);
        id = tracks[0].id;
    }
    // Behind a feeder for 0.8 s: nothing detected, nothing reported, the track is kept.
    for (int f = 11; f <= 18; ++f) {
        EXPECT_TRUE(tracker.update(f * 0.1, {}).empty()) << f;
        EXPECT_EQ(tracker.lost_count(), 1u);
    }
    auto tracks = tracker.update(1.9, {det(100.0 + 8 * 19, 50, 40, 40)});
    ASSERT_EQ(tracks.size(), 1u);
    EXPECT_EQ(tracks[0].id, id);
    EXPECT_TRUE(tracks[0].detected);
    EXPECT_EQ(tracker.ids_issued(), 1);
}

TEST(ByteTracker, AChickenThatLeavesLosesItsTrack) {
    TrackerParams p;
    p.max_age = 1.0;
    ByteTracker tracker(p);
    for (int f = 0; f <= 5; ++f) ASSERT_EQ(tracker.update(f * 0.2, {det(500.0 + 20 * f, 50, 40, 40)}).size(), 1u);
    // Out of the picture: still lost (kept) before max_age, gone after it.
    tracker.update(1.6, {});
    EXPECT_EQ(tracker.lost_count(), 1u);
    EXPECT_TRUE(tracker.predict(2.1).empty());
    EXPECT_EQ(tracker.lost_count(), 0u);
    EXPECT_EQ(tracker.tracked_count(), 0u);
    // A chicken entering where it left is someone new.
    auto tracks = tracker.update(2.2, {det(600, 50, 40, 40)});
    ASSERT_EQ(tracks.size(), 1u);
    EXPECT_EQ(tracks[0].id, 2);
}

TEST(ByteTracker, LowScoreDetectionsKeepATrackInTheSecondStage) {
    ByteTracker tracker;
    for (int f = 0; f <= 5; ++f) tracker.update(f * 0.1, {det(100.0 + 5 * f, 50, 40, 40, 0.9f)});
    // Half hidden: the detector is unsure (0.3 < high 0.5) but the box is where the track goes.
    for (int f = 6; f <= 12; ++f) {
        auto tracks = tracker.update(f * 0.1, {det(100.0 + 5 * f, 50, 40, 40, 0.3f)});
        ASSERT_EQ(tracks.size(), 1u) << f;
        EXPECT_EQ(tracks[0].id, 1);
        EXPECT_TRUE(tracks[0].detected);
        EXPECT_FLOAT_EQ(tracks[0].score, 0.3f);
    }
    EXPECT_EQ(tracker.ids_issued(), 1);
    // A low-score detection alone never starts a track, and one below low_threshold is ignored.
    ByteTracker fresh;
    EXPECT_TRUE(fresh.update(0, {det(10, 10, 20, 20, 0.3f), det(300, 10, 20, 20, 0.05f)}).empty());
    EXPECT_EQ(fresh.ids_issued(), 0);
}

TEST(ByteTracker, LowScoreDetectionsDoNotRevivePoorMatchesOrLostTracks) {
    ByteTracker tracker;
    tracker.update(0, {det(100, 100, 40, 40)});
    tracker.update(0.1, {});  // lost
    // A low-score box where the lost track is: the second stage only looks at tracked tracks.
    EXPECT_TRUE(tracker.update(0.2, {det(100, 100, 40, 40, 0.3f)}).empty());
    EXPECT_EQ(tracker.lost_count(), 1u);
}

TEST(ByteTracker, PredictMovesTracksBetweenSparseDetections) {
    ByteTracker tracker;
    // Detection every 5 frames at 25 fps (0.2 s), 100 px/s to the right.
    for (int k = 0; k <= 8; ++k) ASSERT_EQ(tracker.update(k * 0.2, {det(20.0 * k, 60, 40, 40)}).at(0).id, 1);
    double last_x = 20.0 * 8;
    for (int f = 1; f <= 4; ++f) {
        auto tracks = tracker.predict(1.6 + f * 0.04);
        ASSERT_EQ(tracks.size(), 1u);
        EXPECT_FALSE(tracks[0].detected);
        EXPECT_GT(tracks[0].box[0], last_x);
        EXPECT_NEAR(tracks[0].box[0], 160 + 4.0 * f, 2);
        last_x = tracks[0].box[0];
    }
    // The next detection lands where the motion said: same id.
    auto tracks = tracker.update(1.8, {det(180, 60, 40, 40)});
    ASSERT_EQ(tracks.size(), 1u);
    EXPECT_EQ(tracks[0].id, 1);
}

TEST(ByteTracker, LoseAllHidesTracksUntilADetectionFindsThem) {
    ByteTracker tracker;
    tracker.update(0, {det(10, 10, 40, 40), det(200, 10, 40, 40)});
    tracker.lose_all(0.5);  // a "no chicken" frame
    EXPECT_TRUE(tracker.predict(0.6).empty());
    auto tracks = tracker.update(1.0, {det(200, 10, 40, 40)});
    ASSERT_EQ(tracks.size(), 1u);
    EXPECT_EQ(tracks[0].id, 2);
}

TEST(ByteTracker, UncertaintyGrowsWhileOnlyPredictingAndFallsOnADetection) {
    ByteTracker tracker;
    EXPECT_EQ(tracker.max_position_uncertainty(), 0);
    tracker.update(0, {det(100, 100, 40, 40)});
    const double fresh = tracker.max_position_uncertainty();
    tracker.predict(0.5);
    const double half = tracker.max_position_uncertainty();
    tracker.predict(1.0);
    const double one = tracker.max_position_uncertainty();
    EXPECT_GT(half, fresh);
    EXPECT_GT(one, half);
    tracker.update(1.0, {det(100, 100, 40, 40)});
    EXPECT_LT(tracker.max_position_uncertainty(), one);
    tracker.update(1.1, {});  // lost: not counted
    EXPECT_EQ(tracker.max_position_uncertainty(), 0);
}

TEST(ByteTracker, BadParametersAreRefused) {
    TrackerParams p;
    p.low_threshold = 0.7f;  // above high
    EXPECT_THROW(ByteTracker{p}, Error);
    p = TrackerParams{};
    p.max_age = 0;
    EXPECT_THROW(ByteTracker{p}, Error);
}

TEST(MoveMask, TranslatesAndScalesWithTheBoxAndCutsAtTheEdge) {
    // 4x3 square at (2, 1) in a 10 x 8 frame.
    std::vector<uint8_t> m(10 * 8, 0);
    for (int x = 2; x < 6; ++x)
        for (int y = 1; y < 4; ++y) m[x * 8 + y] = 1;
    const Rle mask = rle_encode(m, 8, 10);
    const Rle moved = move_mask(mask, {2, 1, 4, 3}, {5, 3, 4, 3});
    EXPECT_EQ(rle_to_bbox(moved), (BoxXywh{5, 3, 4, 3}));
    EXPECT_EQ(rle_area(moved), 12u);
    const Rle doubled = move_mask(mask, {2, 1, 4, 3}, {0, 0, 8, 6});
    EXPECT_EQ(rle_area(doubled), 48u);
    const Rle cut = move_mask(mask, {2, 1, 4, 3}, {8, 6, 4, 3});  // half outside
    EXPECT_EQ(rle_to_bbox(cut), (BoxXywh{8, 6, 2, 2}));
    EXPECT_TRUE(move_mask(Rle{}, {0, 0, 1, 1}, {1, 1, 1, 1}).counts.empty());
}

}  // namespace
}  // namespace chickenseg
