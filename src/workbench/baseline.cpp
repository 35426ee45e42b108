#include "chickenseg/workbench/baseline.h"

#include "chickenseg/core/error.h"
#include "chickenseg/core/sha256.h"
#include "chickenseg/eval/html_report.h"
#include "chickenseg/workbench/model_runner.h"

namespace chickenseg {

namespace fs = std::filesystem;

BaselineResult run_baseline(const BaselineParams& p) {
    if (p.dataset.empty()) throw Error("baseline: a val dataset is needed (--dataset)");
    if (p.out_dir.empty()) throw Error("baseline: an output folder is needed (--out)");
    fs::path image_root = p.image_root.empty() ? p.dataset.parent_path() : p.image_root;
    // Read and check the GT first: a bad dataset fails before minutes of inference.
    SacoDataset gt = read_saco_json(p.dataset);
    check_eval_gt(gt, p.dataset.string());

    BaselineResult r;
    r.predictions = p.out_dir / "predictions.json";
    r.presence = p.out_dir / "presence.json";
    r.metrics = p.out_dir / "metrics.json";
    r.record = p.out_dir / "baseline.json";
    json predicted = run_model_package({"predict", "--model", p.model, "--device", p.device, "--dtype", p.dtype,
                                        "--dataset", p.dataset.string(), "--image-root", image_root.string(), "--out",
                                        r.predictions.string(), "--presence-out", r.presence.string(), "--batch-size",
                                        std::to_string(p.batch_size), "--min-score", std::to_string(p.min_score)});

    EvalInputs in = load_eval_inputs(p.dataset.string(), r.predictions.string(), r.presence.string());
    r.evaluation =
        evaluate_saco(in.gt, in.predictions, in.presence ? &*in.presence : nullptr, p.eval, p.dataset.string());
    const std::vector<EvalInput>& inputs = in.files.get();
    json metrics = eval_result_to_json(r.evaluation, inputs, /*with_images=*/true);
    metrics["model"] = p.model;
    write_json_file(r.metrics, metrics);

    if (p.report) {
        ErrorReportRequest request;
        request.gt = p.dataset;
        request.predictions = r.predictions;
        request.presence = r.presence;
        request.image_root = image_root;
        request.out_dir = p.out_dir / "report";
        ErrorReportResult report = make_error_report(request);
        r.report_index = report.output.index_html;
    }

    r.record_json = {
        {"schema", kBaselineSchema},
        {"model", p.model},
        {"dataset", p.dataset.string()},
        {"dataset_sha256", inputs[0].sha256},
        {"predictions", r.predictions.filename().string()},
        {"presence", r.presence.filename().string()},
        {"metrics", r.metrics.filename().string()},
        {"metrics_sha256", sha256_file_hex(r.metrics)},
        {"report", r.report_index.empty() ? json(nullptr) : json(fs::relative(r.report_index, p.out_dir).string())},
        {"prediction", predicted},
    };
    write_json_file(r.record, r.record_json);
    return r;
}

}  // namespace chickenseg
