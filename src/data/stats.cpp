#include "chickenseg/data/stats.h"

#include <algorithm>
#include <unordered_map>

namespace chickenseg {

namespace {

struct Bin {
    const char* label;
    double upper;  // exclusive upper bound of the bin
};

// Instance counts per image: exact for the few-instance images that dominate,
// coarser for crowded pens.
constexpr Bin kInstanceBins[] = {{"0", 1},    {"1", 2},      {"2", 3},      {"3", 4},      {"4", 5},
                                 {"5-9", 10}, {"10-19", 20}, {"20-49", 50}, {"50+", 1e300}};
// COCO's area ranges (cocoeval: small < 32^2 <= medium < 96^2 <= large).
constexpr Bin kCocoBins[] = {{"small (< 32^2)", 32.0 * 32.0}, {"medium (< 96^2)", 96.0 * 96.0}, {"large", 1e300}};
// Fraction of the image: a chicken far from a ceiling camera is well under 1%.
constexpr Bin kRelativeBins[] = {{"< 0.1%", 0.001}, {"0.1-1%", 0.01}, {"1-5%", 0.05},   {"5-10%", 0.10},
                                 {"10-25%", 0.25},  {"25-50%", 0.50}, {">= 50%", 1e300}};

template <size_t N>
std::vector<HistogramBin> empty_histogram(const Bin (&bins)[N]) {
    std::vector<HistogramBin> h;
    for (const Bin& b : bins) h.push_back({b.label, 0});
    return h;
}

template <size_t N>
void add_to(std::vector<HistogramBin>& h, const Bin (&bins)[N], double value) {
    for (size_t i = 0; i < N; ++i) {
        if (value < bins[i].upper) {
            ++h[i].count;
            return;
        }
    }
    ++h[N - 1].count;
}

Distribution distribution_of(std::vector<uint64_t> values) {
    if (values.empty()) return {};
    std::sort(values.begin(), values.end());
    return {values.front(), values[(values.size() - 1) / 2], values.back()};
}

json histogram_to_json(const std::vector<HistogramBin>& h) {
    json out = json::array();
    for (const auto& b : h) out.push_back({{"label", b.label}, {"count", b.count}});
    return out;
}

json distribution_to_json(const Distribution& d) { return {{"min", d.min}, {"median", d.median}, {"max", d.max}}; }

}  // namespace

std::string image_source(const SacoImage& image) {
    if (auto it = image.extra.find("source"); it != image.extra.end() && !it->is_null())
        return it->is_string() ? it->get<std::string>() : it->dump();
    auto slash = image.file_name.find('/');
    return slash == std::string::npos ? "." : image.file_name.substr(0, slash);
}

DatasetStats compute_stats(const SacoDataset& ds) {
    DatasetStats s;
    s.instances_per_image = empty_histogram(kInstanceBins);
    s.instance_sizes = empty_histogram(kCocoBins);
    s.relative_sizes = empty_histogram(kRelativeBins);

    std::unordered_map<int64_t, const SacoImage*> by_id;
    for (const auto& im : ds.images) by_id.emplace(im.id, &im);

    s.images = ds.images.size();
    s.annotations = ds.annotations.size();
    std::unordered_map<int64_t, size_t> per_image;  // non-crowd annotations per image id
    for (const auto& a : ds.annotations) {
        s.crowd += a.iscrowd != 0;
        auto it = by_id.find(a.image_id);
        if (it == by_id.end()) {
            ++s.orphan_annotations;
            continue;
        }
        if (a.iscrowd) continue;
        ++per_image[a.image_id];
        add_to(s.instance_sizes, kCocoBins, a.area);
        const SacoImage& im = *it->second;
        double image_area = static_cast<double>(im.width) * im.height;
        add_to(s.relative_sizes, kRelativeBins, image_area > 0 ? a.area / image_area : 0.0);
    }

    std::vector<uint64_t> widths, heights, pixels;
    for (const auto& im : ds.images) {
        auto it = per_image.find(im.id);
        size_t n = it == per_image.end() ? 0 : it->second;
        add_to(s.instances_per_image, kInstanceBins, static_cast<double>(n));
        (n > 0 ? s.positives : s.negatives)++;
        s.non_exhaustive += im.is_instance_exhaustive == 0;
        SourceStats& src = s.sources[image_source(im)];
        ++src.images;
        (n > 0 ? src.positives : src.negatives)++;
        src.annotations += n;
        widths.push_back(im.width);
        heights.push_back(im.height);
        pixels.push_back(static_cast<uint64_t>(im.width) * im.height);
    }
    s.width = distribution_of(std::move(widths));
    s.height = distribution_of(std::move(heights));
    s.pixels = distribution_of(std::move(pixels));
    return s;
}

json stats_to_json(const DatasetStats& s) {
    json sources = json::object();
    for (const auto& [name, src] : s.sources)
        sources[name] = {{"images", src.images},
                         {"positives", src.positives},
                         {"negatives", src.negatives},
                         {"annotations", src.annotations}};
    return {{"images", s.images},
            {"positives", s.positives},
            {"negatives", s.negatives},
            {"annotations", s.annotations},
            {"crowd", s.crowd},
            {"non_exhaustive", s.non_exhaustive},
            {"orphan_annotations", s.orphan_annotations},
            {"instances_per_image", histogram_to_json(s.instances_per_image)},
            {"instance_sizes", histogram_to_json(s.instance_sizes)},
            {"relative_sizes", histogram_to_json(s.relative_sizes)},
            {"sources", sources},
            {"image_size",
             {{"width", distribution_to_json(s.width)},
              {"height", distribution_to_json(s.height)},
              {"pixels", distribution_to_json(s.pixels)}}}};
}

}  // namespace chickenseg
