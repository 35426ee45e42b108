#include "chickenseg/eval/overlay.h"

#include <algorithm>
#include <cmath>

#include "chickenseg/core/error.h"

namespace chickenseg {

namespace {

// 3x5 glyphs, one byte per row, bit 2 = left column.
struct Glyph {
    char c;
    uint8_t rows[5];
};
constexpr Glyph kGlyphs[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {':', {0, 2, 0, 2, 0}},
    {'#', {5, 7, 5, 7, 5}}, {' ', {0, 0, 0, 0, 0}}, {'-', {0, 0, 7, 0, 0}}, {'%', {5, 1, 2, 4, 5}},
    {'(', {1, 2, 2, 2, 1}}, {')', {4, 2, 2, 2, 4}}, {'=', {0, 7, 0, 7, 0}}, {'_', {0, 0, 0, 0, 7}},
    {'/', {1, 1, 2, 4, 4}}, {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}}, {'C', {3, 4, 4, 4, 3}},
    {'D', {6, 5, 5, 5, 6}}, {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}}, {'G', {3, 4, 5, 5, 3}},
    {'H', {5, 5, 7, 5, 5}}, {'I', {7, 2, 2, 2, 7}}, {'J', {1, 1, 1, 5, 2}}, {'K', {5, 5, 6, 5, 5}},
    {'L', {4, 4, 4, 4, 7}}, {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}}, {'O', {2, 5, 5, 5, 2}},
    {'P', {6, 5, 6, 4, 4}}, {'Q', {2, 5, 5, 6, 3}}, {'R', {6, 5, 6, 5, 5}}, {'S', {3, 4, 2, 1, 6}},
    {'T', {7, 2, 2, 2, 2}}, {'U', {5, 5, 5, 5, 7}}, {'V', {5, 5, 5, 5, 2}}, {'W', {5, 5, 7, 7, 5}},
    {'X', {5, 5, 2, 5, 5}}, {'Y', {5, 5, 2, 2, 2}}, {'Z', {7, 1, 2, 4, 7}},
};

void set_pixel(RgbImage& img, uint32_t x, uint32_t y, const Rgb& c) {
    uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
}

void blend_pixel(RgbImage& img, uint32_t x, uint32_t y, const Rgb& c, double alpha) {
    uint8_t* p = &img.pixels[(static_cast<size_t>(y) * img.width + x) * 3];
    for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] * (1.0 - alpha) + c[k] * alpha));
}

// Mask pixels with a 4-neighbour outside the mask (or on the image border),
// thickened inwards to `thickness` pixels.
std::vector<uint8_t> inner_outline(const std::vector<uint8_t>& mask, uint32_t w, uint32_t h, uint32_t thickness) {
    std::vector<uint8_t> edge(mask.size(), 0);
    auto inside = [&](long x, long y) {
        return x >= 0 && y >= 0 && x < static_cast<long>(w) && y < static_cast<long>(h) &&
               mask[static_cast<size_t>(y) * w + static_cast<size_t>(x)] != 0;
    };
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x)
            if (inside(x, y) && (!inside(x - 1L, y) || !inside(x + 1L, y) || !inside(x, y - 1L) || !inside(x, y + 1L)))
                edge[static_cast<size_t>(y) * w + x] = 1;
    if (thickness <= 1) return edge;
    std::vector<uint8_t> out = edge;
    long r = static_cast<long>(thickness) - 1;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            if (!edge[static_cast<size_t>(y) * w + x]) continue;
            for (long dy = -r; dy <= r; ++dy)
                for (long dx = -r; dx <= r; ++dx)
                    if (inside(x + dx, y + dy)) out[static_cast<size_t>(y + dy) * w + static_cast<size_t>(x + dx)] = 1;
        }
    return out;
}

}  // namespace

const uint8_t* label_glyph(char c) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    for (const Glyph& g : kGlyphs)
        if (g.c == c) return g.rows;
    return nullptr;
}

