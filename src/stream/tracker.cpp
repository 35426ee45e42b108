#include "chickenseg/stream/tracker.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "chickenseg/core/error.h"
#include "chickenseg/core/geometry.h"
#include "chickenseg/eval/hungarian.h"

namespace chickenseg {
namespace {

// A pair below the IoU floor costs this much: the solver first maximises the number of pairs
// above the floor, then their total IoU; the forced pairs below it are dropped afterwards.
constexpr double kInfeasibleCost = 1e6;

struct Match {
    size_t track = 0;      // index into the candidate tracks
    size_t detection = 0;  // index into the candidate detections
};

// The box grown by `buffer` x its width on the left and on the right, x its height above and below.
BoxXywh buffered(const BoxXywh& b, double buffer) {
    return {b[0] - buffer * b[2], b[1] - buffer * b[3], b[2] * (1 + 2 * buffer), b[3] * (1 + 2 * buffer)};
}

// Optimal assignment of tracks to detections by 1 - IoU of the buffered boxes, keeping pairs with
// IoU >= min_iou.
std::vector<Match> associate(const std::vector<BoxXywh>& tracks, const std::vector<BoxXywh>& detections, double min_iou,
                             double buffer) {
    std::vector<Match> matches;
    if (tracks.empty() || detections.empty()) return matches;
    std::vector<double> iou(tracks.size() * detections.size());
    std::vector<double> cost(iou.size());
    for (size_t t = 0; t < tracks.size(); ++t)
        for (size_t d = 0; d < detections.size(); ++d) {
            const size_t i = t * detections.size() + d;
            iou[i] = box_iou(buffered(tracks[t], buffer), buffered(detections[d], buffer));
            cost[i] = iou[i] >= min_iou && iou[i] > 0 ? 1 - iou[i] : kInfeasibleCost;
        }
    for (const auto& pair : hungarian_minimize(cost, tracks.size(), detections.size()))
        if (cost[pair.row * detections.size() + pair.col] < kInfeasibleCost) matches.push_back({pair.row, pair.col});
    return matches;
}

}  // namespace

TrackerParams tracker_default_params() { return TrackerParams{}; }

void check_tracker_params(const TrackerParams& p) {
    if (!(p.low_threshold >= 0 && p.low_threshold <= p.high_threshold && p.high_threshold <= 1))
        throw Error("tracker thresholds " + std::to_string(p.low_threshold) + ", " + std::to_string(p.high_threshold) +
                    ": expected 0 <= low <= high <= 1");
    if (!(p.new_track_threshold >= 0 && p.new_track_threshold <= 1))
        throw Error("tracker new-track threshold " + std::to_string(p.new_track_threshold) + ": expected 0..1");
    if (!(p.first_match_iou > 0 && p.first_match_iou <= 1 && p.second_match_iou > 0 && p.second_match_iou <= 1))
        throw Error("tracker IoU floors: expected values in (0, 1]");
    if (!(p.max_age > 0 && std::isfinite(p.max_age)))
        throw Error("track max age " + std::to_string(p.max_age) + ": expected seconds > 0");
}

ByteTracker::ByteTracker(const TrackerParams& params) : params_(params) { check_tracker_params(params_); }

void ByteTracker::advance(double time) {
    if (!started_) {
        started_ = true;
        time_ = time;
    }
    const double dt = time - time_;
    if (dt > 0) {
        for (auto& t : tracks_) {
            if (t.lost) t.filter.stop_height_change();
            t.filter.predict(dt);
        }
        time_ = time;
    }
    for (auto& t : tracks_) t.detection = -1;
}

void ByteTracker::drop_expired() {
    std::erase_if(tracks_, [&](const Track& t) { return time_ - t.last_seen > params_.max_age; });
}

std::vector<TrackedObject> ByteTracker::update(double time, std::vector<TrackerDetection> detections) {
    advance(time);
    std::vector<size_t> high, low;
    for (size_t d = 0; d < detections.size(); ++d) {
        if (detections[d].score >= params_.high_threshold)
            high.push_back(d);
        else if (detections[d].score >= params_.low_threshold)
            low.push_back(d);
    }
    auto match_stage = [&](std::vector<size_t>& pool, std::vector<size_t>& dets, double min_iou, double buffer) {
        std::vector<BoxXywh> track_boxes, det_boxes;
        for (size_t t : pool) track_boxes.push_back(tracks_[t].filter.box());
        for (size_t d : dets) det_boxes.push_back(detections[d].box);
        std::vector<bool> track_used(pool.size()), det_used(dets.size());
        for (const Match& m : associate(track_boxes, det_boxes, min_iou, buffer)) {
            Track& t = tracks_[pool[m.track]];
            TrackerDetection& d = detections[dets[m.detection]];
            t.filter.update(d.box);
            t.score = d.score;
            t.lost = false;
            t.last_seen = time_;
            t.detection = static_cast<int>(dets[m.detection]);
            t.mask = std::move(d.mask);
            t.mask_box = d.box;
            track_used[m.track] = det_used[m.detection] = true;
        }
        std::vector<size_t> pool_left, dets_left;
        for (size_t i = 0; i < pool.size(); ++i)
            if (!track_used[i]) pool_left.push_back(pool[i]);
        for (size_t i = 0; i < dets.size(); ++i)
            if (!det_used[i]) dets_left.push_back(dets[i]);
        pool = std::move(pool_left);
        dets = std::move(dets_left);
    };
    // Stage 1: high-score detections against every track, tracked or lost.
    std::vector<size_t> pool(tracks_.size());
    for (size_t t = 0; t < tracks_.size(); ++t) pool[t] = t;
    match_stage(pool, high, params_.first_match_iou, params_.first_match_buffer);
    // Stage 2: low-score detections against the tracks that were tracked until now.
    std::vector<size_t> tracked_left;
    for (size_t t : pool)
        if (!tracks_[t].lost) tracked_left.push_back(t);
    match_stage(tracked_left, low, params_.second_match_iou, 0);
    for (auto& t : tracks_)
        if (t.detection < 0) t.lost = true;
    // Births: the high-score detections nothing claimed.
    for (size_t d : high) {
        if (detections[d].score < params_.new_track_threshold) continue;
        tracks_.push_back(Track{next_id_++, KalmanBox(detections[d].box, params_.motion), detections[d].score, false,
                                time_, static_cast<int>(d), std::move(detections[d].mask), detections[d].box});
    }
    drop_expired();
    return report();
}

std::vector<TrackedObject> ByteTracker::predict(double time) {
    advance(time);
    drop_expired();
    return report();
}

void ByteTracker::lose_all(double time) {
    advance(time);
    for (auto& t : tracks_) t.lost = true;
    drop_expired();
}

std::vector<TrackedObject> ByteTracker::report() const {
    std::vector<TrackedObject> out;
    for (const auto& t : tracks_) {
        if (t.lost) continue;
        out.push_back({t.id, t.filter.box(), t.score, t.detection >= 0, t.detection, &t.mask, t.mask_box});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

size_t ByteTracker::tracked_count() const {
    return static_cast<size_t>(std::count_if(tracks_.begin(), tracks_.end(), [](const Track& t) { return !t.lost; }));
}

double ByteTracker::max_position_uncertainty() const {
    double worst = 0;
    for (const auto& t : tracks_) {
        if (t.lost) continue;
        const auto& p = t.filter.covariance();
        const double h = std::max(t.filter.mean()[3], 1.0);
        worst = std::max(worst, std::sqrt(p[0] + p[9]) / h);
    }
    return worst;
}

size_t ByteTracker::lost_count() const { return tracks_.size() - tracked_count(); }

Rle move_mask(const Rle& mask, const BoxXywh& from, const BoxXywh& to) {
    if (mask.h == 0 || mask.w == 0 || from[2] <= 0 || from[3] <= 0) return mask;
    const std::vector<uint8_t> src = rle_decode(mask);
    std::vector<uint8_t> out(src.size(), 0);
    const long w = mask.w, h = mask.h;
    const double sx = from[2] / std::max(to[2], 1e-6), sy = from[3] / std::max(to[3], 1e-6);
    const long x0 = std::max(0L, static_cast<long>(std::floor(to[0])));
    const long x1 = std::min(w, static_cast<long>(std::ceil(to[0] + to[2])));
    const long y0 = std::max(0L, static_cast<long>(std::floor(to[1])));
    const long y1 = std::min(h, static_cast<long>(std::ceil(to[1] + to[3])));
    // Each pixel of the new box takes the pixel at the same relative place in the old box
    // (pixel centres, nearest neighbour); column-major as COCO's RLE.
    for (long x = x0; x < x1; ++x) {
        const long u = static_cast<long>(std::floor(from[0] + (x + 0.5 - to[0]) * sx));
        if (u < 0 || u >= w) continue;
        for (long y = y0; y < y1; ++y) {
            const long v = static_cast<long>(std::floor(from[1] + (y + 0.5 - to[1]) * sy));
            if (v >= 0 && v < h) out[x * h + y] = src[u * h + v];
        }
    }
    return rle_encode(out, mask.h, mask.w);
}

}  // namespace chickenseg
