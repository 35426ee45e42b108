// `chickenseg data sample`: writes the embedded synthetic barn dataset.
#include <cstdio>
#include <iostream>
#include <regex>

#include "chickenseg/core/error.h"
#include "chickenseg/data/sample.h"
#include "chickenseg/data/sample_video.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

struct SampleOptions {
    std::string out;
    SampleParams params;
    std::string size = "640x480";
    bool video = false;
    SampleVideoParams video_params = sample_video_default_params();
    bool gt_only = false;
};

void parse_size(const std::string& size, uint32_t& width, uint32_t& height) {
    std::smatch m;
    static const std::regex kSize(R"(^(\d{1,5})[xX](\d{1,5})$)");
    if (!std::regex_match(size, m, kSize))
        throw Error("--size: expected WIDTHxHEIGHT such as 640x480, got '" + size + "'");
    width = static_cast<uint32_t>(std::stoul(m[1]));
    height = static_cast<uint32_t>(std::stoul(m[2]));
}

int run_sample_video(const SampleOptions& o) {
    SampleVideoParams params = o.video_params;
    parse_size(o.size, params.width, params.height);
    params.seed = o.params.seed;
    params.pictures = !o.gt_only;
    SampleVideoSummary s = write_sample_video(o.out, params);
    if (global_options().json) {
        print_json(sample_video_summary_to_json(s));
        return 0;
    }
    std::printf("sample video written to %s\n", s.out_dir.c_str());
    std::printf("  %-30s %d at %g fps%s\n", "frames", s.frames, s.fps, params.pictures ? "" : " (ground truth only)");
    std::printf("  %-30s %d (at most %d at once)\n", "chickens", s.chickens, s.max_chickens_at_once);
    std::printf("  %-30s %d\n", "frames without a chicken", s.frames_without_chicken);
    std::printf("  %-30s %d\n", "frames where chickens overlap", s.frames_with_overlap);
    std::printf("  %-30s %d of %d\n", "chicken boxes mostly hidden", s.occluded_boxes, s.chicken_boxes);
    for (const auto& [what, n] : s.negatives) std::printf("  %-30s %d\n", (what + "s (most at once)").c_str(), n);
    if (params.pictures)
        std::printf("next: chickenseg stream --package PKG --input %s/img1 --out tracks.jsonl\n", o.out.c_str());
    return 0;
}

int run_sample(const SampleOptions& o) {
    if (o.video) return run_sample_video(o);
    SampleParams params = o.params;
    parse_size(o.size, params.width, params.height);
    SampleSummary s = write_sample_dataset(o.out, params);
    if (global_options().json) {
        print_json(sample_summary_to_json(s));
        return 0;
    }
    std::printf("sample written to %s\n", s.out_dir.c_str());
    std::printf("  %-24s %d (%d PNG, %d JPEG)\n", "images", s.images, s.png, s.jpeg);
    std::printf("  %-24s %d\n", "with chickens", s.positives);
    std::printf("  %-24s %d (%d without annotation file)\n", "hard negatives", s.hard_negatives,
                s.without_annotation_file);
    std::printf("  %-24s %d\n", "ambiguous (unknown bird)", s.ambiguous);
    std::printf("  %-24s %d\n", "objects cut at the border", s.cut_at_border);
    std::printf("  labels:\n");
    for (const auto& [label, n] : s.label_counts) std::printf("    %-22s %d\n", label.c_str(), n);
    std::printf("  LabelMe shape types:\n");
    for (const auto& [t, n] : s.shape_type_counts) std::printf("    %-22s %d\n", t.c_str(), n);
    std::printf("next: chickenseg data convert %s/labelme --label-map %s/label_map.yaml --out chicken_all.json\n",
                o.out.c_str(), o.out.c_str());
    return 0;
}

const CommandRegistrar kRegistrar({
    "data",
    "sample",
    "Write the embedded demo dataset: synthetic barn scenes as LabelMe and YOLO, plus a label map (--video: an "
    "animated barn with tracking ground truth)",
    5,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<SampleOptions>();
        cmd.add_option("--out", o->out, "Folder to write (created; a previous sample there is replaced)")->required();
        auto* count = cmd.add_option("--count", o->params.images, "Number of scenes")
                          ->default_val(o->params.images)
                          ->check(CLI::Range(1, 100000));
        auto* video = cmd.add_flag("--video", o->video,
                                   "Write an animated barn instead: frames (img1/) and per-frame ground truth "
                                   "(gt/gt.txt, video.json)")
                          ->excludes(count);
        cmd.add_option("--frames", o->video_params.frames, "With --video: number of frames")
            ->default_val(o->video_params.frames)
            ->check(CLI::Range(1, 100000))
            ->needs(video);
        cmd.add_option("--fps", o->video_params.fps, "With --video: frames per second")
            ->default_val(o->video_params.fps)
            ->check(CLI::Range(1.0, 240.0))
            ->needs(video);
        cmd.add_flag("--gt-only", o->gt_only, "With --video: the ground truth only, no pictures (fast)")->needs(video);
        cmd.add_option("--seed", o->params.seed, "Random seed: the same seed gives the same bytes")
            ->default_val(o->params.seed);
        // A malformed size is a usage error (exit 2), caught while parsing.
        cmd.add_option("--size", o->size, "Image size WIDTHxHEIGHT (64x64 to 4096x4096)")
            ->default_val(o->size)
            ->check(CLI::Validator(
                [](std::string& v) -> std::string {
                    static const std::regex kSize(R"(^\d{1,5}[xX]\d{1,5}$)");
                    return std::regex_match(v, kSize) ? "" : "expected WIDTHxHEIGHT such as 640x480, got '" + v + "'";
                },
                "WxH"));
        return [o] { return run_sample(*o); };
    },
});

}  // namespace
}  // namespace chickenseg::cli
