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
        throw Error(
            "found " + std::to_string(txt_files) +
                " .txt files but no classes.txt or data.yaml at the root: pass --format yolo --classes FILE",
            input.string());
    if (txt_files == 0 && json_files == 0)
        throw Error("cannot tell the format: no .json or .txt label files; pass --format", input.string());
    throw Error("cannot tell the format: found " + std::to_string(json_files) + " .json and " +
                    std::to_string(txt_files) + " .txt files; pass --format labelme or --format yolo",
                input.string());
}

namespace {

// One image as read from the source, before label mapping.
struct Item {
    std::string file_name;  // relative to the image root
    std::string display;    // how messages name the image
    SourceFormat format = SourceFormat::yolo;
    uint32_t width = 0, height = 0;
    std::vector<SourceObject> objects;
    std::optional<std::vector<uint8_t>> embedded;  // LabelMe imageData of a missing image file
};

struct Context {
    const ConvertParams& params;
    fs::path image_root;
    Diagnostics& diagnostics;
    std::vector<fs::path> skip;  // files in the input folder that are not data (output, label map, ...)
};

std::string file_name_under_root(const Context& ctx, const fs::path& path, const std::string& display) {
    std::string rel = relative_inside(path, ctx.image_root);
    if (rel.empty()) {
        ctx.diagnostics.error("image is outside the image root " + ctx.image_root.string() +
                                  " (file_name must be relative to it; see --image-root)",
                              {display, 0, {}});
    } else if (!is_valid_utf8(rel)) {
        // JSON holds UTF-8 text only: such a name cannot be a file_name (the message shows
        // the bytes that are not UTF-8 as \xNN).
        ctx.diagnostics.error("the file name is not valid UTF-8 (a file_name must be: JSON holds UTF-8 text); "
                              "rename the file, e.g. `convmv -f latin1 -t utf8 -r --notest DIR`",
                              {display, 0, {}});
        rel.clear();
    }
    return rel;
}

std::optional<ImageInfo> image_info(const fs::path& path, Diagnostics& diagnostics) {
    try {
        return read_image_info(path);
    } catch (const Error& e) {
        diagnostics.add(e);
        return std::nullopt;
    }
}

// The warning for a declared size (LabelMe imageWidth/imageHeight, COCO width/height)
// that differs from the image's.
void check_declared_size(uint32_t declared_w, uint32_t declared_h, const ImageInfo& info,
                         const ErrorPlace& place, const char* what, Diagnostics& diagnostics) {
    if (declared_w == info.width && declared_h == info.height) return;
    std::string declared = std::to_string(declared_w) + "x" + std::to_string(declared_h);
    std::string actual = std::to_string(info.width) + "x" + std::to_string(info.height);
    if (info.exif_orientation != 1 && declared_w == info.stored_width && declared_h == info.stored_height)
        diagnostics.warn(std::string(what) + " " + declared +
                             " is the stored size of an EXIF-rotated image (orientation " +
                             std::to_string(info.exif_orientation) + ") that displays as " + actual +
                             ": the shapes may have been drawn on the unrotated image; using " + actual,
                         place);
    else
        diagnostics.warn(std::string(what) + " " + declared + " differs from the image file's size " +
                             actual + "; using " + actual,
                         place);
}

// COCO and other pixel sources: clamps polygons, checks RLE sizes; drops bad objects.
void check_pixel_objects(std::vector<SourceObject>& objects, uint32_t width, uint32_t height,
                         Diagnostics& diagnostics) {
    std::vector<SourceObject> kept;
    kept.reserve(objects.size());
    for (auto& o : objects) {
        bool good = true;
        if (o.segmentation.is_rle) {
            if (o.segmentation.rle.h != height || o.segmentation.rle.w != width) {
                diagnostics.error("RLE size [" + std::to_string(o.segmentation.rle.h) + ", " +
                                      std::to_string(o.segmentation.rle.w) + "] differs from the image's [" +
                                      std::to_string(height) + ", " + std::to_string(width) +
                                      "] (height, width)",
                                  o.place);
                good = false;
            }
        } else {
            for (auto& p : o.segmentation.polygons)
                good = good && clamp_polygon_to_image(p, width, height, o.place, diagnostics);
        }
        if (good) kept.push_back(std::move(o));
    }
    objects = std::move(kept);
}

void collect_yolo(Context& ctx, std::vector<Item>& items) {
    const ConvertParams& params = ctx.params;
    fs::path classes_path = params.classes.empty() ? find_yolo_class_file(params.input) : params.classes;
    if (classes_path.empty())
        throw Error("no YOLO class names: expected classes.txt or data.yaml at the root, or --classes FILE",
                    params.input.string());
    YoloClassNames classes = read_yolo_class_names(classes_path);
    ctx.skip.push_back(classes_path);

    DatasetFolder folder = scan_dataset_folder(params.input, ".txt", ctx.skip);
    StemPairing pairing = pair_by_stem(folder, ".txt", ctx.diagnostics);
    for (size_t l = 0; l < folder.label_files.size(); ++l)
        if (pairing.images_of_label[l].empty())
            ctx.diagnostics.error(
                "label file without image: no image named like it (looked in images/ and beside it)",
                {folder.display(folder.label_files[l]), 0, {}});

    Progress progress("reading YOLO images", folder.images.size(), params.show_progress);
    for (size_t i = 0; i < folder.images.size(); ++i) {
        progress.tick();
        Item item;
        item.format = SourceFormat::yolo;
        item.display = folder.display(folder.images[i]);
        item.file_name = file_name_under_root(ctx, params.input / folder.images[i], item.display);
        auto info = image_info(item.display, ctx.diagnostics);
        if (!info || item.file_name.empty()) continue;
        item.width = info->width;
        item.height = info->height;
        if (auto l = pairing.label_of_image[i]) {
            std::string label_display = folder.display(folder.label_files[*l]);
            std::string text;
            try {
                text = read_file(params.input / folder.label_files[*l]);
            } catch (const Error& e) {
                ctx.diagnostics.add(e);
                continue;
            }
            auto objects = parse_yolo_labels(text, label_display, classes.names.size(), ctx.diagnostics);
            item.objects = yolo_to_source_objects(objects, classes, item.width, item.height, label_display);
        }
        items.push_back(std::move(item));
    }
    progress.finish();
}

void collect_labelme(Context& ctx, std::vector<Item>& items) {
    const ConvertParams& params = ctx.params;
    DatasetFolder folder = scan_dataset_folder(params.input, ".json", ctx.skip);
    StemPairing pairing = pair_by_stem(folder, ".json", ctx.diagnostics);
    std::unordered_map<std::string, size_t> image_index;
    for (size_t i = 0; i < folder.images.size(); ++i) image_index.emplace(folder.images[i], i);

    // Which label file each image belongs to, by imagePath (or by name when imagePath is stale).
    std::vector<std::optional<size_t>> label_of_image(folder.images.size());
    std::vector<std::optional<LabelMeFile>> files(folder.label_files.size());
    struct Embedded {
        size_t label;
        std::string rel;  // file_name relative to the input folder
    };
    std::vector<Embedded> embedded;

    Progress progress("reading LabelMe files", folder.label_files.size() + folder.images.size(),
                      params.show_progress);
    for (size_t l = 0; l < folder.label_files.size(); ++l) {
        progress.tick();
        const std::string& rel_json = folder.label_files[l];
        std::string display = folder.display(rel_json);
        files[l] = read_labelme_file(params.input / rel_json, display, ctx.diagnostics);
        if (!files[l]) continue;
        const LabelMeFile& lm = *files[l];

        std::string target;  // imagePath resolved, relative to the input folder
        if (!lm.image_path.empty()) {
            fs::path resolved =
                (params.input / fs::path(rel_json).parent_path() / lm.image_path).lexically_normal();
            target = relative_inside(resolved, params.input);
            // "C:/..." (LabelMe on Windows) is absolute too, though not to Linux.
            bool drive = lm.image_path.size() >= 2 &&
                         std::isalpha(static_cast<unsigned char>(lm.image_path[0])) &&
                         lm.image_path[1] == ':';
            if (target.empty() || drive || fs::path(lm.image_path).is_absolute()) {
                ctx.diagnostics.error("imagePath \"" + lm.image_path +
                                          "\" points outside the dataset folder " + params.input.string() +
                                          " (it is resolved relative to the JSON file)",
                                      {display, 0, "imagePath"});
                continue;
            }
        }
        std::optional<size_t> image;
        if (!target.empty()) {
            if (auto it = image_index.find(target); it != image_index.end()) image = it->second;
        }
        if (!image && pairing.images_of_label[l].size() == 1) {
            image = pairing.images_of_label[l].front();
            if (!lm.image_path.empty())
                ctx.diagnostics.warn("imagePath \"" + lm.image_path + "\" not found; using " +
                                         folder.display(folder.images[*image]) + " (same name)",
                                     {display, 0, "imagePath"});
        }
        if (image) {
            if (label_of_image[*image]) {
                ctx.diagnostics.error("several label files name the same image " +
                                          folder.display(folder.images[*image]) + ": " +
                                          folder.display(folder.label_files[*label_of_image[*image]]) +
                                          " and " + display,
                                      {display, 0, "imagePath"});
                continue;
            }
            label_of_image[*image] = l;
            continue;
        }
        if (!lm.image_data.empty()) {
            if (target.empty()) target = fs::path(rel_json).replace_extension().generic_string();
            embedded.push_back({l, target});
            continue;
        }
        ctx.diagnostics.error("label file without image: " +
                                  (lm.image_path.empty() ? std::string("no imagePath")
                                                         : "imagePath \"" + lm.image_path + "\" not found") +
                                  ", no image named like it and no imageData",
                              {display, 0, "imagePath"});
    }

    auto add_item = [&](Item item, const std::optional<size_t>& label, const ImageInfo& info) {
        item.width = info.width;
        item.height = info.height;
        if (label && files[*label]) {
            const LabelMeFile& lm = *files[*label];
            std::string display = folder.display(folder.label_files[*label]);
            if (lm.image_width && lm.image_height)
                check_declared_size(*lm.image_width, *lm.image_height, info,
                                    {display, 0, "imageWidth/imageHeight"}, "imageWidth x imageHeight",
                                    ctx.diagnostics);
            item.objects = labelme_to_source_objects(lm, item.width, item.height, display, ctx.diagnostics);
        }
        items.push_back(std::move(item));
    };

    for (size_t i = 0; i < folder.images.size(); ++i) {
        progress.tick();
        Item item;
        item.format = SourceFormat::labelme;
        item.display = folder.display(folder.images[i]);
        if (!label_of_image[i] && pairing.label_of_image[i]) {
            // Its namesake label file names another image: the two images collide.
            size_t l = *pairing.label_of_image[i];
            if (pairing.images_of_label[l].size() == 1 && files[l])
                ctx.diagnostics.error("image has the name of label file " +
                                          folder.display(folder.label_files[l]) +
                                          " but that file's imagePath names \"" + files[l]->image_path +
                                          "\"; rename one of them",
                                      {item.display, 0, {}});
            continue;
        }
        item.file_name = file_name_under_root(ctx, params.input / folder.images[i], item.display);
        auto info = image_info(item.display, ctx.diagnostics);
        if (!info || item.file_name.empty()) continue;
        add_item(std::move(item), label_of_image[i], *info);
    }

    for (const auto& e : embedded) {
        const LabelMeFile& lm = *files[e.label];
        std::string display = folder.display(folder.label_files[e.label]);
        Item item;
        item.format = SourceFormat::labelme;
        item.display = display + " (imageData)";
        std::vector<uint8_t> bytes;
        ImageInfo info;
        try {
            bytes = base64_decode(lm.image_data, {display, 0, "imageData"});
            info = read_image_info(bytes, display + ": imageData");
        } catch (const Error& err) {
            ctx.diagnostics.add(err);
            continue;
        }
        std::string rel = e.rel;
        if (!has_image_extension(rel)) rel += std::string(".") + image_format_extension(info.format);
        item.file_name = file_name_under_root(ctx, params.input / rel, display);
        if (item.file_name.empty()) continue;
        ctx.diagnostics.warn(
            "image file " + (lm.image_path.empty() ? rel : lm.image_path) +
                " not found: using the image embedded in imageData (written out with the output)",
            {display, 0, "imageData"});
        item.embedded = std::move(bytes);
        add_item(std::move(item), e.label, info);
    }
    progress.finish();
}

void collect_coco(Context& ctx, std::vector<Item>& items) {
    const ConvertParams& params = ctx.params;
    std::string display = params.input.string();
    auto coco = read_coco_file(params.input, display, ctx.diagnostics);
    if (!coco) return;
    Progress progress("reading COCO images", coco->images.size(), params.show_progress);
    for (auto& entry : coco->images) {
        progress.tick();
        Item item;
        item.format = SourceFormat::coco;
        fs::path path = (ctx.image_root / entry.file_name).lexically_normal();
        item.display = path.generic_string();
        if (fs::path(entry.file_name).is_absolute() || relative_inside(path, ctx.image_root).empty()) {
            ctx.diagnostics.error("file_name \"" + entry.file_name + "\" points outside the image root " +
                                      ctx.image_root.string(),
                                  {display, 0, json_key(entry.path, "file_name")});
            continue;
        }
        item.file_name = relative_inside(path, ctx.image_root);
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            ctx.diagnostics.error(
                "image file not found: " + path.string() + " (file_name is relative to --image-root)",
                {display, 0, json_key(entry.path, "file_name")});
            continue;
        }
        auto info = image_info(path, ctx.diagnostics);
        if (!info) continue;
        item.width = info->width;
        item.height = info->height;
        check_declared_size(entry.width, entry.height, *info, {display, 0, entry.path}, "width x height",
                            ctx.diagnostics);
        check_pixel_objects(entry.objects, item.width, item.height, ctx.diagnostics);
        item.objects = std::move(entry.objects);
        items.push_back(std::move(item));
    }
    progress.finish();
}

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
        if (!in.empty() && fs::exists(in, ec) && fs::exists(params.output, ec) &&
            fs::equivalent(in, params.output, ec))
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
            "(choose an --output outside the dataset)",
            params.output.string());
}

}  // namespace

