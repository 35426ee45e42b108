#include "chickenseg/data/convert.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "chickenseg/core/base64.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/data/coco_reader.h"
#include "chickenseg/data/dataset_layout.h"
#include "chickenseg/data/label_map.h"
#include "chickenseg/data/labelme_reader.h"
#include "chickenseg/data/source_image.h"
#include "chickenseg/data/yolo_reader.h"
#include "convert_internal.h"

namespace chickenseg {

namespace fs = std::filesystem;

const char* input_format_name(InputFormat format) {
    switch (format) {
        case InputFormat::auto_detect:
            return "auto";
        case InputFormat::labelme:
            return "labelme";
        case InputFormat::yolo:
            return "yolo";
        case InputFormat::coco:
            return "coco";
    }
    return "auto";
}

std::optional<InputFormat> input_format_from_name(std::string_view name) {
    for (auto f : {InputFormat::auto_detect, InputFormat::labelme, InputFormat::yolo, InputFormat::coco})
        if (name == input_format_name(f)) return f;
    return std::nullopt;
}

const char* unknown_label_policy_name(UnknownLabelPolicy policy) {
    switch (policy) {
        case UnknownLabelPolicy::error:
            return "error";
        case UnknownLabelPolicy::background:
            return "background";
        case UnknownLabelPolicy::exclude:
            return "exclude";
    }
    return "error";
}

std::optional<UnknownLabelPolicy> unknown_label_policy_from_name(std::string_view name) {
    for (auto p : {UnknownLabelPolicy::error, UnknownLabelPolicy::background, UnknownLabelPolicy::exclude})
        if (name == unknown_label_policy_name(p)) return p;
    return std::nullopt;
}

const char* reviewed_policy_name(ReviewedPolicy policy) {
    switch (policy) {
        case ReviewedPolicy::auto_detect:
            return "auto";
        case ReviewedPolicy::only:
            return "only";
        case ReviewedPolicy::any:
            return "any";
    }
    return "auto";
}

std::optional<ReviewedPolicy> reviewed_policy_from_name(std::string_view name) {
    for (auto p : {ReviewedPolicy::auto_detect, ReviewedPolicy::only, ReviewedPolicy::any})
        if (name == reviewed_policy_name(p)) return p;
    return std::nullopt;
}

InputFormat detect_input_format(const fs::path& input) {
    std::error_code ec;
    if (fs::is_regular_file(input, ec)) {
        std::string ext = input.extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        if (ext == ".json") return InputFormat::coco;
        throw Error("cannot tell the format: a file input must be a COCO .json file", input.string());
    }
    if (!fs::is_directory(input, ec))
        throw Error("input not found (expected a dataset folder or a COCO .json file)", input.string());
    size_t json_files = 0, txt_files = 0;
    for (auto it = fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.starts_with('.')) {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        std::string ext = it->path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
        if (ext == ".json")
            ++json_files;
        else if (ext == ".txt" && name != "classes.txt")
            ++txt_files;
    }
    bool has_classes = !find_yolo_class_file(input).empty();
    if (txt_files > 0 && has_classes) return InputFormat::yolo;
    if (json_files > 0 && txt_files == 0) return InputFormat::labelme;
    if (txt_files > 0 && json_files == 0)
        throw Error("found " + std::to_string(txt_files) +
                        " .txt files but no classes.txt or data.yaml at the root: pass --format yolo --classes FILE",
                    input.string());
    if (txt_files == 0 && json_files == 0)
        throw Error("cannot tell the format: no .json or .txt label files; pass --format", input.string());
    throw Error("cannot tell the format: found " + std::to_string(json_files) + " .json and " +
                    std::to_string(txt_files) + " .txt files; pass --format labelme or --format yolo",
                input.string());
}

namespace {

using convert_internal::collect_coco;
using convert_internal::collect_labelme;
using convert_internal::collect_yolo;
using convert_internal::Context;
using convert_internal::Item;

// The folder whose images are negatives whatever their labels say: "not_chicken"
// for the concept "chicken" (spaces become '_'; compared case-insensitively).
bool in_negative_folder(const std::string& file_name, const std::string& concept_name) {
    std::string folder = "not_" + normalize_label(concept_name);
    std::replace(folder.begin(), folder.end(), ' ', '_');
    fs::path p(file_name);
    for (auto it = p.begin(); it != p.end(); ++it) {
        if (std::next(it) == p.end()) break;  // the file name itself
        if (normalize_label(it->string()) == folder) return true;
    }
    return false;
}

struct LabelTally {
    LabelRole role = LabelRole::unknown;
    size_t objects = 0;
    size_t images = 0;
    std::vector<std::string> first_places;  // for the unknown-label error
};

std::string place_text(const ErrorPlace& p) {
    std::string s = p.file;
    if (p.line > 0)
        s += ":" + std::to_string(p.line);
    else if (!p.field.empty())
        s += " " + p.field;
    return s;
}

// The output must never replace an input. Inside the input folder it may only
// replace an earlier convert output (a JSON with our "chickenseg" schema key).
void check_output_is_not_an_input(const ConvertParams& params) {
    if (params.output.empty()) return;
    std::error_code ec;
    for (const fs::path& in : {params.input, params.label_map, params.classes}) {
        if (!in.empty() && fs::exists(in, ec) && fs::exists(params.output, ec) && fs::equivalent(in, params.output, ec))
            throw Error("refusing to overwrite an input file with the output", params.output.string());
    }
    if (!fs::exists(params.output, ec) || !fs::is_directory(params.input, ec) ||
        relative_inside(params.output, params.input).empty())
        return;
    bool ours = false;
    try {
        json doc = read_json_file(params.output);
        ours = doc.is_object() && doc.contains("chickenseg") && doc["chickenseg"].is_object() &&
               doc["chickenseg"].value("schema", "") == kSacoSchema;
    } catch (const Error&) {
    }
    if (!ours)
        throw Error(
            "refusing to overwrite a file inside the input folder that is not an earlier convert output "
            "(choose an --out outside the dataset)",
            params.output.string());
}

// The concept comes from --concept, else the label map, else "chicken"; a label map that
// names another concept than --concept is a mistake worth stopping for.
LabelMap read_label_map(const ConvertParams& params) {
    std::string concept_name = params.concept_name.empty() ? "chicken" : params.concept_name;
    if (!is_valid_utf8(concept_name))
        throw Error("the concept name \"" + concept_name +
                    "\" is not valid UTF-8 (it becomes every image's text_input)");
    LabelMap label_map(concept_name);
    if (!params.label_map.empty()) {
        label_map = LabelMap::read(params.label_map, concept_name);
        if (!params.concept_name.empty() && label_map.concept_from_file() &&
            label_map.concept_name() != params.concept_name)
            throw Error("the label map's concept \"" + label_map.concept_name() + "\" contradicts --concept \"" +
                            params.concept_name + "\"",
                        params.label_map.string(), 0, "concept");
    }
    if (normalize_label(label_map.concept_name()).empty()) throw Error("the concept must not be empty");
    return label_map;
}

// COCO is one file, the other formats a folder: checked before reading so that a wrong
// --format fails with one clear message rather than many per-file errors.
InputFormat resolve_input_format(const ConvertParams& params) {
    InputFormat format = params.format == InputFormat::auto_detect ? detect_input_format(params.input) : params.format;
    std::error_code ec;
    if (format == InputFormat::coco ? !fs::is_regular_file(params.input, ec) : !fs::is_directory(params.input, ec))
        throw Error(format == InputFormat::coco ? "expected a COCO .json file" : "expected a dataset folder",
                    params.input.string());
    return format;
}

SourceFormat source_format_of(InputFormat format) {
    return format == InputFormat::coco   ? SourceFormat::coco
           : format == InputFormat::yolo ? SourceFormat::yolo
                                         : SourceFormat::labelme;
}

// The output, its embedded-images folder and the label map may sit inside the input folder
// (a re-run): they must not be read back as data.
Context make_context(const ConvertParams& params, InputFormat format, Diagnostics& diagnostics,
                     const fs::path& embedded_dir) {
    Context ctx{params, params.image_root, diagnostics, {}};
    if (ctx.image_root.empty())
        ctx.image_root = format == InputFormat::coco ? params.input.parent_path() : params.input;
    if (ctx.image_root.empty()) ctx.image_root = ".";
    std::error_code ec;
    if (!fs::is_directory(ctx.image_root, ec)) throw Error("image root is not a folder", ctx.image_root.string());
    if (!params.output.empty()) ctx.skip = {params.output, embedded_dir};
    if (!params.label_map.empty()) ctx.skip.push_back(params.label_map);
    return ctx;
}

std::vector<Item> collect_items(Context& ctx, InputFormat format) {
    std::vector<Item> items;
    switch (format) {
        case InputFormat::yolo:
            collect_yolo(ctx, items);
            break;
        case InputFormat::labelme:
            collect_labelme(ctx, items);
            break;
        case InputFormat::coco:
            collect_coco(ctx, items);
            break;
        case InputFormat::auto_detect:
            break;
    }
    return items;
}

// Ids follow file_name order; two images with one file_name cannot both stay.
void sort_by_file_name(std::vector<Item>& items, Diagnostics& diagnostics) {
    std::stable_sort(items.begin(), items.end(),
                     [](const Item& a, const Item& b) { return a.file_name < b.file_name; });
    for (size_t i = 1; i < items.size(); ++i)
        if (items[i].file_name == items[i - 1].file_name)
            diagnostics.error("several images map to the same file_name \"" + items[i].file_name +
                                  "\": " + items[i - 1].display + " and " + items[i].display,
                              {items[i].display, 0, {}});
}

// Maps each item's labels through the label map into SA-Co images and annotations, and
// tallies the labels for the report (unknown labels are reported once, with where they
// first occur, not once per object).
class SacoBuilder {
public:
    SacoBuilder(const ConvertParams& params, const LabelMap& label_map, ConvertResult& result)
        : params_(params), label_map_(label_map), concept_name_(label_map.concept_name()), result_(result) {
        SacoDataset& ds = result_.dataset;
        ds.top["chickenseg"] = {
            {"schema", kSacoSchema}, {"concept", concept_name_}, {"source_format", result_.report.source_format}};
        ds.categories.push_back({1, concept_name_, json::object()});
    }

