// `chickenseg bench`: the runtime's latency per stage (image decode, pre-processing, host to
// device, vision encoder, decoder, mask decoder, post-processing with RLE) and end to end as
// p50/p90/p99 over repeated runs after a warm-up; the decoder on cached features (what each
// further prompt or re-used frame costs); a gated "no chicken" image; throughput per batch
// size; peak host RSS and peak device memory; and, with a baseline, Hugging Face's Sam3Model
// eager on the same images in the same run (the Python reference's path), with the ratio.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "chickenseg/core/json_file.h"
#include "chickenseg/runtime/engine.h"

namespace chickenseg {

struct BenchParams {
    std::filesystem::path package;
    EngineParams engine = engine_default_params();  // profile is forced on (exact stage times)
    std::filesystem::path images;                   // a folder of images; "" = synthetic 1920x1080 JPEG photos
    size_t max_images = 16;                         // at most this many of the folder's images (sorted)
    std::vector<size_t> batch_sizes{1, 2, 4, 8};    // sizes above the package's batch.max are skipped
    size_t iterations = 20;                         // timed runs per measurement
    size_t warmup = 3;                              // untimed runs before them
    std::string prompt;                             // "" = the package's first prompt
    bool baseline = false;                          // also time Hugging Face Sam3Model eager (Python)
    std::string baseline_model;                     // "" = the package's model_source
};
BenchParams bench_default_params();

struct LatencyStats {
    double p50 = 0, p90 = 0, p99 = 0, mean = 0;
};

struct BenchReport {
    std::string package, model_source, dtype, backend, device, runtime;
    size_t images = 0;
    std::string image_sizes;  // "1920x1080" or "640x480 to 4032x3024"
    size_t iterations = 0;
    std::vector<std::pair<std::string, LatencyStats>> stages;  // in pipeline order, "end to end" last
    LatencyStats cached_detect;  // decoder + mask decoder + post-processing on cached features
    LatencyStats gated_detect;   // the same for an image gated as "no <concept>"
    LatencyStats gated_decoder;  // of which the decoder up to presence
    struct Throughput {
        size_t batch = 0;
        double images_per_second = 0;
        double ms_per_batch = 0;
    };
    std::vector<Throughput> throughput;
    double peak_rss_mb = 0;
    long long peak_device_bytes = -1;  // -1: the device does not say (CPU)
    std::optional<json> baseline;      // bench-baseline's JSON
    double baseline_ratio = 0;         // baseline end-to-end p50 / ours
};

// Throws Error for a bad package, folder or prompt; a baseline that fails is an Error too.
BenchReport run_bench(const BenchParams& params);
json bench_report_to_json(const BenchReport& report);
std::string format_bench_report(const BenchReport& report);

}  // namespace chickenseg
