// Human-readable tables of an evaluation (what `chickenseg eval` and
// `chickenseg baseline` print): F1-type metrics x100 as SAM 3 reports them,
// MCC and rates as fractions, undefined values as "n/a (why)".
#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/metrics_table.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace chickenseg {

namespace {

// x100 for F1-type metrics (as SAM 3 reports them), raw for MCC and rates.
std::string cell(const MetricValue& v, bool percent) {
    if (!v.value) return "n/a (" + v.reason + ")";
    return percent ? format_fixed(*v.value * 100, 2) : format_fixed(*v.value, 4);
}

std::string opt_cell(const std::optional<double>& v, int decimals) {
    return v ? format_fixed(*v, decimals) : "n/a (no images)";
}

std::string format_rows(const std::vector<std::vector<std::string>>& rows) {
    std::string out;
    std::vector<size_t> width;
    for (const auto& r : rows)
        for (size_t c = 0; c < r.size(); ++c) {
            if (width.size() <= c) width.push_back(0);
            width[c] = std::max(width[c], r[c].size());
        }
    for (const auto& r : rows) {
        std::string line;
        for (size_t c = 0; c < r.size(); ++c) {
            line += r[c];
            if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
        }
        out += line + '\n';
    }
    return out;
}

}  // namespace

std::string format_eval_summary(const EvalResult& r, const std::string& presence_file) {
    std::ostringstream os;
    const EvalCounts& c = r.counts;
    os << "evaluated " << c.evaluated_pairs << " pairs (" << c.positive_pairs << " positive, " << c.negative_pairs
       << " negative); " << c.skipped_not_exhaustive << " skipped (is_instance_exhaustive = 0)\n"
       << "GT instances " << c.gt_instances << " (+" << c.crowd_regions << " crowd, ignored); predictions "
       << c.predictions << ", kept " << c.kept_predictions << " (score >= " << r.params.score_threshold << ")\n"
       << "epsilon convention: " << epsilon_convention_name(r.params.epsilon) << "\n\n";

    std::vector<const IouTypeMetrics*> types;
    if (r.segm) types.push_back(&*r.segm);
    if (r.bbox) types.push_back(&*r.bbox);
    if (!types.empty()) {
        std::vector<std::vector<std::string>> rows;
        std::vector<std::string> head{"metric"};
        for (auto* t : types) head.push_back(iou_type_name(t->type));
        rows.push_back(head);
        auto add = [&](const std::string& name, auto get, bool percent) {
            std::vector<std::string> row{name};
            for (auto* t : types) row.push_back(cell(get(*t), percent));
            rows.push_back(row);
        };
        add(
            "cgF1", [](const IouTypeMetrics& t) { return t.cgf1; }, true);
        add(
            "cgF1@0.5", [](const IouTypeMetrics& t) { return t.per_threshold[kThreshold50].cgf1; }, true);
        add(
            "cgF1@0.75", [](const IouTypeMetrics& t) { return t.per_threshold[kThreshold75].cgf1; }, true);
        add(
            "pmF1", [](const IouTypeMetrics& t) { return t.pm_f1; }, true);
        add(
            "pmF1@0.5", [](const IouTypeMetrics& t) { return t.per_threshold[kThreshold50].pm_f1; }, true);
        add(
            "pmF1@0.75", [](const IouTypeMetrics& t) { return t.per_threshold[kThreshold75].pm_f1; }, true);
        add(
            "positive macro F1", [](const IouTypeMetrics& t) { return t.positive_macro_f1; }, true);
        add(
            "precision (all pairs)", [](const IouTypeMetrics& t) { return t.precision; }, true);
        add(
            "recall", [](const IouTypeMetrics& t) { return t.recall; }, true);
        add(
            "F1 (all pairs)", [](const IouTypeMetrics& t) { return t.f1; }, true);
        os << format_rows(rows);
        os << "(F1-type metrics x100, means over IoU 0.50:0.05:0.95)\n\n";
    }
    const ImageLevelMetrics& il = r.image_level;
    os << format_rows({{"image level", ""},
                       {"IL_MCC", cell(il.mcc, false)},
                       {"IL precision", cell(il.precision, false)},
                       {"IL recall", cell(il.recall, false)},
                       {"IL F1", cell(il.f1, false)},
                       {"IL FPR", cell(il.fpr, false)},
                       {"confusion", "TP " + std::to_string(il.tp) + "  FP " + std::to_string(il.fp) + "  TN " +
                                         std::to_string(il.tn) + "  FN " + std::to_string(il.fn)}});

    if (r.negatives) {
        const NegativeReport& n = *r.negatives;
        os << "\nhard negatives: " << n.image_count << " images, presence from "
           << (n.presence_source == PresenceSource::presence_file
                   ? presence_file
                   : std::string("the max prediction score per image (no --presence given)"))
           << '\n';
        std::string hall;
        for (size_t i = 0; i < n.hallucinations.size() && i < 5; ++i)
            hall += (i ? ", " : " (") + std::to_string(n.hallucinations[i].image_id) + ": " +
                    format_fixed(n.hallucinations[i].presence, 3);
        if (!hall.empty()) hall += n.hallucinations.size() > 5 ? ", ...)" : ")";
        os << format_rows(
            {{"pass rate", opt_cell(n.pass_rate, 4) + "  (" + std::to_string(n.image_count - n.images_with_detections) +
                               " of " + std::to_string(n.image_count) + " with no detection; min " +
                               format_fixed(n.params.min_pass_rate, 4) + ") " + (n.pass_rate_ok ? "ok" : "FAIL")},
             {"presence mean", opt_cell(n.presence_mean, 4) + "  (must be below " +
                                   format_fixed(n.params.max_mean_presence, 4) + ") " +
                                   (n.mean_presence_ok ? "ok" : "FAIL")},
             {"presence p50 / p95 / max",
              opt_cell(n.presence_p50, 4) + " / " + opt_cell(n.presence_p95, 4) + " / " + opt_cell(n.presence_max, 4)},
             {"detections per image",
              "mean " + opt_cell(n.detections_mean, 4) + ", max " + std::to_string(n.detections_max)},
             {"hallucinations", std::to_string(n.hallucination_count) + " with presence > " +
                                    format_fixed(n.params.hallucination_presence, 3) + hall},
             {"verdict", n.passed ? "PASS" : "FAIL"}});
        for (const auto& f : n.failures) os << "  " << f << '\n';
    }
    return os.str();
}