    void add(Item& item) {
        ConvertReport& report = result_.report;
        if (report.reviewed_only && !item.reviewed) {
            report.excluded["not_reviewed"]++;
            report.excluded_images.push_back(
                {item.file_name, "not reviewed (its LabelMe file has no flag `reviewed: true`)"});
            return;
        }
        Mapped mapped = map_labels(item);
        if (mapped.concept_in_negative)
            report.diagnostics.warn("image is in a not_" + concept_name_ + " folder but has " +
                                        std::to_string(mapped.concept_in_negative) +
                                        " object(s) labelled as the concept: kept as a negative, objects dropped",
                                    {item.display, 0, {}});
        if (mapped.exclusion_kind) {
            report.excluded[*mapped.exclusion_kind]++;
            report.excluded_images.push_back({item.file_name, *mapped.exclusion_reason});
            return;
        }
        add_image(item, mapped.keep);
    }

    void report_labels();

private:
    struct Mapped {
        std::optional<std::string> exclusion_kind, exclusion_reason;
        std::vector<const SourceObject*> keep;
        size_t concept_in_negative = 0;
    };

    // An image in a not_<concept> folder is a negative whatever its labels; otherwise the
    // first ambiguous (or, with --unknown-labels exclude, unknown) label excludes it.
    Mapped map_labels(const Item& item) {
        bool negative_folder = in_negative_folder(item.file_name, concept_name_);
        std::set<std::string> labels_here;
        Mapped m;
        for (const auto& o : item.objects) {
            LabelTally& t = tallies_[o.label];
            t.role = label_map_.classify(o.label);
            ++t.objects;
            labels_here.insert(o.label);
            if (negative_folder) {
                m.concept_in_negative += t.role == LabelRole::concept_label;
                continue;
            }
            switch (t.role) {
                case LabelRole::concept_label:
                    m.keep.push_back(&o);
                    break;
                case LabelRole::background:
                    break;
                case LabelRole::ambiguous:
                    if (!m.exclusion_kind) {
                        m.exclusion_kind = "ambiguous_label";
                        m.exclusion_reason = "ambiguous label \"" + o.label + "\"";
                    }
                    break;
                case LabelRole::unknown:
                    if (params_.unknown_labels == UnknownLabelPolicy::exclude && !m.exclusion_kind) {
                        m.exclusion_kind = "unknown_label";
                        m.exclusion_reason = "unknown label \"" + o.label + "\"";
                    } else if (params_.unknown_labels == UnknownLabelPolicy::error && t.first_places.size() < 3) {
                        t.first_places.push_back(place_text(o.place));
                    }
                    break;
            }
        }
        for (const auto& l : labels_here) ++tallies_[l].images;
        return m;
    }