ConvertResult build_saco_dataset(const ConvertParams& params) {
    check_output_is_not_an_input(params);
    ConvertResult result;
    ConvertReport& report = result.report;
    Diagnostics& diagnostics = report.diagnostics;

    // The concept and the label map.
    std::string concept_name = params.concept_name.empty() ? "chicken" : params.concept_name;
    if (!is_valid_utf8(concept_name))
        throw Error("the concept name \"" + concept_name + "\" is not valid UTF-8 (it becomes every image's text_input)");
    LabelMap label_map(concept_name);
    if (!params.label_map.empty()) {
        label_map = LabelMap::read(params.label_map, concept_name);
        if (!params.concept_name.empty() && label_map.concept_from_file() &&
            label_map.concept_name() != params.concept_name)
            throw Error("the label map's concept \"" + label_map.concept_name() +
                            "\" contradicts --concept \"" + params.concept_name + "\"",
                        params.label_map.string(), 0, "concept");
    }
    concept_name = label_map.concept_name();
    if (normalize_label(concept_name).empty()) throw Error("the concept must not be empty");
    report.concept_name = concept_name;

    InputFormat format =
        params.format == InputFormat::auto_detect ? detect_input_format(params.input) : params.format;
    std::error_code ec;
    if (format == InputFormat::coco ? !fs::is_regular_file(params.input, ec)
                                    : !fs::is_directory(params.input, ec))
        throw Error(format == InputFormat::coco ? "expected a COCO .json file" : "expected a dataset folder",
                    params.input.string());
    SourceFormat source = format == InputFormat::coco   ? SourceFormat::coco
                          : format == InputFormat::yolo ? SourceFormat::yolo
                                                        : SourceFormat::labelme;
    report.source_format = source_format_name(source);
    report.output = params.output.string();

    Context ctx{params, params.image_root, diagnostics, {}};
    if (ctx.image_root.empty())
        ctx.image_root = format == InputFormat::coco ? params.input.parent_path() : params.input;
    if (ctx.image_root.empty()) ctx.image_root = ".";
    if (!fs::is_directory(ctx.image_root, ec))
        throw Error("image root is not a folder", ctx.image_root.string());
    fs::path embedded_dir;
    if (!params.output.empty()) {
        embedded_dir = params.output.parent_path() / (params.output.stem().string() + "_embedded_images");
        ctx.skip = {params.output, embedded_dir};
    }
    if (!params.label_map.empty()) ctx.skip.push_back(params.label_map);

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

    // Ids follow file_name order; two images with one file_name cannot both stay.
    std::stable_sort(items.begin(), items.end(),
                     [](const Item& a, const Item& b) { return a.file_name < b.file_name; });
    for (size_t i = 1; i < items.size(); ++i)
        if (items[i].file_name == items[i - 1].file_name)
            diagnostics.error("several images map to the same file_name \"" + items[i].file_name +
                                  "\": " + items[i - 1].display + " and " + items[i].display,
                              {items[i].display, 0, {}});

    std::map<std::string, LabelTally> tallies;
    SacoDataset& ds = result.dataset;
    ds.top["chickenseg"] = {
        {"schema", kSacoSchema}, {"concept", concept_name}, {"source_format", report.source_format}};
    ds.categories.push_back({1, concept_name, json::object()});

    for (auto& item : items) {
        bool negative_folder = in_negative_folder(item.file_name, concept_name);
        std::set<std::string> labels_here;
        std::optional<std::string> exclusion_kind, exclusion_reason;
        std::vector<const SourceObject*> keep;
        size_t concept_in_negative = 0;
        for (const auto& o : item.objects) {
            LabelTally& t = tallies[o.label];
            t.role = label_map.classify(o.label);
            ++t.objects;
            labels_here.insert(o.label);
            if (negative_folder) {
                concept_in_negative += t.role == LabelRole::concept_label;
                continue;
            }
            switch (t.role) {
                case LabelRole::concept_label:
                    keep.push_back(&o);
                    break;
                case LabelRole::background:
                    break;
                case LabelRole::ambiguous:
                    if (!exclusion_kind) {
                        exclusion_kind = "ambiguous_label";
                        exclusion_reason = "ambiguous label \"" + o.label + "\"";
                    }
                    break;
                case LabelRole::unknown:
                    if (params.unknown_labels == UnknownLabelPolicy::exclude && !exclusion_kind) {
                        exclusion_kind = "unknown_label";
                        exclusion_reason = "unknown label \"" + o.label + "\"";
                    } else if (params.unknown_labels == UnknownLabelPolicy::error &&
                               t.first_places.size() < 3) {
                        t.first_places.push_back(place_text(o.place));
                    }
                    break;
            }
        }
        for (const auto& l : labels_here) ++tallies[l].images;
        if (concept_in_negative)
            diagnostics.warn("image is in a not_" + concept_name + " folder but has " +
                                 std::to_string(concept_in_negative) +
                                 " object(s) labelled as the concept: kept as a negative, objects dropped",
                             {item.display, 0, {}});
        if (exclusion_kind) {
            report.excluded[*exclusion_kind]++;
            report.excluded_images.push_back({item.file_name, *exclusion_reason});
            continue;
        }

        SacoImage im;
        im.id = static_cast<int64_t>(ds.images.size()) + 1;
        im.file_name = item.file_name;
        im.width = item.width;
        im.height = item.height;
        im.text_input = concept_name;
        im.is_instance_exhaustive = 1;
        im.extra = {{"source", source_format_name(item.format)}};
        for (const SourceObject* o : keep) {
            SacoAnnotation a;
            a.segmentation = o->segmentation;
            a.iscrowd = o->iscrowd;
            try {
                Rle rle = segmentation_to_rle(a.segmentation, im.height, im.width);
                a.area = static_cast<double>(rle_area(rle));
                if (a.area == 0) {
                    diagnostics.warn("object covers no pixel (zero area): dropped", o->place);
                    continue;
                }
                a.bbox = a.segmentation.is_rle ? rle_to_bbox(rle) : polygons_bbox(a.segmentation.polygons);
            } catch (const Error& e) {
                diagnostics.error(e.message(), o->place);
                continue;
            }
            a.id = static_cast<int64_t>(ds.annotations.size()) + 1;
            a.image_id = im.id;
            a.category_id = 1;
            ds.annotations.push_back(std::move(a));
        }
        if (item.embedded) result.embedded.push_back({item.file_name, std::move(*item.embedded)});
        ds.images.push_back(std::move(im));
    }

    for (const auto& [label, t] : tallies) {
        LabelCount c;
        c.label = label;
        c.role = label_role_name(t.role);
        c.objects = t.objects;
        c.images = t.images;
        switch (t.role) {
            case LabelRole::concept_label:
                c.mapped_to = concept_name;
                break;
            case LabelRole::background:
                c.mapped_to = "background";
                break;
            case LabelRole::ambiguous:
                c.mapped_to = "excluded";
                break;
            case LabelRole::unknown:
                c.mapped_to = params.unknown_labels == UnknownLabelPolicy::background ? "background"
                              : params.unknown_labels == UnknownLabelPolicy::exclude  ? "excluded"
                                                                                      : "error";
                break;
        }
        report.labels.push_back(c);
        if (t.role == LabelRole::unknown && params.unknown_labels == UnknownLabelPolicy::error &&
            !t.first_places.empty()) {
            std::string where;
            for (const auto& p : t.first_places) where += (where.empty() ? "" : ", ") + p;
            diagnostics.error("unknown label \"" + label + "\": " + std::to_string(t.objects) +
                                  " object(s) in " + std::to_string(t.images) + " image(s), first at " +
                                  where +
                                  ". Map it in a --label-map (synonyms, background or ambiguous) or pass "
                                  "--unknown-labels background|exclude",
                              {});
        }
    }

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
    for (const auto& e : excluded_images)
        ex_list.push_back({{"file_name", e.file_name}, {"reason", e.reason}});
    j["excluded_images"] = ex_list;
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
