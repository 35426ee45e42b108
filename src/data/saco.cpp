#include "chickenseg/data/saco.h"

#include <cmath>
#include <vector>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "core/id_index.h"
#include "saco_scanner.h"

namespace chickenseg {

void check_saco_ids(const SacoDataset& ds, const std::string& file) {
    std::vector<int64_t> ids;
    ids.reserve(ds.images.size());
    for (const auto& im : ds.images) ids.push_back(im.id);
    IdIndex index(ids);
    if (auto d = index.duplicate())
        throw Error("duplicate image id " + std::to_string(ds.images[d->second].id) + " (also images[" +
                        std::to_string(d->first) +
                        "].id): every (image, noun phrase) pair needs its own id; `chickenseg data validate` "
                        "lists every problem",
                    file, 0, json_key(json_index(saco_field::images, d->second), saco_field::id));
    for (size_t i = 0; i < ds.annotations.size(); ++i)
        if (!index.contains(ds.annotations[i].image_id))
            throw Error("image_id " + std::to_string(ds.annotations[i].image_id) +
                            " names no image of this file (its image would be taken for a negative); "
                            "`chickenseg data validate` lists every problem",
                        file, 0, json_key(json_index(saco_field::annotations, i), saco_field::image_id));
}

std::unordered_map<int64_t, size_t> SacoDataset::annotation_counts() const {
    std::unordered_map<int64_t, size_t> counts;
    for (const auto& im : images) counts[im.id];
    for (const auto& a : annotations)
        if (!a.iscrowd) counts[a.image_id]++;
    return counts;
}

size_t SacoDataset::positive_count() const {
    size_t n = 0;
    for (const auto& [id, c] : annotation_counts()) n += c > 0;
    return n;
}

size_t SacoDataset::negative_count() const { return images.size() - positive_count(); }

namespace {

json take_extra(const json& obj, std::initializer_list<const char*> known) {
    json extra = json::object();
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool is_known = false;
        for (const char* k : known) is_known |= it.key() == k;
        if (!is_known) extra[it.key()] = it.value();
    }
    return extra;
}

int require_flag(const json& obj, const char* key, const std::string& path, const std::string& file) {
    long long v = require_json_integer(obj, key, path, file);
    if (v != 0 && v != 1) throw Error("expected 0 or 1, found " + std::to_string(v), file, 0, json_key(path, key));
    return static_cast<int>(v);
}

uint32_t require_dim(const json& obj, const char* key, const std::string& path, const std::string& file) {
    long long v = require_json_integer(obj, key, path, file);
    if (v <= 0 || v > kMaxImageSide)
        throw Error("expected a positive pixel size, found " + std::to_string(v), file, 0, json_key(path, key));
    return static_cast<uint32_t>(v);
}

}  // namespace

