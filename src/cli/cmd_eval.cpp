// `chickenseg eval`: SA-Co metrics (cgF1, pmF1, IL_MCC) of a predictions file
// against an SA-Co GT file, and the hard-negative stress test. Parsing and
// printing only; the work is in eval/saco_metrics.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "chickenseg/core/error.h"
#include "chickenseg/eval/metrics_table.h"
#include "chickenseg/eval/saco_metrics.h"
#include "command.h"

namespace chickenseg::cli {

namespace {

struct EvalOptions {
    std::string gt;
    std::string pred;
    std::string presence;
    std::string iou_type = "both";
    std::string epsilon = EvalParams{}.epsilon == EpsilonConvention::none ? "none" : "official";
    std::string out;
    bool per_image = false;
    bool fail_on_negatives = false;
    EvalParams params;
};

int run_eval(EvalOptions& o) {
    if (o.iou_type == "segm") {
        o.params.segm = true;
        o.params.bbox = false;
    } else if (o.iou_type == "bbox") {
        o.params.segm = false;
        o.params.bbox = true;
    } else {
        o.params.segm = o.params.bbox = true;
    }
    o.params.epsilon = o.epsilon == "none" ? EpsilonConvention::none : EpsilonConvention::official;

    PredictionReadParams read_params;
    read_params.require_masks = o.params.segm && !o.params.negatives_only;
    read_params.threads = o.params.threads;
    read_params.masks_from_score = o.params.score_threshold;  // only kept predictions are matched
    EvalInputs in = load_eval_inputs(o.gt, o.pred, o.presence, read_params);

    EvalResult result = evaluate_saco(in.gt, in.predictions, in.presence ? &*in.presence : nullptr, o.params, o.gt);
    json doc = eval_result_to_json(result, in.files.get(), o.per_image);
    if (!o.out.empty()) write_json_file(o.out, doc);
    if (global_options().json) {
        print_json(doc);
    } else {
        std::cout << format_eval_summary(result, o.presence);
        if (o.per_image) std::cout << format_eval_per_image(result);
        if (!o.out.empty()) std::cout << "\nmetrics written to " << o.out << '\n';
    }
    int code = 0;
    if (o.fail_on_negatives) {
        if (!result.negatives) {
            std::cerr << "error: --fail-on-negatives: the evaluated set has no negative pairs to test\n";
            code = 1;
        } else if (!result.negatives->passed) {
            std::cerr << "hard-negative test failed:";
            for (const auto& f : result.negatives->failures) std::cerr << ' ' << f << ';';
            std::cerr << '\n';
            code = 1;
        }
    }
    exit_without_teardown(code);  // the metrics file is closed; the inputs need no freeing
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "eval", "SA-Co metrics (cgF1, pmF1, IL_MCC) of predictions against an SA-Co GT file; hard-negative test", 40,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<EvalOptions>();
        cmd.add_option("--gt", o->gt, "SA-Co dataset JSON (ground truth)")->required()->check(CLI::ExistingFile);
        cmd.add_option("--pred", o->pred, "Predictions JSON (COCO results list)")->required()->check(CLI::ExistingFile);
        cmd.add_option("--presence", o->presence,
                       "Presence JSON {schema: chickenseg.presence/1, presence: {id: score}}")
            ->check(CLI::ExistingFile);
        cmd.add_option("--iou-type", o->iou_type, "segm, bbox or both")
            ->check(CLI::IsMember({"segm", "bbox", "both"}))
            ->capture_default_str();
        cmd.add_option("--epsilon", o->epsilon,
                       "official: cgf1_eval.py's 1e-4/1e-6 constants; none: exact fractions (undefined -> null)")
            ->check(CLI::IsMember({"official", "none"}))
            ->capture_default_str();
        cmd.add_option("--score-threshold", o->params.score_threshold, "Keep predictions with score >= this")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_flag("--per-image", o->per_image, "Per-image table (worst first); per-pair records in the JSON");
        cmd.add_option("--out", o->out, "Write the metrics JSON (chickenseg.metrics/1) here");
        cmd.add_flag("--negatives-only", o->params.negatives_only,
                     "Hard-negative holdout: the GT must have no instance; only the negatives test runs");
        cmd.add_option("--max-mean-presence", o->params.negatives.max_mean_presence,
                       "Negatives pass only if the mean presence is strictly below this (plan 5.2.3)")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--hallucination-presence", o->params.negatives.hallucination_presence,
                       "A negative image with presence > this is listed as a hallucination")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_option("--min-pass-rate", o->params.negatives.min_pass_rate,
                       "Negatives pass only if this fraction of negative images has no detection")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_flag("--fail-on-negatives", o->fail_on_negatives, "Exit 1 when the hard-negative test fails");
        cmd.add_option("--threads", o->params.threads, "Worker threads (0 = all cores)")->capture_default_str();
        return [o]() { return run_eval(*o); };
    }}};

}  // namespace

}  // namespace chickenseg::cli
