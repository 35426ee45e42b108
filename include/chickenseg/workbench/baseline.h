// The zero-shot baseline: reference prediction with a SAM 3 checkpoint on the val
// set (Python), SA-Co evaluation and the error-analysis report (C++), recorded in
// OUT/baseline.json so that `chickenseg compare OUT/metrics.json CANDIDATE` can
// judge a fine-tuned model against it.
#pragma once

#include <filesystem>
#include <string>

#include "chickenseg/core/json_file.h"
#include "chickenseg/eval/saco_metrics.h"

namespace chickenseg {

inline constexpr const char* kBaselineSchema = "chickenseg.baseline/1";

struct BaselineParams {
    std::string model = "tiny";        // HF folder, "tiny[:SEED]" or "full-random[:SEED]"
    std::filesystem::path dataset;     // SA-Co val JSON
    std::filesystem::path image_root;  // empty: the dataset's folder
    std::filesystem::path out_dir;     // predictions, presence, metrics, report/, baseline.json
    std::string device = "auto";       // passed to the model package
    std::string dtype = "fp32";
    int batch_size = 4;
    double min_score = 0.05;  // predictions written (eval keeps >= eval.score_threshold)
    bool report = true;       // write the HTML error-analysis report
    EvalParams eval;
};

struct BaselineResult {
    std::filesystem::path predictions, presence, metrics, report_index, record;
    EvalResult evaluation;
    json record_json;  // what baseline.json holds
};

BaselineResult run_baseline(const BaselineParams& params);

}  // namespace chickenseg
