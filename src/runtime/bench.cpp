#include "chickenseg/runtime/bench.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/data/dataset_layout.h"
#include "chickenseg/workbench/model_runner.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

LatencyStats stats_of(std::vector<double> v) {
    LatencyStats s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(std::lround(q * (v.size() - 1))))]; };
    s.p50 = at(0.5);
    s.p90 = at(0.9);
    s.p99 = at(0.99);
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    return s;
}

// A photo-like test picture: smooth gradients, a few discs, sensor noise; JPEG-encoded, so
// that decoding costs what a camera's frame costs.
std::string synthetic_jpeg(uint32_t width, uint32_t height, unsigned seed) {
    RgbImage im{width, height, std::vector<uint8_t>(size_t{width} * height * 3)};
    uint32_t state = seed * 2654435761u + 1;
    auto noise = [&] {
        state = state * 1664525u + 1013904223u;
        return static_cast<int>(state >> 28) - 8;
    };
    for (uint32_t y = 0; y < height; ++y)
        for (uint32_t x = 0; x < width; ++x) {
            const double cx = (x % 480) - 240.0, cy = (y % 360) - 180.0;
            const bool disc = cx * cx + cy * cy < 90.0 * 90.0;
            uint8_t* p = &im.pixels[(size_t{y} * width + x) * 3];
            const int base[3] = {static_cast<int>(120 + 80 * std::sin(x * 0.004 + seed)),
                                 static_cast<int>(100 + 60 * std::cos(y * 0.006)), disc ? 230 : 70};
            for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::clamp(base[c] + noise(), 0, 255));
        }
    return encode_jpeg(im, 90);
}

struct BenchImages {
    std::vector<fs::path> files;     // for the baseline (Python reads files)
    std::vector<std::string> bytes;  // what the runtime decodes
    std::string sizes;
    fs::path temporary;  // synthetic images live here; removed at the end
    ~BenchImages() {
        std::error_code ec;
        if (!temporary.empty()) fs::remove_all(temporary, ec);
    }
};

void load_images(const BenchParams& p, BenchImages& out) {
    if (p.images.empty()) {
        out.temporary = fs::temp_directory_path() / ("chickenseg_bench_" + std::to_string(getpid()));
        fs::create_directories(out.temporary);
        for (unsigned i = 0; i < 4; ++i) {
            out.files.push_back(out.temporary / ("synthetic_" + std::to_string(i) + ".jpg"));
            out.bytes.push_back(synthetic_jpeg(1920, 1080, i));
            write_file_atomic(out.files.back(), out.bytes.back());
        }
        out.sizes = "1920x1080 (synthetic JPEG)";
        return;
    }
    DatasetFolder folder = scan_dataset_folder(p.images, "");
    if (folder.images.empty()) throw Error("no image files in the folder", p.images.string());
    uint64_t min_px = UINT64_MAX, max_px = 0;
    std::string smallest, largest;
    for (const auto& rel : folder.images) {
        if (out.files.size() >= std::max<size_t>(1, p.max_images)) break;
        fs::path path = p.images / rel;
        std::string bytes = read_file(path);
        ImageInfo info = read_image_info({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, path.string());
        const uint64_t px = uint64_t{info.width} * info.height;
        const std::string size = std::to_string(info.width) + "x" + std::to_string(info.height);
        if (px < min_px) min_px = px, smallest = size;
        if (px > max_px) max_px = px, largest = size;
        out.files.push_back(path);
        out.bytes.push_back(std::move(bytes));
    }
    out.sizes = smallest == largest ? smallest : smallest + " to " + largest;
}

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

json baseline_json(const BenchParams& p, const BenchImages& images, const Engine& engine, const std::string& prompt) {
    std::vector<std::string> args{"bench-baseline",
                                  "--model",
                                  p.baseline_model.empty() ? engine.package().model_source : p.baseline_model,
                                  "--device",
                                  engine.device(),
                                  "--iters",
                                  std::to_string(p.iterations),
                                  "--warmup",
                                  std::to_string(p.warmup),
                                  "--prompt",
                                  prompt,
                                  "--images"};
    for (const auto& f : images.files) args.push_back(f.string());
    return run_model_package(args);
}

json stats_json(const LatencyStats& s) { return {{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"mean", s.mean}}; }

}  // namespace

