// The scoring pass of `chickenseg mine`: images decoded on worker threads (OrderedPipeline, as
// predict does: bounded memory), scored by the engine, one line each in mine-scores.jsonl.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <unordered_map>
#include <unordered_set>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/jsonl_file.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/text_format.h"
#include "chickenseg/mine/dhash.h"
#include "chickenseg/mine/mine.h"
#include "chickenseg/runtime/ordered_pipeline.h"
#include "chickenseg/runtime/predict.h"
#include "chickenseg/runtime/predict_job.h"
#include "mine_files.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct PreparedImage {
    size_t index = 0;  // into the job's images
    EngineInput input;
    uint64_t dhash = 0;
    std::string error;
};

double resolve(double value, double package_value) { return value < 0 ? package_value : value; }

fs::path absolute_clean(const fs::path& p) { return fs::weakly_canonical(fs::absolute(p)); }

class MineRun {
public:
    MineRun(const Engine& engine, const fs::path& inbox, const MineParams& params)
        : engine_(engine), inbox_(inbox), params_(params) {}

    MineSummary run() {
        const auto start = Clock::now();
        check_mine_score_params(params_.score);
        if (params_.batch_size < 1 || params_.batch_size > engine_.max_batch())
            throw Error("batch size " + std::to_string(params_.batch_size) + ": expected 1 to " +
                        std::to_string(engine_.max_batch()) + " (the package's batch.max)");
        check_mine_output(inbox_, params_.out);
        const ModelPackage& package = engine_.package();
        const std::string prompt = params_.prompt.empty() ? package.prompts.at(0) : params_.prompt;
        prompt_ = engine_.prompt_index(prompt);
        job_ = predict_job_from_folder(inbox_, {prompt});
        summary_.images = job_.images.size();
        summary_.scores_only = params_.shard.count > 1;

        threshold_ = resolve(params_.score_threshold, package.score_threshold);
        presence_threshold_ = resolve(params_.presence_threshold, package.presence_threshold);
        detect_.score_threshold = std::max(0.0, threshold_ - params_.score.instance_margin);
        detect_.presence_threshold = 0;  // every image's queries are seen; gating is applied here
        detect_.mask_threshold = resolve(params_.mask_threshold, package.mask_threshold);
        detect_.stability_delta = params_.score.stability_delta;

        ScoresHeader header;
        header.shard = params_.shard;
        header.settings = {
            {"inbox", absolute_clean(inbox_).string()},
            {"package", absolute_clean(package.folder).string()},
            {"model", package.model_source},
            {"prompt", prompt},
            {"thresholds",
             {{"score", threshold_}, {"presence", presence_threshold_}, {"mask", detect_.mask_threshold}}},
            {"presence_band", {params_.score.presence_low, params_.score.presence_high}},
            {"instance_margin", params_.score.instance_margin},
            {"stability_delta", params_.score.stability_delta},
            {"stability_min", params_.score.stability_min},
            {"weights",
             {{"presence", params_.score.presence_weight},
              {"instance", params_.score.instance_weight},
              {"mask", params_.score.mask_weight}}}};

        const fs::path scores_path = params_.out / kMineScoresFile;
        std::vector<size_t> todo = plan(scores_path, header);

        Progress progress("mine", todo.size(), params_.progress);
        for_each_batch<PreparedImage>(
            todo.size(), [&](size_t k) { return prepare(todo[k]); }, params_.threads, params_.batch_size, progress,
            [&](const PreparedImage& failed) { fail(failed.index, failed.error); },
            [&](std::vector<PreparedImage>& batch) { return run_batch(batch); });

        if (!summary_.scores_only)
            choose_and_write({scores_path}, header.settings, params_, summary_, /*count_file_errors=*/false);
        scores_->write({{"complete", true}});
        scores_.reset();
        summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return summary_;
    }

private:
    // Opens the scores file (resuming an unfinished run with the same settings) and returns
    // the job's images still to score: this shard's, not mined before, not finished.
    std::vector<size_t> plan(const fs::path& scores_path, const ScoresHeader& header) {
        std::unordered_set<std::string> mined;
        for (const auto& m : read_mine_state(params_.out)) mined.insert(m.file);
        ScoresFileState earlier = read_scores_file_state(scores_path, /*cut_partial=*/true);
        const bool resume = earlier.present && !earlier.complete;
        if (resume && (earlier.header.settings != header.settings || earlier.header.shard.index != header.shard.index ||
                       earlier.header.shard.count != header.shard.count))
            throw Error(
                "an unfinished mining run with other settings (inbox, package, prompt, thresholds, scoring or "
                "shard) is in this folder: run again with its settings to resume it, or delete the file to "
                "start over",
                scores_path.string());
        if (!resume) earlier.finished.clear();
        scores_ = std::make_unique<JsonlWriter>(scores_path, resume);
        if (!resume) scores_->write(scores_header_to_json(header));
        std::vector<size_t> todo;
        for (size_t i = 0; i < job_.images.size(); ++i) {
            if (!in_shard(i, params_.shard)) continue;
            if (mined.count(job_.images[i].file)) {
                ++summary_.already_mined;
                continue;
            }
            ++summary_.in_shard;
            if (earlier.finished.count(job_.images[i].file))
                ++summary_.resumed;
            else
                todo.push_back(i);
        }
        return todo;
    }

