// The choice and the outputs of `chickenseg mine` (a run's own scores, or the shards' at a
// merge): ranking, near-duplicate removal, the chosen images with their LabelMe files, the
// state, mining.json and mining.html.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include "chickenseg/core/base64.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/jsonl_file.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/overlay.h"
#include "chickenseg/mine/dhash.h"
#include "chickenseg/runtime/predict.h"
#include "mine_files.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;

constexpr int kHistogramBins = 20;
constexpr uint32_t kThumbnailWidth = 160;

json optional_number(float v) { return v < 0 ? json(nullptr) : json(static_cast<double>(v)); }

float read_optional(const json& m, const char* key, const std::string& path, const std::string& where) {
    const json& v = require_field(m, key, path, where);
    return v.is_null() ? -1.0f : static_cast<float>(require_number(m, key, path, where));
}

std::string where_of(const std::string& file, long line) { return file + ":" + std::to_string(line); }

std::string reasons_text(unsigned reasons) {
    std::string out;
    for (const auto& r : mine_reason_names(reasons)) out += (out.empty() ? "" : ", ") + r;
    return out;
}

// Hard link where the file system allows it, a copy otherwise; an existing file of that name
// (an earlier, killed run) is replaced. Returns whether it is a link.
bool link_or_copy(const fs::path& from, const fs::path& to, bool copy) {
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    if (ec) throw Error("cannot create the folder: " + ec.message(), to.parent_path().string());
    fs::remove(to, ec);  // only the name: a link to the inbox's file leaves that file alone
    if (!copy) {
        fs::create_hard_link(from, to, ec);
        if (!ec) return true;
    }
    if (!fs::exists(from, ec)) throw Error("the image is no longer in the inbox", from.string());
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error("cannot copy the image to " + to.string() + ": " + ec.message(), from.string());
    return false;
}

}  // namespace

json image_scores_to_json(const ImageScores& s) {
    json reasons = json::array();
    for (const auto& r : mine_reason_names(s.reasons)) reasons.push_back(r);
    return {{"dhash", dhash_hex(s.dhash)},
            {"presence", static_cast<double>(s.presence)},
            {"kept", s.kept},
            {"borderline", s.borderline},
            {"nearest_gap", optional_number(s.nearest_gap)},
            {"min_stability", optional_number(s.min_stability)},
            {"terms",
             {{"presence", static_cast<double>(s.presence_term)},
              {"instance", static_cast<double>(s.instance_term)},
              {"mask", static_cast<double>(s.mask_term)}}},
            {"priority", static_cast<double>(s.priority)},
            {"reasons", std::move(reasons)}};
}

ImageScores image_scores_from_json(const json& line, const std::string& file, long line_number) {
    const std::string where = where_of(file, line_number);
    if (!line.is_object()) throw Error("expected a JSON object (not a line chickenseg mine wrote)", where);
    ImageScores s;
    s.file = require_string(line, "file", "", where);
    const json& m = require_field(line, "mine", "", where);
    if (!m.is_object()) throw Error("expected an object", where, 0, "mine");
    auto hash = dhash_from_hex(require_string(m, "dhash", "mine", where));
    if (!hash) throw Error("expected 16 hex digits", where, 0, "mine.dhash");
    s.dhash = *hash;
    s.presence = static_cast<float>(require_number(m, "presence", "mine", where));
    s.kept = static_cast<uint32_t>(require_int(m, "kept", "mine", where));
    s.borderline = static_cast<uint32_t>(require_int(m, "borderline", "mine", where));
    s.nearest_gap = read_optional(m, "nearest_gap", "mine", where);
    s.min_stability = read_optional(m, "min_stability", "mine", where);
    const json& terms = require_field(m, "terms", "mine", where);
    s.presence_term = static_cast<float>(require_number(terms, "presence", "mine.terms", where));
    s.instance_term = static_cast<float>(require_number(terms, "instance", "mine.terms", where));
    s.mask_term = static_cast<float>(require_number(terms, "mask", "mine.terms", where));
    s.priority = static_cast<float>(require_number(m, "priority", "mine", where));
    const json& reasons = require_field(m, "reasons", "mine", where);
    if (!reasons.is_array()) throw Error("expected an array", where, 0, "mine.reasons");
    for (const auto& r : reasons) {
        const unsigned bit = r.is_string() ? mine_reason_from_name(r.get<std::string>()) : 0;
        if (!bit) throw Error("unknown reason " + r.dump(), where, 0, "mine.reasons");
        s.reasons |= bit;
    }
    return s;
}

json scores_header_to_json(const ScoresHeader& h) {
    return {{"schema", kMineScoresSchema}, {"shard", shard_text(h.shard)}, {"settings", h.settings}};
}

