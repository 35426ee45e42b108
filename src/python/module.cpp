// chickenseg._chickenseg: the runtime's Engine (runtime/engine.h) for Python, bound with nanobind
// (docs/python.md). The pure-Python part of the package (python/chickenseg_py/chickenseg/)
// checks the user's arguments, turns PIL images into arrays and builds the result objects; here
// images become engine inputs and the engine runs, with the GIL released, so that Python threads
// can feed one engine at once (the Engine serves concurrent callers).
//
// Images arrive as (kind, payload, name) tuples: ("path", fs-encoded bytes, name), ("bytes",
// the bytes of an image file, name), ("rgb" or "bgr", an H x W x 3 uint8 array, name). A path is
// decoded by decode_image, as `chickenseg predict` decodes it (EXIF orientation applied); an
// array is read in place (any strides, BGR included) by the resize: the image is not copied.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "chickenseg/core/build_info.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/parallel.h"
#include "chickenseg/core/rle.h"
#include "chickenseg/runtime/engine.h"
#include "pixels.h"

#ifndef CHICKENSEG_PYTHON_BUILD_PLUGIN_DIR
#define CHICKENSEG_PYTHON_BUILD_PLUGIN_DIR ""  // a wheel: the plugin is in the package folder
#endif

namespace nb = nanobind;
using namespace nb::literals;

