// A ByteTrack-style multi-object tracker (Zhang et al., "ByteTrack: Multi-Object Tracking by
// Associating Every Detection Box", ECCV 2022) for `chickenseg stream`: each track carries the
// constant-velocity Kalman filter of kalman_box.h, and a detection frame is associated in two
// stages by box IoU with optimal assignment (eval's Hungarian solver):
//   1. high-score detections (score >= high_threshold) against every track, the lost ones
//      included, so that a chicken seen again after an occlusion keeps its id;
//   2. low-score detections (low_threshold <= score < high_threshold) against the tracks still
//      unmatched that were tracked at the previous detection frame: a chicken half hidden by a
//      feeder scores low but is still the same chicken (ByteTrack's point);
// then a track left unmatched becomes lost (kept, not reported), an unmatched high-score
// detection scoring >= new_track_threshold starts a new track, and a track unseen for longer
// than max_age seconds dies. Between detection frames predict() moves every track with its
// filter. Ids are 1, 2, ... in creation order and never reused.
//
// Departures from ByteTrack, for sparse detection (every N frames, not every frame): time is
// in seconds, not frames (kalman_box.h); a new track is reported at once instead of after a
// second matching frame, since the second match may be a second later.
#pragma once

#include <cstdint>
#include <vector>

#include "chickenseg/core/rle.h"
#include "chickenseg/stream/kalman_box.h"

namespace chickenseg {

struct TrackerParams {
    float high_threshold = 0.5f;       // ByteTrack's track_thresh: first-stage detections
    float low_threshold = 0.1f;        // below: ignored; between: second-stage detections
    float new_track_threshold = 0.6f;  // an unmatched detection at least this sure starts a track
    double first_match_iou = 0.2;      // ByteTrack's match_thresh 0.8 as a cost (1 - IoU)
    double second_match_iou = 0.5;     // ByteTrack's second-stage cost limit 0.5
    // First stage: both boxes grown by this share of their size on each side before the IoU
    // (C-BIoU, Yang et al., WACV 2023), so that a chicken that moved further than its predicted
    // box still overlaps it, as happens when detection runs every N frames.
    double first_match_buffer = 0.3;
    double max_age = 2.0;  // seconds a track may go unseen before it dies
    KalmanBoxParams motion = kalman_box_default_params();
};
TrackerParams tracker_default_params();
// Throws Error naming the parameter that is out of range.
void check_tracker_params(const TrackerParams& params);

struct TrackerDetection {
    BoxXywh box{};  // [x, y, w, h] pixels
    float score = 0;
    Rle mask;  // at the frame's size, or empty
};

// A track as reported for a frame.
struct TrackedObject {
    int64_t id = 0;
    BoxXywh box{};          // the filter's estimate at this frame (after the correction on a match)
    float score = 0;        // the score of its last matched detection
    bool detected = false;  // matched to a detection of this frame
    int detection = -1;     // that detection's index in update()'s input, -1 when none
    // The mask of its last matched detection and that detection's box: between detections
    // the mask moves with the box (move_mask).
    const Rle* mask = nullptr;
    BoxXywh mask_box{};
};

class ByteTracker {
public:
    explicit ByteTracker(const TrackerParams& params = tracker_default_params());

    // A detection frame at `time` seconds (non-decreasing): association, births and deaths.
    // Returns the tracked (not lost) tracks, by id.
    std::vector<TrackedObject> update(double time, std::vector<TrackerDetection> detections);
    // A frame without detection: every track moved to `time`; tracks past max_age die.
    // Returns the tracked tracks, by id (the lost ones are kept but not reported).
    std::vector<TrackedObject> predict(double time);
    // Every track is lost (a frame gated as "no chicken"): it dies after max_age unless a
    // detection finds it again.
    void lose_all(double time);

    size_t tracked_count() const;
    size_t lost_count() const;
    int64_t ids_issued() const { return next_id_ - 1; }
    // The tracker's doubt: over the tracked tracks, the largest standard deviation of the
    // filter's centre (the root of the x and y variances' sum) in units of the track's height;
    // 0 without tracks. It grows while tracks are only predicted, fastest for new ones.
    double max_position_uncertainty() const;

private:
    struct Track {
        int64_t id = 0;
        KalmanBox filter;
        float score = 0;
        bool lost = false;
        double last_seen = 0;  // seconds: the last matched detection
        int detection = -1;    // index of the detection matched in the current update, -1 none
        Rle mask;              // of the last matched detection
        BoxXywh mask_box{};    // that detection's box
    };
    void advance(double time);
    void drop_expired();
    std::vector<TrackedObject> report() const;

    TrackerParams params_;
    std::vector<Track> tracks_;
    int64_t next_id_ = 1;
    double time_ = 0;
    bool started_ = false;
};

// The mask of a detection whose box was `from`, moved to a box `to`: translated and scaled
// with the box (nearest neighbour), cut at the frame's edges. An empty mask stays empty.
Rle move_mask(const Rle& mask, const BoxXywh& from, const BoxXywh& to);

}  // namespace chickenseg
