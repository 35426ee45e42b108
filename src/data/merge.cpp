#include "chickenseg/data/merge.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/sha256.h"

namespace chickenseg {

namespace fs = std::filesystem;

const char* duplicate_policy_name(DuplicatePolicy policy) {
    switch (policy) {
        case DuplicatePolicy::skip:
            return "skip";
        case DuplicatePolicy::error:
            return "error";
        case DuplicatePolicy::replace:
            return "replace";
    }
    return "?";
}

DuplicatePolicy parse_duplicate_policy(const std::string& text) {
    for (auto p : {DuplicatePolicy::skip, DuplicatePolicy::error, DuplicatePolicy::replace})
        if (text == duplicate_policy_name(p)) return p;
    throw Error("--on-duplicate: expected skip, error or replace, got '" + text + "'");
}

namespace {

// Content hashes by file_name, each file read once even when several image
// entries (noun phrases) share it.
class ImageHasher {
public:
    ImageHasher(fs::path root, std::string json_file) : root_(std::move(root)), json_file_(std::move(json_file)) {}
    const std::string& hash(const std::string& file_name, const std::string& json_path) {
        auto it = cache_.find(file_name);
        if (it != cache_.end()) return it->second;
        std::optional<fs::path> inside = path_inside_root(root_, file_name);
        if (!inside)
            throw Error("file_name \"" + file_name + "\" is outside the image root " + root_.string() +
                            ": expected a path relative to it (not absolute, not climbing out with ..); not read",
                        json_file_, 0, json_key(json_path, "file_name"));
        fs::path path = *inside;
        try {
            return cache_.emplace(file_name, sha256_file_hex(path)).first->second;
        } catch (const Error& e) {
            throw Error("cannot read the image " + path.string() + " (file_name relative to the image root " +
                            root_.string() + "): " + e.message(),
                        json_file_, 0, json_key(json_path, "file_name"));
        }
    }

private:
    fs::path root_;
    std::string json_file_;
    std::unordered_map<std::string, std::string> cache_;
};

struct Present {
    int64_t id;
    std::string file_name;
    bool in_base;
};

// Same concept: categories by id and name, and every image's noun phrase. A batch of
// another concept would silently turn its positives into wrong labels.
void check_same_concept(const SacoDataset& base, const std::string& base_file, const SacoDataset& batch,
                        const std::string& batch_file) {
    std::map<int64_t, std::string> base_categories;
    for (const auto& c : base.categories) base_categories[c.id] = c.name;
    for (size_t i = 0; i < batch.categories.size(); ++i) {
        const auto& c = batch.categories[i];
        auto it = base_categories.find(c.id);
        if (!base_categories.empty() && (it == base_categories.end() || it->second != c.name)) {
            std::string have;
            for (const auto& [id, name] : base_categories)
                have += (have.empty() ? "" : ", ") + std::to_string(id) + " \"" + name + "\"";
            throw Error("category " + std::to_string(c.id) + " \"" + c.name + "\" is not in the base dataset " +
                            base_file + " (which has " + have + "): merge only batches of the same concept",
                        batch_file, 0, json_index("categories", i));
        }
    }
    std::set<std::string> concepts;
    for (const auto& im : base.images) concepts.insert(im.text_input);
    if (concepts.empty())
        for (const auto& c : base.categories) concepts.insert(c.name);
    for (size_t i = 0; i < batch.images.size(); ++i) {
        const auto& im = batch.images[i];
        if (!concepts.empty() && !concepts.count(im.text_input)) {
            std::string have;
            for (const auto& c : concepts) have += (have.empty() ? "\"" : ", \"") + c + "\"";
            throw Error("text_input \"" + im.text_input + "\" does not match the base dataset's concept " + have +
                            " (" + base_file + ")",
                        batch_file, 0, json_key(json_index("images", i), "text_input"));
        }
    }
}

// The merge proper: images are matched by content (sha256), not by name, so the steps
// share the content index the base builds and the batch extends.
class Merger {
public:
    Merger(const SacoDataset& base, const std::string& base_file, const SacoDataset& batch,
           const std::string& batch_file, const MergeParams& params, MergeResult& result)
        : base_(base),
          base_file_(base_file),
          batch_(batch),
          batch_file_(batch_file),
          params_(params),
          base_root_(params.image_root.empty() ? fs::path(".") : params.image_root),
          batch_root_(params.add_image_root.empty() ? base_root_ : params.add_image_root),
          base_hasher_(base_root_, base_file),
          batch_hasher_(batch_root_, batch_file),
          result_(result),
          s_(result.summary) {}

