// The constant-velocity Kalman filter of ByteTrack (and SORT/DeepSORT before it) on a box's
// centre, aspect ratio and height: state (cx, cy, a, h, vcx, vcy, va, vh), measurement
// (cx, cy, a, h). The noise of every term is proportional to the box's height, so a near
// (large) chicken may move more pixels than a far one.
//
// ByteTrack steps once per video frame. The stream predicts over uneven gaps (frames are
// dropped on a live source, detection runs every N frames), so the filter works in seconds:
// a prediction over dt seconds is dt * reference_fps of ByteTrack's steps, with the motion and
// the process noise scaled by that number (noise adds up linearly over steps).
#pragma once

#include <array>

#include "chickenseg/core/rle.h"

namespace chickenseg {

struct KalmanBoxParams {
    double position_weight = 1.0 / 20;   // ByteTrack's _std_weight_position
    double velocity_weight = 1.0 / 160;  // ByteTrack's _std_weight_velocity
    double reference_fps = 30;           // the frame rate ByteTrack's weights were tuned at
};
KalmanBoxParams kalman_box_default_params();

class KalmanBox {
public:
    using State = std::array<double, 8>;
    using Covariance = std::array<double, 64>;  // row-major 8 x 8

    // A new filter at `box` ([x, y, w, h] pixels), velocity 0 with a large uncertainty.
    KalmanBox(const BoxXywh& box, const KalmanBoxParams& params = kalman_box_default_params());

    // Moves the state `seconds` ahead (>= 0; 0 changes nothing).
    void predict(double seconds);
    // Corrects the state with a measured box.
    void update(const BoxXywh& box);
    // ByteTrack freezes the height's velocity of a track that is not seen (lost tracks).
    void stop_height_change() { mean_[7] = 0; }

    BoxXywh box() const;  // the current estimate, [x, y, w, h]
    const State& mean() const { return mean_; }
    const Covariance& covariance() const { return cov_; }

private:
    KalmanBoxParams params_;
    State mean_{};
    Covariance cov_{};
};

// [x, y, w, h] <-> (cx, cy, w / h, h).
std::array<double, 4> box_to_xyah(const BoxXywh& box);
BoxXywh xyah_to_box(const std::array<double, 4>& xyah);

}  // namespace chickenseg