void draw_text(RgbImage& img, long x0, long y0, const std::string& text, const Rgb& colour, uint32_t scale) {
    std::string shown;
    for (char c : text)
        if (label_glyph(c)) shown += c;
    if (shown.empty() || scale == 0) return;
    long s = scale;
    long box_w = static_cast<long>(shown.size()) * 4 * s + s;
    long box_h = 7 * s;
    // Keep the label inside the picture.
    x0 = std::clamp<long>(x0, 0, std::max<long>(0, static_cast<long>(img.width) - box_w));
    y0 = std::clamp<long>(y0, 0, std::max<long>(0, static_cast<long>(img.height) - box_h));
    const Rgb black{0, 0, 0};
    for (long y = y0; y < y0 + box_h && y < static_cast<long>(img.height); ++y)
        for (long x = x0; x < x0 + box_w && x < static_cast<long>(img.width); ++x)
            set_pixel(img, static_cast<uint32_t>(x), static_cast<uint32_t>(y), black);
    for (size_t i = 0; i < shown.size(); ++i) {
        const uint8_t* rows = label_glyph(shown[i]);
        long gx = x0 + s + static_cast<long>(i) * 4 * s;
        for (long row = 0; row < 5; ++row)
            for (long col = 0; col < 3; ++col) {
                if (!(rows[row] & (4 >> col))) continue;
                for (long dy = 0; dy < s; ++dy)
                    for (long dx = 0; dx < s; ++dx) {
                        long x = gx + col * s + dx, y = y0 + s + row * s + dy;
                        if (x < static_cast<long>(img.width) && y < static_cast<long>(img.height))
                            set_pixel(img, static_cast<uint32_t>(x), static_cast<uint32_t>(y), colour);
                    }
            }
    }
}

void draw_box(RgbImage& img, const BoxXywh& box, const Rgb& colour, uint32_t thickness) {
    if (img.width == 0 || img.height == 0 || !(box[2] >= 0) || !(box[3] >= 0)) return;
    const long w = img.width, h = img.height, t = std::max<long>(1, thickness);
    auto clamp = [](double v, long hi) {
        return static_cast<long>(std::clamp(std::floor(v), 0.0, static_cast<double>(hi)));
    };
    const long x0 = clamp(box[0], w - 1), y0 = clamp(box[1], h - 1);
    const long x1 = clamp(box[0] + box[2], w - 1), y1 = clamp(box[1] + box[3], h - 1);
    for (long y = y0; y <= y1; ++y)
        for (long x = x0; x <= x1; ++x)
            if (x < x0 + t || x > x1 - t || y < y0 + t || y > y1 - t)
                set_pixel(img, static_cast<uint32_t>(x), static_cast<uint32_t>(y), colour);
}

BoxXywh draw_mask(RgbImage& image, const Rle& mask, const Rgb& colour, double alpha, uint32_t outline_px) {
    const uint32_t w = image.width, h = image.height;
    std::vector<uint8_t> m = resample_mask(mask, w, h);
    std::vector<uint8_t> edge = inner_outline(m, w, h, outline_px);
    long min_x = w, min_y = h, max_x = -1, max_y = -1;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            size_t k = static_cast<size_t>(y) * w + x;
            if (!m[k]) continue;
            min_x = std::min<long>(min_x, x);
            min_y = std::min<long>(min_y, y);
            max_x = std::max<long>(max_x, x);
            max_y = std::max<long>(max_y, y);
            if (edge[k] && outline_px > 0)
                set_pixel(image, x, y, colour);
            else
                blend_pixel(image, x, y, colour, alpha);
        }
    if (max_x < 0) return {0, 0, 0, 0};
    return {static_cast<double>(min_x), static_cast<double>(min_y), static_cast<double>(max_x - min_x + 1),
            static_cast<double>(max_y - min_y + 1)};
}

