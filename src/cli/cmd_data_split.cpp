// `chickenseg data split`: stratified, optionally grouped train/val split.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>

#include "chickenseg/core/error.h"
#include "chickenseg/data/split.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

struct SplitOptions {
    std::string dataset;
    std::string out_dir;
    std::string train_name = "chicken_train.json";
    std::string val_name = "chicken_val.json";
    SplitParams params;
};

// True when both paths resolve to the same file (so writing one would replace the input).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code ea, eb;
    auto ca = std::filesystem::weakly_canonical(a, ea), cb = std::filesystem::weakly_canonical(b, eb);
    return !ea && !eb && ca == cb;
}

std::string ratio_check(const std::string& text) {
    try {
        double r = std::stod(text);
        if (r > 0.0 && r < 1.0) return {};
    } catch (const std::exception&) {
    }
    return "expected a number strictly between 0 and 1, found " + text;
}

// --train-name / --val-name: a file name in --out, not a path (`../../x` wrote outside it).
std::string file_name_check(const std::string& text) {
    if (text.empty() || text == "." || text == ".." || text.find('/') != std::string::npos ||
        text.find('\\') != std::string::npos)
        return "expected a file name in --out (no folders, no ..), found '" + text + "'";
    return {};
}

std::string regex_check(const std::string& text) {
    try {
        std::regex re(text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        return "invalid regex '" + text + "': " + e.what();
    }
    return {};
}

void print_table(const SplitResult& r, const std::string& train_path, const std::string& val_path) {
    std::printf("%-6s %8s %10s %10s %12s %8s %8s\n", "", "images", "positives", "negatives", "annotations", "groups",
                "neg %");
    auto row = [](const char* name, const SplitSideSummary& s) {
        double neg = s.images ? 100.0 * static_cast<double>(s.negatives) / static_cast<double>(s.images) : 0.0;
        std::printf("%-6s %8zu %10zu %10zu %12zu %8zu %7.1f%%\n", name, s.images, s.positives, s.negatives,
                    s.annotations, s.groups, neg);
    };
    row("input", r.input);
    row("train", r.train_summary);
    row("val", r.val_summary);
    std::printf("wrote %s and %s\n", train_path.c_str(), val_path.c_str());
}

CommandRegistrar registrar{{
    "data",
    "split",
    "Split an SA-Co dataset into train and val, both holding negatives and positives",
    20,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<SplitOptions>();
        cmd.add_option("--dataset", o->dataset, "SA-Co dataset JSON to split (read only)")->required();
        cmd.add_option("--out", o->out_dir, "Folder for the train and val files (created if missing)")->required();
        cmd.add_option("--train-ratio", o->params.train_ratio, "Fraction of images for train, strictly between 0 and 1")
            ->capture_default_str()
            ->check(CLI::Validator(ratio_check, "RATIO", "ratio"));
        cmd.add_option("--seed", o->params.seed, "Seed: the same seed gives the same split on every platform")
            ->capture_default_str();
        cmd.add_option("--group-regex", o->params.group_regex,
                       "ECMAScript regex searched in file_name; its first capture group (or the whole match) is a "
                       "group key, and a group's images all go to the same side. Default: one group per file_name")
            ->check(CLI::Validator(regex_check, "REGEX", "regex"));
        cmd.add_flag("--unmatched-own-group", o->params.unmatched_own_group,
                     "A file_name the group regex does not match becomes its own group (default: error)");
        cmd.add_option("--train-name", o->train_name, "File name of the train split in --out")
            ->capture_default_str()
            ->check(CLI::Validator(file_name_check, "NAME", "file name"));
        cmd.add_option("--val-name", o->val_name, "File name of the val split in --out")
            ->capture_default_str()
            ->check(CLI::Validator(file_name_check, "NAME", "file name"));
        return [o]() {
            namespace fs = std::filesystem;
            const fs::path train_path = fs::path(o->out_dir) / o->train_name;
            const fs::path val_path = fs::path(o->out_dir) / o->val_name;
            if (train_path.lexically_normal() == val_path.lexically_normal()) {
                std::cerr << "error: --train-name and --val-name name the same file: " << train_path.string() << '\n';
                return 2;
            }
            for (const fs::path& out : {train_path, val_path}) {
                if (same_file(out, o->dataset))
                    throw Error("refusing to overwrite the input dataset; choose another --out or name", out.string());
            }
            const SacoDataset ds = read_saco_json(o->dataset);
            const SplitResult r = split_saco(ds, o->params, o->dataset);
            write_split(r, train_path, val_path);  // both files or neither
            if (global_options().json) {
                json out = split_summary_to_json(r, o->params);
                out["train_file"] = train_path.string();
                out["val_file"] = val_path.string();
                print_json(out);
            } else {
                print_table(r, train_path.string(), val_path.string());
            }
            return 0;
        };
    },
}};

}  // namespace
}  // namespace chickenseg::cli