    PreparedImage prepare(size_t index) const {
        const PredictImage& image = job_.images[index];
        PreparedImage out;
        out.index = index;
        out.error = image_failure(image.path, [&] {
            // Its name goes into JSON files that must name it again (to resume, to copy it).
            if (!is_valid_utf8(image.file))
                throw Error("the file name is not UTF-8: the JSON outputs cannot name it (rename the file)",
                            image.path.string());
            RgbImage decoded = decode_image(image.path);
            out.dhash = dhash64(decoded);
            out.input = prepare_engine_input(decoded, engine_.package());
        });
        return out;
    }

    size_t run_batch(std::vector<PreparedImage>& batch) {
        std::vector<EngineInput> inputs;
        for (auto& b : batch) inputs.push_back(std::move(b.input));
        const auto found = engine_.predict(inputs, prompt_, detect_);
        for (size_t i = 0; i < batch.size(); ++i) finish(batch[i], inputs[i], found[i]);
        return batch.size();
    }

    void finish(const PreparedImage& prepared, const EngineInput& input, const ImageDetections& d) {
        const PredictImage& image = job_.images[prepared.index];
        const bool gated = d.presence < static_cast<float>(presence_threshold_);
        std::vector<QueryScore> queries;
        PairRecord pair{image.pairs.at(0).image_id, image.pairs.at(0).prompt, d.presence, gated, {}};
        for (const Detection& det : d.detections) {
            queries.push_back({det.score, det.stability});
            if (!gated && det.score >= static_cast<float>(threshold_))
                pair.detections.push_back({det.score, det.bbox, rle_compress(det.mask)});
        }
        const ImageScores scores =
            score_image(image.file, prepared.dhash, d.presence, gated, queries, threshold_, params_.score);
        ImageRecord record{image.file, input.width, input.height, {std::move(pair)}, {}};
        json line = image_record_to_json(record);
        line["mine"] = image_scores_to_json(scores);
        scores_->write(line);
        ++summary_.scored;
    }

    void fail(size_t index, const std::string& error) {
        const PredictImage& image = job_.images[index];
        scores_->write({{"file", image.file}, {"error", error}});
        ++summary_.failed;
        if (summary_.errors.size() < 100) summary_.errors.emplace_back(image.file, error);
        std::cerr << (params_.progress ? "\n" : "") << "error: " << error << '\n';
    }

    const Engine& engine_;
    fs::path inbox_;
    const MineParams& params_;
    PredictJob job_;
    size_t prompt_ = 0;
    double threshold_ = 0;
    double presence_threshold_ = 0;
    DetectParams detect_ = detect_default_params();
    std::unique_ptr<JsonlWriter> scores_;
    MineSummary summary_;
};

}  // namespace

MineParams mine_default_params() { return MineParams{}; }

void check_mine_output(const fs::path& inbox, const fs::path& out) {
    if (out.empty()) throw Error("no output folder: give --out");
    std::error_code ec;
    const fs::path in = absolute_clean(inbox), o = absolute_clean(out);
    if (o == in || !relative_inside(o, in).empty())
        throw Error(
            "the output folder is inside the inbox (the inbox is never written to, and a later run would "
            "mine the outputs): choose a folder outside " +
                in.string(),
            out.string());
    check_writable_folder(out, "output");
}

MineSummary run_mine(const Engine& engine, const fs::path& inbox, const MineParams& params) {
    return MineRun(engine, inbox, params).run();
}

json mine_summary_to_json(const MineSummary& s) {
    json errors = json::array();
    for (const auto& [file, message] : s.errors) errors.push_back({{"file", file}, {"error", message}});
    return {{"images", s.images},           {"already_mined", s.already_mined},
            {"in_shard", s.in_shard},       {"scored", s.scored},
            {"resumed", s.resumed},         {"failed", s.failed},
            {"candidates", s.candidates},   {"chosen", s.chosen},
            {"duplicates", s.duplicates},   {"linked", s.linked},
            {"scores_only", s.scores_only}, {"seconds", s.seconds},
            {"errors", std::move(errors)}};
}

}  // namespace chickenseg