std::string format_eval_per_image(const EvalResult& r) {
    std::ostringstream os;
    bool use_segm = r.segm.has_value();
    bool any_type = r.segm || r.bbox;
    struct Row {
        const ImageResult* im;
        uint32_t tp = 0, fp = 0, fn = 0;
        double worst_best_iou = 1;  // lowest best-IoU over the image's GT
    };
    std::vector<Row> rows;
    for (const auto& im : r.images) {
        Row row{&im};
        const PairTypeResult* t = !any_type ? nullptr : use_segm ? &*im.segm : &*im.bbox;
        if (t) {
            row.tp = t->matching.tp[kThreshold50];
            row.fp = t->matching.fp_at(kThreshold50);
            row.fn = t->matching.fn_at(kThreshold50);
            for (double v : t->matching.best_iou_per_gt) row.worst_best_iou = std::min(row.worst_best_iou, v);
        } else {
            row.fp = im.kept_count();
        }
        rows.push_back(row);
    }
    // Worst first: most errors at IoU 0.5, then the worst-covered GT, then id.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.fp + a.fn != b.fp + b.fn) return a.fp + a.fn > b.fp + b.fn;
        if (a.worst_best_iou != b.worst_best_iou) return a.worst_best_iou < b.worst_best_iou;
        return a.im->image_id < b.im->image_id;
    });
    os << "\nper image (" << (any_type ? (use_segm ? "segm" : "bbox") : "detections") << ", IoU 0.5; worst first)\n";
    std::vector<std::vector<std::string>> table{
        {"image_id", "file", "GT", "kept", "TP", "FP", "FN", "best IoU (worst GT)", "max score", "presence"}};
    for (const auto& row : rows) {
        const ImageResult& im = *row.im;
        table.push_back({std::to_string(im.image_id), im.file_name, std::to_string(im.gt_count),
                         std::to_string(im.kept_count()), std::to_string(row.tp), std::to_string(row.fp),
                         std::to_string(row.fn),
                         im.gt_count && any_type ? format_fixed(row.worst_best_iou, 3) : "n/a (no GT)",
                         format_fixed(im.max_score, 3), im.presence ? format_fixed(*im.presence, 3) : "-"});
    }
    os << format_rows(table);
    return os.str();
}

}  // namespace chickenseg
