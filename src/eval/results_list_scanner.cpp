#include "results_list_scanner.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "core/id_index.h"
#include "chickenseg/core/parallel.h"
#include "core/json_scanner.h"

namespace chickenseg::detail {

namespace {

using GiveUp = JsonScanner::GiveUp;
using Scanner = JsonScanner;

// One piece of the list, scanned by one thread: the records whose '{' lies in
// [begin, end). `begin` is a record's '{' (or the list's '[' for the first piece).
struct Piece {
    size_t begin = 0, end = 0;
    std::vector<Prediction> predictions;
    std::vector<MaskSize> mask_sizes;
    enum class Outcome { ok, give_up, bad_split } outcome = Outcome::give_up;
};

// Per-thread buffers, reused record after record.
struct Scratch {
    std::string key, unescaped;
    Rle decoded;
    // Kept masks view the text instead of copying it, when someone keeps the text alive;
    // each thread shares it through an owner of its own, so that counting the 33,000
    // references does not bounce one cache line between the cores.
    std::shared_ptr<const void> text_owner;
};

// Scans one record at the scanner's position and checks it completely, mask
// included, while its bytes are in cache. Throws GiveUp on anything unusual.
Prediction scan_record(Scanner& sc, const PredictionReadParams& params, Scratch& s, MaskSize& mask_size) {
    Prediction p;
    std::string_view counts;
    bool counts_escaped = false;
    uint32_t h = 0, w = 0;
    bool has_image = false, has_score = false, has_seg = false, has_bbox = false;
    bool has_size = false, has_counts = false;
    sc.expect('{');
    if (!sc.consume('}')) {
        do {
            std::string_view key = sc.string(s.key);
            sc.expect(':');
            if (key == "image_id") {
                if (has_image) throw GiveUp{};  // duplicate keys: leave to the general parser
                p.image_id = sc.integer();
                has_image = true;
            } else if (key == "category_id") {
                p.category_id = sc.integer();
            } else if (key == "score") {
                if (has_score) throw GiveUp{};
                p.score = sc.number();
                has_score = true;
            } else if (key == "bbox") {
                if (has_bbox) throw GiveUp{};
                sc.expect('[');
                for (int k = 0; k < 4; ++k) {
                    if (k) sc.expect(',');
                    p.bbox[static_cast<size_t>(k)] = sc.number();
                }
                sc.expect(']');
                has_bbox = true;
            } else if (key == "segmentation") {
                if (has_seg) throw GiveUp{};
                sc.expect('{');  // polygons or anything else: the general reader
                do {
                    std::string_view skey = sc.string(s.key);
                    sc.expect(':');
                    if (skey == "size") {
                        sc.expect('[');
                        int64_t hh = sc.integer();
                        sc.expect(',');
                        int64_t ww = sc.integer();
                        sc.expect(']');
                        if (hh < 0 || ww < 0 || hh > UINT32_MAX || ww > UINT32_MAX || has_size) throw GiveUp{};
                        h = static_cast<uint32_t>(hh);
                        w = static_cast<uint32_t>(ww);
                        has_size = true;
                    } else if (skey == "counts") {
                        if (sc.peek() != '"' || has_counts) throw GiveUp{};
                        counts = sc.raw_string(counts_escaped);
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
    if (!(p.score >= 0 && p.score <= 1)) throw GiveUp{};
    if (has_bbox && (p.bbox[2] < 0 || p.bbox[3] < 0)) throw GiveUp{};
    p.has_mask = has_seg;
    p.bbox_given = has_bbox;
    mask_size = {h, w};
    if (!has_seg) return p;
    if (counts_escaped) {
        if (!Scanner::unescape(counts, s.unescaped)) throw GiveUp{};
        counts = s.unescaped;
    }
    // Every mask is checked; one is decoded here only when its box must come from it,
    // and kept (compressed, as written) only at or above masks_from_score.
    try {
        if (has_bbox) {
            rle_check_string(counts, h, w);
        } else {
            rle_from_string(counts, h, w, s.decoded);
            p.bbox = rle_to_bbox(s.decoded);
        }
    } catch (const Error&) {
        throw GiveUp{};
    }
    if (p.score >= params.masks_from_score)
        p.mask = s.text_owner && !counts_escaped ? CompressedRle(h, w, counts, s.text_owner)
                                                 : CompressedRle(h, w, std::string(counts));
    return p;
}

bool is_json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The first '{' at or after `from` that follows "}" "," (whitespace allowed): where a
// record starts, unless the pattern sits inside a string. Scanning the piece before
// it proves which (see scan_piece). npos when there is none.
size_t record_start_after(std::string_view text, size_t from) {
    for (size_t q = text.find('{', from); q != std::string_view::npos; q = text.find('{', q + 1)) {
        size_t k = q;
        while (k > 0 && is_json_space(text[k - 1])) --k;
        if (k == 0 || text[k - 1] != ',') continue;
        --k;
        while (k > 0 && is_json_space(text[k - 1])) --k;
        if (k > 0 && text[k - 1] == '}') return q;
    }
    return std::string_view::npos;
}

// Once a piece has scanned a few records, its vectors are sized from their average
// length (+10%), so they do not grow by copying; the first piece's vector becomes the
// whole list's, so it is sized for the whole text. Growing by doubling had touched
// twice the memory, each page a fault.
constexpr size_t kSampleRecords = 32;
void reserve_from_sample(Piece& piece, size_t position, bool first, size_t text_size) {
    size_t sampled = std::max<size_t>(1, position - piece.begin);
    size_t span = (first ? text_size : piece.end) - piece.begin;
    size_t estimate = static_cast<size_t>(static_cast<double>(span) / static_cast<double>(sampled) *
                                          static_cast<double>(kSampleRecords) * 1.1) +
                      kSampleRecords;
    piece.predictions.reserve(estimate);
    piece.mask_sizes.reserve(estimate);
}

// Scans the records starting in [piece.begin, piece.end). The first piece starts at
// the list's '['; every other at a candidate record start. A piece is ok only if its
// last record is followed by "," and the next piece's start exactly (or, for the last
// piece, by the list's end): that proves the next piece began at a real record.
void scan_piece(std::string_view text, Piece& piece, bool first, bool last, const PredictionReadParams& params,
                const std::shared_ptr<const void>& text_owner) {
    try {
        Scanner sc(text, piece.begin);
        Scratch scratch;
        if (text_owner) scratch.text_owner = std::make_shared<const std::shared_ptr<const void>>(text_owner);
        if (first) {
            sc.expect('[');
            if (sc.consume(']')) {
                piece.outcome = last && sc.at_end() ? Piece::Outcome::ok : Piece::Outcome::give_up;
                return;
            }
        }
        for (;;) {
            MaskSize size{0, 0};
            piece.predictions.push_back(scan_record(sc, params, scratch, size));
            piece.mask_sizes.push_back(size);
            if (piece.predictions.size() == kSampleRecords)
                reserve_from_sample(piece, sc.position(), first, text.size());
            if (!sc.consume(',')) {
                sc.expect(']');
                if (!sc.at_end()) throw GiveUp{};
                piece.outcome = last ? Piece::Outcome::ok : Piece::Outcome::bad_split;
                return;
            }
            sc.ws();
            if (!last && sc.position() >= piece.end) {
                piece.outcome = sc.position() == piece.end ? Piece::Outcome::ok : Piece::Outcome::bad_split;
                return;
            }
        }
    } catch (const GiveUp&) {
        piece.outcome = Piece::Outcome::give_up;
    }
}

}  // namespace

std::vector<size_t> plan_pieces(std::string_view text, unsigned threads) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    constexpr size_t kMinPieceBytes = size_t{64} << 10;  // below this a thread costs more than it saves
    size_t count = std::clamp<size_t>(text.size() / kMinPieceBytes, 1, threads);
    std::vector<size_t> starts{0};
    for (size_t k = 1; k < count; ++k) {
        size_t start = record_start_after(text, std::max(starts.back() + 1, text.size() * k / count));
        if (start == std::string_view::npos) break;
        starts.push_back(start);
    }
    return starts;
}

std::optional<ScannedResults> scan_results_list(std::string_view text, const std::string& file,
                                                const PredictionReadParams& params,
                                                std::shared_ptr<const void> text_owner) {
    if (!params.allow_fast_path) return std::nullopt;
    std::vector<Piece> pieces;
    std::vector<size_t> starts = plan_pieces(text, params.threads);
    for (size_t k = 0; k < starts.size(); ++k)
        pieces.push_back(
            {starts[k], k + 1 < starts.size() ? starts[k + 1] : text.size(), {}, {}, Piece::Outcome::give_up});

    auto scan_all = [&]() {
        parallel_for(pieces.size(), static_cast<unsigned>(pieces.size()), [&](size_t k) {
            scan_piece(text, pieces[k], k == 0, k + 1 == pieces.size(), params, text_owner);
        });
    };
    scan_all();
    // The first piece that is not ok began at a real record (every piece before it
    // proved the next one's start): a give-up there is the file's, and only a bad
    // split is worth a second scan.
    auto failed =
        std::find_if(pieces.begin(), pieces.end(), [](const Piece& p) { return p.outcome != Piece::Outcome::ok; });
    if (failed != pieces.end()) {
        if (failed->outcome == Piece::Outcome::give_up) return std::nullopt;
        pieces = {Piece{0, text.size(), {}, {}, Piece::Outcome::give_up}};
        scan_all();
        if (pieces[0].outcome != Piece::Outcome::ok) return std::nullopt;
    }

    ScannedResults out;
    out.set.file = file;
    out.set.predictions = std::move(pieces[0].predictions);
    out.mask_sizes = std::move(pieces[0].mask_sizes);
    size_t total = 0;
    for (const Piece& p : pieces) total += p.predictions.size();
    out.set.predictions.reserve(total);
    out.mask_sizes.reserve(total);
    for (size_t k = 1; k < pieces.size(); ++k) {
        for (Prediction& p : pieces[k].predictions) out.set.predictions.push_back(std::move(p));
        out.mask_sizes.insert(out.mask_sizes.end(), pieces[k].mask_sizes.begin(), pieces[k].mask_sizes.end());
    }
    for (size_t i = 0; i < out.set.predictions.size(); ++i) out.set.predictions[i].index = i;
    return out;
}

bool fits_gt(const ScannedResults& scanned, const SacoDataset& gt) {
    std::vector<int64_t> ids;
    ids.reserve(gt.images.size());
    for (const auto& im : gt.images) ids.push_back(im.id);
    IdIndex index(ids);
    if (index.duplicate()) return false;
    for (size_t i = 0; i < scanned.set.predictions.size(); ++i) {
        const Prediction& p = scanned.set.predictions[i];
        size_t pos = index.find(p.image_id);
        if (pos == IdIndex::npos) return false;
        if (p.has_mask && scanned.mask_sizes[i] != MaskSize{gt.images[pos].height, gt.images[pos].width}) return false;
    }
    return true;
}

}  // namespace chickenseg::detail
