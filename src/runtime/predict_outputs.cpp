// Per-image outputs of `chickenseg predict` (LabelMe files, overlay pictures) and the check,
// before any work, that every output can be written.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/mask_polygons.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/data/labelme_writer.h"
#include "chickenseg/eval/overlay.h"
#include "prediction_files.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;

void check_output_file(const fs::path& file, const std::string& what) {
    std::error_code ec;
    if (fs::is_directory(file, ec)) throw Error("the " + what + " path is a folder, expected a file", file.string());
    check_writable_folder(file.parent_path(), what);
    if (fs::exists(file, ec) && ::access(file.c_str(), W_OK) != 0)
        throw Error("the " + what + " file exists and cannot be replaced: " + std::string(std::strerror(errno)),
                    file.string());
}

// Two inputs that would write the same output file.
void check_distinct(const PredictJob& job, const fs::path& dir,
                    fs::path (*path_of)(const fs::path&, const std::string&), const std::string& what) {
    std::map<fs::path, const std::string*> seen;
    for (const auto& image : job.images) {
        auto [it, added] = seen.emplace(path_of(dir, image.file), &image.file);
        if (!added)
            throw Error("images " + *it->second + " and " + image.file + " would write the same " + what + " file " +
                        it->first.string());
    }
}

const Rgb kPalette[] = {{255, 0, 255}, {0, 200, 255}, {255, 160, 0}, {60, 220, 60}, {255, 60, 60}, {160, 100, 255}};

std::string score_text(double v) { return format_fixed(v, 2); }

}  // namespace

void check_writable_folder(const fs::path& dir, const std::string& what) {
    std::error_code ec;
    if (!dir.empty() && !fs::is_directory(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec) throw Error("cannot create the " + what + " folder: " + ec.message(), dir.string());
    }
    const fs::path probe = (dir.empty() ? fs::path(".") : dir) / (".chickenseg-write-test." + std::to_string(getpid()));
    std::FILE* f = std::fopen(probe.c_str(), "wb");
    if (!f)
        throw Error("cannot write into the " + what + " folder: " + std::string(std::strerror(errno)), dir.string());
    std::fclose(f);
    fs::remove(probe, ec);
}

fs::path labelme_path(const fs::path& dir, const std::string& file) {
    fs::path rel(file);
    if (rel.is_absolute()) rel = rel.relative_path();
    return dir / rel.parent_path() / (rel.stem().string() + ".json");
}

fs::path overlay_path(const fs::path& dir, const std::string& file) {
    fs::path rel(file);
    if (rel.is_absolute()) rel = rel.relative_path();
    std::string name = rel.filename().string();
    std::string ext = rel.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext != ".jpg" && ext != ".jpeg") name += ".jpg";  // a.png -> a.png.jpg: never two inputs on one name
    return dir / rel.parent_path() / name;
}

void check_predict_outputs(const PredictJob& job, const PredictParams& p) {
    if (p.results.empty() && p.jsonl.empty() && p.labelme_dir.empty() && p.overlay_dir.empty())
        throw Error("no output asked for: give --out, --jsonl, --labelme or --overlay");
    if (!p.results.empty()) {
        check_output_file(p.results, "results");
        check_output_file(p.presence.empty() ? default_presence_path(p.results) : p.presence, "presence");
    }
    if (!p.jsonl.empty()) check_output_file(p.jsonl, "JSONL");
    if (!p.labelme_dir.empty()) {
        check_writable_folder(p.labelme_dir, "LabelMe");
        check_distinct(job, p.labelme_dir, labelme_path, "LabelMe");
    }
    if (!p.overlay_dir.empty()) {
        check_writable_folder(p.overlay_dir, "overlay");
        check_distinct(job, p.overlay_dir, overlay_path, "overlay");
    }
}

void write_labelme_record(const fs::path& json_path, const fs::path& image_path, const ImageRecord& record,
                          const LabelmeNotes& notes) {
    std::vector<LabelmeShape> shapes;
    for (const auto& pair : record.pairs)
        for (const auto& d : pair.detections) {
            if (d.mask.h == 0) continue;
            LabelmeShape shape;
            shape.label = pair.prompt;
            // The parts of one mask share a group id (the writer gives them one), so they stay
            // one instance; specks below MaskPolygonParams::min_area are left out.
            shape.polygons = rle_to_polygons(rle_decompress(d.mask));
            if (shape.polygons.empty()) continue;
            shape.description = "score " + format_fixed(d.score, 3) + notes.shape_note;
            shapes.push_back(std::move(shape));
        }
    write_labelme_file(json_path, image_path, record.width, record.height, shapes, notes.image_flags);
}

RgbImage render_overlay(const RgbImage& source, const ImageRecord& record) {
    RgbImage image = downscale_to_width(source, 1280);
    const double scale = static_cast<double>(image.width) / std::max<uint32_t>(1, source.width);
    const auto text_scale = std::max<uint32_t>(1, image.width / 400);  // 3x5 glyphs: 1 px per cell up to 800 px
    const auto line_px = static_cast<long>(7 * text_scale + 2);
    size_t colour = 0;
    std::vector<std::pair<BoxXywh, std::string>> labels;
    for (const auto& pair : record.pairs)
        for (const auto& d : pair.detections) {
            const Rgb& c = kPalette[colour++ % std::size(kPalette)];
            if (d.mask.h > 0) draw_mask(image, rle_decompress(d.mask), c, 0.4, 2);
            BoxXywh box{d.bbox[0] * scale, d.bbox[1] * scale, d.bbox[2] * scale, d.bbox[3] * scale};
            draw_box(image, box, c, std::max<uint32_t>(1, text_scale / 2));
            labels.emplace_back(box, pair.prompt + " " + score_text(d.score));
        }
    // Labels after every mask and box, so none is painted over; the header last.
    colour = 0;
    for (const auto& [box, text] : labels)
        draw_text(image, static_cast<long>(box[0]), static_cast<long>(box[1]) - line_px, text,
                  kPalette[colour++ % std::size(kPalette)], text_scale);
    long y = 0;
    for (const auto& pair : record.pairs) {
        std::string header = pair.detections.empty()
                                 ? "NO " + pair.prompt + " (presence " + score_text(pair.presence) + ")"
                                 : pair.prompt + ": " + std::to_string(pair.detections.size()) + " (presence " +
                                       score_text(pair.presence) + ")";
        draw_text(image, 0, y, header, pair.detections.empty() ? Rgb{255, 80, 80} : Rgb{255, 255, 255}, text_scale);
        y += line_px;
    }
    return image;
}

}  // namespace chickenseg
