// `chickenseg predict`: the C++ runtime over a folder of images, an SA-Co dataset or a list of
// paths. Parsing and printing only; the work is in runtime/predict.
#include <iostream>
#include <memory>

#include "chickenseg/core/text_format.h"
#include "chickenseg/runtime/predict.h"
#include "command.h"
#include "engine_options.h"

namespace chickenseg::cli {
namespace {

struct PredictOptions {
    std::string package;
    std::string images;
    std::string dataset;
    std::string image_root;
    std::string list;
    std::vector<std::string> prompts;
    std::string on_error = predict_default_params().stop_on_error ? "stop" : "continue";
    bool no_masks = false;
    EngineParams engine = engine_default_params();
    PredictParams params = predict_default_params();
};

PredictJob make_job(const PredictOptions& o, const ModelPackage& package) {
    if (!o.dataset.empty()) {
        if (o.prompts.size() > 1)
            throw Error("--dataset: give at most one --prompt (it replaces every image's text_input)");
        std::filesystem::path root =
            o.image_root.empty() ? std::filesystem::path(o.dataset).parent_path() : std::filesystem::path(o.image_root);
        return predict_job_from_dataset(o.dataset, root, o.prompts.empty() ? "" : o.prompts.front());
    }
    const std::vector<std::string>& prompts = o.prompts.empty() ? package.prompts : o.prompts;
    if (!o.images.empty()) return predict_job_from_folder(o.images, prompts);
    return predict_job_from_list(o.list, prompts);
}

void print_summary(const PredictSummary& s, const Engine& engine, const PredictOptions& o) {
    auto ms = [&](double total) { return s.predicted ? format_fixed(total / s.predicted, 1) + " ms/image" : "-"; };
    std::cout << "predicted " << s.predicted << " images";
    if (s.resumed) std::cout << " (+" << s.resumed << " resumed)";
    std::cout << " in " << format_fixed(s.seconds, 2) << " s (" << format_fixed(s.images_per_second, 1)
              << " images/s) with " << engine.backend() << " on " << engine.description() << '\n'
              << "  pairs " << s.pairs << ", gated (presence below the threshold: nothing there) " << s.gated
              << ", detections " << s.detections << ", failed " << s.failed << '\n'
              << "  encoder " << ms(s.timings.upload_ms + s.timings.encoder_ms) << ", decoder "
              << ms(s.timings.decoder_ms) << ", mask decoder " << ms(s.timings.mask_decoder_ms) << ", post-processing "
              << ms(s.timings.postprocess_ms) << '\n';
    const PredictParams& p = o.params;
    if (!p.results.empty())
        std::cout << "  results  " << p.results.string() << " (+ "
                  << (p.presence.empty() ? default_presence_path(p.results) : p.presence).string() << ")\n";
    if (!p.jsonl.empty()) std::cout << "  jsonl    " << p.jsonl.string() << '\n';
    if (!p.labelme_dir.empty()) std::cout << "  labelme  " << p.labelme_dir.string() << '\n';
    if (!p.overlay_dir.empty()) std::cout << "  overlays " << p.overlay_dir.string() << '\n';
}

int run_predict_command(PredictOptions& o) {
    o.params.stop_on_error = o.on_error == "stop";
    o.params.detect.masks = !o.no_masks;
    o.params.progress = !global_options().quiet && !global_options().json;
    // The package's manifest first (cheap): the job needs its prompts, and the outputs are
    // checked before the engine (LibTorch) loads.
    ModelPackage package = read_model_package(o.package);
    PredictJob job = make_job(o, package);
    check_predict_outputs(job, o.params);
    Engine engine(o.package, o.engine);
    PredictSummary s = run_predict(engine, job, o.params);
    if (global_options().json) {
        json doc = predict_summary_to_json(s);
        doc["backend"] = engine.backend();
        doc["device"] = engine.device();
        doc["runtime"] = engine.description();
        print_json(doc);
    } else {
        print_summary(s, engine, o);
    }
    if (s.failed > 0) {
        std::cerr << "error: " << s.failed << " of " << s.images << " images failed (listed above"
                  << (o.params.jsonl.empty() ? "" : " and in " + o.params.jsonl.string()) << ")\n";
        return 1;
    }
    return 0;
}

const CommandRegistrar kRegistrar{CommandSpec{
    "", "predict", "Segment every chicken in a folder of images, a dataset or a list (C++ runtime, presence gating)",
    50, [](CLI::App& cmd) -> Runner {
        auto o = std::make_shared<PredictOptions>();
        cmd.add_option("--package", o->package, "Model package folder (chickenseg model export)")
            ->required()
            ->check(CLI::ExistingDirectory);
        CLI::Option_group* input = cmd.add_option_group("input", "What to predict on (one of them)");
        input->add_option("--images", o->images, "Folder of images (recursive)")->check(CLI::ExistingDirectory);
        input->add_option("--dataset", o->dataset, "SA-Co dataset JSON (each image's text_input is its prompt)")
            ->check(CLI::ExistingFile);
        input->add_option("--list", o->list, "Text file with one image path per line (relative to its folder)")
            ->check(CLI::ExistingFile);
        input->require_option(1);
        cmd.add_option("--image-root", o->image_root,
                       "With --dataset: the folder file_names are relative to "
                       "(default: the dataset's folder)");
        cmd.add_option("--prompt", o->prompts,
                       "Concept prompt of the package (repeatable; default: all of them; with --dataset: one, "
                       "replacing every text_input)");
        cmd.add_option("--out", o->params.results, "COCO results JSON (what chickenseg eval reads)");
        cmd.add_option("--presence-out", o->params.presence, "Presence JSON (default: OUT with .presence.json)");
        CLI::Option* jsonl = cmd.add_option("--jsonl", o->params.jsonl, "One JSON line per image as it finishes");
        cmd.add_flag("--resume", o->params.resume, "Skip the images the --jsonl file already holds")->needs(jsonl);
        cmd.add_option("--labelme", o->params.labelme_dir, "Folder for one LabelMe JSON per image (polygons)");
        cmd.add_option("--overlay", o->params.overlay_dir, "Folder for one JPEG per image with the detections drawn");
        add_engine_options(cmd, o->engine);
        add_batching_options(cmd, o->params.batch_size, o->params.threads);
        cmd.add_option("--min-score", o->params.detect.score_threshold,
                       "Keep queries scoring at least this (default: the package's thresholds.score)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--presence-threshold", o->params.detect.presence_threshold,
                       "Below it an image is 'no chicken' (default: the package's thresholds.presence; 0 = never)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_option("--mask-threshold", o->params.detect.mask_threshold,
                       "On the resized mask probabilities (default: the package's thresholds.mask)")
            ->check(CLI::Range(0.0, 1.0));
        cmd.add_flag("--no-masks", o->no_masks, "Boxes and scores only (the mask decoder never runs)");
        cmd.add_option("--on-error", o->on_error, "A bad image: continue (report it, exit 1 at the end) or stop")
            ->check(CLI::IsMember({"continue", "stop"}))
            ->capture_default_str();
        return [o]() { return run_predict_command(*o); };
    }}};

}  // namespace
}  // namespace chickenseg::cli