    void add_image(Item& item, const std::vector<const SourceObject*>& keep) {
        SacoDataset& ds = result_.dataset;
        SacoImage im;
        im.id = static_cast<int64_t>(ds.images.size()) + 1;
        im.file_name = item.file_name;
        im.width = item.width;
        im.height = item.height;
        im.text_input = concept_name_;
        im.is_instance_exhaustive = 1;
        im.extra = {{"source", source_format_name(item.format)}};
        for (const SourceObject* o : keep) add_annotation(*o, im);
        if (item.embedded) result_.embedded.push_back({item.file_name, std::move(*item.embedded)});
        ds.images.push_back(std::move(im));
    }

    // area and bbox are computed here, as pycocotools would, never taken from the source;
    // an object that covers no pixel would only confuse the metrics.
    void add_annotation(const SourceObject& o, const SacoImage& im) {
        Diagnostics& diagnostics = result_.report.diagnostics;
        SacoDataset& ds = result_.dataset;
        SacoAnnotation a;
        a.segmentation = o.segmentation;
        a.iscrowd = o.iscrowd;
        try {
            Rle rle = segmentation_to_rle(a.segmentation, im.height, im.width);
            a.area = static_cast<double>(rle_area(rle));
            if (a.area == 0) {
                diagnostics.warn("object covers no pixel (zero area): dropped", o.place);
                return;
            }
            a.bbox = a.segmentation.is_rle ? rle_to_bbox(rle) : polygons_bbox(a.segmentation.polygons);
        } catch (const Error& e) {
            diagnostics.error(e.message(), o.place);
            return;
        }
        a.id = static_cast<int64_t>(ds.annotations.size()) + 1;
        a.image_id = im.id;
        a.category_id = 1;
        ds.annotations.push_back(std::move(a));
    }

