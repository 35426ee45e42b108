#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/html_report.h"

#include <charconv>
#include <cstdio>
#include <algorithm>
#include <set>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/progress.h"

namespace chickenseg {

namespace {

std::string optional_fixed(const std::optional<double>& v, int digits) {
    return v ? format_fixed(*v, digits) : std::string("undefined");
}

std::string css_colour(const Rgb& c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
    return buf;
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// The label drawn on the overlay next to detection `d` (1-based) with its score,
// e.g. "2:0.87"; the HTML tables use the same numbers.
std::string detection_label(size_t d, double score) { return std::to_string(d + 1) + ":" + format_fixed(score, 2); }

constexpr const char* kCss = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 8px 0; }
h2 { font-size: 17px; margin: 0 0 6px 0; }
.inputs { color: #555; font-size: 13px; margin-bottom: 16px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.headline { display: flex; gap: 24px; flex-wrap: wrap; margin: 8px 0 16px 0; }
.metric { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; }
.metric .v { font-size: 20px; font-weight: 600; }
.metric .k { font-size: 12px; color: #666; }
.swatch { display: inline-block; width: 14px; height: 14px; vertical-align: middle; margin-right: 4px; border: 1px solid #333; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; margin: 0 0 16px 0; display: flex; gap: 16px; flex-wrap: wrap; }
.card img { max-width: 100%; height: auto; border: 1px solid #999; image-rendering: auto; }
.card .details { flex: 1 1 320px; min-width: 280px; }
.tag { display: inline-block; border-radius: 4px; padding: 1px 6px; font-size: 12px; margin-right: 4px; color: #fff; }
.tag.ghosting { background: #b00020; }
.tag.fragmentation { background: #8a5a00; }
.tag.bleeding { background: #5b2a86; }
.tag.ok { background: #2e7d32; }
.tp { color: #2e7d32; font-weight: 600; }
.fp, .fn { color: #b00020; font-weight: 600; }
.note { color: #555; font-size: 13px; }
)css";

std::string failure_definition(FailureType t, const ErrorAnalysisParams& p) {
    switch (t) {
        case FailureType::ghosting:
            return "a detection on an image with no chicken, or a detection not matched at IoU &ge; " +
                   format_fixed(p.match_iou, 2) + " whose IoU with every GT region is &lt; " +
                   format_fixed(p.ghost_max_iou, 2);
        case FailureType::fragmentation:
            return "&ge; " + std::to_string(p.fragment_min_count) +
                   " detections each with intersection / own area &ge; " + format_fixed(p.fragment_min_inside, 2) +
                   " inside the same GT instance";
        case FailureType::bleeding:
            return "a detection paired with a GT (IoU &ge; " + format_fixed(p.bleed_min_iou, 2) +
                   ") with area ratio &ge; " + format_fixed(p.bleed_min_area_ratio, 2) +
                   " and area outside the GT &ge; " + format_fixed(p.bleed_min_outside_ratio, 2) +
                   " &times; the GT's area";
    }
    return {};
}

void append_card(std::string& h, const ImageAnalysis& ia, size_t rank, std::pair<uint32_t, uint32_t> size) {
    h += "<section class=\"card\" id=\"image-" + std::to_string(ia.image_id) + "\">\n";
    h += "<div><img src=\"" + html_escape(overlay_link(ia.image_id)) + "\" width=\"" + std::to_string(size.first) +
         "\" height=\"" + std::to_string(size.second) + "\" alt=\"overlay of image " + std::to_string(ia.image_id) +
         "\"></div>\n<div class=\"details\">\n";
    h += "<h2>" + std::to_string(rank) + ". image " + std::to_string(ia.image_id) + ": " + html_escape(ia.file_name) +
         "</h2>\n";
    h += "<p>" + std::string(ia.negative ? "negative (no chicken)" : "positive") + ", " + std::to_string(ia.width) +
         "&times;" + std::to_string(ia.height) + " px; severity " + std::to_string(ia.severity()) +
         "; <span class=\"tp\">TP " + std::to_string(ia.tp) + "</span>, <span class=\"fp\">FP " +
         std::to_string(ia.fp) + "</span>, <span class=\"fn\">FN " + std::to_string(ia.fn) + "</span>";
    if (ia.presence) h += "; presence " + format_fixed(*ia.presence, 3);
    h += "</p>\n";
    if (ia.failures.empty()) {
        h += "<p><span class=\"tag ok\">no failure found</span></p>\n";
    } else {
        h += "<ul>\n";
        for (const Failure& f : ia.failures)
            h += "<li><span class=\"tag " + std::string(failure_type_name(f.type)) + "\">" + failure_type_name(f.type) +
                 "</span>" + html_escape(f.detail) + "</li>\n";
        h += "</ul>\n";
    }
    if (!ia.detections.empty()) {
        h += "<table><tr><th>detection</th><th>score</th><th>area px</th><th>paired GT</th><th>IoU</th><th>"
             "result</th></tr>\n";
        for (size_t d = 0; d < ia.detections.size(); ++d) {
            const AnalysedDetection& det = ia.detections[d];
            h += "<tr><td>" + html_escape(detection_label(d, det.score)) + "</td><td class=\"num\">" +
                 format_fixed(det.score, 3) + "</td><td class=\"num\">" + std::to_string(det.area) + "</td><td>" +
                 (det.gt ? std::to_string(*det.gt + 1) : std::string("&ndash;")) + "</td><td class=\"num\">" +
                 (det.gt ? format_fixed(det.iou, 3) : std::string("&ndash;")) + "</td><td>" +
                 (det.true_positive ? "<span class=\"tp\">TP</span>" : "<span class=\"fp\">FP</span>") + "</td></tr>\n";
        }
        h += "</table>\n";
    } else {
        h += "<p class=\"note\">no detection kept</p>\n";
    }
    if (!ia.gts.empty()) {
        h += "<table><tr><th>GT</th><th>annotation id</th><th>area px</th><th>result</th></tr>\n";
        for (size_t g = 0; g < ia.gts.size(); ++g) {
            const AnalysedGt& gt = ia.gts[g];
            std::string result =
                gt.crowd ? "crowd (ignored)"
                         : (gt.found ? "<span class=\"tp\">found</span>" : "<span class=\"fn\">missed (FN)</span>");
            h += "<tr><td>" + std::to_string(g + 1) + "</td><td class=\"num\">" + std::to_string(gt.annotation_id) +
                 "</td><td class=\"num\">" + std::to_string(gt.area) + "</td><td>" + result + "</td></tr>\n";
        }
        h += "</table>\n";
    }
    h += "</div>\n</section>\n";
}

// Overlays a previous run left that this run does not write: removed so the folder
// holds exactly this report. Only "<integer>.png" names are touched.
void remove_stale_overlays(const std::filesystem::path& dir, const std::set<std::string>& keep) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return;
    std::vector<std::filesystem::path> stale;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file()) continue;
        std::string name = entry.path().filename().string();
        if (name.size() < 5 || name.substr(name.size() - 4) != ".png" || keep.count(name)) continue;
        std::string stem = name.substr(0, name.size() - 4);
        long long id = 0;
        auto [end, err] = std::from_chars(stem.data(), stem.data() + stem.size(), id);
        if (err == std::errc() && end == stem.data() + stem.size()) stale.push_back(entry.path());
    }
    for (const auto& p : stale) {
        std::filesystem::remove(p, ec);
        if (ec) throw Error("cannot remove a stale overlay: " + ec.message(), p.string());
    }
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string overlay_link(int64_t image_id) { return "overlays/" + std::to_string(image_id) + ".png"; }

std::string render_report_html(const ErrorAnalysis& a, size_t shown,
                               const std::vector<std::pair<uint32_t, uint32_t>>& overlay_sizes,
                               const OverlayStyle& style) {
    shown = std::min(shown, a.images.size());
    if (overlay_sizes.size() < shown)
        throw Error("render_report_html: " + std::to_string(overlay_sizes.size()) + " overlay sizes for " +
                    std::to_string(shown) + " cards");
    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h += "<title>chickenseg error analysis: " + html_escape(a.predictions_file) + "</title>\n";
    h += "<style>" + std::string(kCss) + "</style>\n</head>\n<body>\n";
    h += "<h1>Error analysis</h1>\n<div class=\"inputs\">ground truth <code>" + html_escape(a.gt_file) +
         "</code> &middot; predictions <code>" + html_escape(a.predictions_file) + "</code>";
    if (!a.presence_file.empty()) h += " &middot; presence <code>" + html_escape(a.presence_file) + "</code>";
    h += " &middot; detections kept at score &ge; " + format_fixed(a.params.score_threshold, 2) + "</div>\n";

    h += "<div class=\"headline\">\n";
    auto metric = [&](const std::string& key, const std::string& value) {
        h += "<div class=\"metric\"><div class=\"v\">" + value + "</div><div class=\"k\">" + key + "</div></div>\n";
    };
    metric("cgF1 (segm)", optional_fixed(a.cgf1, 2));
    metric("pmF1 (segm)", optional_fixed(a.pmf1, 2));
    metric("IL_MCC", optional_fixed(a.il_mcc, 3));
    metric("IL FPR", optional_fixed(a.il_fpr, 3));
    metric("TP / FP / FN at IoU " + format_fixed(a.params.match_iou, 2),
           std::to_string(a.tp) + " / " + std::to_string(a.fp) + " / " + std::to_string(a.fn));
    metric("images with failures", std::to_string(a.images_with_failures) + " of " + std::to_string(a.images_analysed));
    h += "</div>\n";

    h += "<table><tr><th>failure type</th><th>failures</th><th>images affected</th><th>detected as</th></tr>\n";
    for (size_t t = 0; t < kFailureTypeCount; ++t) {
        auto type = static_cast<FailureType>(t);
        h += "<tr><td><span class=\"tag " + std::string(failure_type_name(type)) + "\">" + failure_type_name(type) +
             "</span></td><td class=\"num\">" + std::to_string(a.by_type[t].failures) + "</td><td class=\"num\">" +
             std::to_string(a.by_type[t].images) + "</td><td>" + failure_definition(type, a.params) + "</td></tr>\n";
    }
    h += "</table>\n";
    h += "<p class=\"note\"><span class=\"swatch\" style=\"background:" + css_colour(style.gt_colour) +
         "\"></span>ground truth (outline) &nbsp; <span class=\"swatch\" style=\"background:" +
         css_colour(style.prediction_colour) +
         "\"></span>detections (filled, labelled number:score). Images sorted worst first by severity = failures + "
         "FP + FN. " +
         std::to_string(a.images_analysed) + " images analysed";
    if (a.images_skipped) h += ", " + std::to_string(a.images_skipped) + " skipped (not instance-exhaustive)";
    h += shown < a.images.size() ? "; showing the " + std::to_string(shown) + " worst." : ".";
    h += "</p>\n";
    for (size_t i = 0; i < shown; ++i) append_card(h, a.images[i], i + 1, overlay_sizes[i]);
    h += "</body>\n</html>\n";
    return h;
}

ReportOutput write_error_report(const ErrorAnalysis& analysis, const SacoDataset& gt, const PredictionSet& preds,
                                const std::filesystem::path& image_root, const std::filesystem::path& out_dir,
                                const ReportParams& params) {
    size_t shown = params.limit == 0 ? analysis.images.size() : std::min(params.limit, analysis.images.size());
    std::unordered_map<int64_t, std::vector<size_t>> ann_by_image;
    for (size_t i = 0; i < gt.annotations.size(); ++i) ann_by_image[gt.annotations[i].image_id].push_back(i);

    ReportOutput out;
    std::vector<std::pair<uint32_t, uint32_t>> sizes;
    std::set<std::string> written;
    const std::filesystem::path overlay_dir = out_dir / "overlays";
    Progress progress("drawing overlays", shown);
    for (size_t i = 0; i < shown; ++i) {
        const ImageAnalysis& ia = analysis.images[i];
        std::optional<std::filesystem::path> inside = path_inside_root(image_root, ia.file_name);
        if (!inside)
            throw Error("file_name \"" + ia.file_name + "\" of image id " + std::to_string(ia.image_id) +
                        " is outside the image root " + image_root.string() + ": not read");
        std::filesystem::path file = *inside;
        RgbImage full = decode_image(file);
        if (full.width != ia.width || full.height != ia.height)
            throw Error("image is " + std::to_string(full.width) + "x" + std::to_string(full.height) +
                            " pixels but the ground truth says " + std::to_string(ia.width) + "x" +
                            std::to_string(ia.height) + " (image id " + std::to_string(ia.image_id) + ")",
                        file.string());
        RgbImage picture = downscale_to_width(full, params.overlay.max_width);
        std::vector<Rle> gt_masks;
        if (auto it = ann_by_image.find(ia.image_id); it != ann_by_image.end())
            for (size_t ai : it->second)
                gt_masks.push_back(segmentation_to_rle(gt.annotations[ai].segmentation, ia.height, ia.width));
        std::vector<Rle> det_masks;
        std::vector<std::string> labels;
        for (size_t d = 0; d < ia.detections.size(); ++d) {
            det_masks.push_back(rle_decompress(preds.predictions.at(ia.detections[d].prediction_index).mask));
            labels.push_back(detection_label(d, ia.detections[d].score));
        }
        draw_overlay(picture, gt_masks, det_masks, labels, params.overlay);
        std::filesystem::path png = out_dir / overlay_link(ia.image_id);
        write_png(png, picture);
        written.insert(png.filename().string());
        sizes.emplace_back(picture.width, picture.height);
        ++out.overlays;
        progress.tick();
    }
    progress.finish();
    remove_stale_overlays(overlay_dir, written);
    out.cards = shown;
    out.index_html = out_dir / "index.html";
    write_file_atomic(out.index_html, render_report_html(analysis, shown, sizes, params.overlay));
    return out;
}

ErrorReportResult make_error_report(const ErrorReportRequest& r) {
    SacoDataset gt = read_saco_json(r.gt);
    check_eval_gt(gt, r.gt.string());  // the same GT checks as `chickenseg eval`
    PredictionSet preds = read_predictions(r.predictions, gt);
    std::optional<PresenceScores> presence;
    if (r.presence) presence = read_presence(*r.presence, gt);
    ErrorReportResult result;
    result.analysis = analyse_errors(gt, r.gt.string(), preds, presence ? &*presence : nullptr, r.params.analysis);
    result.output = write_error_report(result.analysis, gt, preds, r.image_root, r.out_dir, r.params);
    return result;
}

json error_analysis_to_json(const ErrorAnalysis& a, size_t shown) {
    json j;
    j["gt"] = a.gt_file;
    j["predictions"] = a.predictions_file;
    j["presence"] = a.presence_file.empty() ? json(nullptr) : json(a.presence_file);
    const ErrorAnalysisParams& p = a.params;
    j["params"] = {{"score_threshold", p.score_threshold},
                   {"match_iou", p.match_iou},
                   {"ghost_max_iou", p.ghost_max_iou},
                   {"fragment_min_inside", p.fragment_min_inside},
                   {"fragment_min_count", p.fragment_min_count},
                   {"bleed_min_iou", p.bleed_min_iou},
                   {"bleed_min_area_ratio", p.bleed_min_area_ratio},
                   {"bleed_min_outside_ratio", p.bleed_min_outside_ratio}};
    j["metrics"] = {{"cgF1", optional_json(a.cgf1)},
                    {"pmF1", optional_json(a.pmf1)},
                    {"IL_MCC", optional_json(a.il_mcc)},
                    {"IL_FPR", optional_json(a.il_fpr)}};
    j["images_analysed"] = a.images_analysed;
    j["images_skipped_not_exhaustive"] = a.images_skipped;
    j["images_with_failures"] = a.images_with_failures;
    j["images_shown"] = std::min(shown, a.images.size());
    j["tp"] = a.tp;
    j["fp"] = a.fp;
    j["fn"] = a.fn;
    json by_type = json::object();
    for (size_t t = 0; t < kFailureTypeCount; ++t)
        by_type[failure_type_name(static_cast<FailureType>(t))] = {{"failures", a.by_type[t].failures},
                                                                   {"images", a.by_type[t].images}};
    j["failures"] = by_type;
    json images = json::array();
    for (const ImageAnalysis& ia : a.images) {
        json fl = json::array();
        for (const Failure& f : ia.failures) {
            json dets = json::array();
            for (uint32_t d : f.detections) dets.push_back(ia.detections[d].prediction_index);
            fl.push_back({{"type", failure_type_name(f.type)},
                          {"predictions", dets},
                          {"annotation_id", f.gt ? json(ia.gts[*f.gt].annotation_id) : json(nullptr)},
                          {"measure", f.measure},
                          {"detail", f.detail}});
        }
        images.push_back({{"image_id", ia.image_id},
                          {"file_name", ia.file_name},
                          {"negative", ia.negative},
                          {"severity", ia.severity()},
                          {"tp", ia.tp},
                          {"fp", ia.fp},
                          {"fn", ia.fn},
                          {"failures", fl}});
    }
    j["images"] = images;
    return j;
}

}  // namespace chickenseg
