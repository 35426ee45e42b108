#include "chickenseg/mine/dhash.h"

#include <algorithm>
#include <bit>

namespace chickenseg {

uint64_t dhash64(const RgbImage& image) {
    constexpr uint32_t kCols = 9, kRows = 8;
    if (image.width == 0 || image.height == 0) return 0;
    double grey[kRows][kCols] = {};
    // Cell (r, c) covers rows [r h / 8, (r + 1) h / 8) and columns [c w / 9, (c + 1) w / 9);
    // an image smaller than the grid repeats its pixels.
    for (uint32_t r = 0; r < kRows; ++r) {
        const uint64_t y0 = uint64_t{r} * image.height / kRows;
        const uint64_t y1 = std::max<uint64_t>(y0 + 1, uint64_t{r + 1} * image.height / kRows);
        for (uint32_t c = 0; c < kCols; ++c) {
            const uint64_t x0 = uint64_t{c} * image.width / kCols;
            const uint64_t x1 = std::max<uint64_t>(x0 + 1, uint64_t{c + 1} * image.width / kCols);
            double sum = 0;
            for (uint64_t y = y0; y < y1; ++y) {
                const uint8_t* row = image.pixels.data() + (y * image.width) * 3;
                for (uint64_t x = x0; x < x1; ++x)
                    sum += 0.299 * row[3 * x] + 0.587 * row[3 * x + 1] + 0.114 * row[3 * x + 2];
            }
            grey[r][c] = sum / static_cast<double>((y1 - y0) * (x1 - x0));
        }
    }
    uint64_t hash = 0;
    for (uint32_t r = 0; r < kRows; ++r)
        for (uint32_t c = 0; c + 1 < kCols; ++c)
            if (grey[r][c] < grey[r][c + 1]) hash |= uint64_t{1} << (8 * r + c);
    return hash;
}

int hamming_distance(uint64_t a, uint64_t b) { return std::popcount(a ^ b); }

std::string dhash_hex(uint64_t hash) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, hash >>= 4) out[i] = kDigits[hash & 15];
    return out;
}

std::optional<uint64_t> dhash_from_hex(std::string_view text) {
    if (text.size() != 16) return std::nullopt;
    uint64_t v = 0;
    for (char ch : text) {
        int d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else
            return std::nullopt;
        v = (v << 4) | static_cast<uint64_t>(d);
    }
    return v;
}

}  // namespace chickenseg
