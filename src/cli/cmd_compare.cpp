// `chickenseg compare BASELINE CANDIDATE`: two metrics files side by side and the
// promotion gate; on promote, optionally tags the candidate in the model registry.
// Exit status is the decision: 0 promote, 1 reject, 2 usage. Parsing and printing
// only; the work is in eval/compare and eval/model_registry.
#include <iostream>

#include "chickenseg/eval/compare.h"
#include "command.h"

namespace chickenseg::cli {

namespace {

struct CompareOptions {
    std::string baseline;
    std::string candidate;
    std::string improvement = improvement_mode_name(GateParams{}.improvement);
    std::string iou_type = iou_type_name(GateParams{}.iou_type);
    std::string registry;
    std::string candidate_name;
    std::string tag_prefix = PromotionRecord{}.tag_prefix;
    std::string checkpoint;
    std::string dataset_version;
    double max_mean_presence = *GateParams{}.max_mean_presence;
    bool no_mean_presence_check = false;
    GateParams params;
};

int run_compare(CompareOptions& o) {
    o.params.improvement = parse_improvement_mode(o.improvement);
    o.params.iou_type = o.iou_type == "bbox" ? IouType::bbox : IouType::segm;
    o.params.max_mean_presence = o.no_mean_presence_check ? std::nullopt : std::optional<double>(o.max_mean_presence);
    MetricsSummary baseline = read_metrics_summary(o.baseline, o.params.iou_type);
    MetricsSummary candidate = read_metrics_summary(o.candidate, o.params.iou_type);
    PromotionRecord record{o.registry, o.candidate_name, o.tag_prefix, o.checkpoint, o.dataset_version};
    if (!o.registry.empty()) record = resolve_promotion_record(record, candidate);  // before deciding
    Comparison comparison = compare_metrics(baseline, candidate, o.params);

    std::optional<RegistrationResult> registered;
    if (!o.registry.empty()) registered = record_promotion(comparison, record);

    if (global_options().json) {
        json doc = comparison_to_json(comparison);
        if (!o.registry.empty())
            doc["registry"] = registered ? registration_to_json(*registered, o.registry)
                                         : json{{"file", o.registry}, {"tag", nullptr}, {"already_registered", false}};
        print_json(doc);
    } else {
        std::cout << "baseline:  " << baseline.file << "\ncandidate: " << candidate.file << "\n\n"
                  << format_comparison(comparison);
        if (registered)
            std::cout << (registered->already_registered ? "already registered as " : "registered as ")
                      << registered->tag << " in " << o.registry << '\n';
        else if (!o.registry.empty())
            std::cout << "registry " << o.registry << " not changed (rejected)\n";
    }
    return comparison.decision.promote ? 0 : 1;
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "compare",
    "Compare two metrics files and run the promotion gate (exit 0 promote, 1 reject); tag promoted models", 45,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<CompareOptions>();
        cmd.add_option("baseline", o->baseline, "Metrics JSON of the current model (chickenseg eval --out)")
            ->required()
            ->check(CLI::ExistingFile);
        cmd.add_option("candidate", o->candidate, "Metrics JSON of the candidate model")
            ->required()
            ->check(CLI::ExistingFile);
        cmd.add_option("--min-improvement", o->params.min_improvement,
                       "cgF1 must improve by more than this (percent when relative, cgF1 points when absolute)")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        cmd.add_option("--improvement", o->improvement, "relative: percent of the baseline cgF1; absolute: points")
            ->check(CLI::IsMember({"relative", "absolute"}))
            ->capture_default_str();
        cmd.add_option("--min-pass-rate", o->params.min_pass_rate,
                       "The candidate's hard-negative pass rate must be more than this")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        auto* max_presence =
            cmd.add_option("--max-mean-presence", o->max_mean_presence,
                           "The candidate's mean presence on the negatives must be strictly below this (plan 5.2.3)")
                ->check(CLI::Range(0.0, 1.0))
                ->capture_default_str();
        cmd.add_flag("--no-mean-presence-check", o->no_mean_presence_check, "Leave the mean presence out of the gate")
            ->excludes(max_presence);
        cmd.add_option("--iou-type", o->iou_type, "Which metrics to compare: segm or bbox")
            ->check(CLI::IsMember({"segm", "bbox"}))
            ->capture_default_str();
        auto* registry =
            cmd.add_option("--registry", o->registry, "Model registry JSON; a promoted candidate is tagged there");
        auto* name = cmd.add_option("--candidate-name", o->candidate_name,
                                    "Name recorded for the candidate in the registry (e.g. the run id)");
        auto* checkpoint =
            cmd.add_option("--checkpoint", o->checkpoint,
                           "The candidate's checkpoint folder (e.g. RUN/best), recorded in the registry");
        cmd.add_option("--dataset-version", o->dataset_version,
                       "The dataset version the candidate was trained on (default: CHECKPOINT/training.json's)")
            ->needs(registry);
        registry->needs(name);
        registry->needs(checkpoint);
        name->needs(registry);
        checkpoint->needs(registry);
        cmd.add_option("--tag-prefix", o->tag_prefix, "Registry tags are <prefix>-v1, -v2, ...")
            ->needs(registry)
            ->capture_default_str();
        return [o] { return run_compare(*o); };
    }}};

}  // namespace

}  // namespace chickenseg::cli
