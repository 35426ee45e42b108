#include "stream/stream_frame.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/overlay.h"

namespace chickenseg {
namespace {

// Divided by the integer scale, so the result is the double nearest the short decimal.
double round_to(double v, double scale) { return std::round(v * scale) / scale; }

// Distinct colours for neighbouring ids.
const std::array<Rgb, 8> kPalette = {{{230, 25, 75},
                                      {60, 180, 75},
                                      {255, 225, 25},
                                      {0, 130, 200},
                                      {245, 130, 48},
                                      {145, 30, 180},
                                      {70, 240, 240},
                                      {240, 50, 230}}};

}  // namespace

BoxXywh clip_box(const BoxXywh& b, uint32_t width, uint32_t height) {
    const double x0 = std::clamp(b[0], 0.0, double(width)), y0 = std::clamp(b[1], 0.0, double(height));
    const double x1 = std::clamp(b[0] + b[2], 0.0, double(width)), y1 = std::clamp(b[1] + b[3], 0.0, double(height));
    return {x0, y0, x1 - x0, y1 - y0};
}

Rle track_mask(const TrackedObject& t) {
    if (!t.mask || t.mask->counts.empty()) return {};
    if (t.detected) return *t.mask;
    return move_mask(*t.mask, t.mask_box, t.box);
}

json stream_frame_to_json(const StreamFrame& f, bool masks) {
    json tracks = json::array();
    for (const auto& t : f.tracks) {
        const BoxXywh b = clip_box(t.box, f.width, f.height);
        json j = {{"id", t.id},
                  {"bbox", {round_to(b[0], 100), round_to(b[1], 100), round_to(b[2], 100), round_to(b[3], 100)}},
                  {"score", round_to(t.score, 1e4)},
                  {"detected", t.detected}};
        if (masks && t.detected && t.mask && !t.mask->counts.empty())
            j["segmentation"] = {{"size", {t.mask->h, t.mask->w}}, {"counts", rle_to_string(*t.mask)}};
        tracks.push_back(std::move(j));
    }
    json line = {{"frame", f.index}, {"time", round_to(f.time, 1e6)}, {"detection", f.detection}};
    if (f.detection) line["presence"] = round_to(f.presence, 1e4);
    line["present"] = f.present;
    line["count"] = f.tracks.size();
    line["tracks"] = std::move(tracks);
    if (f.dropped_before > 0) line["dropped_before"] = f.dropped_before;
    if (f.gap_before > 0) line["gap"] = round_to(f.gap_before, 1e3);
    return line;
}

void draw_stream_overlay(RgbImage& image, const StreamFrame& f, const std::string& concept_name) {
    const uint32_t scale = std::max(1u, std::min(image.width, image.height) / 160);
    for (const auto& t : f.tracks) {
        const Rgb& colour = kPalette[static_cast<size_t>(t.id) % kPalette.size()];
        const Rle mask = track_mask(t);
        if (!mask.counts.empty()) draw_mask(image, mask, colour, 0.4, 0);
        const BoxXywh b = clip_box(t.box, image.width, image.height);
        if (b[2] <= 0 || b[3] <= 0) continue;
        draw_box(image, b, colour, scale);
        draw_text(image, std::lround(b[0]), std::lround(b[1]),
                  "#" + std::to_string(t.id) + " " + format_fixed(t.score, 2), colour, scale);
    }
    const std::string banner =
        f.present ? concept_name + "s: " + std::to_string(f.tracks.size()) : "no " + concept_name;
    draw_text(image, 0, 0, banner, f.present ? Rgb{255, 255, 255} : Rgb{255, 80, 80}, scale + 1);
}

}  // namespace chickenseg
