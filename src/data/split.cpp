#include "chickenseg/data/split.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"

namespace chickenseg {

uint64_t random_below(std::mt19937_64& rng, uint64_t n) {
    if (n == 0) throw Error("random_below needs n > 0");
    // Accept only raw values below the largest multiple of n, so every residue is
    // equally likely; at most half of the draws are rejected.
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
    uint64_t x;
    do {
        x = rng();
    } while (x > limit);
    return x % n;
}

namespace {

enum class Side { train, val };

// libstdc++'s std::regex matches by recursion, one or more stack frames per character (a
// 40,000-character file_name overflowed the 8 MiB main stack with `^([^/]+)/`, and a pattern
// such as `(a?)*` needs far more per character). So the names are bounded
// (kMaxFileNameLength) and matched on a thread whose stack is large enough for that bound with
// a wide margin; the stack is reserved address space, committed only as far as it is used.
constexpr size_t kRegexStackBytes = size_t{512} << 20;

void run_on_large_stack(const std::function<void()>& work) {
    struct Job {
        const std::function<void()>* work;
        std::exception_ptr error;
    } job{&work, nullptr};
    auto body = [](void* arg) -> void* {
        auto* j = static_cast<Job*>(arg);
        try {
            (*j->work)();
        } catch (...) {
            j->error = std::current_exception();
        }
        return nullptr;
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_t thread;
    int rc = pthread_attr_setstacksize(&attr, kRegexStackBytes);
    if (rc == 0) rc = pthread_create(&thread, &attr, body, &job);
    pthread_attr_destroy(&attr);
    if (rc != 0) throw Error(std::string("cannot start the regex matching thread: ") + std::strerror(rc));
    pthread_join(thread, nullptr);
    if (job.error) std::rethrow_exception(job.error);
}

// The group key of each image: the regex's first capture group (or whole match), nullopt when
// the regex does not match.
std::vector<std::optional<std::string>> regex_group_keys(const SacoDataset& ds, const std::regex& re,
                                                         const SplitParams& params, const std::string& file) {
    for (size_t i = 0; i < ds.images.size(); ++i)
        if (ds.images[i].file_name.size() > kMaxFileNameLength)
            throw Error("file_name is " + std::to_string(ds.images[i].file_name.size()) +
                            " characters long; expected a path of at most " + std::to_string(kMaxFileNameLength) +
                            " (run `chickenseg data validate`)",
                        file, 0, json_key(json_index("images", i), "file_name"));
    std::vector<std::optional<std::string>> keys(ds.images.size());
    run_on_large_stack([&] {
        for (size_t i = 0; i < ds.images.size(); ++i) {
            std::smatch m;
            try {
                if (std::regex_search(ds.images[i].file_name, m, re))
                    keys[i] = (m.size() > 1 && m[1].matched) ? m[1].str() : m[0].str();
            } catch (const std::regex_error& e) {
                throw Error("group regex '" + params.group_regex + "' failed on this file_name: " + e.what(), file, 0,
                            json_key(json_index("images", i), "file_name"));
            }
        }
    });
    return keys;
}

struct Group {
    std::string key;
    std::vector<size_t> images;  // indices into ds.images, in input order
    size_t instances = 0;        // non-crowd annotations over the group's images
    Side side = Side::val;
};

// Strata: 0 = negative groups; 1.. = positive groups, by instance count when each
// group is one file (1, 2-3, 4-7, 8+), so crowded and sparse images are spread
// alike. Regex groups mix images of different sizes, so they are only split into
// negative / positive.
int stratum_of(const Group& g, bool by_instance_bins) {
    if (g.instances == 0) return 0;
    if (!by_instance_bins) return 1;
    if (g.instances == 1) return 1;
    if (g.instances <= 3) return 2;
    if (g.instances <= 7) return 3;
    return 4;
}
constexpr int kStrata = 5;

// Train image targets per stratum that sum to round(total * ratio): each stratum gets
// the floor of its share, and the left-over images go to the largest remainders
// (ties to the lower stratum), so the global ratio is met as closely as possible.
std::vector<size_t> stratum_targets(const std::vector<size_t>& images_per_stratum, double ratio) {
    size_t total = 0;
    for (size_t n : images_per_stratum) total += n;
    const auto wanted = static_cast<size_t>(std::llround(static_cast<double>(total) * ratio));
    std::vector<size_t> targets(images_per_stratum.size());
    std::vector<std::pair<double, size_t>> remainders;
    size_t assigned = 0;
    for (size_t s = 0; s < images_per_stratum.size(); ++s) {
        double ideal = static_cast<double>(images_per_stratum[s]) * ratio;
        targets[s] = static_cast<size_t>(std::floor(ideal));
        assigned += targets[s];
        remainders.emplace_back(ideal - std::floor(ideal), s);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; assigned < wanted && k < remainders.size(); ++k) {
        size_t s = remainders[k].second;
        if (targets[s] < images_per_stratum[s]) {
            ++targets[s];
            ++assigned;
        }
    }
    return targets;
}

SplitSideSummary summarize(const SacoDataset& ds, size_t groups) {
    SplitSideSummary s;
    s.images = ds.images.size();
    s.positives = ds.positive_count();
    s.negatives = s.images - s.positives;
    s.annotations = ds.annotations.size();
    s.groups = groups;
    return s;
}

json side_to_json(const SplitSideSummary& s) {
    return {{"images", s.images},
            {"positives", s.positives},
            {"negatives", s.negatives},
            {"annotations", s.annotations},
            {"groups", s.groups}};
}

std::optional<std::regex> compile_group_regex(const SplitParams& params) {
    std::optional<std::regex> re;
    if (!params.group_regex.empty()) {
        try {
            re.emplace(params.group_regex, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw Error("invalid group regex '" + params.group_regex + "': " + e.what(),
                        ErrorPlace{{}, 0, "group_regex"});
        }
    }
    return re;
}

// The bool is "unmatched": those keys live apart from the regex's keys. std::map keeps
// groups sorted by key, so the split depends on the file names and the seed, not on the
// order of the images in the file.
using GroupMap = std::map<std::pair<bool, std::string>, Group>;

// Group the images: by the regex's key, else each file is its own group. Images the regex
// does not match are an error unless they may be their own groups.
GroupMap group_images(const SacoDataset& ds, const std::optional<std::regex>& re, const SplitParams& params,
                      const std::string& file) {
    GroupMap groups;
    std::vector<size_t> unmatched;
    const auto counts = ds.annotation_counts();
    std::vector<std::optional<std::string>> regex_keys;
    if (re) regex_keys = regex_group_keys(ds, *re, params, file);
    for (size_t i = 0; i < ds.images.size(); ++i) {
        const std::string& name = ds.images[i].file_name;
        std::pair<bool, std::string> key{false, name};
        if (re) {
            if (regex_keys[i]) {
                key.second = *regex_keys[i];
            } else {
                unmatched.push_back(i);
                key.first = true;
            }
        }
        Group& g = groups[key];
        g.key = key.second;
        g.images.push_back(i);
        g.instances += counts.at(ds.images[i].id);
    }
    if (!unmatched.empty() && !params.unmatched_own_group) {
        std::string list;
        for (size_t k = 0; k < unmatched.size() && k < 5; ++k)
            list += (k ? ", " : "") + std::string("\"") + ds.images[unmatched[k]].file_name + "\"";
        if (unmatched.size() > 5) list += ", ...";
        throw Error(std::to_string(unmatched.size()) + " file name(s) do not match the group regex '" +
                        params.group_regex + "': " + list + " (fix the regex, or let each such image be its own group)",
                    file, 0, json_key(json_index("images", unmatched.front()), "file_name"));
    }
    return groups;
}

struct Strata {
    std::vector<std::vector<Group*>> groups = std::vector<std::vector<Group*>>(kStrata);
    std::vector<size_t> images = std::vector<size_t>(kStrata, 0);
};

// Sorts the groups into strata; a split that cannot give both sides a negative and a
// positive is refused rather than made lopsided.
Strata stratify(GroupMap& groups, bool by_bins, const char* unit, const std::string& file) {
    Strata strata;
    for (auto& [key, g] : groups) {
        int s = stratum_of(g, by_bins);
        strata.groups[s].push_back(&g);
        strata.images[s] += g.images.size();
    }
    size_t negative_groups = strata.groups[0].size();
    size_t positive_groups = 0;
    for (int s = 1; s < kStrata; ++s) positive_groups += strata.groups[s].size();
    if (negative_groups < 2 || positive_groups < 2)
        throw Error("a stratified split needs at least 2 negative and 2 positive " + std::string(unit) +
                        " so that train and val each get both; found " + std::to_string(negative_groups) +
                        " negative and " + std::to_string(positive_groups) + " positive",
                    file);
    return strata;
}

// Each side must hold at least one negative and one positive group; with >= 2 groups
// of each class, moving one group is always enough.
void ensure_both_sides(std::vector<Group*> (&order)[2]) {
    for (auto& cls : order) {
        auto on = [&](Side side) {
            return std::any_of(cls.begin(), cls.end(), [&](Group* g) { return g->side == side; });
        };
        if (!on(Side::train)) {
            cls.front()->side = Side::train;
        } else if (!on(Side::val)) {
            cls.back()->side = Side::val;
        }
    }
}

void assign_sides(Strata& strata, const SplitParams& params) {
    // One engine for the whole split, strata visited in a fixed order.
    std::mt19937_64 rng(params.seed);
    const auto targets = stratum_targets(strata.images, params.train_ratio);
    // Visit order per class (0 negative, 1 positive), for the both-sides fix-up.
    std::vector<Group*> order[2];
    for (int s = 0; s < kStrata; ++s) {
        portable_shuffle(strata.groups[s], rng);
        // A group goes to train when that brings the stratum's train image count closer to
        // its target; with one image per group this takes exactly the first `target`.
        size_t in_train = 0;
        for (Group* g : strata.groups[s]) {
            if (2 * in_train + g->images.size() < 2 * targets[s]) {
                g->side = Side::train;
                in_train += g->images.size();
            } else {
                g->side = Side::val;
            }
            order[s == 0 ? 0 : 1].push_back(g);
        }
    }
    ensure_both_sides(order);
}

// Every annotation goes with its image; both sides keep the input's top-level fields.
SplitResult build_sides(const SacoDataset& ds, const GroupMap& groups) {
    std::unordered_map<int64_t, size_t> image_index;  // image id -> position (unique: checked by the caller)
    for (size_t i = 0; i < ds.images.size(); ++i) image_index.emplace(ds.images[i].id, i);
    std::vector<Side> image_side(ds.images.size());
    size_t train_groups = 0;
    for (const auto& [key, g] : groups) {
        train_groups += g.side == Side::train;
        for (size_t i : g.images) image_side[i] = g.side;
    }

    SplitResult out;
    for (SacoDataset* side : {&out.train, &out.val}) {
        side->top = ds.top;
        side->categories = ds.categories;
    }
    for (size_t i = 0; i < ds.images.size(); ++i)
        (image_side[i] == Side::train ? out.train : out.val).images.push_back(ds.images[i]);
    for (const auto& a : ds.annotations)
        (image_side[image_index.at(a.image_id)] == Side::train ? out.train : out.val).annotations.push_back(a);

    out.input = summarize(ds, groups.size());
    out.train_summary = summarize(out.train, train_groups);
    out.val_summary = summarize(out.val, groups.size() - train_groups);
    return out;
}

}  // namespace

SplitResult split_saco(const SacoDataset& ds, const SplitParams& params, const std::string& file) {
    if (!(params.train_ratio > 0.0 && params.train_ratio < 1.0))
        throw Error("expected a train ratio strictly between 0 and 1, found " + std::to_string(params.train_ratio),
                    ErrorPlace{{}, 0, "train_ratio"});
    std::optional<std::regex> re = compile_group_regex(params);

    // Every annotation must land with its image: duplicate image ids or annotations
    // naming no image cannot be placed, so they stop the split (validate lists them all).
    check_saco_ids(ds, file);

    GroupMap groups = group_images(ds, re, params, file);
    // Regex groups mix images of different sizes: only split into negative / positive.
    Strata strata = stratify(groups, !re.has_value(), re ? "groups" : "images", file);
    assign_sides(strata, params);
    return build_sides(ds, groups);
}

json split_summary_to_json(const SplitResult& result, const SplitParams& params) {
    return {{"train_ratio", params.train_ratio},           {"seed", params.seed},
            {"group_regex", params.group_regex},           {"input", side_to_json(result.input)},
            {"train", side_to_json(result.train_summary)}, {"val", side_to_json(result.val_summary)}};
}

void write_split(const SplitResult& split, const std::filesystem::path& train_path,
                 const std::filesystem::path& val_path) {
    const std::string train = json_file_text(saco_to_json(split.train));
    const std::string val = json_file_text(saco_to_json(split.val));
    const FileContent files[] = {{train_path, train}, {val_path, val}};
    write_files_atomic(files);
}

}  // namespace chickenseg
