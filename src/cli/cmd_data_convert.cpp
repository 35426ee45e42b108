// `chickenseg data convert`: LabelMe / YOLO / COCO annotations -> one SA-Co JSON.
#include <cstdio>
#include <iostream>
#include <memory>

#include "chickenseg/core/error.h"
#include "chickenseg/data/convert.h"
#include "chickenseg/core/text_format.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

constexpr size_t kWarningsShown = 10;  // without --verbose

struct ConvertOptions {
    std::string input, output, image_root, label_map, classes, concept_name;
    std::string format = input_format_name(ConvertParams{}.format);
    std::string unknown_labels = unknown_label_policy_name(ConvertParams{}.unknown_labels);
    std::string reviewed = reviewed_policy_name(ConvertParams{}.reviewed);
    bool dry_run = false;
    bool verbose = false;
};

void print_diagnostics(const ConvertReport& r, bool verbose) {
    size_t shown = 0, warnings = r.diagnostics.warning_count();
    for (const auto& d : r.diagnostics.items()) {
        if (d.severity == Severity::error) {
            std::cerr << "error: " << d.text() << '\n';
        } else if (verbose || shown < kWarningsShown) {
            std::cerr << "warning: " << d.text() << '\n';
            ++shown;
        }
    }
    if (shown < warnings) std::cerr << "(" << warnings - shown << " more warning(s); --verbose shows all)\n";
}

void print_table(const ConvertReport& r) {
    if (r.written)
        std::printf("converted %s annotations -> %s\n", r.source_format.c_str(), r.output.c_str());
    else
        std::printf("checked %s annotations (dry run: nothing written)\n", r.source_format.c_str());
    std::printf("  %-12s %8zu\n", "images", r.images);
    std::printf("  %-12s %8zu\n", "positives", r.positives);
    std::printf("  %-12s %8zu\n", "negatives", r.negatives);
    std::printf("  %-12s %8zu\n", "annotations", r.annotations);
    size_t excluded = r.excluded_images.size();
    std::printf("  %-12s %8zu", "excluded", excluded);
    if (excluded) {
        const char* sep = "  (";
        for (const auto& [reason, n] : r.excluded) {
            std::printf("%s%s: %zu", sep, reason.c_str(), n);
            sep = ", ";
        }
        std::printf(")");
    }
    std::printf("\n  %-12s %8zu\n", "warnings", r.diagnostics.warning_count());
    if (r.reviewed_only)
        std::printf("  only reviewed LabelMe files counted (flag reviewed: true); %zu not reviewed left out\n",
                    r.excluded.count("not_reviewed") ? r.excluded.at("not_reviewed") : size_t{0});
    if (!r.labels.empty()) {
        size_t width = 5;
        // Labels come from the user's files: printed through terminal_safe (no raw escapes).
        for (const auto& l : r.labels) width = std::max(width, terminal_safe(l.label).size() + 2);
        std::printf("\n  %-*s %-14s %8s %8s\n", static_cast<int>(width), "label", "mapped to", "objects", "images");
        for (const auto& l : r.labels)
            std::printf("  %-*s %-14s %8zu %8zu\n", static_cast<int>(width),
                        ("\"" + terminal_safe(l.label) + "\"").c_str(), terminal_safe(l.mapped_to).c_str(), l.objects,
                        l.images);
    }
    if (r.embedded_images)
        std::printf("\n%zu image(s) existed only as LabelMe imageData: %s under %s (copy them into the image root)\n",
                    r.embedded_images, r.written ? "written" : "would be written", r.embedded_images_dir.c_str());
}

CommandRegistrar registrar{{
    "data",
    "convert",
    "Convert LabelMe, YOLO or COCO annotations into one SA-Co JSON for the concept",
    10,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<ConvertOptions>();
        cmd.add_option("input", o->input, "Dataset folder (LabelMe, YOLO), or the COCO .json file")->required();
        cmd.add_option("--out", o->output, "SA-Co JSON to write (atomically; nothing is written on any error)");
        cmd.add_option("--format", o->format, "Input format")
            ->check(CLI::IsMember({"auto", "labelme", "yolo", "coco"}))
            ->capture_default_str();
        cmd.add_option("--image-root", o->image_root,
                       "Folder that file_name is relative to (default: the input folder; COCO: the JSON's folder)");
        cmd.add_option("--concept", o->concept_name,
                       "The noun phrase every image is asked about (default: the label map's concept, else chicken)");
        cmd.add_option("--label-map", o->label_map, "Label map YAML: concept, synonyms, background, ambiguous")
            ->check(CLI::ExistingFile);
        cmd.add_option("--classes", o->classes,
                       "YOLO class names: classes.txt or data.yaml (default: found at the input folder's root)")
            ->check(CLI::ExistingFile);
        cmd.add_option("--unknown-labels", o->unknown_labels,
                       "Labels the label map does not know: error (list them), background (drop the shapes), "
                       "exclude (drop their images)")
            ->check(CLI::IsMember({"error", "background", "exclude"}))
            ->capture_default_str();
        cmd.add_option("--reviewed", o->reviewed,
                       "LabelMe files that count: only (flag reviewed: true, what `annotate` saves), any, or auto "
                       "(only in a folder written by `mine`, any elsewhere)")
            ->check(CLI::IsMember({"auto", "only", "any"}))
            ->capture_default_str();
        cmd.add_flag("--dry-run", o->dry_run, "Check and report; write nothing");
        cmd.add_flag("-v,--verbose", o->verbose, "Show every warning (default: the first 10)");
        return [o]() {
            if (o->output.empty() && !o->dry_run) {
                std::cerr << "error: --out is required (or --dry-run)\n";
                return 2;
            }
            ConvertParams params;
            params.input = o->input;
            params.output = o->output;
            params.image_root = o->image_root;
            params.format = *input_format_from_name(o->format);
            params.concept_name = o->concept_name;
            params.label_map = o->label_map;
            params.classes = o->classes;
            params.unknown_labels = *unknown_label_policy_from_name(o->unknown_labels);
            params.reviewed = *reviewed_policy_from_name(o->reviewed);
            params.dry_run = o->dry_run;
            params.show_progress = !global_options().quiet && !global_options().json;
            ConvertReport report = convert_dataset(params);
            print_diagnostics(report, o->verbose);
            if (global_options().json)
                print_json(report.to_json(o->verbose ? SIZE_MAX : kWarningsShown));
            else if (report.ok())
                print_table(report);
            if (!report.ok()) {
                std::cerr << "error: " << report.diagnostics.error_count() << " problem(s) found; nothing written\n";
                return 1;
            }
            return 0;
        };
    },
}};

}  // namespace
}  // namespace chickenseg::cli