ScoresHeader scores_header_from_json(const json& line, const std::string& file) {
    const std::string where = file + ":1";
    if (!line.is_object() || line.value("schema", "") != kMineScoresSchema)
        throw Error(std::string("not a chickenseg mine scores file (its first line has no \"schema\": \"") +
                        kMineScoresSchema + "\")",
                    where);
    ScoresHeader h;
    h.shard = parse_shard(require_string(line, "shard", "", where));
    h.settings = require_field(line, "settings", "", where);
    if (!h.settings.is_object() || !h.settings.contains("inbox") || !h.settings["inbox"].is_string())
        throw Error("expected an object naming the inbox", where, 0, "settings");
    return h;
}

ScoresFileState read_scores_file_state(const fs::path& path, bool cut_partial) {
    ScoresFileState e;
    read_jsonl_file(
        path,
        [&](const json& j, long line) {
            if (line == 1) {
                e.header = scores_header_from_json(j, path.string());
                e.present = true;
            } else if (j.is_object() && j.contains("complete")) {
                e.complete = true;
            } else if (j.is_object() && j.contains("error")) {
                const std::string file = require_string(j, "file", "", where_of(path.string(), line));
                e.finished.erase(file);
                e.failed.insert(file);
            } else {
                const std::string file = image_scores_from_json(j, path.string(), line).file;
                e.failed.erase(file);
                e.finished.insert(file);
            }
        },
        cut_partial);
    return e;
}

std::vector<MinedImage> read_mine_state(const fs::path& out) {
    std::vector<MinedImage> mined;
    const fs::path path = out / kMineStateFile;
    read_jsonl_file(
        path,
        [&](const json& j, long line) {
            const std::string where = where_of(path.string(), line);
            MinedImage m;
            m.file = require_string(j, "file", "", where);
            auto hash = dhash_from_hex(require_string(j, "dhash", "", where));
            if (!hash) throw Error("expected 16 hex digits", where, 0, "dhash");
            m.dhash = *hash;
            mined.push_back(std::move(m));
        },
        /*cut_partial=*/true);
    return mined;
}

