// The visual error-analysis report: REPORT_DIR/index.html, one static page (no
// JavaScript, no server; open it from disk) with the headline metrics and a summary
// of the failure types on top, then one card per image, worst first: the overlay
// picture, the failures found, and the detections and GT instances with TP/FP/FN.
// Overlays are PNG files beside it, REPORT_DIR/overlays/<image id>.png, at most
// OverlayStyle::max_width pixels wide. Same inputs -> same bytes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chickenseg/data/saco.h"
#include "chickenseg/eval/error_analysis.h"
#include "chickenseg/eval/overlay.h"
#include "chickenseg/eval/predictions.h"

namespace chickenseg {

struct ReportParams {
    ErrorAnalysisParams analysis;
    size_t limit = 0;  // cards (and overlays) for the `limit` worst images only; 0 = every image
    OverlayStyle overlay;
};

// Text made safe for HTML element content and quoted attribute values
// (& < > " ' escaped).
std::string html_escape(std::string_view text);

// Relative link of an image's overlay inside the report folder: "overlays/<id>.png".
std::string overlay_link(int64_t image_id);

// The page for `analysis`; cards for the first `shown` images (analysis order).
// overlay_sizes[i] is the pixel size of images[i]'s overlay (for width/height
// attributes, so the layout does not jump while pictures load).
std::string render_report_html(const ErrorAnalysis& analysis, size_t shown,
                               const std::vector<std::pair<uint32_t, uint32_t>>& overlay_sizes,
                               const OverlayStyle& style);

struct ReportOutput {
    std::filesystem::path index_html;
    size_t cards = 0;     // images shown
    size_t overlays = 0;  // PNG files written
};

// Draws the overlays of the shown images (reading each image from
// image_root / file_name; Error naming the file when it is missing, unreadable or
// not the size the GT says), removes overlays of a previous run that this run does
// not show (only files named <integer>.png inside REPORT_DIR/overlays), then writes
// index.html. Every file is written atomically; index.html last.
ReportOutput write_error_report(const ErrorAnalysis& analysis, const SacoDataset& gt, const PredictionSet& preds,
                                const std::filesystem::path& image_root, const std::filesystem::path& out_dir,
                                const ReportParams& params);

// Everything `chickenseg report` does, for other commands (e.g. `baseline`) too:
// reads the GT, predictions and optional presence file, analyses, writes the report.
struct ErrorReportRequest {
    std::filesystem::path gt;
    std::filesystem::path predictions;
    std::optional<std::filesystem::path> presence;
    std::filesystem::path image_root;
    std::filesystem::path out_dir;
    ReportParams params;
};
struct ErrorReportResult {
    ErrorAnalysis analysis;
    ReportOutput output;
};
ErrorReportResult make_error_report(const ErrorReportRequest& request);

// A JSON summary of the analysis (what `report --json` prints): counts per failure
// type, totals, headline metrics, and per image the severity and failures.
json error_analysis_to_json(const ErrorAnalysis& analysis, size_t shown);

}  // namespace chickenseg
