// Test helper driven by tests/python/test_tracker_mot.py: the stream's tracker (ByteTracker) on
// detections given as JSON, so that its MOTA and IDF1 are measured by a real MOT library.
//
//   track_tool < request.json > tracks.json
//
// Request: {"max_age": S, "buffer": B (both optional), "frames": [{"time": t, "detections": [[x, y, w, h, score],
// ...]} or {"time": t} (no detection: the tracker only predicts)]}.
// Answer: {"frames": [[[id, x, y, w, h], ...] per frame]}: the reported tracks of each frame.
#include <iostream>
#include <iterator>
#include <string>

#include "chickenseg/core/error.h"
#include "chickenseg/core/json_file.h"
#include "chickenseg/stream/tracker.h"

using namespace chickenseg;

int main() {
    try {
        const json request = json::parse(std::string(std::istreambuf_iterator<char>(std::cin), {}));
        TrackerParams params = tracker_default_params();
        if (request.contains("max_age")) params.max_age = request["max_age"].get<double>();
        if (request.contains("buffer")) params.first_match_buffer = request["buffer"].get<double>();
        ByteTracker tracker(params);
        json frames = json::array();
        for (const json& frame : request.at("frames")) {
            const double time = frame.at("time").get<double>();
            std::vector<TrackedObject> tracks;
            if (frame.contains("detections")) {
                std::vector<TrackerDetection> detections;
                for (const json& d : frame["detections"])
                    detections.push_back(
                        {{d[0].get<double>(), d[1].get<double>(), d[2].get<double>(), d[3].get<double>()},
                         d[4].get<float>(),
                         {}});
                tracks = tracker.update(time, std::move(detections));
            } else {
                tracks = tracker.predict(time);
            }
            json out = json::array();
            for (const auto& t : tracks) out.push_back({t.id, t.box[0], t.box[1], t.box[2], t.box[3]});
            frames.push_back(std::move(out));
        }
        std::cout << json{{"frames", frames}}.dump() << '\n';
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "track_tool: " << e.what() << '\n';
        return 1;
    }
}