    // Content of every image present in the base.
    void index_base() {
        Progress progress("hashing base images", base_.images.size());
        for (size_t i = 0; i < base_.images.size(); ++i) {
            const auto& im = base_.images[i];
            // A hash recorded by an earlier merge names the bytes the dataset was built from;
            // it wins over the disk, so an image later overwritten by another one with the
            // same name is caught below as a conflict instead of silently changing meaning.
            auto rec = im.extra.find("sha256");
            bool recorded = rec != im.extra.end() && rec->is_string() && rec->get<std::string>().size() == 64;
            const std::string h =
                recorded ? rec->get<std::string>() : base_hasher_.hash(im.file_name, json_index("images", i));
            by_content_.try_emplace({h, im.text_input}, Present{im.id, im.file_name, true});
            name_to_hash_.emplace(im.file_name, h);
            auto [it, inserted] = hash_to_name_.emplace(h, im.file_name);
            if (!inserted && it->second != im.file_name)
                s_.warnings.push_back(base_file_ + ": " + json_index("images", i) + ": " + im.file_name +
                                      " has the same bytes as " + it->second + " (a duplicate already in the base)");
            progress.tick();
        }
    }

    // The batch, in its order: duplicates skipped, new images appended with fresh ids.
    void add_batch_images() {
        // The ids taken last (the largest in the base, or 0): a new id is one more.
        for (const auto& im : base_.images) last_image_id_ = std::max(last_image_id_, im.id);
        for (const auto& a : base_.annotations) last_annotation_id_ = std::max(last_annotation_id_, a.id);
        result_.merged = base_;
        if (result_.merged.categories.empty()) result_.merged.categories = batch_.categories;

        Progress progress("merging batch images", batch_.images.size());
        for (size_t i = 0; i < batch_.images.size(); ++i) {
            add_batch_image(i);
            progress.tick();
        }
        progress.finish();
    }

    // With --on-duplicate error nothing is written when any batch image is already present;
    // the list shows the first 20 so the message stays readable.
    void check_duplicate_policy() const {
        if (params_.on_duplicate != DuplicatePolicy::error || s_.duplicates.empty()) return;
        std::string list;
        size_t shown = 0;
        for (const auto& d : s_.duplicates) {
            if (shown++ == 20) {
                list += "\n  ... and " + std::to_string(s_.duplicates.size() - 20) + " more";
                break;
            }
            list += "\n  batch image " + std::to_string(d.add_image_id) + " " + d.add_file_name + " = " +
                    (d.matched_in_base ? "base" : "batch") + " image " + std::to_string(d.matched_image_id) + " " +
                    d.matched_file_name;
        }
        throw Error(std::to_string(s_.duplicates.size()) +
                        " image(s) of the batch are already present (same bytes; --on-duplicate error):" + list,
                    batch_file_);
    }

    // Annotations follow their image: dropped with a skipped duplicate, renumbered otherwise;
    // a replaced image's base annotations make way for the batch's.
    void add_batch_annotations() {
        remove_replaced_annotations();
        std::map<int64_t, size_t> positives;  // merged image id -> annotations added
        for (size_t i = 0; i < batch_.annotations.size(); ++i) {
            const auto& a = batch_.annotations[i];
            if (auto r = replaced_.find(a.image_id); r != replaced_.end()) {
                SacoAnnotation out = a;
                out.id = next_id(last_annotation_id_, "annotation", json_key(json_index("annotations", i), "id"));
                out.image_id = r->second;
                result_.merged.annotations.push_back(std::move(out));
                s_.replacing_annotations++;
                continue;
            }
            if (auto sk = skipped_image_.find(a.image_id); sk != skipped_image_.end()) {
                s_.duplicates[sk->second].annotations_skipped++;
                s_.skipped_annotations++;
                continue;
            }
            auto it = new_id_.find(a.image_id);
            if (it == new_id_.end())
                throw Error("image_id " + std::to_string(a.image_id) + " names no image of the batch", batch_file_, 0,
                            json_key(json_index("annotations", i), "image_id"));
            SacoAnnotation out = a;
            out.id = next_id(last_annotation_id_, "annotation", json_key(json_index("annotations", i), "id"));
            out.image_id = it->second;
            if (!s_.first_new_annotation_id) s_.first_new_annotation_id = out.id;
            if (!out.iscrowd) positives[out.image_id]++;
            result_.merged.annotations.push_back(std::move(out));
            s_.added_annotations++;
        }
        s_.added_positives = positives.size();
        s_.added_negatives = s_.added_images - s_.added_positives;
    }

private:
    // A new id is one more than the last, which does not exist after 2^63 - 1.
    int64_t next_id(int64_t& last, const char* what, const std::string& path) const {
        if (last == std::numeric_limits<int64_t>::max())
            throw Error(std::string("no ") + what + " id is left for this batch: the base " + base_file_ +
                            " already uses " + what + " id " + std::to_string(last) +
                            ", the largest (new ids continue after the base's largest); renumber the base",
                        batch_file_, 0, path);
        return ++last;
    }

