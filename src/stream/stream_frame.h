// What the stream knows about one processed frame, and the two things made from it: its
// JSONL line and its overlay picture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/stream/tracker.h"

namespace chickenseg {

struct StreamFrame {
    int64_t index = 0;
    double time = 0;
    uint32_t width = 0;
    uint32_t height = 0;
    bool detection = false;  // the detector ran on this frame
    float presence = -1;     // its presence score (detection frames)
    bool present = false;    // the last detection found the concept: tracks are reported
    int64_t dropped_before = 0;
    double gap_before = 0;
    std::vector<TrackedObject> tracks;  // reported tracks (none when !present)
};

// The frame's box of a track, cut to the picture.
BoxXywh clip_box(const BoxXywh& box, uint32_t width, uint32_t height);
// A track's mask at this frame: its detection's, or that one moved with the box since.
Rle track_mask(const TrackedObject& track);

// {"frame", "time", "detection", "presence" (detection frames), "present", "count", "tracks":
// [{"id", "bbox", "score", "detected", "segmentation" (with `masks`, detected tracks)}],
// "dropped_before" and "gap" when not 0}.
json stream_frame_to_json(const StreamFrame& frame, bool masks);

// Masks filled in a colour per id, boxes, "#id score" labels, and a banner with the count or
// "no <concept>".
void draw_stream_overlay(RgbImage& image, const StreamFrame& frame, const std::string& concept_name);

}  // namespace chickenseg