RgbImage downscale_to_width(const RgbImage& image, uint32_t max_width) {
    if (max_width == 0 || image.width <= max_width) return image;
    const uint32_t w = image.width, h = image.height;
    RgbImage out;
    out.width = max_width;
    out.height = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(static_cast<double>(h) * max_width / w)));
    out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
    for (uint32_t oy = 0; oy < out.height; ++oy) {
        uint32_t y0 = static_cast<uint32_t>(static_cast<uint64_t>(oy) * h / out.height);
        uint32_t y1 = std::max(y0 + 1, static_cast<uint32_t>(static_cast<uint64_t>(oy + 1) * h / out.height));
        for (uint32_t ox = 0; ox < out.width; ++ox) {
            uint32_t x0 = static_cast<uint32_t>(static_cast<uint64_t>(ox) * w / out.width);
            uint32_t x1 = std::max(x0 + 1, static_cast<uint32_t>(static_cast<uint64_t>(ox + 1) * w / out.width));
            uint64_t sum[3] = {0, 0, 0};
            for (uint32_t y = y0; y < y1; ++y)
                for (uint32_t x = x0; x < x1; ++x)
                    for (int k = 0; k < 3; ++k) sum[k] += image.pixels[(static_cast<size_t>(y) * w + x) * 3 + k];
            uint64_t n = static_cast<uint64_t>(y1 - y0) * (x1 - x0);
            for (int k = 0; k < 3; ++k)
                out.pixels[(static_cast<size_t>(oy) * out.width + ox) * 3 + k] =
                    static_cast<uint8_t>((sum[k] + n / 2) / n);
        }
    }
    return out;
}

std::vector<uint8_t> resample_mask(const Rle& mask, uint32_t w, uint32_t h) {
    std::vector<uint8_t> out(static_cast<size_t>(w) * h, 0);
    if (mask.w == 0 || mask.h == 0) return out;
    std::vector<uint8_t> full = rle_decode(mask);  // column-major
    for (uint32_t y = 0; y < h; ++y) {
        // Sample at the centre of the output pixel.
        uint64_t sy = std::min<uint64_t>(mask.h - 1, (2ull * y + 1) * mask.h / (2ull * h));
        for (uint32_t x = 0; x < w; ++x) {
            uint64_t sx = std::min<uint64_t>(mask.w - 1, (2ull * x + 1) * mask.w / (2ull * w));
            out[static_cast<size_t>(y) * w + x] = full[sx * mask.h + sy];
        }
    }
    return out;
}

void draw_overlay(RgbImage& image, std::span<const Rle> gt_masks, std::span<const Rle> prediction_masks,
                  std::span<const std::string> labels, const OverlayStyle& style) {
    if (!labels.empty() && labels.size() != prediction_masks.size())
        throw Error("draw_overlay: " + std::to_string(labels.size()) + " labels for " +
                    std::to_string(prediction_masks.size()) + " predictions");
    const uint32_t w = image.width, h = image.height;
    (void)w;
    struct LabelAt {
        long x, y;
        const std::string* text;
    };
    std::vector<LabelAt> pending;
    for (size_t i = 0; i < prediction_masks.size(); ++i) {
        BoxXywh drawn = draw_mask(image, prediction_masks[i], style.prediction_colour, style.prediction_alpha,
                                  std::max<uint32_t>(1, style.prediction_outline_px));
        if (!labels.empty() && drawn[2] > 0)
            pending.push_back({static_cast<long>(drawn[0]), static_cast<long>(drawn[1]), &labels[i]});
    }
    for (const Rle& g : gt_masks) {
        std::vector<uint8_t> m = resample_mask(g, w, h);
        std::vector<uint8_t> edge = inner_outline(m, w, h, style.gt_outline_px);
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x)
                if (edge[static_cast<size_t>(y) * w + x]) set_pixel(image, x, y, style.gt_colour);
    }
    // Labels last, so no outline covers a number.
    for (const LabelAt& l : pending) draw_text(image, l.x, l.y, *l.text, style.prediction_colour, style.label_scale);
}

}  // namespace chickenseg
