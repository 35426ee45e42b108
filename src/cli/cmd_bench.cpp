// `chickenseg bench`: the runtime's per-stage latency, throughput per batch size and memory,
// optionally against Hugging Face's Sam3Model in the same run. Parsing and printing only; the
// work is in runtime/bench.
#include <iostream>
#include <memory>

#include "chickenseg/runtime/bench.h"
#include "command.h"
#include "engine_options.h"

namespace chickenseg::cli {
namespace {

const CommandRegistrar kRegistrar{CommandSpec{
    "", "bench", "Time the runtime per stage and per batch size (optionally against Hugging Face eager)", 55,
    [](CLI::App& cmd) -> Runner {
        auto p = std::make_shared<BenchParams>(bench_default_params());
        cmd.add_option("--package", p->package, "Model package folder (chickenseg model export)")
            ->required()
            ->check(CLI::ExistingDirectory);
        cmd.add_option("--images", p->images, "Folder of images to time (default: synthetic 1920x1080 JPEGs)")
            ->check(CLI::ExistingDirectory);
        cmd.add_option("--max-images", p->max_images, "At most this many of the folder's images")
            ->check(CLI::PositiveNumber)
            ->capture_default_str();
        cmd.add_option("--batch-size", p->batch_sizes, "Batch sizes for the throughput table, e.g. 1,2,4,8")
            ->delimiter(',')
            ->check(CLI::Range(1, 1024))
            ->capture_default_str();
        cmd.add_option("--iters", p->iterations, "Timed runs per measurement")
            ->check(CLI::Range(1, 1000000))
            ->capture_default_str();
        cmd.add_option("--warmup", p->warmup, "Untimed runs first")
            ->check(CLI::Range(0, 1000000))
            ->capture_default_str();
        cmd.add_option("--prompt", p->prompt, "Prompt of the package (default: its first)");
        add_engine_options(cmd, p->engine);
        cmd.add_flag("--baseline", p->baseline,
                     "Also time Hugging Face Sam3Model eager (bf16 on CUDA, fp32 on CPU) on the same images");
        cmd.add_option("--model", p->baseline_model,
                       "The baseline's model (default: the package's model_source, e.g. tiny:0 or full-random:0)");
        return [p]() {
            BenchReport r = run_bench(*p);
            if (global_options().json)
                print_json(bench_report_to_json(r));
            else
                std::cout << format_bench_report(r);
            return 0;
        };
    }}};

}  // namespace
}  // namespace chickenseg::cli
