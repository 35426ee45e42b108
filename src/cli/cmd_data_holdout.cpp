// `chickenseg data holdout`: the negatives of a dataset, for the hard-negative stress test.
#include <cstdio>
#include <memory>

#include "chickenseg/core/error.h"
#include "chickenseg/data/holdout.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

struct HoldoutOptions {
    std::string dataset;
    std::string out;
    bool negatives_only = false;
};

// True when both paths resolve to the same file (so writing one would replace the input).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code ea, eb;
    auto ca = std::filesystem::weakly_canonical(a, ea), cb = std::filesystem::weakly_canonical(b, eb);
    return !ea && !eb && ca == cb;
}

CommandRegistrar registrar{{
    "data",
    "holdout",
    "Write a held-out subset of an SA-Co dataset (for now: its negatives, --negatives-only)",
    40,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<HoldoutOptions>();
        cmd.add_option("--dataset", o->dataset, "SA-Co dataset JSON (read only), usually the val split")->required();
        cmd.add_flag("--negatives-only", o->negatives_only,
                     "Keep the instance-exhaustive images without non-crowd annotations. Required: it is the only "
                     "holdout kind for now")
            ->required();
        cmd.add_option("--out", o->out, "Output SA-Co JSON, e.g. chicken_negatives_only.json")->required();
        return [o]() {
            if (same_file(o->out, o->dataset))
                throw Error("refusing to overwrite the input dataset; choose another --out", o->out);
            const SacoDataset ds = read_saco_json(o->dataset);
            const HoldoutResult r = holdout_negatives(ds, o->dataset);
            write_saco_json(r.dataset, o->out);
            if (global_options().json) {
                json out = holdout_summary_to_json(r);
                out["out"] = o->out;
                print_json(out);
            } else {
                std::printf("input images            %zu\n", r.input_images);
                std::printf("negatives written       %zu\n", r.negatives);
                std::printf("  with crowd regions    %zu\n", r.crowd_only);
                std::printf("skipped non-exhaustive  %zu\n", r.skipped_non_exhaustive);
                std::printf("wrote %s\n", o->out.c_str());
            }
            return 0;
        };
    },
}};

}  // namespace
}  // namespace chickenseg::cli