    void add_batch_image(size_t i) {
        const auto& im = batch_.images[i];
        std::string path = json_index("images", i);
        if (!seen_batch_ids_.insert(im.id).second)
            throw Error("image id " + std::to_string(im.id) + " appears twice in the batch", batch_file_, 0,
                        json_key(path, "id"));
        const std::string h = batch_hasher_.hash(im.file_name, path);
        std::string file_name = file_name_from_base_root(im, path);
        // A name already in the dataset whose recorded bytes differ is a conflict, whatever else
        // holds these bytes: checked before the duplicate lookup, or a base image overwritten
        // with the bytes of another image would pass as a duplicate of that image.
        if (auto it = name_to_hash_.find(file_name); it != name_to_hash_.end() && it->second != h)
            throw Error("file_name " + file_name + " is already in the dataset with other bytes (recorded sha256 " +
                            it->second.substr(0, 12) + "..., the file now " + h.substr(0, 12) +
                            "...): two different images with the same name (was the base's image overwritten?). "
                            "Give the new image another name",
                        batch_file_, 0, json_key(path, "file_name"));
        auto dup = by_content_.find({h, im.text_input});
        if (dup != by_content_.end()) {
            if (params_.on_duplicate == DuplicatePolicy::replace && dup->second.in_base)
                replace_base_image(im, dup->second, path);
            else
                skip_duplicate(im, dup->second, h);
            return;
        }
        SacoImage out = im;
        out.extra["sha256"] = h;  // lets later merges detect an overwritten file
        out.id = next_id(last_image_id_, "image", json_key(path, "id"));
        if (out.file_name != file_name) s_.renamed_file_names++;
        out.file_name = file_name;
        new_id_[im.id] = out.id;
        if (!s_.first_new_image_id) s_.first_new_image_id = out.id;
        by_content_.emplace(std::make_pair(h, im.text_input), Present{out.id, file_name, false});
        name_to_hash_.emplace(file_name, h);
        result_.merged.images.push_back(std::move(out));
        s_.added_images++;
    }

    // The output resolves every file_name from the base root.
    std::string file_name_from_base_root(const SacoImage& im, const std::string& path) const {
        std::string file_name = relative_inside(batch_root_ / im.file_name, base_root_);
        if (file_name.empty())
            throw Error("the image " + (batch_root_ / im.file_name).string() + " is outside the image root " +
                            base_root_.string() +
                            ": the merged dataset's file_names must all resolve from that one root. Move or "
                            "copy the batch's images under it, or pass an --image-root that holds both",
                        batch_file_, 0, json_key(path, "file_name"));
        return file_name;
    }

    // replace: the base record of these bytes takes the batch image's flags and fields (its
    // id, file_name and recorded sha256 stay); its annotations are swapped afterwards.
    void replace_base_image(const SacoImage& im, const Present& match, const std::string& path) {
        for (const auto& [batch_id, base_id] : replaced_)
            if (base_id == match.id)
                throw Error("the batch holds the image " + match.file_name +
                                " twice (same bytes; --on-duplicate replace cannot tell which is the correction)",
                            batch_file_, 0, path);
        auto it = std::find_if(result_.merged.images.begin(), result_.merged.images.end(),
                               [&](const SacoImage& m) { return m.id == match.id; });
        json extra = im.extra;
        if (auto h = it->extra.find("sha256"); h != it->extra.end()) extra["sha256"] = *h;
        it->is_instance_exhaustive = im.is_instance_exhaustive;
        it->extra = std::move(extra);
        replaced_[im.id] = match.id;
        s_.replaced_images++;
    }

    void remove_replaced_annotations() {
        if (replaced_.empty()) return;
        std::set<int64_t> base_ids;
        for (const auto& [batch_id, base_id] : replaced_) base_ids.insert(base_id);
        auto& anns = result_.merged.annotations;
        const size_t before = anns.size();
        anns.erase(std::remove_if(anns.begin(), anns.end(),
                                  [&](const SacoAnnotation& a) { return base_ids.count(a.image_id) > 0; }),
                   anns.end());
        s_.replaced_annotations = before - anns.size();
    }

    void skip_duplicate(const SacoImage& im, const Present& match, const std::string& h) {
        MergeDuplicate d;
        d.add_image_id = im.id;
        d.add_file_name = im.file_name;
        d.matched_image_id = match.id;
        d.matched_file_name = match.file_name;
        d.matched_in_base = match.in_base;
        d.sha256 = h;
        skipped_image_[im.id] = s_.duplicates.size();
        s_.duplicates.push_back(std::move(d));
        s_.skipped_images++;
    }