    const ConvertParams& params_;
    const LabelMap& label_map_;
    std::string concept_name_;
    ConvertResult& result_;
    std::map<std::string, LabelTally> tallies_;
};

// Every label seen, what it became, and one error per unknown label when they are errors.
void SacoBuilder::report_labels() {
    ConvertReport& report = result_.report;
    for (const auto& [label, t] : tallies_) {
        LabelCount c;
        c.label = label;
        c.role = label_role_name(t.role);
        c.objects = t.objects;
        c.images = t.images;
        switch (t.role) {
            case LabelRole::concept_label:
                c.mapped_to = concept_name_;
                break;
            case LabelRole::background:
                c.mapped_to = "background";
                break;
            case LabelRole::ambiguous:
                c.mapped_to = "excluded";
                break;
            case LabelRole::unknown:
                c.mapped_to = params_.unknown_labels == UnknownLabelPolicy::background ? "background"
                              : params_.unknown_labels == UnknownLabelPolicy::exclude  ? "excluded"
                                                                                       : "error";
                break;
        }
        report.labels.push_back(c);
        if (t.role == LabelRole::unknown && params_.unknown_labels == UnknownLabelPolicy::error &&
            !t.first_places.empty()) {
            std::string where;
            for (const auto& p : t.first_places) where += (where.empty() ? "" : ", ") + p;
            report.diagnostics.error("unknown label \"" + label + "\": " + std::to_string(t.objects) +
                                         " object(s) in " + std::to_string(t.images) + " image(s), first at " + where +
                                         ". Map it in a --label-map (synonyms, background or ambiguous) or pass "
                                         "--unknown-labels background|exclude",
                                     {});
        }
    }
}

}  // namespace

ConvertResult build_saco_dataset(const ConvertParams& params) {
    check_output_is_not_an_input(params);
    ConvertResult result;
    ConvertReport& report = result.report;
    LabelMap label_map = read_label_map(params);
    report.concept_name = label_map.concept_name();

    InputFormat format = resolve_input_format(params);
    report.source_format = source_format_name(source_format_of(format));
    report.output = params.output.string();

    fs::path embedded_dir;
    if (!params.output.empty())
        embedded_dir = params.output.parent_path() / (params.output.stem().string() + "_embedded_images");
    Context ctx = make_context(params, format, report.diagnostics, embedded_dir);
    std::error_code ec;
    bool mined = format == InputFormat::labelme && fs::is_regular_file(params.input / kMinedStateFile, ec);
    if (params.reviewed == ReviewedPolicy::only && format != InputFormat::labelme)
        throw Error("--reviewed only applies to LabelMe folders (the flag `reviewed` is a LabelMe flag)",
                    params.input.string());
    report.reviewed_only =
        params.reviewed == ReviewedPolicy::only || (params.reviewed == ReviewedPolicy::auto_detect && mined);
    if (mined) ctx.skip.push_back(params.input / "mining.json");  // mine's report, not a label file
    std::vector<Item> items = collect_items(ctx, format);
    sort_by_file_name(items, report.diagnostics);

    SacoBuilder builder(params, label_map, result);
    for (auto& item : items) builder.add(item);
    builder.report_labels();

    const SacoDataset& ds = result.dataset;
    report.images = ds.images.size();
    report.annotations = ds.annotations.size();
    report.positives = ds.positive_count();
    report.negatives = ds.negative_count();
    report.embedded_images = result.embedded.size();
    if (!result.embedded.empty()) report.embedded_images_dir = embedded_dir.string();
    return result;
}

ConvertReport convert_dataset(const ConvertParams& params) {
    if (params.output.empty() && !params.dry_run) throw Error("no output file given");
    ConvertResult result = build_saco_dataset(params);
    ConvertReport& report = result.report;
    if (!report.ok() || params.dry_run) return std::move(report);
    // Images first, the JSON last: a JSON on disk means everything it names was written.
    fs::path dir = report.embedded_images_dir;
    for (const auto& e : result.embedded)
        write_file_atomic(dir / e.file_name,
                          std::string_view(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size()));
    write_saco_json(result.dataset, params.output);
    report.written = true;
    return std::move(report);
}

json ConvertReport::to_json(size_t max_warnings) const {
    json j;
    j["source_format"] = source_format;
    j["concept"] = concept_name;
    j["output"] = output;
    j["written"] = written;
    j["images"] = images;
    j["positives"] = positives;
    j["negatives"] = negatives;
    j["annotations"] = annotations;
    json excl = json::object();
    for (const auto& [k, v] : excluded) excl[k] = v;
    j["excluded"] = excl;
    json ex_list = json::array();
    for (const auto& e : excluded_images) ex_list.push_back({{"file_name", e.file_name}, {"reason", e.reason}});
    j["excluded_images"] = ex_list;
    j["reviewed_only"] = reviewed_only;
    json labs = json::array();
    for (const auto& l : labels)
        labs.push_back({{"label", l.label},
                        {"role", l.role},
                        {"mapped_to", l.mapped_to},
                        {"objects", l.objects},
                        {"images", l.images}});
    j["labels"] = labs;
    j["embedded_images"] = embedded_images;
    j["embedded_images_dir"] = embedded_images_dir;
    json errors = json::array(), warnings = json::array();
    for (const auto& d : diagnostics.items()) {
        if (d.severity == Severity::error)
            errors.push_back(d.text());
        else if (warnings.size() < max_warnings)
            warnings.push_back(d.text());
    }
    j["error_count"] = diagnostics.error_count();
    j["errors"] = errors;
    j["warning_count"] = diagnostics.warning_count();
    j["warnings"] = warnings;
    return j;
}

}  // namespace chickenseg
