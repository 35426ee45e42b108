// `chickenseg data validate`: every schema and meaning problem of SA-Co files, at once.
#include <cstdio>
#include <memory>

#include "chickenseg/data/validate.h"
#include "command.h"

namespace chickenseg::cli {
namespace {

struct ValidateOptions {
    std::vector<std::string> datasets;
    std::string image_root;
    bool decode = false;
};

CommandRegistrar registrar{{
    "data",
    "validate",
    "Check SA-Co dataset files (ids, fields, masks, boxes, areas, image files, train/val overlap)",
    30,
    [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<ValidateOptions>();
        cmd.add_option("--dataset", o->datasets,
                       "SA-Co dataset JSON; repeat for files used together (train + val) to also check that each "
                       "holds negatives and positives and that no image is in two of them")
            ->required();
        auto* image_root =
            cmd.add_option("--image-root", o->image_root,
                           "Folder the file_names are relative to: check each file exists and its size (after EXIF "
                           "orientation) equals width/height (headers only; see --decode)");
        cmd.add_flag("--decode", o->decode,
                     "With --image-root: decode every image in full, so corrupt pixel data is found here (slower: "
                     "reads every pixel)")
            ->needs(image_root);
        return [o]() {
            ValidateParams params;
            params.image_root = o->image_root;
            params.decode = o->decode;
            std::vector<std::filesystem::path> files(o->datasets.begin(), o->datasets.end());
            const Diagnostics d = validate_saco_files(files, params);
            if (global_options().json) {
                print_json(validation_report_to_json(d, files));
            } else {
                for (const auto& item : d.items())
                    std::printf("%s: %s\n", item.severity == Severity::error ? "error" : "warning",
                                item.text().c_str());
                if (d.error_count() == 0)
                    std::printf("valid: %zu file(s), %zu warning(s)\n", files.size(), d.warning_count());
                else
                    std::printf("invalid: %zu error(s), %zu warning(s) in %zu file(s)\n", d.error_count(),
                                d.warning_count(), files.size());
            }
            return d.error_count() == 0 ? 0 : 1;
        };
    },
}};

}  // namespace
}  // namespace chickenseg::cli
