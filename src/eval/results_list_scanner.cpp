#include "results_list_scanner.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "chickenseg/core/error.h"

namespace chickenseg::detail {

namespace {

// Thrown inside the scanner to give up; never escapes this file.
struct GiveUp {};

class Scanner {
public:
    explicit Scanner(std::string_view text) : s_(text) {}

    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    bool at_end() {
        ws();
        return i_ == s_.size();
    }
    char peek() {
        ws();
        if (i_ >= s_.size()) throw GiveUp{};
        return s_[i_];
    }
    void expect(char c) {
        if (peek() != c) throw GiveUp{};
        ++i_;
    }
    bool consume(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }

    // A JSON string. Escapes are decoded into `scratch` (COCO RLE strings contain
    // backslashes, which json writers escape); \u escapes and control characters
    // make us give up.
    std::string_view string(std::string& scratch) {
        expect('"');
        size_t start = i_;
        bool escaped = false;
        for (; i_ < s_.size(); ++i_) {
            unsigned char c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') break;
            if (c < 0x20) throw GiveUp{};
            if (c == '\\') {
                escaped = true;
                ++i_;
                if (i_ >= s_.size()) throw GiveUp{};
            }
        }
        if (i_ >= s_.size()) throw GiveUp{};
        std::string_view raw = s_.substr(start, i_ - start);
        ++i_;
        if (!escaped) return raw;
        scratch.clear();
        scratch.reserve(raw.size());
        for (size_t k = 0; k < raw.size(); ++k) {
            // Copy the run up to the next backslash in one append, not byte by byte.
            size_t backslash = raw.find('\\', k);
            if (backslash == std::string_view::npos) {
                scratch.append(raw.substr(k));
                break;
            }
            scratch.append(raw.substr(k, backslash - k));
            k = backslash;
            char e = raw[++k];
            switch (e) {
                case '"': scratch += '"'; break;
                case '\\': scratch += '\\'; break;
                case '/': scratch += '/'; break;
                case 'b': scratch += '\b'; break;
                case 'f': scratch += '\f'; break;
                case 'n': scratch += '\n'; break;
                case 'r': scratch += '\r'; break;
                case 't': scratch += '\t'; break;
                default: throw GiveUp{};
            }
        }
        return scratch;
    }

    // A JSON number, checked against the JSON grammar (from_chars alone would also
    // take "inf", "nan" or "1."). `is_integer` tells whether it had no fraction/exponent.
    double number(bool* is_integer = nullptr) {
        ws();
        size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ >= s_.size()) throw GiveUp{};
        if (s_[i_] == '0') {
            ++i_;
        } else if (s_[i_] >= '1' && s_[i_] <= '9') {
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        } else {
            throw GiveUp{};
        }
        bool integer = true;
        if (i_ < s_.size() && s_[i_] == '.') {
            integer = false;
            ++i_;
            size_t d = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            if (i_ == d) throw GiveUp{};
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            integer = false;
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            size_t d = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
            if (i_ == d) throw GiveUp{};
        }
        double v = 0;
        auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + i_, v);
        if (ec != std::errc() || end != s_.data() + i_ || !std::isfinite(v)) throw GiveUp{};
        if (is_integer) *is_integer = integer;
        return v;
    }

    int64_t integer() {
        bool is_int = false;
        double v = number(&is_int);
        // Integers beyond 2^53 lose precision through double; leave them to the general reader.
        if (!is_int || std::fabs(v) > 9007199254740992.0) throw GiveUp{};
        return static_cast<int64_t>(v);
    }

    // Skips any JSON value (for fields the reader keeps no record of).
    void skip_value(int depth = 0) {
        if (depth > 64) throw GiveUp{};
        std::string scratch;
        char c = peek();
        if (c == '"') {
            string(scratch);
        } else if (c == '{') {
            ++i_;
            if (consume('}')) return;
            do {
                string(scratch);
                expect(':');
                skip_value(depth + 1);
            } while (consume(','));
            expect('}');
        } else if (c == '[') {
            ++i_;
            if (consume(']')) return;
            do skip_value(depth + 1);
            while (consume(','));
            expect(']');
        } else if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 4, "null") == 0) {
            i_ += 4;
        } else if (s_.compare(i_, 5, "false") == 0) {
            i_ += 5;
        } else {
            number();
        }
    }

private:
    std::string_view s_;
    size_t i_ = 0;
};

struct RawRecord {
    Prediction p;
    std::string_view counts;  // view into the text, or into `owned` when unescaped
    std::string owned;
    uint32_t h = 0, w = 0;
};

}  // namespace