Segmentation segmentation_from_json(const json& seg, uint32_t height, uint32_t width, const std::string& path,
                                    const std::string& file) {
    Segmentation out;
    if (seg.is_array()) {
        for (size_t i = 0; i < seg.size(); ++i) {
            const json& poly = seg[i];
            std::string ppath = json_index(path, i);
            if (!poly.is_array())
                throw Error("expected a polygon (list of numbers), found " + poly.dump(), file, 0, ppath);
            Polygon p;
            p.reserve(poly.size());
            for (size_t k = 0; k < poly.size(); ++k) {
                if (!poly[k].is_number())
                    throw Error("expected a number, found " + poly[k].dump(), file, 0, json_index(ppath, k));
                double v = poly[k].get<double>();
                // rle_from_polygon refuses these too, but without the file and JSON path.
                if (!(std::abs(v) <= kMaxPolygonCoordinate))
                    throw Error("expected a pixel coordinate within +-1e7, found " + poly[k].dump(), file, 0,
                                json_index(ppath, k));
                p.push_back(v);
            }
            if (p.size() % 2)
                throw Error(
                    "expected x, y pairs (an even number of values), found " + std::to_string(p.size()) + " values",
                    file, 0, ppath);
            out.polygons.push_back(std::move(p));
        }
        return out;
    }
    if (seg.is_object()) {
        out.is_rle = true;
        const json& size = require_field(seg, saco_field::size, path, file);
        auto is_dim = [](const json& v) {
            return v.is_number_integer() && v.get<long long>() > 0 && v.get<long long>() <= kMaxImageSide;
        };
        if (!size.is_array() || size.size() != 2 || !is_dim(size[0]) || !is_dim(size[1]))
            throw Error(
                "expected [height, width] in pixels (1.." + std::to_string(kMaxImageSide) + "), found " + size.dump(),
                file, 0, json_key(path, saco_field::size));
        uint32_t h = size[0].get<uint32_t>(), w = size[1].get<uint32_t>();
        if (height && width && (h != height || w != width))
            throw Error("RLE size [" + std::to_string(h) + ", " + std::to_string(w) + "] does not match the image (" +
                            std::to_string(height) + ", " + std::to_string(width) + ")",
                        file, 0, json_key(path, saco_field::size));
        const json& counts = require_field(seg, saco_field::counts, path, file);
        try {
            if (counts.is_string()) {
                out.rle = CompressedRle(h, w, counts.get<std::string>());
                rle_check_string(out.rle.counts(), h, w);
            } else if (counts.is_array()) {
                out.rle_uncompressed = true;
                Rle runs{h, w, {}};
                for (const auto& c : counts) {
                    // JSON integers may pass 2^32; a silent truncation would shift every later run.
                    if (!c.is_number_integer() || c.get<long long>() < 0 || c.get<unsigned long long>() > 0xFFFFFFFFull)
                        throw Error("expected run lengths in 0..4294967295, found " + c.dump());
                    runs.counts.push_back(c.get<uint32_t>());
                }
                rle_check(runs);
                out.rle = rle_compress(runs);
            } else {
                throw Error("expected a string or a list of run lengths, found " + counts.dump());
            }
        } catch (const Error& e) {
            throw Error(e.message(), file, 0, json_key(path, saco_field::counts));
        }
        return out;
    }
    throw Error("expected polygons [[x1,y1,...],...] or RLE {size, counts}, found " + std::string(seg.type_name()),
                file, 0, path);
}

json segmentation_to_json(const Segmentation& seg) {
    if (!seg.is_rle) {
        json polys = json::array();
        for (const auto& p : seg.polygons) polys.push_back(p);
        return polys;
    }
    json out;
    out[saco_field::size] = {seg.rle.h, seg.rle.w};
    if (seg.rle_uncompressed)
        out[saco_field::counts] = rle_decompress(seg.rle).counts;
    else
        out[saco_field::counts] = seg.rle.counts();
    return out;
}

Rle segmentation_to_rle(const Segmentation& seg, uint32_t height, uint32_t width) {
    if (seg.is_rle) return rle_decompress(seg.rle);
    return rle_from_polygons(seg.polygons, height, width);
}

