// run-package: the smallest real program on the runtime's engine. It verifies a model package
// (every file's SHA-256), loads its graphs through the backend plugin (LibTorch), runs them on
// the given pixels and one prompt, writes every raw output as safetensors and prints timings.
// It proves the export -> C++ load path; the test suite checks its outputs against PyTorch.
//
//   run-package PACKAGE (--pixels in.safetensors | --image photo.jpg) --out out.safetensors
//               [--prompt-index 0] [--backend auto|torchscript|aoti] [--device cpu|cuda|cuda:N]
//               [--repeat N]
//
// in.safetensors holds "pixel_values", F32 (1, 3, S, S), already normalised as the manifest's
// "input" says; --image decodes an image (EXIF orientation applied) and preprocesses it here
// as the Python reference does (then pixel_values is written to the output too).
// out.safetensors holds pred_logits, pred_boxes, presence_logits, pred_masks and the vision
// encoder's outputs (fpn_0, ..., fpn_pos_last). Exit 0, 1 (error), 2 (usage).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include "chickenseg/core/error.h"
#include "chickenseg/core/image.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/runtime/engine.h"
#include "chickenseg/runtime/model_package.h"
#include "chickenseg/runtime/preprocess.h"
#include "chickenseg/runtime/safetensors.h"

namespace {

using namespace chickenseg;
using Clock = std::chrono::steady_clock;

struct Options {
    std::string package;
    std::string pixels;
    std::string image;
    std::string out;
    size_t prompt_index = 0;
    std::string backend = engine_default_params().backend;
    std::string device;  // EngineParams::device's default: the package's device
    int repeat = 1;
};

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int run(const Options& opt) {
    auto start = Clock::now();
    ModelPackage package = open_model_package(opt.package);
    double verify_ms = ms_since(start);

    start = Clock::now();
    EngineParams params = engine_default_params();
    params.backend = opt.backend;
    params.device = opt.device;
    params.verify = false;  // just done, and timed apart
    Engine engine(opt.package, params);
    double load_ms = ms_since(start);
    if (opt.prompt_index >= package.prompts.size())
        throw Error("prompt index " + std::to_string(opt.prompt_index) + ": the package has " +
                        std::to_string(package.prompts.size()) + " prompts (0 to " +
                        std::to_string(package.prompts.size() - 1) + ")",
                    package.manifest_path().string(), 0, "prompts");

    // The input: given pixels, or an image preprocessed here.
    EngineInput input;
    std::string input_file = opt.pixels;
    std::string image_line;
    if (!opt.image.empty()) {
        input_file = opt.image;
        start = Clock::now();
        RgbImage decoded = decode_image(opt.image);
        double decode_ms = ms_since(start);
        start = Clock::now();
        input = prepare_engine_input(decoded, package);
        image_line = opt.image + " " + std::to_string(decoded.width) + "x" + std::to_string(decoded.height) +
                     ": decoded in " + format_fixed(decode_ms, 1) + " ms, resized to " +
                     std::to_string(package.input.size) + " px and normalised in " + format_fixed(ms_since(start), 1) +
                     " ms";
    } else {
        input.pixels = read_safetensors(opt.pixels).require(package.vision_encoder.inputs.at(0), opt.pixels);
        input.width = input.height = static_cast<uint32_t>(package.input.size);
    }

    // The first run pays one-time costs (memory pools, thread start-up); with --repeat the
    // median of the runs after it is printed too.
    std::vector<double> encoder_ms, decoder_ms;
    EncodedBatch encoded;
    RawOutputs outputs;
    for (int i = 0; i < std::max(opt.repeat, 1); ++i) {
        start = Clock::now();
        try {
            encoded = engine.encode({&input, 1});
        } catch (const Error& e) {
            throw Error(e.message(), input_file, 0, e.place().field);
        }
        encoder_ms.push_back(ms_since(start));
        start = Clock::now();
        outputs = engine.raw(encoded, opt.prompt_index);
        decoder_ms.push_back(ms_since(start));
    }

    SafetensorsFile out;
    out.tensors = named_outputs(outputs);
    for (auto& f : encoded.features_to_host()) out.tensors.push_back(std::move(f));
    if (!opt.image.empty()) out.tensors.push_back({package.vision_encoder.inputs.at(0), input.pixels});
    out.metadata = {{"package", package.folder.string()},
                    {"prompt", package.prompts.at(opt.prompt_index)},
                    {"prompt_index", std::to_string(opt.prompt_index)},
                    {"backend", engine.backend()},
                    {"device", engine.device()}};
    write_safetensors(opt.out, out);

    // Score of a query = sigmoid(query logit) x sigmoid(presence logit) (manifest "score").
    double presence = sigmoid(outputs.presence_logits.values<float>()[0]);
    size_t above = 0;
    auto logits = outputs.pred_logits.values<float>();
    for (float l : logits) above += sigmoid(l) * presence >= package.score_threshold;

    auto ms = [](double v) { return format_fixed(v, 1) + " ms"; };
    std::cout << "package  " << package.folder.string() << " (" << package.model_source << ", " << package.dtype
              << ", exported with torch " << package.torch_version << ")\n"
              << "backend  " << engine.backend() << " on " << engine.description() << "\n"
              << (image_line.empty() ? "" : "image    " + image_line + "\n") << "verify   " << package.files.size()
              << " files (SHA-256) in " << ms(verify_ms) << "\n"
              << "load     " << engine.backend() << " artefacts (vision encoder, decoder, mask decoder) in "
              << ms(load_ms) << "\n"
              << "encoder  " << ms(encoder_ms.front());
    if (encoder_ms.size() > 1)
        std::cout << " first run, " << ms(median({encoder_ms.begin() + 1, encoder_ms.end()})) << " median of "
                  << encoder_ms.size() - 1 << " after it";
    std::cout << "\ndecoders " << ms(decoder_ms.front());
    if (decoder_ms.size() > 1)
        std::cout << " first run, " << ms(median({decoder_ms.begin() + 1, decoder_ms.end()})) << " median of "
                  << decoder_ms.size() - 1 << " after it";
    std::cout << "\nprompt   " << opt.prompt_index << " \"" << package.prompts.at(opt.prompt_index) << "\": presence "
              << format_fixed(presence, 4) << ", " << above << " of " << logits.size()
              << " queries score >= " << format_fixed(package.score_threshold, 2) << "\n"
              << "wrote    " << opt.out << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    CLI::App app{
        "Verify a model package, run its vision encoder, decoder and mask decoder (LibTorch, through the "
        "backend plugin) on pixels, write the raw outputs as safetensors",
        "run-package"};
    app.add_option("package", opt.package, "Model package folder (chickenseg model export)")->required();
    CLI::Option_group* input = app.add_option_group("input", "What to run on (one of them)");
    input->add_option("--pixels", opt.pixels,
                      "safetensors file with pixel_values, F32 (1, 3, S, S), normalised as the manifest says");
    input->add_option("--image", opt.image,
                      "Image file (JPEG, PNG, BMP, GIF): decoded, resized and normalised as the manifest says");
    input->require_option(1);
    app.add_option("--out", opt.out, "Output safetensors: decoder outputs + vision encoder features")->required();
    app.add_option("--prompt-index", opt.prompt_index, "Which of the package's prompts (manifest order)")
        ->capture_default_str();
    app.add_option("--backend", opt.backend, "auto, torchscript or aoti (which of the package's artefacts run)")
        ->check(CLI::IsMember({"auto", "torchscript", "aoti"}))
        ->capture_default_str();
    app.add_option("--device", opt.device, "cpu, cuda or cuda:N (default: the device the package was compiled for)");
    app.add_option("--repeat", opt.repeat, "Runs of encoder + decoders; the median after the first is printed too")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}
