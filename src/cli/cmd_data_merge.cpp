// `chickenseg data merge`: appends a converted batch to an existing dataset.
#include <cstdio>
#include <iostream>

#include "chickenseg/data/merge.h"
#include "chickenseg/core/text_format.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

struct MergeOptions {
    std::string base, add, out, image_root, add_image_root;
    std::string on_duplicate = duplicate_policy_name(MergeParams{}.on_duplicate);
};

int run_merge(const MergeOptions& o) {
    MergeParams params;
    params.image_root = o.image_root;
    params.add_image_root = o.add_image_root;
    params.on_duplicate = parse_duplicate_policy(o.on_duplicate);
    MergeSummary s = merge_saco_files(o.base, o.add, o.out, params);
    if (global_options().json) {
        json j = merge_summary_to_json(s);
        j["out"] = o.out;
        print_json(j);
        return 0;
    }
    for (const auto& w : s.warnings) std::cerr << "warning: " << w << '\n';
    std::printf("%-28s %10s %12s\n", "", "images", "annotations");
    std::printf("%-28s %10zu %12zu\n", "base", s.base_images, s.base_annotations);
    std::printf("%-28s %10zu %12zu\n", "batch", s.batch_images, s.batch_annotations);
    std::printf("%-28s %10zu %12zu\n", "added", s.added_images, s.added_annotations);
    std::printf("%-28s %10zu %12zu\n", "skipped (already present)", s.skipped_images, s.skipped_annotations);
    if (s.replaced_images)
        std::printf(
            "%-28s %10zu %12s\n", "replaced (corrections)", s.replaced_images,
            ("-" + std::to_string(s.replaced_annotations) + " +" + std::to_string(s.replacing_annotations)).c_str());
    std::printf("%-28s %10zu %12zu\n", "merged", s.base_images + s.added_images, merged_annotation_count(s));
    if (s.added_images)
        std::printf("added %zu positives and %zu negatives; new image ids from %lld, annotation ids from %lld\n",
                    s.added_positives, s.added_negatives, static_cast<long long>(s.first_new_image_id),
                    static_cast<long long>(s.first_new_annotation_id));
    if (s.renamed_file_names)
        std::printf("%zu file_names rewritten relative to the image root\n", s.renamed_file_names);
    for (const auto& d : s.duplicates)
        std::printf("duplicate: batch image %lld %s = %s image %lld %s\n", static_cast<long long>(d.add_image_id),
                    terminal_safe(d.add_file_name).c_str(), d.matched_in_base ? "base" : "batch",
                    static_cast<long long>(d.matched_image_id), terminal_safe(d.matched_file_name).c_str());
    std::printf("written: %s\n", o.out.c_str());
    return 0;
}

const CommandRegistrar kRegistrar({
    "data",
    "merge",
    "Append a converted batch to an existing dataset (no duplicates, ids continue, nothing dropped)",
    60,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<MergeOptions>();
        cmd.add_option("--base", o->base, "Existing SA-Co dataset JSON (read only)")->required();
        cmd.add_option("--add", o->add, "Converted batch to append (SA-Co JSON)")->required();
        cmd.add_option("--out", o->out, "Merged dataset to write (must not be an input)")->required();
        cmd.add_option("--image-root", o->image_root,
                       "Folder the base's file_names are relative to (default: the base file's folder); "
                       "the merged file_names all resolve from it");
        cmd.add_option("--add-image-root", o->add_image_root,
                       "Folder the batch's file_names are relative to (default: --image-root)");
        cmd.add_option("--on-duplicate", o->on_duplicate,
                       "A batch image whose bytes are already present: skip it, fail, or replace the base's "
                       "record of it (corrections: its annotations and flags)")
            ->default_val(o->on_duplicate)
            ->check(CLI::IsMember({"skip", "error", "replace"}));
        return [o] { return run_merge(*o); };
    },
});

}  // namespace
}  // namespace chickenseg::cli
