#include "chickenseg/data/holdout.h"

#include <unordered_set>

#include "chickenseg/core/error.h"

namespace chickenseg {

HoldoutResult holdout_negatives(const SacoDataset& ds, const std::string& file) {
    // An annotation naming no image (a typo in its image_id) would leave its positive image
    // looking negative, and put it in the negatives-only holdout: the same checks as split.
    check_saco_ids(ds, file);
    HoldoutResult out;
    out.input_images = ds.images.size();
    out.dataset.top = ds.top;
    out.dataset.categories = ds.categories;

    const auto counts = ds.annotation_counts();
    std::unordered_set<int64_t> kept;
    for (const auto& im : ds.images) {
        if (counts.at(im.id) != 0) continue;
        if (im.is_instance_exhaustive == 0) {
            ++out.skipped_non_exhaustive;
            continue;
        }
        kept.insert(im.id);
        out.dataset.images.push_back(im);
    }
    // Only crowd annotations can name a kept image; they travel with it so that
    // nothing about the image is lost (evaluation ignores crowd regions).
    std::unordered_set<int64_t> with_crowd;
    for (const auto& a : ds.annotations) {
        if (!kept.count(a.image_id)) continue;
        out.dataset.annotations.push_back(a);
        with_crowd.insert(a.image_id);
    }
    out.negatives = out.dataset.images.size();
    out.crowd_only = with_crowd.size();

    if (out.negatives == 0) {
        std::string why =
            std::to_string(ds.images.size()) + " image(s), " + std::to_string(ds.positive_count()) + " positive";
        if (out.skipped_non_exhaustive)
            why += ", " + std::to_string(out.skipped_non_exhaustive) + " negative but not instance-exhaustive";
        throw Error("no negative images to hold out (" + why + ")", file);
    }
    return out;
}

json holdout_summary_to_json(const HoldoutResult& r) {
    return {{"input_images", r.input_images},
            {"negatives", r.negatives},
            {"crowd_only", r.crowd_only},
            {"skipped_non_exhaustive", r.skipped_non_exhaustive}};
}

}  // namespace chickenseg
