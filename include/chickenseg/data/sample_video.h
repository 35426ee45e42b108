// The animated barn: the sample generator's scene (straw, planks, chickens, ducks, feeders,
// eggs) as a video, for testing `chickenseg stream` and its tracker. Chickens walk with smooth
// motion, enter and leave through the borders, stop to peck, pass in front of and behind each
// other and the feeders (the lower one on the floor is nearer and drawn over the other); once
// per video every chicken leaves and the barn stays empty for a while. Ducks walk too; feeders
// and eggs stay put; none of them ever gets a chicken id. Every frame comes with its ground
// truth: each object's box, class, track id and visible share. Deterministic from the seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chickenseg/core/geometry.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/json_file.h"

namespace chickenseg {

inline constexpr const char* kSampleVideoSchema = "chickenseg.sample_video/1";

struct SampleVideoParams {
    int frames = 250;       // 1..100000
    double fps = 25;        // frames per second, 1..240 (the motion is in seconds, so any rate works)
    uint64_t seed = 0;      // same seed, size, frames and rate -> same bytes
    uint32_t width = 640;   // pixels, 64..4096
    uint32_t height = 480;  //
    int max_chickens = 5;   // at once, 1..20
    bool pictures = true;   // false: the ground truth only (fast; for tracker tests)
};
SampleVideoParams sample_video_default_params();
// Throws Error naming the setting that is out of range.
void check_sample_video_params(const SampleVideoParams& params);

struct SampleVideoObject {
    int id = 0;             // a chicken's track id (1, 2, ...; it keeps it while it is in view); 0: not a chicken
    std::string label;      // as the still sample writes it: chicken, Chicken, hen, rooster, chick, duck, feeder, egg
    std::string category;   // "chicken", "duck", "feeder" or "egg"
    BoxXywh bbox{};         // the whole outline clipped to the image (parts hidden by nearer objects included)
    double visibility = 1;  // share of its pixels in the image that no nearer object hides
    bool cut_at_border = false;  // part of it lies outside the image
    Polygon silhouette;          // its outline clipped to the image
};

struct SampleVideoFrame {
    int index = 0;                           // from 0
    double time = 0;                         // index / fps
    RgbImage image;                          // empty without pictures
    std::vector<SampleVideoObject> objects;  // back to front (drawing order)
};

// The whole animation, planned once (cheap: motion only); frames are rendered on demand, each
// on its own, so they can be rendered in any order or in parallel.
class SampleVideo {
public:
    explicit SampleVideo(const SampleVideoParams& params);  // throws Error for bad params
    ~SampleVideo();
    SampleVideo(const SampleVideo&) = delete;
    SampleVideo& operator=(const SampleVideo&) = delete;

    const SampleVideoParams& params() const;
    int chickens() const;  // chicken ids issued
    // Frame `index` (0..frames-1), with its picture when the params ask for pictures.
    SampleVideoFrame frame(int index) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct SampleVideoSummary {
    std::filesystem::path out_dir;
    int frames = 0;
    double fps = 0;
    int chickens = 0;                      // ids issued
    int chicken_boxes = 0;                 // chicken objects over all frames
    int max_chickens_at_once = 0;          // in one frame
    int frames_without_chicken = 0;        //
    int frames_with_overlap = 0;           // two chickens' boxes intersect
    int occluded_boxes = 0;                // chicken boxes less than half visible
    std::map<std::string, int> negatives;  // distinct ducks, feeders, eggs seen
};
json sample_video_summary_to_json(const SampleVideoSummary& s);

// Writes the video under `out_dir` in the MOTChallenge layout (docs/data.md "sample --video"):
//   img1/000001.jpg ... (unless params.pictures is false), gt/gt.txt (the chickens:
//   frame,id,x,y,w,h,1,1,visibility; frames from 1), seqinfo.ini, video.json (every object of
//   every frame, negatives included; marks the folder) and README.md. The folder is built beside
//   `out_dir` and renamed into place; an existing folder is replaced only when it holds a previous
//   sample video and nothing else (Error otherwise).
SampleVideoSummary write_sample_video(const std::filesystem::path& out_dir, const SampleVideoParams& params);

}  // namespace chickenseg