namespace {

// Every image's last word across the scores files (a resumed run may have retried a failed one).
struct ScoresRead {
    std::map<std::string, ImageScores> by_file;
    std::map<std::string, std::string> failed;  // file -> its error
};

ScoresRead read_scores(const std::vector<fs::path>& scores_files) {
    ScoresRead r;
    for (const auto& path : scores_files)
        read_jsonl_file(
            path,
            [&](const json& j, long line) {
                if (line == 1 || (j.is_object() && j.contains("complete"))) return;
                if (j.is_object() && j.contains("error")) {
                    const std::string file = require_string(j, "file", "", where_of(path.string(), line));
                    r.by_file.erase(file);
                    r.failed[file] = require_string(j, "error", "", where_of(path.string(), line));
                    return;
                }
                ImageScores s = image_scores_from_json(j, path.string(), line);
                r.failed.erase(s.file);
                r.by_file[s.file] = std::move(s);
            },
            /*cut_partial=*/false);
    return r;
}

// The chosen images' records (with their masks), read again from the files: only the chosen
// ones are held, so memory does not grow with the inbox.
std::unordered_map<std::string, ImageRecord> read_chosen_records(const std::vector<fs::path>& scores_files,
                                                                 const std::vector<ImageScores>& images,
                                                                 const std::vector<size_t>& chosen) {
    std::unordered_map<std::string, size_t> chosen_index;
    for (size_t i : chosen) chosen_index[images[i].file] = i;
    std::unordered_map<std::string, ImageRecord> records;
    for (const auto& path : scores_files)
        read_jsonl_file(
            path,
            [&](const json& j, long line) {
                if (line == 1 || !j.is_object() || !j.contains("mine")) return;
                auto it = chosen_index.find(j.value("file", ""));
                if (it != chosen_index.end()) records[it->first] = image_record_from_json(j, path.string(), line);
            },
            /*cut_partial=*/false);
    return records;
}

// What the chosen images became: mining.json's entries, their thumbnails, the state lines.
struct ChosenOutputs {
    json entries = json::array();
    std::vector<std::string> thumbnails;
    std::vector<MinedImage> newly;
    json state_lines = json::array();
};

// One chosen image into the output folder: the image (linked or copied), its pre-filled
// LabelMe file, its thumbnail, and its entries in mining.json and the state.
void write_chosen_image(const ImageScores& s, const ImageRecord& record, const fs::path& inbox,
                        const MineParams& params, std::set<fs::path>& taken, ChosenOutputs& out, MineSummary& summary) {
    const fs::path from = inbox / s.file, to = params.out / s.file;
    const bool linked = link_or_copy(from, to, params.copy);
    // <stem>.json beside the image, as LabelMe looks for it; where another image (this run's
    // or an earlier one's) has that name, <name with extension>.json.
    fs::path labelme = labelme_path(params.out, s.file);
    if (taken.count(labelme)) labelme = params.out / (s.file + ".json");
    if (taken.count(labelme)) throw Error("no free name for the LabelMe file of the image", to.string());
    taken.insert(labelme);
    LabelmeNotes notes;
    for (const auto& r : {MineReason_ambiguous_presence, MineReason_borderline_instance, MineReason_unstable_mask})
        notes.image_flags[mine_reason_names(r).at(0)] = (s.reasons & r) != 0;
    notes.shape_note = "; mined: " + reasons_text(s.reasons) + " (presence " + format_fixed(s.presence, 3) +
                       ", priority " + format_fixed(s.priority, 3) + ")";
    write_labelme_record(labelme, to, record, notes);
    std::string thumbnail;
    if (params.thumbnails) {
        const std::string jpeg = encode_jpeg(downscale_to_width(decode_image(to), kThumbnailWidth), 80);
        thumbnail = base64_encode({reinterpret_cast<const uint8_t*>(jpeg.data()), jpeg.size()});
    }
    summary.linked += linked;
    json entry = image_scores_to_json(s);
    entry["rank"] = out.entries.size() + 1;
    entry["file"] = s.file;
    entry["labelme"] = relative_inside(labelme, params.out);
    entry["linked"] = linked;
    out.entries.push_back(std::move(entry));
    out.thumbnails.push_back(std::move(thumbnail));
    out.newly.push_back({s.file, s.dhash});
    out.state_lines.push_back({{"file", s.file},
                               {"dhash", dhash_hex(s.dhash)},
                               {"labelme", relative_inside(labelme, params.out)},
                               {"priority", static_cast<double>(s.priority)},
                               {"reasons", mine_reason_names(s.reasons)}});
}

// Each near-duplicate left out, with the image it repeats and their hash distance.
json duplicates_json(const Selection& selection, const std::vector<ImageScores>& images,
                     const std::vector<MinedImage>& earlier, const std::vector<MinedImage>& newly) {
    json duplicates = json::array();
    for (const auto& [i, of] : selection.duplicates) {
        uint64_t other = 0;
        for (const auto& m : earlier)
            if (m.file == of) other = m.dhash;
        for (const auto& m : newly)
            if (m.file == of) other = m.dhash;
        duplicates.push_back(
            {{"file", images[i].file}, {"duplicate_of", of}, {"distance", hamming_distance(images[i].dhash, other)}});
    }
    return duplicates;
}

// mining.json without its per-image list.
json mining_report(const json& settings, const MineParams& params, const MineSummary& summary,
                   const std::vector<ImageScores>& images, const std::map<std::string, std::string>& failed,
                   json chosen, json duplicates) {
    std::vector<size_t> histogram(kHistogramBins, 0);
    for (const auto& s : images)
        ++histogram[std::clamp(static_cast<int>(std::floor(s.presence * kHistogramBins)), 0, kHistogramBins - 1)];
    json failures = json::array();
    for (const auto& [file, error] : failed) failures.push_back({{"file", file}, {"error", error}});
    return {{"schema", "chickenseg.mining/1"},
            {"settings", settings},
            {"selection", {{"limit", params.limit}, {"max_hash_distance", params.max_hash_distance}}},
            {"counts",
             {{"scored", images.size()},
              {"already_mined", summary.already_mined},
              {"failed", failed.size()},
              {"candidates", summary.candidates},
              {"chosen", summary.chosen},
              {"duplicates", summary.duplicates}}},
            {"presence_histogram", {{"bins", kHistogramBins}, {"counts", histogram}}},
            {"chosen", std::move(chosen)},
            {"duplicates", std::move(duplicates)},
            {"failed", std::move(failures)}};
}

// The report as text, then every scored image, one per line (a 100,000-image inbox stays a
// file a person can grep).
std::string mining_json_text(const json& report, const std::vector<ImageScores>& images) {
    std::string text = report.dump(2, ' ', false, json::error_handler_t::replace);
    text.pop_back();  // the closing brace
    text += ",\n  \"images\": [";
    for (size_t i = 0; i < images.size(); ++i) {
        json entry = image_scores_to_json(images[i]);
        entry["file"] = images[i].file;
        text += (i ? ",\n    " : "\n    ") + entry.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    text += images.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return text;
}

}  // namespace

void choose_and_write(const std::vector<fs::path>& scores_files, const json& settings, const MineParams& params,
                      MineSummary& summary, bool count_file_errors) {
    ScoresRead read = read_scores(scores_files);
    if (count_file_errors)
        for (const auto& [file, error] : read.failed) {
            ++summary.failed;
            if (summary.errors.size() < 100) summary.errors.emplace_back(file, error);
        }
    const std::vector<MinedImage> earlier = read_mine_state(params.out);
    for (const auto& m : earlier)
        if (read.by_file.erase(m.file)) ++summary.already_mined;
    std::vector<ImageScores> images;
    images.reserve(read.by_file.size());
    for (auto& [file, s] : read.by_file) images.push_back(std::move(s));
    read.by_file.clear();

    const std::vector<size_t> ranked = rank_candidates(images);
    const Selection selection = select_diverse(images, ranked, params.limit, params.max_hash_distance, earlier);
    summary.candidates = ranked.size();
    summary.duplicates = selection.duplicates.size();
    const auto records = read_chosen_records(scores_files, images, selection.chosen);

    const fs::path inbox = settings.at("inbox").get<std::string>();
    std::set<fs::path> taken = {params.out / kMineReportFile};
    for (const auto& m : earlier) taken.insert(labelme_path(params.out, m.file));
    ChosenOutputs chosen;
    for (size_t i : selection.chosen) {
        const ImageScores& s = images[i];
        try {
            write_chosen_image(s, records.at(s.file), inbox, params, taken, chosen, summary);
        } catch (const Error& e) {
            ++summary.failed;
            if (summary.errors.size() < 100) summary.errors.emplace_back(s.file, e.what());
            read.failed[s.file] = e.what();
            std::cerr << "error: " << e.what() << '\n';
        }
    }
    summary.chosen = chosen.entries.size();

    json report = mining_report(settings, params, summary, images, read.failed, std::move(chosen.entries),
                                duplicates_json(selection, images, earlier, chosen.newly));
    const std::string text = mining_json_text(report, images), html = mining_html(report, chosen.thumbnails);
    const FileContent files[] = {{params.out / kMineReportFile, text}, {params.out / kMineHtmlFile, html}};
    write_files_atomic(files);
    // The state last: a run killed before this line chooses the same images again when rerun.
    JsonlWriter state(params.out / kMineStateFile, /*append=*/true);
    for (const auto& line : chosen.state_lines) state.write(line);
}

MineSummary merge_mine(const std::vector<fs::path>& shard_dirs, const MineParams& params) {
    if (shard_dirs.empty()) throw Error("--merge: give the shards' output folders");
    std::vector<fs::path> files;
    std::map<size_t, fs::path> shards;
    json settings;
    size_t count = 0;
    MineSummary summary;
    for (const auto& dir : shard_dirs) {
        const fs::path path = dir / kMineScoresFile;
        std::error_code ec;
        if (!fs::exists(path, ec))
            throw Error("no mining scores here (not an output folder of chickenseg mine)", path.string());
        ScoresFileState state = read_scores_file_state(path, /*cut_partial=*/false);
        if (!state.present) throw Error("empty scores file", path.string());
        if (!state.complete)
            throw Error("shard " + shard_text(state.header.shard) + " has not finished (run it again to resume it)",
                        path.string());
        if (files.empty()) {
            settings = state.header.settings;
            count = state.header.shard.count;
        } else if (state.header.settings != settings) {
            throw Error(
                "this shard was mined with other settings (inbox, package, prompt, thresholds or scoring) than " +
                    files.front().string(),
                path.string());
        } else if (state.header.shard.count != count) {
            throw Error("shard " + shard_text(state.header.shard) + " is of another split than " +
                            files.front().string() + " (" + std::to_string(count) + " shards)",
                        path.string());
        }
        auto [it, added] = shards.emplace(state.header.shard.index, path);
        if (!added)
            throw Error("shard " + shard_text(state.header.shard) + " given twice: " + it->second.string(),
                        path.string());
        summary.images += state.finished.size() + state.failed.size();
        files.push_back(path);
    }
    std::string missing;
    for (size_t k = 1; k <= count; ++k)
        if (!shards.count(k))
            missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(count);
    if (!missing.empty()) throw Error("--merge: shard(s) " + missing + " missing (every shard of the split is needed)");
    check_mine_output(settings.at("inbox").get<std::string>(), params.out);
    const auto start = std::chrono::steady_clock::now();
    choose_and_write(files, settings, params, summary, /*count_file_errors=*/true);
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

}  // namespace chickenseg