std::optional<PredictionSet> scan_results_list(const std::string& text, const std::string& file, const SacoDataset& gt,
                                               const PredictionReadParams& params) {
    if (!params.allow_fast_path) return std::nullopt;
    std::unordered_map<int64_t, std::pair<uint32_t, uint32_t>> sizes;
    sizes.reserve(gt.images.size());
    for (const auto& im : gt.images)
        if (!sizes.emplace(im.id, std::make_pair(im.height, im.width)).second) return std::nullopt;  // duplicate ids

    std::vector<RawRecord> records;
    try {
        Scanner sc(text);
        std::string scratch;
        sc.expect('[');
        if (!sc.consume(']')) {
            do {
                RawRecord r;
                bool has_image = false, has_score = false, has_seg = false, has_bbox = false;
                bool has_size = false, has_counts = false;
                sc.expect('{');
                if (!sc.consume('}')) {
                    do {
                        std::string_view key = sc.string(scratch);
                        sc.expect(':');
                        if (key == "image_id") {
                            if (has_image) throw GiveUp{};  // duplicate keys: leave to the general parser
                            r.p.image_id = sc.integer();
                            has_image = true;
                        } else if (key == "category_id") {
                            r.p.category_id = sc.integer();
                        } else if (key == "score") {
                            if (has_score) throw GiveUp{};
                            r.p.score = sc.number();
                            has_score = true;
                        } else if (key == "bbox") {
                            if (has_bbox) throw GiveUp{};
                            sc.expect('[');
                            for (int k = 0; k < 4; ++k) {
                                if (k) sc.expect(',');
                                r.p.bbox[static_cast<size_t>(k)] = sc.number();
                            }
                            sc.expect(']');
                            has_bbox = true;
                        } else if (key == "segmentation") {
                            if (has_seg) throw GiveUp{};
                            sc.expect('{');  // polygons or anything else: the general reader
                            do {
                                std::string_view skey = sc.string(scratch);
                                sc.expect(':');
                                if (skey == "size") {
                                    sc.expect('[');
                                    int64_t h = sc.integer();
                                    sc.expect(',');
                                    int64_t w = sc.integer();
                                    sc.expect(']');
                                    if (h < 0 || w < 0 || h > UINT32_MAX || w > UINT32_MAX || has_size) throw GiveUp{};
                                    r.h = static_cast<uint32_t>(h);
                                    r.w = static_cast<uint32_t>(w);
                                    has_size = true;
                                } else if (skey == "counts") {
                                    if (sc.peek() != '"' || has_counts) throw GiveUp{};
                                    std::string_view v = sc.string(r.owned);
                                    // string() returns a view into the text or into r.owned.
                                    r.counts = v;
                                    has_counts = true;
                                } else {
                                    sc.skip_value();
                                }
                            } while (sc.consume(','));
                            sc.expect('}');
                            has_seg = true;
                        } else {
                            sc.skip_value();
                        }
                    } while (sc.consume(','));
                    sc.expect('}');
                }
                if (!has_image || !has_score) throw GiveUp{};
                if (has_seg && (!has_size || !has_counts)) throw GiveUp{};
                if (!has_seg && (params.require_masks || !has_bbox)) throw GiveUp{};
                auto size = sizes.find(r.p.image_id);
                if (size == sizes.end()) throw GiveUp{};
                if (!(r.p.score >= 0 && r.p.score <= 1)) throw GiveUp{};
                if (has_seg && (r.h != size->second.first || r.w != size->second.second)) throw GiveUp{};
                if (has_bbox && (r.p.bbox[2] < 0 || r.p.bbox[3] < 0)) throw GiveUp{};
                r.p.has_mask = has_seg;
                r.p.bbox_given = has_bbox;
                r.p.index = records.size();
                records.push_back(std::move(r));
            } while (sc.consume(','));
            sc.expect(']');
        }
        if (!sc.at_end()) throw GiveUp{};
    } catch (const GiveUp&) {
        return std::nullopt;
    }
    // Views into r.owned must be re-pointed after the vector moved the strings.
    for (auto& r : records)
        if (!r.owned.empty() && (r.counts.data() < text.data() || r.counts.data() >= text.data() + text.size()))
            r.counts = r.owned;

    // Decode the RLE strings on several threads; any malformed one sends the whole
    // file to the general reader, which names it.
    std::atomic<bool> bad{false};
    std::atomic<size_t> next{0};
    auto work = [&]() {
        constexpr size_t kBlock = 256;
        for (;;) {
            size_t begin = next.fetch_add(kBlock);
            if (begin >= records.size() || bad) return;
            size_t end = std::min(begin + kBlock, records.size());
            for (size_t k = begin; k < end; ++k) {
                RawRecord& r = records[k];
                if (!r.p.has_mask) continue;
                try {
                    r.p.mask = rle_from_string(r.counts, r.h, r.w);
                } catch (const Error&) {
                    bad = true;
                    return;
                }
                if (!r.p.bbox_given) r.p.bbox = rle_to_bbox(r.p.mask);
            }
        }
    };
    unsigned threads = params.threads ? params.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(1, records.size() / 512)));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (bad) return std::nullopt;

    PredictionSet set;
    set.file = file;
    set.predictions.reserve(records.size());
    for (auto& r : records) set.predictions.push_back(std::move(r.p));
    return set;
}

}  // namespace chickenseg::detail
