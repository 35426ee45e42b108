// `chickenseg baseline`: the zero-shot baseline of a SAM 3 checkpoint on the val set
// (predict -> eval -> error report), recorded for `chickenseg compare`.
#include <iostream>
#include <memory>

#include "chickenseg/eval/metrics_table.h"
#include "chickenseg/workbench/baseline.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

const CommandRegistrar kRegistrar{CommandSpec{
    "", "baseline", "Zero-shot baseline: predict with a SAM 3 checkpoint on the val set, evaluate, report, record", 45,
    [](CLI::App& cmd) -> Runner {
        auto p = std::make_shared<BaselineParams>();
        cmd.add_option("--model", p->model,
                       "SAM 3 Hugging Face folder, or tiny[:SEED] (random tiny model) / full-random[:SEED]")
            ->capture_default_str();
        cmd.add_option("--dataset", p->dataset, "SA-Co val JSON")->required()->check(CLI::ExistingFile);
        cmd.add_option("--image-root", p->image_root, "Folder the file_names are relative to (default: the dataset's)");
        cmd.add_option("--out", p->out_dir,
                       "Writes predictions.json, presence.json, metrics.json, report/, baseline.json")
            ->required();
        cmd.add_option("--device", p->device, "auto, cpu, cuda, cuda:N")->capture_default_str();
        cmd.add_option("--dtype", p->dtype, "fp32, bf16, fp16")
            ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
            ->capture_default_str();
        cmd.add_option("--batch-size", p->batch_size, "Images per forward pass")
            ->check(CLI::PositiveNumber)
            ->capture_default_str();
        cmd.add_option("--score-threshold", p->eval.score_threshold, "Eval keeps predictions with score >= this")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd.add_flag("!--no-report", p->report, "Skip the HTML error-analysis report");
        return [p]() {
            BaselineResult r = run_baseline(*p);
            if (global_options().json) {
                print_json(r.record_json);
                return 0;
            }
            std::cout << format_eval_summary(r.evaluation, r.presence.string()) << '\n'
                      << "baseline of " << p->model << " recorded in " << r.record.string() << '\n'
                      << "  metrics     " << r.metrics.string() << '\n'
                      << "  predictions " << r.predictions.string() << " (+ " << r.presence.string() << ")\n";
            if (!r.report_index.empty()) std::cout << "  report      " << r.report_index.string() << '\n';
            std::cout << "compare a fine-tuned model with: chickenseg compare " << r.metrics.string()
                      << " CANDIDATE_METRICS.json\n";
            return 0;
        };
    }}};

}  // namespace
}  // namespace chickenseg::cli
