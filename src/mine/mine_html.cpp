// mining.html: one self-contained page (inline CSS, thumbnails as data: URIs, no script, no
// external asset) saying why each image was chosen, with the presence histogram of the run.
#include <algorithm>

#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/html_report.h"
#include "mine_files.h"

namespace chickenseg {
namespace {

std::string number_text(const json& v, int decimals) {
    return v.is_number() ? format_fixed(v.get<double>(), decimals) : std::string("-");
}

std::string url_path(const std::string& path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : path) {
        if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~')
            out += static_cast<char>(c);
        else
            out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
    return out;
}

}  // namespace

std::string mining_html(const json& report, const std::vector<std::string>& thumbnails) {
    const json& settings = report.at("settings");
    const json& counts = report.at("counts");
    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>chickenseg mine: ";
    h += html_escape(std::to_string(counts.at("chosen").get<size_t>())) + " images to annotate</title>\n";
    h += "<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
         "th{background:#f2f2f2}.r{text-align:right}.hist{display:flex;align-items:flex-end;height:120px;gap:2px;"
         "border-bottom:1px solid #888}.bar{background:#4a7ab5;width:22px}.axis{display:flex;gap:2px;font-size:10px}"
         ".axis span{width:22px;text-align:center}.reason{display:inline-block;background:#fde2b8;border-radius:3px;"
         "padding:0 4px;margin:1px}img{display:block}</style></head><body>\n";
    h += "<h1>Images to annotate</h1>\n<p>Model <code>" + html_escape(settings.value("model", "")) +
         "</code>, prompt <code>" + html_escape(settings.value("prompt", "")) + "</code>, inbox <code>" +
         html_escape(settings.value("inbox", "")) + "</code>.</p>\n";
    h += "<p>Scored " + std::to_string(counts.at("scored").get<size_t>()) + " images (" +
         std::to_string(counts.at("failed").get<size_t>()) + " failed, " +
         std::to_string(counts.at("already_mined").get<size_t>()) + " mined before); " +
         std::to_string(counts.at("candidates").get<size_t>()) + " candidates; chose " +
         std::to_string(counts.at("chosen").get<size_t>()) + " (" +
         std::to_string(counts.at("duplicates").get<size_t>()) + " near-duplicates skipped).</p>\n";
    const json& band = settings.at("presence_band");
    h += "<p>Reasons: <span class=\"reason\">ambiguous_presence</span> presence in [" + number_text(band.at(0), 2) +
         ", " + number_text(band.at(1), 2) + "]; <span class=\"reason\">borderline_instance</span> a query within " +
         number_text(settings.at("instance_margin"), 2) + " of the keep threshold " +
         number_text(settings.at("thresholds").at("score"), 2) +
         "; <span class=\"reason\">unstable_mask</span> a kept mask's stability score below " +
         number_text(settings.at("stability_min"), 2) +
         ". Priority: the weighted mean of the three terms "
         "(docs/mine.md).</p>\n";

    // The presence histogram over every scored image.
    const json& hist = report.at("presence_histogram").at("counts");
    size_t most = 1;
    for (const auto& c : hist) most = std::max(most, c.get<size_t>());
    const size_t bins = hist.size();
    h += "<h2>Presence over the inbox</h2>\n<div class=\"hist\">";
    for (size_t i = 0; i < bins; ++i) {
        const size_t c = hist.at(i).get<size_t>();
        const double lo = static_cast<double>(i) / bins, hi = static_cast<double>(i + 1) / bins;
        h += "<div class=\"bar\" style=\"height:" + std::to_string(c * 100 / most) + "%\" title=\"" +
             format_fixed(lo, 2) + "-" + format_fixed(hi, 2) + ": " + std::to_string(c) + " images\"></div>";
    }
    h += "</div>\n<div class=\"axis\">";
    for (size_t i = 0; i < bins; ++i)
        h += "<span>" + (i % 4 == 0 ? format_fixed(static_cast<double>(i) / bins, 1) : std::string()) + "</span>";
    h += "</div>\n";

    h +=
        "<h2>Chosen</h2>\n<table><tr><th>#</th><th>image</th><th>file</th><th>reasons</th><th class=\"r\">priority</th>"
        "<th class=\"r\">presence</th><th class=\"r\">kept</th><th class=\"r\">borderline</th>"
        "<th class=\"r\">lowest stability</th></tr>\n";
    const json& chosen = report.at("chosen");
    for (size_t i = 0; i < chosen.size(); ++i) {
        const json& c = chosen[i];
        const std::string file = c.at("file").get<std::string>();
        h += "<tr><td class=\"r\">" + std::to_string(c.at("rank").get<size_t>()) + "</td><td>";
        if (i < thumbnails.size() && !thumbnails[i].empty())
            h += "<img alt=\"" + html_escape(file) + "\" src=\"data:image/jpeg;base64," + thumbnails[i] + "\">";
        else
            h += "-";
        h += "</td><td><a href=\"" + html_escape(url_path(file)) + "\">" + html_escape(file) + "</a><br><small>" +
             html_escape(c.at("labelme").get<std::string>()) + "</small></td><td>";
        for (const auto& r : c.at("reasons"))
            h += "<span class=\"reason\">" + html_escape(r.get<std::string>()) + "</span> ";
        h += "</td><td class=\"r\">" + number_text(c.at("priority"), 3) + "</td><td class=\"r\">" +
             number_text(c.at("presence"), 3) + "</td><td class=\"r\">" + std::to_string(c.at("kept").get<size_t>()) +
             "</td><td class=\"r\">" + std::to_string(c.at("borderline").get<size_t>()) + "</td><td class=\"r\">" +
             number_text(c.at("min_stability"), 3) + "</td></tr>\n";
    }
    h += "</table>\n";
    const json& duplicates = report.at("duplicates");
    if (!duplicates.empty()) {
        h += "<h2>Near-duplicates skipped</h2>\n<table><tr><th>file</th><th>repeats</th><th class=\"r\">dHash "
             "distance</th></tr>\n";
        for (const auto& d : duplicates)
            h += "<tr><td>" + html_escape(d.at("file").get<std::string>()) + "</td><td>" +
                 html_escape(d.at("duplicate_of").get<std::string>()) + "</td><td class=\"r\">" +
                 std::to_string(d.at("distance").get<int>()) + "</td></tr>\n";
        h += "</table>\n";
    }
    const json& failed = report.at("failed");
    if (!failed.empty()) {
        h += "<h2>Failed</h2>\n<table><tr><th>file</th><th>error</th></tr>\n";
        for (const auto& f : failed)
            h += "<tr><td>" + html_escape(f.at("file").get<std::string>()) + "</td><td>" +
                 html_escape(f.at("error").get<std::string>()) + "</td></tr>\n";
        h += "</table>\n";
    }
    h += "</body></html>\n";
    return h;
}

}  // namespace chickenseg
