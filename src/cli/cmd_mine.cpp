// `chickenseg mine`: the images of an inbox the model is unsure about, prepared for
// annotation (docs/mine.md). Parsing and printing only; the work is in mine/. With
// `--use-cluster 1 --shards N` the shards run as a SLURM job array: submitit is Python, so this
// writes the request to OUT/.mine-cluster/request.json and runs `python -m chickenseg_model
// mine-cluster` on it (python/chickenseg_model/mine_cluster.py), then merges here.
#include <iostream>
#include <memory>
#include <set>

#include "chickenseg/core/python_env.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/mine/mine.h"
#include "chickenseg/runtime/model_package.h"
#include "command.h"
#include "engine_options.h"

namespace chickenseg::cli {
namespace {

// `--use-cluster 1` and the options that only it takes.
struct ClusterOptions {
    int use_cluster = 0;
    size_t shards = 0;  // 0: not given
    std::string backend = "slurm";
    int num_gpus = 1;  // per shard task, as `train --num-gpus`
    bool dry_run = false;
    bool wait = false;
    std::vector<std::string> slurm;  // slurm.KEY=VALUE, train's keys and defaults
};

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
    ClusterOptions cluster;
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

int finish_mine(const MineSummary& s, const MineOptions& o, const json& cluster = json()) {
    if (global_options().json) {
        json doc = mine_summary_to_json(s);
        if (!cluster.is_null()) doc["cluster"] = cluster;
        print_json(doc);
    } else {
        print_summary(s, o);
    }
    if (s.failed > 0) {
        std::cerr << "error: " << s.failed << " images failed (listed above and in "
                  << (o.params.out / kMineReportFile).string() << ")\n";
        return 1;
    }
    return 0;
}

// Where --use-cluster 1 keeps its request, the shards' folders and the logs, inside --out.
constexpr const char* kMineClusterFolder = ".mine-cluster";

// Options the cluster request sets itself or that are its own: never passed on to a shard.
const std::set<std::string> kClusterOwn = {"--out",         "--merge",   "--shard",
                                           "--use-cluster", "--shards",  "--cluster-backend",
                                           "--num-gpus",    "--dry-run", "--wait"};
// The selection: the merge's options (it runs here after the shards); the rest scores, in the shards.
const std::set<std::string> kSelection = {"--limit", "--max-hash-distance", "--no-dedup", "--copy", "--no-thumbnails"};

// The options given on the command line, as arguments again: the selection's or the shards'.
// Paths are made absolute, as the array tasks may start in another folder.
std::vector<std::string> given_options(const CLI::App& cmd, bool selection) {
    std::vector<std::string> args;
    for (const CLI::Option* opt : cmd.get_options()) {
        if (opt->count() == 0 || opt->get_lnames().empty()) continue;  // not given, or positional
        const std::string name = "--" + opt->get_lnames().front();
        if (kClusterOwn.count(name) || (kSelection.count(name) > 0) != selection) continue;
        args.push_back(name);
        if (opt->get_items_expected_max() == 0) continue;  // a flag
        for (const auto& v : opt->results())
            args.push_back(name == "--package" || name == "--images"
                               ? std::filesystem::absolute(v).lexically_normal().string()
                               : v);
    }
    return args;
}

// `s` as one shell word, for a command line the user may paste.
std::string shell_word(const std::string& s) {
    if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,@%+-") ==
                          std::string::npos)
        return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Usage errors of --use-cluster (exit 2): "" when there is none.
std::string cluster_usage_error(const MineOptions& o, const CLI::App& cmd) {
    const ClusterOptions& c = o.cluster;
    if (c.use_cluster == 0) {
        for (const char* own : {"--shards", "--cluster-backend", "--num-gpus", "--dry-run", "--wait"})
            if (cmd.count(own)) return std::string(own) + " goes with --use-cluster 1";
        if (!c.slurm.empty())
            return "unexpected argument " + c.slurm.front() + " (slurm.KEY=VALUE goes with --use-cluster 1)";
        return "";
    }
    if (!o.merge.empty()) return "--use-cluster 1 runs the shards and merges them itself: drop --merge";
    if (cmd.count("--shard")) return "--use-cluster 1 gives every shard its --shard K/N: drop --shard, give --shards N";
    if (c.shards == 0) return "--use-cluster 1 needs --shards N (array tasks)";
    for (const auto& kv : c.slurm)
        if (kv.rfind("slurm.", 0) != 0 || kv.find('=') == std::string::npos)
            return "unexpected argument " + kv + " (expected slurm.KEY=VALUE, e.g. slurm.partition=cpu)";
    return "";
}

// --use-cluster 1: submits the shards (Python, submitit), then with --wait merges them here.
int run_mine_cluster(MineOptions& o, const CLI::App& cmd) {
    const ClusterOptions& c = o.cluster;
    MineParams& p = o.params;
    if (o.package.empty() || o.images.empty()) throw Error("give --package and --images");
    // Before anything is submitted: a bad output folder or package would fail every shard.
    check_mine_output(o.images, p.out);
    read_model_package(o.package);
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw Error("cannot find this program's path (/proc/self/exe): " + ec.message());
    const std::filesystem::path out = std::filesystem::absolute(p.out).lexically_normal();
    // Hidden, so that nothing else reads it as part of OUT: `data convert` and the inbox reader
    // skip hidden entries, so no label file is read from it and no chosen image lands in it.
    const std::filesystem::path work = out / kMineClusterFolder;
    const std::filesystem::path spec_path = work / "request.json";
    std::filesystem::create_directories(work);
    write_json_file(spec_path, json{{"schema", "chickenseg.mine-cluster/1"},
                                    {"bin", self.string()},
                                    {"out", out.string()},
                                    {"work", work.string()},
                                    {"shards", c.shards},
                                    {"shard_args", given_options(cmd, false)},
                                    {"backend", c.backend},
                                    {"num_gpus", c.num_gpus},
                                    {"slurm", c.slurm},
                                    {"dry_run", c.dry_run},
                                    {"wait", c.wait}});
    CommandResult r = run_command(model_package_argv({"mine-cluster", spec_path.string()}), Capture::stdout_only,
                                  model_package_env());
    if (r.exit_code < 0) {
        std::cerr << "error: " << r.output << " (the project's Python: " << project_python()
                  << "; run scripts/setup or set CHICKENSEG_PYTHON)\n";
        return 1;
    }
    if (r.exit_code != 0) return r.exit_code;  // its one-line error is on stderr already
    json doc = json::parse(r.output, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        std::cerr << "error: the cluster launcher printed no JSON result:\n" << r.output << '\n';
        return 1;
    }
    if (c.dry_run) {
        if (global_options().json)
            print_json(doc);
        else
            std::cout << "sbatch script written to " << doc.value("sbatch", "") << " (a job array of " << c.shards
                      << " shards; nothing submitted)\n";
        return 0;
    }
    const json cluster = {{"job_id", doc.value("job_id", "")},
                          {"backend", c.backend},
                          {"folder", doc.value("folder", "")},
                          {"shards", c.shards}};
    if (!c.wait) {
        std::string merge = "chickenseg mine --merge " + shell_word((work / "shards").string()) + "/* --out " +
                            shell_word(out.string());
        for (const auto& a : given_options(cmd, true)) merge += " " + shell_word(a);
        if (global_options().json) {
            print_json(json{{"cluster", cluster},
                            {"shard_dirs", doc.value("shard_dirs", json::array())},
                            {"merge_command", merge}});
        } else {
            std::cout << "submitted job array " << cluster["job_id"].get<std::string>() << ": " << c.shards
                      << " shards (" << c.backend << "); logs in " << cluster["folder"].get<std::string>()
                      << "\n  when every shard has finished: " << merge << '\n';
        }
        return 0;
    }
    o.merge = doc.value("shard_dirs", std::vector<std::string>{});
    if (!global_options().json)
        std::cout << "ran " << c.shards << " shards as job array " << cluster["job_id"].get<std::string>() << " ("
                  << c.backend << "); logs in " << cluster["folder"].get<std::string>() << '\n';
    std::vector<std::filesystem::path> dirs(o.merge.begin(), o.merge.end());
    return finish_mine(merge_mine(dirs, p), o, cluster);
}

int run_mine_command(MineOptions& o, const CLI::App& cmd) {
    if (const std::string usage = cluster_usage_error(o, cmd); !usage.empty()) {
        std::cerr << "error: " << usage << '\n';
        return 2;
    }
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
    if (o.cluster.use_cluster) return run_mine_cluster(o, cmd);
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
    return finish_mine(s, o);
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
        ClusterOptions& c = o->cluster;
        cmd.add_option("--use-cluster", c.use_cluster,
                       "1: run --shards N shards as a SLURM job array through submitit, then merge (docs/mine.md)")
            ->check(CLI::IsMember({0, 1}))
            ->capture_default_str();
        cmd.add_option("--shards", c.shards, "With --use-cluster 1: array tasks, each mining slice K of N")
            ->check(CLI::Validator(
                [](std::string& v) {
                    return v.find_first_not_of("0123456789") == std::string::npos &&
                                   v.find_first_not_of('0') != std::string::npos
                               ? std::string()
                               : "expected a whole number of shards, 1 or more, got " + v;
                },
                "N >= 1"));
        cmd.add_option("--cluster-backend", c.backend, "With --use-cluster 1: slurm, or local (this machine; tests)")
            ->check(CLI::IsMember({"slurm", "local"}))
            ->capture_default_str();
        cmd.add_option("--num-gpus", c.num_gpus, "With --use-cluster 1: GPUs per shard task (0: CPU nodes)")
            ->check(CLI::Range(0, 64))
            ->capture_default_str();
        cmd.add_flag("--dry-run", c.dry_run, "With --use-cluster 1: write the sbatch script, submit nothing");
        cmd.add_flag("--wait", c.wait, "With --use-cluster 1: wait for every shard, then merge into --out");
        cmd.add_option("slurm", c.slurm,
                       "With --use-cluster 1: slurm.KEY=VALUE (partition, account, qos, timeout_min, "
                       "cpus_per_task, mem_gb; train's keys and defaults)");
        return [o, &cmd]() { return run_mine_command(*o, cmd); };
    }}};

}  // namespace
}  // namespace chickenseg::cli