SacoDataset saco_from_json(const json& doc, const std::string& file) {
    if (!doc.is_object()) throw Error("expected a JSON object with images, annotations, categories", file);
    SacoDataset ds;
    ds.top = take_extra(doc, {saco_field::images, saco_field::annotations, saco_field::categories});

    const json& images = require_field(doc, saco_field::images, "", file);
    if (!images.is_array()) throw Error("expected a list", file, 0, saco_field::images);
    std::unordered_map<int64_t, std::pair<uint32_t, uint32_t>> sizes;
    ds.images.reserve(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
        const json& j = images[i];
        std::string path = json_index(saco_field::images, i);
        SacoImage im;
        im.id = require_json_integer(j, saco_field::id, path, file);
        im.file_name = require_string(j, saco_field::file_name, path, file);
        im.width = require_dim(j, saco_field::width, path, file);
        im.height = require_dim(j, saco_field::height, path, file);
        if (auto it = j.find(saco_field::text_input); it != j.end()) {
            if (!it->is_string()) throw Error("expected a string", file, 0, json_key(path, saco_field::text_input));
            im.text_input = it->get<std::string>();
        }
        if (j.contains(saco_field::is_instance_exhaustive))
            im.is_instance_exhaustive = require_flag(j, saco_field::is_instance_exhaustive, path, file);
        im.extra = take_extra(j, {saco_field::id, saco_field::file_name, saco_field::width, saco_field::height,
                                  saco_field::text_input, saco_field::is_instance_exhaustive});
        sizes[im.id] = {im.height, im.width};
        ds.images.push_back(std::move(im));
    }

    const json& anns = require_field(doc, saco_field::annotations, "", file);
    if (!anns.is_array()) throw Error("expected a list", file, 0, saco_field::annotations);
    ds.annotations.reserve(anns.size());
    for (size_t i = 0; i < anns.size(); ++i) {
        const json& j = anns[i];
        std::string path = json_index(saco_field::annotations, i);
        SacoAnnotation a;
        a.id = require_json_integer(j, saco_field::id, path, file);
        a.image_id = require_json_integer(j, saco_field::image_id, path, file);
        if (j.contains(saco_field::category_id))
            a.category_id = require_json_integer(j, saco_field::category_id, path, file);
        uint32_t h = 0, w = 0;
        if (auto it = sizes.find(a.image_id); it != sizes.end()) std::tie(h, w) = it->second;
        a.segmentation = segmentation_from_json(require_field(j, saco_field::segmentation, path, file), h, w,
                                                json_key(path, saco_field::segmentation), file);
        if (j.contains(saco_field::bbox)) {
            const json& b = j[saco_field::bbox];
            if (!b.is_array() || b.size() != 4)
                throw Error("expected [x, y, w, h], found " + b.dump(), file, 0, json_key(path, saco_field::bbox));
            for (size_t k = 0; k < 4; ++k) {
                if (!b[k].is_number())
                    throw Error("expected a number, found " + b[k].dump(), file, 0,
                                json_index(json_key(path, saco_field::bbox), k));
                a.bbox[k] = b[k].get<double>();
            }
        }
        if (j.contains(saco_field::area)) a.area = require_number(j, saco_field::area, path, file);
        if (j.contains(saco_field::iscrowd)) a.iscrowd = require_flag(j, saco_field::iscrowd, path, file);
        a.extra = take_extra(j, {saco_field::id, saco_field::image_id, saco_field::category_id,
                                 saco_field::segmentation, saco_field::bbox, saco_field::area, saco_field::iscrowd});
        ds.annotations.push_back(std::move(a));
    }

    if (doc.contains(saco_field::categories)) {
        const json& cats = doc[saco_field::categories];
        if (!cats.is_array()) throw Error("expected a list", file, 0, saco_field::categories);
        for (size_t i = 0; i < cats.size(); ++i) {
            std::string path = json_index(saco_field::categories, i);
            SacoCategory c;
            c.id = require_json_integer(cats[i], saco_field::id, path, file);
            c.name = require_string(cats[i], saco_field::name, path, file);
            c.extra = take_extra(cats[i], {saco_field::id, saco_field::name});
            ds.categories.push_back(std::move(c));
        }
    }
    return ds;
}

SacoDataset saco_from_text(std::string_view text, const std::string& file) {
    if (auto fast = detail::scan_saco(text)) return std::move(*fast);
    return saco_from_json(parse_json_text(text, file), file);
}

SacoDataset read_saco_json(const std::filesystem::path& path) {
    MappedFile file(path);
    return saco_from_text(file.view(), path.string());
}

json saco_to_json(const SacoDataset& ds) {
    // ordered_json keeps a readable field order; values are plain json.
    json doc = ds.top;
    json images = json::array();
    for (const auto& im : ds.images) {
        json j = im.extra;
        j[saco_field::id] = im.id;
        j[saco_field::file_name] = im.file_name;
        j[saco_field::width] = im.width;
        j[saco_field::height] = im.height;
        j[saco_field::text_input] = im.text_input;
        j[saco_field::is_instance_exhaustive] = im.is_instance_exhaustive;
        images.push_back(std::move(j));
    }
    json anns = json::array();
    for (const auto& a : ds.annotations) {
        json j = a.extra;
        j[saco_field::id] = a.id;
        j[saco_field::image_id] = a.image_id;
        j[saco_field::category_id] = a.category_id;
        j[saco_field::segmentation] = segmentation_to_json(a.segmentation);
        j[saco_field::bbox] = a.bbox;
        j[saco_field::area] = a.area;
        j[saco_field::iscrowd] = a.iscrowd;
        anns.push_back(std::move(j));
    }
    json cats = json::array();
    for (const auto& c : ds.categories) {
        json j = c.extra;
        j[saco_field::id] = c.id;
        j[saco_field::name] = c.name;
        cats.push_back(std::move(j));
    }
    doc[saco_field::images] = std::move(images);
    doc[saco_field::annotations] = std::move(anns);
    doc[saco_field::categories] = std::move(cats);
    return doc;
}

void write_saco_json(const SacoDataset& ds, const std::filesystem::path& path) {
    write_json_file(path, saco_to_json(ds));
}

}  // namespace chickenseg
