#include "saco_scanner.h"

#include <cmath>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "chickenseg/data/saco.h"
#include "core/json_scanner.h"

namespace chickenseg::detail {

namespace {

using GiveUp = JsonScanner::GiveUp;

// An RLE whose counts are decoded once every image size is known (the keys of the
// document may come in any order).
struct PendingRle {
    size_t annotation;
    std::string_view counts;  // as written, escapes included
    bool escaped;
};

// saco_from_json's pixel-size rule: integers in 1..1,000,000.
uint32_t dimension(JsonScanner& sc) {
    int64_t v = sc.integer();
    if (v <= 0 || v > kMaxImageSide) throw GiveUp{};
    return static_cast<uint32_t>(v);
}

// Runs `field(key)` for every key of an object; `field` returns false for a key it
// does not know, which is then kept in `extra` as the general parser would read it.
// A known key given twice gives up (nlohmann would keep the last one).
template <class Field>
void object(JsonScanner& sc, json* extra, Field&& field) {
    std::string scratch;
    sc.expect('{');
    if (sc.consume('}')) return;
    do {
        std::string key(sc.string(scratch));
        sc.expect(':');
        if (!field(key)) {
            std::string_view raw = sc.raw_value();
            if (!extra) throw GiveUp{};
            (*extra)[key] = json::parse(raw.begin(), raw.end());
        }
    } while (sc.consume(','));
    sc.expect('}');
}

template <class Element>
void array(JsonScanner& sc, Element&& element) {
    sc.expect('[');
    if (sc.consume(']')) return;
    do element();
    while (sc.consume(','));
    sc.expect(']');
}

// Marks a known key as seen; a second time gives up.
void once(bool& seen) {
    if (seen) throw GiveUp{};
    seen = true;
}

SacoImage read_image(JsonScanner& sc) {
    SacoImage im;
    std::string scratch;
    bool id = false, file_name = false, width = false, height = false, text = false, exhaustive = false;
    object(sc, &im.extra, [&](const std::string& key) {
        if (key == saco_field::id) {
            once(id);
            im.id = sc.integer();
        } else if (key == saco_field::file_name) {
            once(file_name);
            if (sc.peek() != '"') throw GiveUp{};
            im.file_name = sc.string(scratch);
        } else if (key == saco_field::width) {
            once(width);
            im.width = dimension(sc);
        } else if (key == saco_field::height) {
            once(height);
            im.height = dimension(sc);
        } else if (key == saco_field::text_input) {
            once(text);
            if (sc.peek() != '"') throw GiveUp{};
            im.text_input = sc.string(scratch);
        } else if (key == saco_field::is_instance_exhaustive) {
            once(exhaustive);
            int64_t v = sc.integer();
            if (v != 0 && v != 1) throw GiveUp{};  // the general reader names it
            im.is_instance_exhaustive = static_cast<int>(v);
        } else {
            return false;
        }
        return true;
    });
    if (!id || !file_name || !width || !height) throw GiveUp{};
    return im;
}

SacoAnnotation read_annotation(JsonScanner& sc, size_t index, std::vector<PendingRle>& pending,
                               std::vector<std::pair<uint32_t, uint32_t>>& rle_sizes) {
    SacoAnnotation a;
    bool id = false, image_id = false, category = false, seg = false, bbox = false, area = false, crowd = false;
    object(sc, &a.extra, [&](const std::string& key) {
        if (key == saco_field::id) {
            once(id);
            a.id = sc.integer();
        } else if (key == saco_field::image_id) {
            once(image_id);
            a.image_id = sc.integer();
        } else if (key == saco_field::category_id) {
            once(category);
            a.category_id = sc.integer();
        } else if (key == saco_field::segmentation) {
            once(seg);
            if (sc.peek() == '[') {  // polygons
                array(sc, [&]() {
                    Polygon p;
                    array(sc, [&]() {
                        double v = sc.number();
                        // Beyond what can be rasterised: the general reader names it.
                        if (std::abs(v) > kMaxPolygonCoordinate) throw GiveUp{};
                        p.push_back(v);
                    });
                    if (p.size() % 2) throw GiveUp{};  // not x, y pairs: the general reader names it
                    a.segmentation.polygons.push_back(std::move(p));
                });
            } else {  // RLE with string counts; list counts go to the general reader
                a.segmentation.is_rle = true;
                bool size = false, counts = false;
                uint32_t h = 0, w = 0;
                object(sc, nullptr, [&](const std::string& skey) {
                    if (skey == saco_field::size) {
                        once(size);
                        sc.expect('[');
                        h = dimension(sc);
                        sc.expect(',');
                        w = dimension(sc);
                        sc.expect(']');
                    } else if (skey == saco_field::counts) {
                        once(counts);
                        if (sc.peek() != '"') throw GiveUp{};
                        bool escaped = false;
                        std::string_view raw = sc.raw_string(escaped);
                        pending.push_back({index, raw, escaped});
                    } else {
                        sc.skip_value();  // saco_from_json ignores other keys of an RLE
                    }
                    return true;
                });
                if (!size || !counts) throw GiveUp{};
                rle_sizes.emplace_back(h, w);
            }
        } else if (key == saco_field::bbox) {
            once(bbox);
            sc.expect('[');
            for (size_t k = 0; k < 4; ++k) {
                if (k) sc.expect(',');
                a.bbox[k] = sc.number();
            }
            sc.expect(']');
        } else if (key == saco_field::area) {
            once(area);
            a.area = sc.number();
        } else if (key == saco_field::iscrowd) {
            once(crowd);
            int64_t v = sc.integer();
            if (v != 0 && v != 1) throw GiveUp{};  // the general reader names it
            a.iscrowd = static_cast<int>(v);
        } else {
            return false;
        }
        return true;
    });
    if (!id || !image_id || !seg) throw GiveUp{};
    return a;
}

SacoCategory read_category(JsonScanner& sc) {
    SacoCategory c;
    std::string scratch;
    bool id = false, name = false;
    object(sc, &c.extra, [&](const std::string& key) {
        if (key == saco_field::id) {
            once(id);
            c.id = sc.integer();
        } else if (key == saco_field::name) {
            once(name);
            if (sc.peek() != '"') throw GiveUp{};
            c.name = sc.string(scratch);
        } else {
            return false;
        }
        return true;
    });
    if (!id || !name) throw GiveUp{};
    return c;
}

}  // namespace

std::optional<SacoDataset> scan_saco(std::string_view text) {
    SacoDataset ds;
    std::vector<PendingRle> pending;
    std::vector<std::pair<uint32_t, uint32_t>> rle_sizes;  // one per pending RLE
    try {
        JsonScanner sc(text);
        bool images = false, annotations = false, categories = false;
        object(sc, &ds.top, [&](const std::string& key) {
            if (key == saco_field::images) {
                once(images);
                array(sc, [&]() { ds.images.push_back(read_image(sc)); });
            } else if (key == saco_field::annotations) {
                once(annotations);
                array(sc, [&]() {
                    ds.annotations.push_back(read_annotation(sc, ds.annotations.size(), pending, rle_sizes));
                });
            } else if (key == saco_field::categories) {
                once(categories);
                array(sc, [&]() { ds.categories.push_back(read_category(sc)); });
            } else {
                return false;
            }
            return true;
        });
        if (!sc.at_end() || !images || !annotations) throw GiveUp{};

        // RLE masks, checked against their image's size as saco_from_json does (the
        // last image of an id wins there too).
        std::unordered_map<int64_t, std::pair<uint32_t, uint32_t>> sizes;
        sizes.reserve(ds.images.size());
        for (const auto& im : ds.images) sizes[im.id] = {im.height, im.width};
        std::string unescaped;
        for (size_t k = 0; k < pending.size(); ++k) {
            SacoAnnotation& a = ds.annotations[pending[k].annotation];
            auto [h, w] = rle_sizes[k];
            if (auto it = sizes.find(a.image_id); it != sizes.end() && it->second != std::make_pair(h, w))
                throw GiveUp{};
            std::string_view counts = pending[k].counts;
            if (pending[k].escaped) {
                if (!JsonScanner::unescape(counts, unescaped)) throw GiveUp{};
                counts = unescaped;
            }
            rle_check_string(counts, h, w);  // kept compressed, as written
            a.segmentation.rle = CompressedRle(h, w, std::string(counts));
        }
    } catch (const GiveUp&) {
        return std::nullopt;
    } catch (const Error&) {  // a malformed RLE: the general reader names it
        return std::nullopt;
    } catch (const json::exception&) {  // an extra field that is not valid JSON
        return std::nullopt;
    }
    return ds;
}

}  // namespace chickenseg::detail
