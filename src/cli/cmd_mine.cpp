// `chickenseg mine`: the images of an inbox the model is unsure about, prepared for
// annotation (docs/mine.md). Parsing and printing only; the work is in mine/.
#include <iostream>
#include <memory>

#include "chickenseg/core/text_format.h"
#include "chickenseg/mine/mine.h"
#include "command.h"
#include "engine_options.h"

namespace chickenseg::cli {
namespace {

struct MineOptions {
    std::string package;
    std::string images;
    std::vector<std::string> merge;
    std::string shard = "1/1";
    std::vector<double> presence_band;
    bool no_dedup = false;
    bool no_thumbnails = false;
    EngineParams engine = engine_default_params();
    MineParams params = mine_default_params();
};

void print_summary(const MineSummary& s, const MineOptions& o) {
    const auto& p = o.params;
    if (!o.merge.empty()) {
        std::cout << "merged " << o.merge.size() << " shards: " << s.images << " images";
    } else {
        std::cout << "mined " << s.images << " images";
        if (p.shard.count > 1) std::cout << " (shard " << shard_text(p.shard) << ": " << s.in_shard << ")";
        std::cout << ": scored " << s.scored;
        if (s.resumed) std::cout << " (+" << s.resumed << " resumed)";
    }
    if (s.already_mined) std::cout << ", " << s.already_mined << " mined before (skipped)";
    std::cout << ", failed " << s.failed << " in " << format_fixed(s.seconds, 2) << " s\n";
    if (s.scores_only) {
        std::cout << "  scores   " << (p.out / kMineScoresFile).string() << "\n  join the shards with: chickenseg mine "
                  << "--merge <each shard's --out> --out <folder>\n";
        return;
    }
    std::cout << "  candidates " << s.candidates << ", chosen " << s.chosen << " (limit "
              << (p.limit ? std::to_string(p.limit) : std::string("none")) << "), near-duplicates skipped "
              << s.duplicates << ", hard-linked " << s.linked << ", copied " << s.chosen - s.linked << '\n'
              << "  to annotate " << p.out.string() << " (LabelMe files beside the images)\n"
              << "  report      " << (p.out / kMineReportFile).string() << ", " << (p.out / kMineHtmlFile).string()
              << '\n';
}

int run_mine_command(MineOptions& o) {
    MineParams& p = o.params;
    p.progress = !global_options().quiet && !global_options().json;
    p.shard = parse_shard(o.shard);
    if (!o.presence_band.empty()) {
        p.score.presence_low = o.presence_band.at(0);
        p.score.presence_high = o.presence_band.at(1);
    }
    check_mine_score_params(p.score);
    if (o.no_dedup) p.max_hash_distance = -1;
    p.thumbnails = !o.no_thumbnails;
    MineSummary s;
    if (!o.merge.empty()) {
        std::vector<std::filesystem::path> dirs(o.merge.begin(), o.merge.end());
        s = merge_mine(dirs, p);
    } else {
        if (o.package.empty() || o.images.empty()) throw Error("give --package and --images (or --merge)");
        // The outputs are checked before the engine (LibTorch) loads.
        check_mine_output(o.images, p.out);
        Engine engine(o.package, o.engine);
        s = run_mine(engine, o.images, p);
    }
    if (global_options().json)
        print_json(mine_summary_to_json(s));
    else
        print_summary(s, o);
    if (s.failed > 0) {
        std::cerr << "error: " << s.failed << " images failed (listed above and in "
                  << (p.out / kMineReportFile).string() << ")\n";
        return 1;
    }
    return 0;
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "mine",
    "Find the inbox images the model is unsure about; copy them with pre-filled LabelMe files for annotation", 55,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<MineOptions>();
        auto* package = cmd.add_option("--package", o->package, "Model package folder (chickenseg model export)")
                            ->check(CLI::ExistingDirectory);
        auto* images = cmd.add_option("--images", o->images,
                                      "Inbox: folder of unlabeled images (recursive; never "
                                      "modified)")
                           ->check(CLI::ExistingDirectory);
        auto* merge = cmd.add_option("--merge", o->merge, "Join finished shard runs (their --out folders) instead")
                          ->check(CLI::ExistingDirectory)
                          ->excludes(package)
                          ->excludes(images);
        cmd.add_option("--out", o->params.out,
                       "Output folder (to_annotate/): images, LabelMe files, mining.json, "
                       "mining.html, the state")
            ->required();
        cmd.add_option("--limit", o->params.limit, "Images to choose (0 = every candidate)")->capture_default_str();
        cmd.add_option("--prompt", o->params.prompt, "Concept prompt of the package (default: its first)");
        cmd.add_option("--shard", o->shard, "Mine slice K of N of the inbox (K/N, 1-based); join with --merge")
            ->capture_default_str()
            ->excludes(merge);
        cmd.add_option("--presence-band", o->presence_band, "LO,HI: presence in this band is ambiguous")
            ->delimiter(',')
            ->expected(2)
            ->default_str(format_fixed(o->params.score.presence_low, 2) + "," +
                          format_fixed(o->params.score.presence_high, 2));
        cmd.add_option("--instance-margin", o->params.score.instance_margin,
                       "A query whose score is within this of the keep threshold is borderline")
            ->capture_default_str();
        cmd.add_option("--stability-delta", o->params.score.stability_delta, "Logit offset of the mask stability score")
            ->capture_default_str();
        cmd.add_option("--min-stability", o->params.score.stability_min,
                       "A kept mask less stable than this is unstable")
            ->capture_default_str();
        cmd.add_option("--max-hash-distance", o->params.max_hash_distance,
                       "dHash bits within which two images are near-duplicates")
            ->check(CLI::Range(0, 64))
            ->capture_default_str();
        cmd.add_flag("--no-dedup", o->no_dedup, "Keep near-duplicate images");
        cmd.add_flag("--copy", o->params.copy, "Copy the chosen images (default: hard links where possible)");
        cmd.add_flag("--no-thumbnails", o->no_thumbnails, "No thumbnails in mining.html");
        cmd.add_option("--min-score", o->params.score_threshold,
                       "Keep threshold of a detection (default: the package's thresholds.score)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--presence-threshold", o->params.presence_threshold,
                       "Below it the pre-filled file has no detections (default: the package's thresholds.presence)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--mask-threshold", o->params.mask_threshold,
                       "On the mask probabilities (default: the package's thresholds.mask)")
            ->check(CLI::Range(0.0, 1.0));
        add_engine_options(cmd, o->engine);
        add_batching_options(cmd, o->params.batch_size, o->params.threads);
        return [o]() { return run_mine_command(*o); };
    }}};

}  // namespace
}  // namespace chickenseg::cli