BenchParams bench_default_params() { return BenchParams{}; }

BenchReport run_bench(const BenchParams& p) {
    if (p.iterations == 0) throw Error("bench: --iters must be at least 1");
    EngineParams ep = p.engine;
    ep.profile = true;
    Engine engine(p.package, ep);
    const std::string prompt = p.prompt.empty() ? engine.package().prompts.front() : p.prompt;
    const size_t prompt_index = engine.prompt_index(prompt);
    BenchImages images;
    load_images(p, images);

    BenchReport r;
    r.package = p.package.string();
    r.model_source = engine.package().model_source;
    r.dtype = engine.package().dtype;
    r.backend = engine.backend();
    r.device = engine.device();
    r.runtime = engine.description();
    r.images = images.bytes.size();
    r.image_sizes = images.sizes;
    r.iterations = p.iterations;
    engine.reset_peak_device_bytes();

    // Batch 1, stage by stage, each image decoded from memory as a camera frame would be.
    const char* names[] = {"image decode", "pre-processing", "host to device",        "vision encoder",
                           "decoder",      "mask decoder",   "post-processing (RLE)", "end to end"};
    std::map<std::string, std::vector<double>> samples;
    std::vector<double> cached, gated, gated_decoder;
    DetectParams gate_everything;
    gate_everything.presence_threshold = 1.0;  // presence < 1 always: every image is "no chicken"
    for (size_t i = 0; i < p.warmup + p.iterations; ++i) {
        const std::string& bytes = images.bytes[i % images.bytes.size()];
        const std::string name = images.files[i % images.files.size()].string();
        auto start = Clock::now();
        RgbImage decoded = decode_image({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, name);
        const double decode_ms = ms_since(start);
        auto step = Clock::now();
        EngineInput input = prepare_engine_input(decoded, engine.package());
        const double pre_ms = ms_since(step);
        EngineTimings t;
        EncodedBatch batch = engine.encode({&input, 1}, &t);
        engine.detect(batch, prompt_index, detect_default_params(), &t);
        const double total_ms = ms_since(start);

        step = Clock::now();
        engine.detect(batch, prompt_index, detect_default_params());
        const double cached_ms = ms_since(step);
        EngineTimings g;
        step = Clock::now();
        engine.detect(batch, prompt_index, gate_everything, &g);
        const double gated_ms = ms_since(step);
        if (i < p.warmup) continue;
        const double values[] = {decode_ms,         pre_ms,           t.upload_ms, t.encoder_ms, t.decoder_ms,
                                 t.mask_decoder_ms, t.postprocess_ms, total_ms};
        for (size_t k = 0; k < std::size(names); ++k) samples[names[k]].push_back(values[k]);
        cached.push_back(cached_ms);
        gated.push_back(gated_ms);
        gated_decoder.push_back(g.decoder_ms);
    }
    for (const char* n : names) r.stages.emplace_back(n, stats_of(samples[n]));
    r.cached_detect = stats_of(cached);
    r.gated_detect = stats_of(gated);
    r.gated_decoder = stats_of(gated_decoder);

    // Throughput: batches of already prepared images (decoding runs on other cores in predict).
    std::vector<EngineInput> prepared;
    for (size_t i = 0; i < engine.max_batch(); ++i) {
        const std::string& bytes = images.bytes[i % images.bytes.size()];
        prepared.push_back(prepare_engine_input(
            decode_image({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "bench"), engine.package()));
    }
    for (size_t b : p.batch_sizes) {
        if (b < 1 || b > engine.max_batch()) continue;
        std::span<const EngineInput> inputs(prepared.data(), b);
        for (size_t i = 0; i < p.warmup; ++i) engine.predict(inputs, prompt_index);
        auto start = Clock::now();
        for (size_t i = 0; i < p.iterations; ++i) engine.predict(inputs, prompt_index);
        const double ms = ms_since(start) / static_cast<double>(p.iterations);
        r.throughput.push_back({b, 1000.0 * static_cast<double>(b) / ms, ms});
    }
    r.peak_rss_mb = peak_rss_mb();
    r.peak_device_bytes = engine.peak_device_bytes();

    if (p.baseline) {
        r.baseline = baseline_json(p, images, engine, prompt);
        const double theirs = r.baseline->at("end_to_end_ms").at("p50").get<double>();
        const double ours = r.stages.back().second.p50;
        r.baseline_ratio = ours > 0 ? theirs / ours : 0;
    }
    return r;
}

json bench_report_to_json(const BenchReport& r) {
    json stages = json::object();
    for (const auto& [name, s] : r.stages) stages[name] = stats_json(s);
    json throughput = json::array();
    for (const auto& t : r.throughput)
        throughput.push_back(
            {{"batch", t.batch}, {"images_per_second", t.images_per_second}, {"ms_per_batch", t.ms_per_batch}});
    json doc = {{"package", r.package},
                {"model_source", r.model_source},
                {"dtype", r.dtype},
                {"backend", r.backend},
                {"device", r.device},
                {"runtime", r.runtime},
                {"images", r.images},
                {"image_sizes", r.image_sizes},
                {"iterations", r.iterations},
                {"stages_ms", std::move(stages)},
                {"cached_detect_ms", stats_json(r.cached_detect)},
                {"gated_detect_ms", stats_json(r.gated_detect)},
                {"gated_decoder_ms", stats_json(r.gated_decoder)},
                {"throughput", std::move(throughput)},
                {"peak_rss_mb", r.peak_rss_mb},
                {"peak_device_mb",
                 r.peak_device_bytes < 0 ? json(nullptr) : json(static_cast<double>(r.peak_device_bytes) / (1 << 20))}};
    if (r.baseline) {
        doc["baseline"] = *r.baseline;
        doc["baseline_ratio"] = r.baseline_ratio;
    }
    return doc;
}

std::string format_bench_report(const BenchReport& r) {
    std::ostringstream out;
    auto f = [](double v) { return format_fixed(v, v < 10 ? 2 : 1); };
    auto row = [&](const std::string& name, const LatencyStats& s) {
        std::string padded = name;
        padded.resize(std::max<size_t>(padded.size(), 34), ' ');
        out << padded << ' ' << f(s.p50) << '\t' << f(s.p90) << '\t' << f(s.p99) << '\n';
    };
    out << "package  " << r.package << " (" << r.model_source << ", " << r.dtype << ")\n"
        << "runtime  " << r.backend << " on " << r.runtime << "\n"
        << "images   " << r.images << " of " << r.image_sizes << ", " << r.iterations
        << " timed runs after the warm-up, batch 1\n\n"
        << "stage                              p50 ms\tp90 ms\tp99 ms\n";
    for (const auto& [name, s] : r.stages) row(name, s);
    row("detect on cached features", r.cached_detect);
    row("gated image: whole detect", r.gated_detect);
    row("gated image: decoder to presence", r.gated_decoder);
    out << "\nbatch  images/s  ms/batch\n";
    for (const auto& t : r.throughput)
        out << t.batch << "\t" << format_fixed(t.images_per_second, 1) << "\t" << f(t.ms_per_batch) << '\n';
    out << "\npeak host RSS " << format_fixed(r.peak_rss_mb, 0) << " MB, peak device memory "
        << (r.peak_device_bytes < 0 ? std::string("n/a (CPU)")
                                    : format_fixed(static_cast<double>(r.peak_device_bytes) / (1 << 20), 0) + " MB")
        << '\n';
    if (r.baseline) {
        const json& b = *r.baseline;
        out << "baseline Hugging Face Sam3Model eager " << b.value("dtype", "") << " on " << b.value("device", "")
            << " (" << b.value("model", "") << "), same images: end to end p50 "
            << f(b.at("end_to_end_ms").at("p50").get<double>()) << " ms -> the runtime is "
            << format_fixed(r.baseline_ratio, 1) << "x faster\n";
    }
    return out.str();
}

}  // namespace chickenseg
