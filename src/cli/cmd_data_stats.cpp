// `chickenseg data stats`: what an SA-Co dataset holds.
#include <cstdio>
#include <memory>

#include "chickenseg/data/stats.h"
#include "chickenseg/core/text_format.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

void print_histogram(const char* title, const std::vector<HistogramBin>& bins, size_t total) {
    std::printf("\n%s\n", title);
    for (const auto& b : bins) {
        double pct = total ? 100.0 * static_cast<double>(b.count) / static_cast<double>(total) : 0.0;
        std::printf("  %-16s %8zu %6.1f%%\n", b.label.c_str(), b.count, pct);
    }
}

void print_table(const DatasetStats& s) {
    auto line = [](const char* name, size_t n) { std::printf("%-18s %8zu\n", name, n); };
    line("images", s.images);
    line("  positives", s.positives);
    line("  negatives", s.negatives);
    line("  non-exhaustive", s.non_exhaustive);
    line("annotations", s.annotations);
    line("  crowd", s.crowd);
    if (s.orphan_annotations) line("  naming no image", s.orphan_annotations);
    size_t instances = 0;
    for (const auto& b : s.instance_sizes) instances += b.count;
    print_histogram("instances per image", s.instances_per_image, s.images);
    print_histogram("instance size (area, COCO bins)", s.instance_sizes, instances);
    print_histogram("instance size (fraction of image)", s.relative_sizes, instances);
    std::printf("\nsources\n  %-24s %8s %10s %10s %12s\n", "source", "images", "positives", "negatives", "annotations");
    for (const auto& [name, src] : s.sources)
        std::printf("  %-24s %8zu %10zu %10zu %12zu\n", terminal_safe(name).c_str(), src.images, src.positives,
                    src.negatives, src.annotations);
    std::printf("\nimage size   %8s %8s %8s\n", "min", "median", "max");
    auto row = [](const char* name, const Distribution& d) {
        std::printf("  %-10s %8llu %8llu %8llu\n", name, static_cast<unsigned long long>(d.min),
                    static_cast<unsigned long long>(d.median), static_cast<unsigned long long>(d.max));
    };
    row("width", s.width);
    row("height", s.height);
    row("pixels", s.pixels);
}

CommandRegistrar registrar{{
    "data",
    "stats",
    "Counts, instance histograms, per-source breakdown and image sizes of an SA-Co dataset",
    50,
    [](CLI::App& cmd) -> Runner {
        auto dataset = std::make_shared<std::string>();
        cmd.add_option("--dataset", *dataset, "SA-Co dataset JSON")->required();
        return [dataset]() {
            const DatasetStats s = compute_stats(read_saco_json(*dataset));
            if (global_options().json)
                print_json(stats_to_json(s));
            else
                print_table(s);
            return 0;
        };
    },
}};

}  // namespace
}  // namespace chickenseg::cli
