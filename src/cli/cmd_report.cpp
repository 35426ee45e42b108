// `chickenseg report`: the visual error-analysis report (REPORT_DIR/index.html with
// PNG overlays): ghosting, fragmentation and bleeding found per image, worst first.
// Parsing and printing only; the work is in eval/error_analysis and eval/html_report.
#include <cstdio>
#include <iostream>

#include "chickenseg/eval/html_report.h"
#include "command.h"

namespace chickenseg::cli {

namespace {

struct ReportOptions {
    std::string gt;
    std::string pred;
    std::string presence;
    std::string image_root;
    std::string out;
    ReportParams params;
};

int run_report(ReportOptions& o) {
    ErrorReportRequest request;
    request.gt = o.gt;
    request.predictions = o.pred;
    if (!o.presence.empty()) request.presence = o.presence;
    request.image_root = o.image_root;
    request.out_dir = o.out;
    request.params = o.params;
    ErrorReportResult r = make_error_report(request);
    const ErrorAnalysis& a = r.analysis;

    if (global_options().json) {
        json doc = error_analysis_to_json(a, r.output.cards);
        doc["index_html"] = r.output.index_html.string();
        print_json(doc);
        return 0;
    }
    std::printf("analysed %zu images (%zu skipped: not instance-exhaustive); TP %llu, FP %llu, FN %llu at IoU %.2f\n",
                a.images_analysed, a.images_skipped, static_cast<unsigned long long>(a.tp),
                static_cast<unsigned long long>(a.fp), static_cast<unsigned long long>(a.fn), a.params.match_iou);
    std::printf("\n%-15s %9s %16s\n", "failure type", "failures", "images affected");
    for (size_t t = 0; t < kFailureTypeCount; ++t)
        std::printf("%-15s %9zu %16zu\n", failure_type_name(static_cast<FailureType>(t)), a.by_type[t].failures,
                    a.by_type[t].images);
    size_t worst = std::min<size_t>(10, a.images.size());
    if (worst > 0) {
        std::printf("\nworst images (severity = failures + FP + FN)\n%-10s %8s %4s %4s %4s  %s\n", "image_id",
                    "severity", "TP", "FP", "FN", "file");
        for (size_t i = 0; i < worst; ++i) {
            const ImageAnalysis& ia = a.images[i];
            std::printf("%-10lld %8zu %4u %4u %4u  %s\n", static_cast<long long>(ia.image_id), ia.severity(), ia.tp,
                        ia.fp, ia.fn, ia.file_name.c_str());
        }
    }
    std::cout << "\nreport written to " << r.output.index_html.string() << " (" << r.output.cards
              << " images shown, overlays in " << (std::filesystem::path(o.out) / "overlays").string() << ")\n";
    return 0;
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "report", "Visual error-analysis report (HTML + PNG overlays): ghosting, fragmentation, bleeding", 46,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<ReportOptions>();
        ErrorAnalysisParams& p = o->params.analysis;
        cmd.add_option("--gt", o->gt, "SA-Co dataset JSON (ground truth)")->required()->check(CLI::ExistingFile);
        cmd.add_option("--pred", o->pred, "Predictions JSON (COCO results list with masks)")
            ->required()
            ->check(CLI::ExistingFile);
        cmd.add_option("--image-root", o->image_root, "Folder the GT file_name paths are relative to")
            ->required()
            ->check(CLI::ExistingDirectory);
        cmd.add_option("--out", o->out, "Report folder (index.html, overlays/<image id>.png)")->required();
        cmd.add_option("--presence", o->presence, "Presence JSON (chickenseg.presence/1), shown per image")
            ->check(CLI::ExistingFile);
        cmd.add_option("--limit", o->params.limit, "Show only the N worst images (0 = all)")->capture_default_str();
        cmd.add_option("--max-width", o->params.overlay.max_width, "Overlay width limit in pixels")
            ->check(CLI::Range(16u, 8192u))
            ->capture_default_str();
        cmd.add_option("--score-threshold", p.score_threshold, "Keep detections with score >= this")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--match-iou", p.match_iou, "A paired detection with IoU >= this is a TP")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--ghost-max-iou", p.ghost_max_iou,
                       "An unmatched detection with IoU below this with every GT is a ghost")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--fragment-min-inside", p.fragment_min_inside,
                       "A detection is a fragment of a GT when intersection / its area >= this")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--fragment-min-count", p.fragment_min_count, "This many fragments in one GT: fragmentation")
            ->check(CLI::Range(2u, 1000u))
            ->capture_default_str();
        cmd.add_option("--bleed-min-iou", p.bleed_min_iou, "A detection bleeds only if its pair IoU is >= this")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--bleed-min-area-ratio", p.bleed_min_area_ratio, "Bleeding: area(detection) / area(GT) >= this")
            ->check(CLI::PositiveNumber)
            ->capture_default_str();
        cmd.add_option("--bleed-min-outside-ratio", p.bleed_min_outside_ratio,
                       "Bleeding: (area(detection) - intersection) / area(GT) >= this")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        return [o] { return run_report(*o); };
    }}};

}  // namespace

}  // namespace chickenseg::cli
