// The sample dataset on disk: scene kinds, LabelMe and YOLO files, the label map,
// the README, and the all-or-nothing replacement of the output folder.
#include "chickenseg/data/sample.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/parallel.h"
#include "chickenseg/core/progress.h"
#include "sample_canvas.h"
#include "sample_output.h"

namespace chickenseg {

namespace fs = std::filesystem;
using sample_detail::mix_seed;
using sample_detail::SampleRng;
using namespace sample_detail;

void check_sample_params(const SampleParams& p) {
    if (p.images < 1 || p.images > 100000)
        throw Error("--images must be between 1 and 100000, got " + std::to_string(p.images));
    if (p.width < 64 || p.height < 64 || p.width > 4096 || p.height > 4096)
        throw Error("--size must be between 64x64 and 4096x4096, got " + std::to_string(p.width) + "x" +
                    std::to_string(p.height));
    if (p.positive_fraction < 0 || p.ambiguous_fraction < 0 || p.positive_fraction + p.ambiguous_fraction > 1)
        throw Error("scene fractions must be >= 0 and sum to at most 1");
}

std::vector<SceneKind> sample_scene_kinds(const SampleParams& p) {
    int n = p.images;
    int pos = static_cast<int>(std::lround(n * p.positive_fraction));
    int amb = std::min(n - pos, static_cast<int>(std::lround(n * p.ambiguous_fraction)));
    std::vector<SceneKind> kinds(static_cast<size_t>(n), SceneKind::hard_negative);
    std::fill_n(kinds.begin(), pos, SceneKind::positive);
    std::fill_n(kinds.begin() + pos, amb, SceneKind::ambiguous);
    // Fisher-Yates with our own generator: the same order on every platform.
    SampleRng rng(mix_seed(p.seed, 0));
    for (int i = n - 1; i > 0; --i)
        std::swap(kinds[static_cast<size_t>(i)], kinds[static_cast<size_t>(rng.range(0, i))]);
    return kinds;
}

const std::vector<std::string>& sample_yolo_classes() {
    static const std::vector<std::string> classes{"chicken", "hen",    "rooster", "chick",
                                                  "egg",     "feeder", "duck",    "unknown bird"};
    return classes;
}

std::string sample_label_map_yaml() {
    return "# Label map of the chickenseg sample (see README.md): what each raw label means\n"
           "# for the concept. Used by `chickenseg data convert --label-map`.\n"
           "concept: chicken\n"
           "synonyms: [Chicken, hen, rooster, chick]\n"
           "background: [egg, feeder, duck]\n"
           "ambiguous: [\"unknown bird\"]\n";
}

json sample_summary_to_json(const SampleSummary& s) {
    json j;
    j["out_dir"] = s.out_dir.string();
    j["images"] = s.images;
    j["positives"] = s.positives;
    j["hard_negatives"] = s.hard_negatives;
    j["ambiguous"] = s.ambiguous;
    j["png"] = s.png;
    j["jpeg"] = s.jpeg;
    j["without_annotation_file"] = s.without_annotation_file;
    j["labels"] = s.label_counts;
    j["shape_types"] = s.shape_type_counts;
    j["cut_at_border"] = s.cut_at_border;
    return j;
}

namespace {

const char* shape_type_name(SampleShapeType t) {
    switch (t) {
        case SampleShapeType::polygon:
            return "polygon";
        case SampleShapeType::rectangle:
            return "rectangle";
        case SampleShapeType::circle:
            return "circle";
    }
    return "?";
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

std::string labelme_json(const SampleScene& scene) {
    nlohmann::ordered_json doc;
    doc["version"] = "5.4.1";
    doc["flags"] = nlohmann::ordered_json::object();
    doc["shapes"] = nlohmann::ordered_json::array();
    for (const auto& o : scene.objects) {
        nlohmann::ordered_json s;
        s["label"] = o.label;
        nlohmann::ordered_json pts = nlohmann::ordered_json::array();
        for (size_t i = 0; i + 1 < o.points.size(); i += 2)
            pts.push_back({round2(o.points[i]), round2(o.points[i + 1])});
        s["points"] = pts;
        s["group_id"] = nullptr;
        s["description"] = "";
        s["shape_type"] = shape_type_name(o.shape_type);
        s["flags"] = nlohmann::ordered_json::object();
        s["mask"] = nullptr;
        doc["shapes"].push_back(std::move(s));
    }
    doc["imagePath"] = scene.file_name();
    doc["imageData"] = nullptr;
    doc["imageHeight"] = scene.image.height;
    doc["imageWidth"] = scene.image.width;
    return doc.dump(2) + "\n";
}

std::string yolo_label_text(const SampleScene& scene) {
    const auto& classes = sample_yolo_classes();
    std::string out;
    char buf[32];
    for (const auto& o : scene.objects) {
        // YOLO class names are the lower-case labels ("Chicken" is a LabelMe-only spelling).
        std::string label = o.label;
        std::transform(label.begin(), label.end(), label.begin(), [](unsigned char c) { return std::tolower(c); });
        auto it = std::find(classes.begin(), classes.end(), label);
        if (it == classes.end()) throw Error("internal error: no YOLO class for label '" + o.label + "'");
        out += std::to_string(it - classes.begin());
        for (size_t i = 0; i + 1 < o.outline.size(); i += 2) {
            double x = std::clamp(o.outline[i] / scene.image.width, 0.0, 1.0);
            double y = std::clamp(o.outline[i + 1] / scene.image.height, 0.0, 1.0);
            std::snprintf(buf, sizeof buf, " %.6f %.6f", x, y);
            out += buf;
        }
        out += '\n';
    }
    return out;
}

std::string readme_text(const SampleParams& p, const SampleSummary& s) {
    std::string size = std::to_string(p.width) + "x" + std::to_string(p.height);
    return "# chickenseg sample: synthetic barn scenes\n\n"
           "Generated by `chickenseg data sample --count " +
           std::to_string(p.images) + " --seed " + std::to_string(p.seed) + " --size " + size +
           "`. The same command always writes the same bytes.\n\n"
           "Every scene is a straw floor (often below a wooden plank wall) with noise, light fall-off and\n"
           "straw strands. " +
           std::to_string(s.positives) +
           " scenes hold chickens (hens, roosters, chicks;\n"
           "white, brown, black, buff; standing, pecking, resting; some overlapping, some cut by the image\n"
           "border), " +
           std::to_string(s.hard_negatives) +
           " are hard negatives (straw only, feeders, eggs,\n"
           "ducks) and " +
           std::to_string(s.ambiguous) +
           " hold an \"unknown bird\" (dark and blurred), which the\n"
           "label map excludes from the dataset.\n\n"
           "The same scenes come in two annotation forms:\n\n"
           "- `labelme/`: images with a LabelMe JSON beside each. Chickens are polygons, some\n"
           "  rectangles (two corners, any order) and some chicks circles (centre + rim point). Labels vary\n"
           "  as in real projects: chicken, Chicken, hen, rooster, chick, egg, feeder, duck, unknown bird.\n"
           "  Negatives without objects have either no JSON or a JSON with an empty `shapes` list.\n"
           "- `yolo/`: `images/`, `labels/` (segmentation lines `class x1 y1 ... xn yn`, normalised;\n"
           "  boxes as 4-corner polygons; a missing or empty `.txt` means no objects) and `classes.txt`.\n\n"
           "`label_map.yaml` maps the labels to the concept `chicken` (synonyms), to background (egg,\n"
           "feeder, duck: dropped, the image stays as a negative) and to ambiguous (unknown bird: the image\n"
           "is excluded). Images are PNG, about one in five JPEG. Overlapping chickens are annotated with\n"
           "their whole outline. `sample.json` lists the parameters and every scene's kind and labels.\n\n"
           "Next step:\n\n"
           "    chickenseg data convert labelme --label-map label_map.yaml --out chicken_all.json\n";
}

// The files of one scene, relative to the sample folder.
struct SceneFiles {
    std::vector<std::pair<std::string, std::string>> files;  // path, bytes
};

SceneFiles scene_files(const SampleScene& scene) {
    SceneFiles out;
    // Encoded once: both annotation forms share the same image bytes.
    std::string image_bytes = scene.jpeg ? encode_jpeg(scene.image, 88) : encode_png(scene.image);
    out.files.emplace_back("labelme/" + scene.file_name(), image_bytes);
    out.files.emplace_back("yolo/images/" + scene.file_name(), image_bytes);
    bool has_objects = !scene.objects.empty();
    if (has_objects || scene.write_empty_annotation) {
        out.files.emplace_back("labelme/" + scene.stem + ".json", labelme_json(scene));
        out.files.emplace_back("yolo/labels/" + scene.stem + ".txt", yolo_label_text(scene));
    }
    return out;
}

bool is_previous_output(const fs::path& dir, const SampleOutputKind& kind) {
    std::error_code ec;
    fs::path marker = dir / kind.marker;
    if (!fs::is_regular_file(marker, ec)) return false;
    try {
        json j = read_json_file(marker);
        return j.is_object() && j.value("schema", "") == kind.schema;
    } catch (const Error&) {
        return false;
    }
}

// A file in a previous output folder that the generator did not write (a converted
// dataset, a .dvc folder, notes...), or "" when there is none: replacing the
// folder would delete it, so the caller refuses instead.
std::string foreign_file_in_output(const fs::path& dir, const SampleOutputKind& kind) {
    std::set<std::string> ours;
    try {
        ours = kind.files(read_json_file(dir / kind.marker));
    } catch (const std::exception&) {
        return kind.marker;  // unreadable: cannot tell what is ours
    }
    ours.insert(kind.marker);
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
        std::string rel = fs::relative(it->path(), dir).generic_string();
        if (!ours.count(rel)) return rel;
    }
    return {};
}

}  // namespace

bool sample_detail::check_sample_out_dir(const fs::path& out_dir, const fs::path& out_dir_arg,
                                         const SampleOutputKind& kind) {
    std::error_code ec;
    if (!fs::exists(out_dir, ec)) return false;
    if (!fs::is_directory(out_dir, ec)) throw Error("exists and is not a folder", out_dir_arg.string());
    bool empty = fs::is_empty(out_dir, ec);
    if (!empty && !is_previous_output(out_dir, kind))
        throw Error(std::string("folder is not empty and holds no previous chickenseg ") + kind.what + " (no " +
                        kind.marker + "): choose a new --out folder (nothing is deleted)",
                    out_dir_arg.string());
    if (!empty) {
        std::string foreign = foreign_file_in_output(out_dir, kind);
        if (!foreign.empty())
            throw Error(std::string("holds a previous ") + kind.what + " and also " + foreign + ", which the " +
                            kind.what +
                            " did not write: replacing the folder would delete it. Move "
                            "it away or choose a new --out folder (nothing is deleted)",
                        out_dir_arg.string());
    }
    return true;
}

fs::path sample_detail::sample_staging_dir(const fs::path& out_dir) {
    return out_dir.parent_path() / ("." + out_dir.filename().string() + ".partial-" + std::to_string(::getpid()));
}

// The finished staging folder takes the place of the output (and of a previous sample).
void sample_detail::sample_swap_in(const fs::path& staging, const fs::path& out_dir, bool replace) {
    std::error_code ec;
    if (replace) {
        fs::path old =
            out_dir.parent_path() / ("." + out_dir.filename().string() + ".old-" + std::to_string(::getpid()));
        fs::remove_all(old, ec);
        fs::rename(out_dir, old);
        fs::rename(staging, out_dir);
        fs::remove_all(old, ec);
    } else {
        fs::rename(staging, out_dir);
    }
}

namespace {

// What a still sample folder holds: every scene's files (listed in sample.json) and the rest.
std::set<std::string> sample_files(const json& meta) {
    std::set<std::string> ours{"README.md",        "label_map.yaml", "labelme",    "yolo",
                               "yolo/classes.txt", "yolo/images",    "yolo/labels"};
    for (const auto& scene : meta.at("scenes")) {
        std::string file = scene.at("file_name").get<std::string>();
        std::string stem = fs::path(file).stem().string();
        ours.insert(
            {"labelme/" + file, "labelme/" + stem + ".json", "yolo/images/" + file, "yolo/labels/" + stem + ".txt"});
    }
    return ours;
}

const SampleOutputKind kStillSample{"sample.json", kSampleSchema, "sample", sample_files};

// Renders and writes every scene, in parallel; each scene's counts and record go to its own
// slot so that the result does not depend on which thread finished first.
std::vector<json> write_scenes(const SampleParams& params, const std::vector<SceneKind>& kinds, const fs::path& staging,
                               std::vector<SampleSummary>& per_scene) {
    std::vector<json> scene_records(kinds.size());
    Progress progress("sample", kinds.size());
    std::mutex progress_mutex;
    parallel_for(kinds.size(), std::clamp(std::thread::hardware_concurrency(), 1u, 8u), [&](size_t i) {
        SampleScene scene = render_sample_scene(params, static_cast<int>(i), kinds[i]);
        for (auto& [rel, bytes] : scene_files(scene).files) write_file_atomic(staging / rel, bytes);
        SampleSummary& s = per_scene[i];
        (scene.jpeg ? s.jpeg : s.png) = 1;
        s.without_annotation_file = scene.objects.empty() && !scene.write_empty_annotation;
        json labels = json::array();
        for (const auto& o : scene.objects) {
            s.label_counts[o.label]++;
            s.shape_type_counts[shape_type_name(o.shape_type)]++;
            s.cut_at_border += o.cut_at_border;
            labels.push_back(o.label);
        }
        scene_records[i] = {
            {"file_name", scene.file_name()}, {"kind", scene_kind_name(scene.kind)}, {"labels", labels}};
        std::lock_guard lock(progress_mutex);
        progress.tick();
    });
    progress.finish();
    return scene_records;
}

// The per-scene counts added up in scene order; returns the scenes' records in that order.
json add_up_scenes(const std::vector<SceneKind>& kinds, const std::vector<SampleSummary>& per_scene,
                   const std::vector<json>& scene_records, SampleSummary& summary) {
    json scenes_json = json::array();
    for (size_t i = 0; i < kinds.size(); ++i) {
        const SampleSummary& s = per_scene[i];
        summary.images++;
        summary.positives += kinds[i] == SceneKind::positive;
        summary.hard_negatives += kinds[i] == SceneKind::hard_negative;
        summary.ambiguous += kinds[i] == SceneKind::ambiguous;
        summary.png += s.png;
        summary.jpeg += s.jpeg;
        summary.without_annotation_file += s.without_annotation_file;
        for (const auto& [k, v] : s.label_counts) summary.label_counts[k] += v;
        for (const auto& [k, v] : s.shape_type_counts) summary.shape_type_counts[k] += v;
        summary.cut_at_border += s.cut_at_border;
        scenes_json.push_back(scene_records[i]);
    }
    return scenes_json;
}

// The files beside the scenes: YOLO classes, label map, README and sample.json (last: it
// marks the folder as a sample, see is_previous_sample).
void write_sample_files(const fs::path& staging, const SampleParams& params, const SampleSummary& summary,
                        const json& scenes_json) {
    std::string classes;
    for (const auto& c : sample_yolo_classes()) classes += c + "\n";
    write_file_atomic(staging / "yolo" / "classes.txt", classes);
    write_file_atomic(staging / "label_map.yaml", sample_label_map_yaml());
    write_file_atomic(staging / "README.md", readme_text(params, summary));
    json meta;
    meta["schema"] = kSampleSchema;
    meta["params"] = {
        {"images", params.images}, {"seed", params.seed}, {"width", params.width}, {"height", params.height}};
    json counts = sample_summary_to_json(summary);
    counts.erase("out_dir");  // the folder may move: keep the file location-free
    meta["summary"] = counts;
    meta["scenes"] = scenes_json;
    write_json_file(staging / "sample.json", meta);
}

}  // namespace

SampleSummary write_sample_dataset(const fs::path& out_dir_arg, const SampleParams& params) {
    check_sample_params(params);
    fs::path out_dir = fs::absolute(out_dir_arg).lexically_normal();
    if (out_dir.filename().empty()) out_dir = out_dir.parent_path();
    bool replace = check_sample_out_dir(out_dir, out_dir_arg, kStillSample);
    // Build everything beside the target, then swap it in: a crash never leaves half a sample.
    fs::path staging = sample_staging_dir(out_dir);
    std::error_code ec;
    fs::remove_all(staging, ec);

    auto kinds = sample_scene_kinds(params);
    SampleSummary summary;
    summary.out_dir = out_dir;
    std::vector<SampleSummary> per_scene(kinds.size());
    try {
        std::vector<json> scene_records = write_scenes(params, kinds, staging, per_scene);
        json scenes_json = add_up_scenes(kinds, per_scene, scene_records, summary);
        write_sample_files(staging, params, summary, scenes_json);
        sample_swap_in(staging, out_dir, replace);
    } catch (const fs::filesystem_error& e) {
        fs::remove_all(staging, ec);
        throw Error(std::string("cannot write the sample: ") + e.code().message(), e.path1().string());
    } catch (...) {
        fs::remove_all(staging, ec);
        throw;
    }
    return summary;
}

}  // namespace chickenseg