namespace chickenseg::python {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Times {
    double decode_ms = 0;   // reading and decoding the file, or copying the array's pixels
    double prepare_ms = 0;  // resize and normalisation (prepare_engine_input)
    EngineTimings engine;   // the engine's stages
};

// An image's share of a batch's engine times (each image's own decode and prepare times stay).
void add_share(Times& t, const EngineTimings& batch, size_t n) {
    const double k = 1.0 / static_cast<double>(n);
    t.engine.upload_ms += batch.upload_ms * k;
    t.engine.encoder_ms += batch.encoder_ms * k;
    t.engine.decoder_ms += batch.decoder_ms * k;
    t.engine.mask_decoder_ms += batch.mask_decoder_ms * k;
    t.engine.postprocess_ms += batch.postprocess_ms * k;
}

nb::dict times_to_dict(const Times& t) {
    nb::dict d;
    d["decode_ms"] = t.decode_ms;
    d["prepare_ms"] = t.prepare_ms;
    d["upload_ms"] = t.engine.upload_ms;
    d["encoder_ms"] = t.engine.encoder_ms;
    d["decoder_ms"] = t.engine.decoder_ms;
    d["mask_decoder_ms"] = t.engine.mask_decoder_ms;
    d["postprocess_ms"] = t.engine.postprocess_ms;
    return d;
}

// One image as Python gave it: plain views into Python objects that the caller keeps alive
// (with the GIL) until the work without the GIL is done.
struct Source {
    enum class Kind { path, bytes, pixels } kind = Kind::path;
    std::string path;  // Kind::path: the file system's bytes
    std::string name;  // what an error calls the image
    std::span<const uint8_t> bytes;
    PixelView pixels;
};

using Array = nb::ndarray<nb::ro, nb::device::cpu>;

std::string shape_text(const Array& a) {
    std::string s = "(";
    for (size_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

// The checks the Python side makes with NumPy's words, repeated so that no argument can crash
// the interpreter whoever calls this module.
PixelView pixel_view(const Array& a, bool bgr) {
    if (a.dtype() != nb::dtype<uint8_t>()) throw nb::type_error("image array: expected dtype uint8 (values 0..255)");
    if (a.ndim() != 3 || a.shape(2) != 3)
        throw nb::value_error(("image array: expected shape (height, width, 3), got " + shape_text(a)).c_str());
    PixelView v;
    v.data = static_cast<const uint8_t*>(a.data());
    v.height = static_cast<int64_t>(a.shape(0));
    v.width = static_cast<int64_t>(a.shape(1));
    for (int i = 0; i < 3; ++i) v.strides[i] = a.stride(i);  // elements of one byte
    v.bgr = bgr;
    return v;
}

// Every item -> Source; `arrays` and `objects` keep what the views point into.
std::vector<Source> sources_from(const nb::list& items, std::vector<Array>& arrays, std::vector<nb::object>& objects) {
    std::vector<Source> sources;
    sources.reserve(items.size());
    arrays.reserve(items.size());
    for (nb::handle item : items) {
        if (!nb::isinstance<nb::tuple>(item) || nb::len(item) != 3)
            throw nb::type_error("expected (kind, payload, name) tuples");
        const std::string kind = nb::cast<std::string>(item[0]);
        nb::object payload = item[1];
        Source s;
        s.name = nb::cast<std::string>(item[2]);
        if (kind == "path" || kind == "bytes") {
            if (!nb::isinstance<nb::bytes>(payload))
                throw nb::type_error(("a " + kind + " payload must be bytes").c_str());
            nb::bytes b = nb::borrow<nb::bytes>(payload);
            if (kind == "path") {
                s.kind = Source::Kind::path;
                s.path.assign(b.c_str(), b.size());
            } else {
                s.kind = Source::Kind::bytes;
                s.bytes = {reinterpret_cast<const uint8_t*>(b.c_str()), b.size()};
            }
            objects.push_back(std::move(payload));
        } else if (kind == "rgb" || kind == "bgr") {
            Array a;
            if (!nb::try_cast(payload, a)) throw nb::type_error("image array: expected a NumPy array in CPU memory");
            s.kind = Source::Kind::pixels;
            s.pixels = pixel_view(a, kind == "bgr");
            arrays.push_back(std::move(a));
        } else {
            throw nb::value_error(("unknown image kind \"" + kind + "\"").c_str());
        }
        sources.push_back(std::move(s));
    }
    return sources;
}

struct Prepared {
    EngineInput input;
    Times times;
};

Prepared prepare(const Source& s, const ModelPackage& package) {
    const auto t0 = Clock::now();
    RgbImage image;
    RgbView view;  // an array is read where it is: no copy
    switch (s.kind) {
        case Source::Kind::path:
            image = decode_image(std::filesystem::path(s.path));
            break;
        case Source::Kind::bytes:
            image = decode_image(s.bytes, s.name);
            break;
        case Source::Kind::pixels:
            view = rgb_view_of(s.pixels);
            break;
    }
    if (s.kind != Source::Kind::pixels) view = rgb_view(image);
    const auto t1 = Clock::now();
    Prepared p{prepare_engine_input(view, package), {}};
    p.times.decode_ms = ms_between(t0, t1);
    p.times.prepare_ms = ms_between(t1, Clock::now());
    return p;
}

// Decodes and prepares the sources [begin, end) on the cores; an error names the failing item
// ("images[3]: ...") when `index_errors`.
std::vector<Prepared> prepare_all(const std::vector<Source>& sources, size_t begin, size_t end,
                                  const ModelPackage& package, bool index_errors) {
    std::vector<Prepared> out(end - begin);
    auto one = [&](size_t k) {
        const size_t i = begin + k;
        try {
            out[k] = prepare(sources[i], package);
        } catch (const Error& e) {
            if (!index_errors) throw;
            throw Error("images[" + std::to_string(i) + "]: " + e.what());
        }
    };
    if (out.size() == 1)
        one(0);
    else
        parallel_for(out.size(), 0, one);
    return out;
}

// What detect returned for one image and one prompt.
struct Detections {
    ImageDetections image;
    std::string prompt;
    bool masks = true;  // the mask decoder ran (DetectParams::masks)
    Times times;
};

// A NumPy array owning a new buffer of `count` T.
template <class T>
std::pair<T*, nb::capsule> new_buffer(size_t count) {
    T* data = new T[count == 0 ? 1 : count]();
    nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
    return {data, owner};
}

nb::ndarray<nb::numpy, float, nb::ndim<2>> boxes_xyxy(const Detections& d) {
    const auto& dets = d.image.detections;
    auto [data, owner] = new_buffer<float>(dets.size() * 4);
    for (size_t i = 0; i < dets.size(); ++i) {
        const BoxXywh& b = dets[i].bbox;
        data[i * 4 + 0] = static_cast<float>(b[0]);
        data[i * 4 + 1] = static_cast<float>(b[1]);
        data[i * 4 + 2] = static_cast<float>(b[0] + b[2]);
        data[i * 4 + 3] = static_cast<float>(b[1] + b[3]);
    }
    return {data, {dets.size(), 4}, owner};
}

nb::ndarray<nb::numpy, double, nb::ndim<2>> boxes_xywh(const Detections& d) {
    const auto& dets = d.image.detections;
    auto [data, owner] = new_buffer<double>(dets.size() * 4);
    for (size_t i = 0; i < dets.size(); ++i)
        for (size_t c = 0; c < 4; ++c) data[i * 4 + c] = dets[i].bbox[c];
    return {data, {dets.size(), 4}, owner};
}

nb::ndarray<nb::numpy, float, nb::ndim<1>> scores(const Detections& d) {
    const auto& dets = d.image.detections;
    auto [data, owner] = new_buffer<float>(dets.size());
    for (size_t i = 0; i < dets.size(); ++i) data[i] = dets[i].score;
    return {data, {dets.size()}, owner};
}

nb::ndarray<nb::numpy, int32_t, nb::ndim<1>> queries(const Detections& d) {
    const auto& dets = d.image.detections;
    auto [data, owner] = new_buffer<int32_t>(dets.size());
    for (size_t i = 0; i < dets.size(); ++i) data[i] = dets[i].query;
    return {data, {dets.size()}, owner};
}

void check_masks(const Detections& d) {
    if (!d.masks) throw nb::value_error("no masks: predicted with masks=False (the mask decoder did not run)");
}

// N x H x W booleans, row-major; decoded from the runs without the GIL.
nb::ndarray<nb::numpy, bool, nb::ndim<3>> masks(const Detections& d) {
    check_masks(d);
    const auto& dets = d.image.detections;
    const size_t h = d.image.height, w = d.image.width, plane = h * w;
    auto [data, owner] = new_buffer<bool>(dets.size() * plane);
    {
        nb::gil_scoped_release release;
        static_assert(sizeof(bool) == 1);
        for (size_t i = 0; i < dets.size(); ++i)
            rle_to_row_major(dets[i].mask, reinterpret_cast<uint8_t*>(data + i * plane));
    }
    return {data, {dets.size(), h, w}, owner};
}

// pycocotools' compressed RLE dicts: {"size": [h, w], "counts": str}.
nb::list rles(const Detections& d) {
    check_masks(d);
    nb::list out;
    for (const Detection& det : d.image.detections) {
        nb::dict r;
        nb::list size;
        size.append(det.mask.h);
        size.append(det.mask.w);
        r["size"] = size;
        r["counts"] = rle_to_string(det.mask);
        out.append(r);
    }
    return out;
}

// One image's encoder features on the engine's device (Engine::encode), for detect per prompt.
struct Encoded {
    EncodedBatch batch;
    uint32_t width = 0;
    uint32_t height = 0;
    Times times;
};

DetectParams detect_params(double score, double presence, double mask, bool with_masks) {
    DetectParams p = detect_default_params();
    p.score_threshold = score;
    p.presence_threshold = presence;
    p.mask_threshold = mask;
    p.masks = with_masks;
    return p;
}

class PyEngine {
public:
    PyEngine(const nb::bytes& package, const std::string& device, const std::string& backend, int threads, bool verify,
             const nb::bytes& plugin_dir) {
        EngineParams params = engine_default_params();
        params.device = device;
        params.backend = backend;
        params.threads = threads;
        params.verify = verify;
        params.plugin_dir = std::string(plugin_dir.c_str(), plugin_dir.size());
        const std::filesystem::path folder(std::string(package.c_str(), package.size()));
        nb::gil_scoped_release release;
        engine_ = std::make_unique<Engine>(folder, params);
    }

    const Engine& engine() const { return *engine_; }
    const ModelPackage& package() const { return engine_->package(); }

    std::vector<Detections> predict(const nb::list& items, size_t prompt, double score, double presence, double mask,
                                    bool with_masks, bool index_errors) const {
        std::vector<Array> arrays;
        std::vector<nb::object> objects;
        const std::vector<Source> sources = sources_from(items, arrays, objects);
        const DetectParams params = detect_params(score, presence, mask, with_masks);
        std::vector<Detections> out;
        out.reserve(sources.size());
        nb::gil_scoped_release release;
        const size_t batch = std::max<size_t>(1, engine_->max_batch());
        for (size_t begin = 0; begin < sources.size(); begin += batch) {
            const size_t end = std::min(sources.size(), begin + batch);
            std::vector<Prepared> prepared = prepare_all(sources, begin, end, package(), index_errors);
            std::vector<EngineInput> inputs;
            inputs.reserve(prepared.size());
            for (auto& p : prepared) inputs.push_back(std::move(p.input));
            EngineTimings timings;
            std::vector<ImageDetections> found = engine_->predict(inputs, prompt, params, &timings);
            for (size_t k = 0; k < found.size(); ++k) {
                Detections d{std::move(found[k]), package().prompts.at(prompt), with_masks, prepared[k].times};
                add_share(d.times, timings, found.size());
                out.push_back(std::move(d));
            }
        }
        return out;
    }

    Encoded encode(const nb::tuple& item) const {
        std::vector<Array> arrays;
        std::vector<nb::object> objects;
        nb::list items;
        items.append(item);
        const std::vector<Source> sources = sources_from(items, arrays, objects);
        nb::gil_scoped_release release;
        Prepared p = prepare(sources[0], package());
        Encoded e;
        e.width = p.input.width;
        e.height = p.input.height;
        e.times = p.times;
        e.batch = engine_->encode({&p.input, 1}, &e.times.engine);
        return e;
    }

    Detections detect(const Encoded& encoded, size_t prompt, double score, double presence, double mask,
                      bool with_masks) const {
        const DetectParams params = detect_params(score, presence, mask, with_masks);
        nb::gil_scoped_release release;
        Times times;
        std::vector<ImageDetections> found = engine_->detect(encoded.batch, prompt, params, &times.engine);
        return Detections{std::move(found.at(0)), package().prompts.at(prompt), with_masks, times};
    }

private:
    std::unique_ptr<Engine> engine_;
};

// The pixels of an image file (its path, or its bytes with a name for errors) as the engine sees
// them: RGB, EXIF orientation applied, H x W x 3 uint8.
nb::ndarray<nb::numpy, uint8_t, nb::ndim<3>> decode_rgb(const nb::bytes& path, const nb::object& data,
                                                        const std::string& name) {
    auto image = std::make_unique<RgbImage>();
    if (data.is_none()) {
        const std::filesystem::path file(std::string(path.c_str(), path.size()));
        nb::gil_scoped_release release;
        *image = decode_image(file);
    } else {
        nb::bytes bytes = nb::cast<nb::bytes>(data);
        const std::span<const uint8_t> view(reinterpret_cast<const uint8_t*>(bytes.c_str()), bytes.size());
        nb::gil_scoped_release release;
        *image = decode_image(view, name);
    }
    const size_t h = image->height, w = image->width;
    uint8_t* pixels = image->pixels.data();
    nb::capsule owner(image.release(), [](void* p) noexcept { delete static_cast<RgbImage*>(p); });
    return {pixels, {h, w, 3}, owner};
}

}  // namespace
}  // namespace chickenseg::python

NB_MODULE(_chickenseg, m) {
    using namespace chickenseg;
    using namespace chickenseg::python;
    m.doc() = "The chickenseg C++ engine (use the chickenseg package: chickenseg.Sam3Wrapper)";
    nb::exception<Error>(m, "Error", PyExc_RuntimeError);
    m.attr("build_plugin_dir") = CHICKENSEG_PYTHON_BUILD_PLUGIN_DIR;
    m.attr("version") = build_info().version;
    m.attr("version_string") = version_string();

    nb::class_<Detections>(m, "_Detections")
        .def_prop_ro("boxes", &boxes_xyxy, nb::rv_policy::move)
        .def_prop_ro("boxes_xywh", &boxes_xywh, nb::rv_policy::move)
        .def_prop_ro("scores", &scores, nb::rv_policy::move)
        .def_prop_ro("queries", &queries, nb::rv_policy::move)
        .def_prop_ro("presence", [](const Detections& d) { return d.image.presence; })
        .def_prop_ro("gated", [](const Detections& d) { return d.image.gated; })
        .def_prop_ro("width", [](const Detections& d) { return d.image.width; })
        .def_prop_ro("height", [](const Detections& d) { return d.image.height; })
        .def_prop_ro("prompt", [](const Detections& d) { return d.prompt; })
        .def_prop_ro("has_masks", [](const Detections& d) { return d.masks; })
        .def_prop_ro("timings", [](const Detections& d) { return times_to_dict(d.times); })
        .def("masks", &masks)
        .def("rles", &rles)
        .def("__len__", [](const Detections& d) { return d.image.detections.size(); });

    nb::class_<Encoded>(m, "_Encoded")
        .def_prop_ro("width", [](const Encoded& e) { return e.width; })
        .def_prop_ro("height", [](const Encoded& e) { return e.height; })
        .def_prop_ro("timings", [](const Encoded& e) { return times_to_dict(e.times); });

    nb::class_<PyEngine>(m, "_Engine")
        .def(nb::init<const nb::bytes&, const std::string&, const std::string&, int, bool, const nb::bytes&>(),
             "package"_a, "device"_a, "backend"_a, "threads"_a, "verify"_a, "plugin_dir"_a)
        .def_prop_ro("prompts", [](const PyEngine& e) { return e.package().prompts; })
        .def_prop_ro("max_batch", [](const PyEngine& e) { return e.engine().max_batch(); })
        .def_prop_ro("input_size", [](const PyEngine& e) { return e.package().input.size; })
        .def_prop_ro("score_threshold", [](const PyEngine& e) { return e.package().score_threshold; })
        .def_prop_ro("presence_threshold", [](const PyEngine& e) { return e.package().presence_threshold; })
        .def_prop_ro("mask_threshold", [](const PyEngine& e) { return e.package().mask_threshold; })
        .def_prop_ro("model_source", [](const PyEngine& e) { return e.package().model_source; })
        .def_prop_ro("folder", [](const PyEngine& e) { return e.package().folder.string(); })
        .def_prop_ro("backend", [](const PyEngine& e) { return e.engine().backend(); })
        .def_prop_ro("device", [](const PyEngine& e) { return e.engine().device(); })
        .def_prop_ro("description", [](const PyEngine& e) { return e.engine().description(); })
        .def("prompt_index", [](const PyEngine& e, const std::string& p) { return e.engine().prompt_index(p); })
        .def("predict", &PyEngine::predict, "items"_a, "prompt"_a, "score"_a, "presence"_a, "mask"_a, "masks"_a,
             "index_errors"_a)
        .def("encode", &PyEngine::encode, "item"_a)
        .def("detect", &PyEngine::detect, "encoded"_a, "prompt"_a, "score"_a, "presence"_a, "mask"_a, "masks"_a);

    m.def("decode_image", &decode_rgb, "path"_a, "data"_a = nb::none(), "name"_a = "",
          "An image file's pixels as the engine sees them (RGB, EXIF orientation applied): H x W x 3 uint8");
}
