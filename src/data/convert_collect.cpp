// Reading each source format (YOLO, LabelMe, COCO) into the Items that convert.cpp maps
// into SA-Co; image paths, sizes and pixel checks are settled here.
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "chickenseg/core/base64.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/data/coco_reader.h"
#include "chickenseg/data/dataset_layout.h"
#include "chickenseg/data/labelme_reader.h"
#include "chickenseg/data/yolo_reader.h"
#include "convert_internal.h"

namespace chickenseg::convert_internal {

namespace fs = std::filesystem;

namespace {

std::string file_name_under_root(const Context& ctx, const fs::path& path, const std::string& display) {
    std::string rel = relative_inside(path, ctx.image_root);
    if (rel.empty()) {
        ctx.diagnostics.error("image is outside the image root " + ctx.image_root.string() +
                                  " (file_name must be relative to it; see --image-root)",
                              {display, 0, {}});
    } else if (!is_valid_utf8(rel)) {
        // JSON holds UTF-8 text only: such a name cannot be a file_name (the message shows
        // the bytes that are not UTF-8 as \xNN).
        ctx.diagnostics.error(
            "the file name is not valid UTF-8 (a file_name must be: JSON holds UTF-8 text); "
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
void check_declared_size(uint32_t declared_w, uint32_t declared_h, const ImageInfo& info, const ErrorPlace& place,
                         const char* what, Diagnostics& diagnostics) {
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
        diagnostics.warn(
            std::string(what) + " " + declared + " differs from the image file's size " + actual + "; using " + actual,
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
                                      std::to_string(height) + ", " + std::to_string(width) + "] (height, width)",
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

}  // namespace

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
            ctx.diagnostics.error("label file without image: no image named like it (looked in images/ and beside it)",
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

namespace {

// LabelMe pairs a label file with its image by imagePath, not only by name, and may carry
// the image itself (imageData); the steps below share what the first pass learns.
class LabelMeCollector {
public:
    LabelMeCollector(Context& ctx, std::vector<Item>& items)
        : ctx_(ctx),
          items_(items),
          folder_(scan_dataset_folder(ctx.params.input, ".json", ctx.skip)),
          pairing_(pair_by_stem(folder_, ".json", ctx.diagnostics)),
          label_of_image_(folder_.images.size()),
          files_(folder_.label_files.size()) {
        for (size_t i = 0; i < folder_.images.size(); ++i) image_index_.emplace(folder_.images[i], i);
    }

    size_t label_file_count() const { return folder_.label_files.size(); }
    size_t image_count() const { return folder_.images.size(); }

    // First pass: which image each label file belongs to (by imagePath, or by name when
    // imagePath is stale); label files with only imageData are kept for the last pass.
    void read_label_file(size_t l) {
        const fs::path& input = ctx_.params.input;
        const std::string& rel_json = folder_.label_files[l];
        std::string display = folder_.display(rel_json);
        files_[l] = read_labelme_file(input / rel_json, display, ctx_.diagnostics);
        if (!files_[l]) return;
        const LabelMeFile& lm = *files_[l];

        std::string target;  // imagePath resolved, relative to the input folder
        if (!lm.image_path.empty() && !resolve_image_path(lm, rel_json, display, target)) return;
        std::optional<size_t> image;
        if (!target.empty()) {
            if (auto it = image_index_.find(target); it != image_index_.end()) image = it->second;
        }
        if (!image && pairing_.images_of_label[l].size() == 1) {
            image = pairing_.images_of_label[l].front();
            if (!lm.image_path.empty())
                ctx_.diagnostics.warn("imagePath \"" + lm.image_path + "\" not found; using " +
                                          folder_.display(folder_.images[*image]) + " (same name)",
                                      {display, 0, "imagePath"});
        }
        if (image) {
            claim_image(*image, l, display);
            return;
        }
        if (!lm.image_data.empty()) {
            if (target.empty()) target = fs::path(rel_json).replace_extension().generic_string();
            embedded_.push_back({l, target});
            return;
        }
        ctx_.diagnostics.error("label file without image: " +
                                   (lm.image_path.empty() ? std::string("no imagePath")
                                                          : "imagePath \"" + lm.image_path + "\" not found") +
                                   ", no image named like it and no imageData",
                               {display, 0, "imagePath"});
    }

    // Second pass: every image file in the folder, with the label file that claimed it.
    void add_folder_image(size_t i) {
        Item item;
        item.format = SourceFormat::labelme;
        item.display = folder_.display(folder_.images[i]);
        if (!label_of_image_[i] && pairing_.label_of_image[i]) {
            // Its namesake label file names another image: the two images collide.
            size_t l = *pairing_.label_of_image[i];
            if (pairing_.images_of_label[l].size() == 1 && files_[l])
                ctx_.diagnostics.error("image has the name of label file " + folder_.display(folder_.label_files[l]) +
                                           " but that file's imagePath names \"" + files_[l]->image_path +
                                           "\"; rename one of them",
                                       {item.display, 0, {}});
            return;
        }
        item.file_name = file_name_under_root(ctx_, ctx_.params.input / folder_.images[i], item.display);
        auto info = image_info(item.display, ctx_.diagnostics);
        if (!info || item.file_name.empty()) return;
        add_item(std::move(item), label_of_image_[i], *info);
    }

    // Last pass: label files whose image exists only as imageData; it is written out with
    // the output, so it needs a file_name of its own.
    void add_embedded_images() {
        for (const auto& e : embedded_) add_embedded_image(e);
    }

private:
    struct Embedded {
        size_t label;
        std::string rel;  // file_name relative to the input folder
    };

    // imagePath is resolved relative to the JSON file and must stay inside the dataset;
    // false (with the error given) when it does not.
    bool resolve_image_path(const LabelMeFile& lm, const std::string& rel_json, const std::string& display,
                            std::string& target) {
        const fs::path& input = ctx_.params.input;
        fs::path resolved = (input / fs::path(rel_json).parent_path() / lm.image_path).lexically_normal();
        target = relative_inside(resolved, input);
        // "C:/..." (LabelMe on Windows) is absolute too, though not to Linux.
        bool drive = lm.image_path.size() >= 2 && std::isalpha(static_cast<unsigned char>(lm.image_path[0])) &&
                     lm.image_path[1] == ':';
        if (target.empty() || drive || fs::path(lm.image_path).is_absolute()) {
            ctx_.diagnostics.error("imagePath \"" + lm.image_path + "\" points outside the dataset folder " +
                                       input.string() + " (it is resolved relative to the JSON file)",
                                   {display, 0, "imagePath"});
            return false;
        }
        return true;
    }

    // One image, one label file: a second claimant is an error, not a silent overwrite.
    void claim_image(size_t image, size_t l, const std::string& display) {
        if (label_of_image_[image]) {
            ctx_.diagnostics.error("several label files name the same image " + folder_.display(folder_.images[image]) +
                                       ": " + folder_.display(folder_.label_files[*label_of_image_[image]]) + " and " +
                                       display,
                                   {display, 0, "imagePath"});
            return;
        }
        label_of_image_[image] = l;
    }

    void add_embedded_image(const Embedded& e) {
        const LabelMeFile& lm = *files_[e.label];
        std::string display = folder_.display(folder_.label_files[e.label]);
        Item item;
        item.format = SourceFormat::labelme;
        item.display = display + " (imageData)";
        std::vector<uint8_t> bytes;
        ImageInfo info;
        try {
            bytes = base64_decode(lm.image_data, {display, 0, "imageData"});
            info = read_image_info(bytes, display + ": imageData");
        } catch (const Error& err) {
            ctx_.diagnostics.add(err);
            return;
        }
        std::string rel = e.rel;
        if (!has_image_extension(rel)) rel += std::string(".") + image_format_extension(info.format);
        item.file_name = file_name_under_root(ctx_, ctx_.params.input / rel, display);
        if (item.file_name.empty()) return;
        ctx_.diagnostics.warn("image file " + (lm.image_path.empty() ? rel : lm.image_path) +
                                  " not found: using the image embedded in imageData (written out with the output)",
                              {display, 0, "imageData"});
        item.embedded = std::move(bytes);
        add_item(std::move(item), e.label, info);
    }

    // The image file's size wins over the declared one (which only warns), and the shapes
    // are converted against it.
    void add_item(Item item, const std::optional<size_t>& label, const ImageInfo& info) {
        item.width = info.width;
        item.height = info.height;
        if (label && files_[*label]) {
            const LabelMeFile& lm = *files_[*label];
            std::string display = folder_.display(folder_.label_files[*label]);
            if (lm.image_width && lm.image_height)
                check_declared_size(*lm.image_width, *lm.image_height, info, {display, 0, "imageWidth/imageHeight"},
                                    "imageWidth x imageHeight", ctx_.diagnostics);
            item.objects = labelme_to_source_objects(lm, item.width, item.height, display, ctx_.diagnostics);
            item.reviewed = lm.reviewed;
        }
        items_.push_back(std::move(item));
    }

    Context& ctx_;
    std::vector<Item>& items_;
    DatasetFolder folder_;
    StemPairing pairing_;
    std::unordered_map<std::string, size_t> image_index_;
    std::vector<std::optional<size_t>> label_of_image_;
    std::vector<std::optional<LabelMeFile>> files_;
    std::vector<Embedded> embedded_;
};

}  // namespace

void collect_labelme(Context& ctx, std::vector<Item>& items) {
    LabelMeCollector collector(ctx, items);
    Progress progress("reading LabelMe files", collector.label_file_count() + collector.image_count(),
                      ctx.params.show_progress);
    for (size_t l = 0; l < collector.label_file_count(); ++l) {
        progress.tick();
        collector.read_label_file(l);
    }
    for (size_t i = 0; i < collector.image_count(); ++i) {
        progress.tick();
        collector.add_folder_image(i);
    }
    collector.add_embedded_images();
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
            ctx.diagnostics.error(
                "file_name \"" + entry.file_name + "\" points outside the image root " + ctx.image_root.string(),
                {display, 0, json_key(entry.path, "file_name")});
            continue;
        }
        item.file_name = relative_inside(path, ctx.image_root);
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            ctx.diagnostics.error("image file not found: " + path.string() + " (file_name is relative to --image-root)",
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

}  // namespace chickenseg::convert_internal
