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
#include "chickenseg/core/json_scanner.h"

namespace chickenseg::detail {

namespace {

using GiveUp = JsonScanner::GiveUp;
using Scanner = JsonScanner;

struct RawRecord {
    Prediction p;
    std::string_view counts;  // the string as written in the text, escapes included
    bool counts_escaped = false;
    uint32_t h = 0, w = 0;
};

}  // namespace

std::optional<PredictionSet> scan_results_list(std::string_view text, const std::string& file, const SacoDataset& gt,
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
                                    r.counts = sc.raw_string(r.counts_escaped);
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
    // Decode the RLE strings on several threads; any malformed one sends the whole
    // file to the general reader, which names it.
    std::atomic<bool> bad{false};
    std::atomic<size_t> next{0};
    auto work = [&]() {
        constexpr size_t kBlock = 256;
        std::string unescaped;
        for (;;) {
            size_t begin = next.fetch_add(kBlock);
            if (begin >= records.size() || bad) return;
            size_t end = std::min(begin + kBlock, records.size());
            for (size_t k = begin; k < end; ++k) {
                RawRecord& r = records[k];
                if (!r.p.has_mask) continue;
                // A mask below masks_from_score is only checked, unless its box must come from it.
                bool keep = r.p.score >= params.masks_from_score || !r.p.bbox_given;
                // Unescaped here, on the decoding threads, into a reused buffer: copying
                // every string while scanning cost 59 MB of copies and an allocation each.
                std::string_view counts = r.counts;
                if (r.counts_escaped) {
                    if (!Scanner::unescape(r.counts, unescaped)) {
                        bad = true;
                        return;
                    }
                    counts = unescaped;
                }
                try {
                    if (keep)
                        r.p.mask = rle_from_string(counts, r.h, r.w);
                    else
                        rle_check_string(counts, r.h, r.w);
                } catch (const Error&) {
                    bad = true;
                    return;
                }
                if (!r.p.bbox_given) r.p.bbox = rle_to_bbox(r.p.mask);
                if (r.p.score < params.masks_from_score) r.p.mask = Rle{};
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