    const SacoDataset& base_;
    const std::string& base_file_;
    const SacoDataset& batch_;
    const std::string& batch_file_;
    const MergeParams& params_;
    fs::path base_root_, batch_root_;
    ImageHasher base_hasher_, batch_hasher_;
    MergeResult& result_;
    MergeSummary& s_;
    std::map<std::pair<std::string, std::string>, Present> by_content_;  // (sha256, text_input)
    std::unordered_map<std::string, std::string> name_to_hash_;          // file_name -> sha256
    std::unordered_map<std::string, std::string> hash_to_name_;          // first file_name of a content
    int64_t last_image_id_ = 0, last_annotation_id_ = 0;
    std::unordered_map<int64_t, int64_t> new_id_;        // batch image id -> merged id
    std::unordered_map<int64_t, size_t> skipped_image_;  // batch image id -> index in s.duplicates
    std::map<int64_t, int64_t> replaced_;                // batch image id -> the base image id it replaced
    std::set<int64_t> seen_batch_ids_;
};

}  // namespace

MergeResult merge_saco(const SacoDataset& base, const std::string& base_file, const SacoDataset& batch,
                       const std::string& batch_file, const MergeParams& params) {
    check_saco_ids(base, base_file);
    check_saco_ids(batch, batch_file);
    MergeResult result;
    MergeSummary& s = result.summary;
    s.base_images = base.images.size();
    s.base_annotations = base.annotations.size();
    s.batch_images = batch.images.size();
    s.batch_annotations = batch.annotations.size();

    check_same_concept(base, base_file, batch, batch_file);
    Merger merger(base, base_file, batch, batch_file, params, result);
    merger.index_base();
    merger.add_batch_images();
    merger.check_duplicate_policy();
    merger.add_batch_annotations();
    return result;
}

MergeSummary merge_saco_files(const fs::path& base, const fs::path& batch, const fs::path& out, MergeParams params) {
    std::error_code ec;
    for (const auto& input : {base, batch})
        if (fs::exists(out, ec) && fs::equivalent(out, input, ec))
            throw Error("--out is the input " + input.string() +
                        ": inputs are never modified; write the merged dataset to a new file");
    if (params.image_root.empty()) params.image_root = base.has_parent_path() ? base.parent_path() : fs::path(".");
    if (!fs::is_directory(params.image_root, ec)) throw Error("image root is not a folder", params.image_root.string());
    if (!params.add_image_root.empty() && !fs::is_directory(params.add_image_root, ec))
        throw Error("batch image root is not a folder", params.add_image_root.string());
    SacoDataset base_ds = read_saco_json(base);
    SacoDataset batch_ds = read_saco_json(batch);
    MergeResult r = merge_saco(base_ds, base.string(), batch_ds, batch.string(), params);
    write_saco_json(r.merged, out);
    return r.summary;
}

size_t merged_annotation_count(const MergeSummary& s) {
    return s.base_annotations + s.added_annotations - s.replaced_annotations + s.replacing_annotations;
}

json merge_summary_to_json(const MergeSummary& s) {
    json j;
    j["base"] = {{"images", s.base_images}, {"annotations", s.base_annotations}};
    j["batch"] = {{"images", s.batch_images}, {"annotations", s.batch_annotations}};
    j["added"] = {{"images", s.added_images},
                  {"annotations", s.added_annotations},
                  {"positives", s.added_positives},
                  {"negatives", s.added_negatives},
                  {"first_image_id", s.first_new_image_id},
                  {"first_annotation_id", s.first_new_annotation_id},
                  {"renamed_file_names", s.renamed_file_names}};
    j["skipped"] = {{"images", s.skipped_images}, {"annotations", s.skipped_annotations}};
    j["replaced"] = {{"images", s.replaced_images},
                     {"annotations_removed", s.replaced_annotations},
                     {"annotations_added", s.replacing_annotations}};
    json dups = json::array();
    for (const auto& d : s.duplicates)
        dups.push_back({{"batch_image_id", d.add_image_id},
                        {"batch_file_name", d.add_file_name},
                        {"matched_image_id", d.matched_image_id},
                        {"matched_file_name", d.matched_file_name},
                        {"matched_in", d.matched_in_base ? "base" : "batch"},
                        {"sha256", d.sha256},
                        {"annotations_skipped", d.annotations_skipped}});
    j["duplicates"] = dups;
    j["output"] = {{"images", s.base_images + s.added_images}, {"annotations", merged_annotation_count(s)}};
    j["warnings"] = s.warnings;
    return j;
}

}  // namespace chickenseg
