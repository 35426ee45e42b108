#include "chickenseg/runtime/predict.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <unordered_map>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/jsonl_file.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/runtime/ordered_pipeline.h"
#include "prediction_files.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// One image after the worker threads: decoded and pre-processed, or its error.
struct PreparedImage {
    size_t index = 0;  // into the job's images
    EngineInput input;
    RgbImage image;  // kept only when overlays are drawn
    std::string error;
};

// The finished images of an earlier run's JSONL file; the file is cut after its last complete
// line (a line cut off by a kill is redone). Failed images are not finished: they are retried.
std::unordered_map<std::string, ImageRecord> read_finished(const fs::path& path) {
    std::unordered_map<std::string, ImageRecord> finished;
    read_jsonl_file(
        path,
        [&](const json& j, long line) {
            ImageRecord r = image_record_from_json(j, path.string(), line);
            if (r.error.empty())
                finished[r.file] = std::move(r);
            else
                finished.erase(r.file);
        },
        /*cut_partial=*/true);
    return finished;
}

PairRecord pair_record(const PredictPair& pair, const ImageDetections& d) {
    PairRecord r{pair.image_id, pair.prompt, d.presence, d.gated, {}};
    for (const auto& det : d.detections)
        r.detections.push_back({det.score, det.bbox, det.mask.h > 0 ? rle_compress(det.mask) : CompressedRle{}});
    return r;
}

std::string describe(const Error& e) { return e.what(); }

class PredictRun {
public:
    PredictRun(const Engine& engine, const PredictJob& job, const PredictParams& params)
        : engine_(engine), job_(job), params_(params), records_(job.images.size()) {}

    PredictSummary run() {
        const auto start = Clock::now();
        check_batch_size();
        std::vector<size_t> todo = resume();
        summary_.images = job_.images.size();

        Progress progress("predict", todo.size(), params_.progress);
        for_each_batch<PreparedImage>(
            todo.size(), [&](size_t k) { return prepare(todo[k]); }, params_.threads, params_.batch_size, progress,
            [&](const PreparedImage& failed) { fail(failed.index, failed.error); },
            [&](std::vector<PreparedImage>& batch) { return run_batch(batch); });

        summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        summary_.images_per_second = summary_.seconds > 0 ? summary_.predicted / summary_.seconds : 0;
        write_results();
        return summary_;
    }

private:
    void check_batch_size() const {
        if (params_.batch_size < 1 || params_.batch_size > engine_.max_batch())
            throw Error("batch size " + std::to_string(params_.batch_size) + ": expected 1 to " +
                        std::to_string(engine_.max_batch()) + " (the package's batch.max)");
        for (const auto& image : job_.images)
            for (const auto& pair : image.pairs) engine_.prompt_index(pair.prompt);  // every prompt is the package's
    }

    // Opens the JSONL file and returns the images still to run.
    std::vector<size_t> resume() {
        std::unordered_map<std::string, ImageRecord> finished;
        if (!params_.jsonl.empty() && params_.resume) finished = read_finished(params_.jsonl);
        if (!params_.jsonl.empty()) jsonl_ = std::make_unique<JsonlWriter>(params_.jsonl, params_.resume);
        std::vector<size_t> todo;
        for (size_t i = 0; i < job_.images.size(); ++i) {
            auto it = finished.find(job_.images[i].file);
            if (it != finished.end() && same_pairs(it->second, job_.images[i])) {
                records_[i] = std::move(it->second);
                ++summary_.resumed;
                count(records_[i]);
            } else {
                todo.push_back(i);
            }
        }
        return todo;
    }

    // A resumed line counts only if it answers the same pairs (ids and prompts) as this job.
    static bool same_pairs(const ImageRecord& r, const PredictImage& image) {
        if (r.pairs.size() != image.pairs.size()) return false;
        for (size_t k = 0; k < r.pairs.size(); ++k)
            if (r.pairs[k].image_id != image.pairs[k].image_id || r.pairs[k].prompt != image.pairs[k].prompt)
                return false;
        return true;
    }

    PreparedImage prepare(size_t index) const {
        const PredictImage& image = job_.images[index];
        PreparedImage out;
        out.index = index;
        out.error = image_failure(image.path, [&] {
            RgbImage decoded = decode_image(image.path);
            if (image.width != 0 && (decoded.width != image.width || decoded.height != image.height))
                throw Error("image is " + std::to_string(decoded.width) + "x" + std::to_string(decoded.height) +
                                " (after EXIF orientation) but the dataset says " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " (image id " +
                                std::to_string(image.pairs.at(0).image_id) + ")",
                            image.path.string());
            out.input = prepare_engine_input(decoded, engine_.package());
            if (!params_.overlay_dir.empty()) out.image = std::move(decoded);
        });
        return out;
    }

    size_t run_batch(std::vector<PreparedImage>& batch) {
        std::vector<EngineInput> inputs;
        for (auto& b : batch) inputs.push_back(std::move(b.input));
        EncodedBatch encoded = engine_.encode(inputs, &summary_.timings);
        // Every prompt any image of the batch asks for: one decoder run each, on the whole batch.
        std::set<std::string> prompts;
        for (const auto& b : batch)
            for (const auto& pair : job_.images[b.index].pairs) prompts.insert(pair.prompt);
        std::map<std::string, std::vector<ImageDetections>> by_prompt;
        for (const auto& prompt : prompts)
            by_prompt[prompt] =
                engine_.detect(encoded, engine_.prompt_index(prompt), params_.detect, &summary_.timings);
        for (size_t i = 0; i < batch.size(); ++i) {
            const PredictImage& image = job_.images[batch[i].index];
            ImageRecord r{image.file, inputs[i].width, inputs[i].height, {}, {}};
            for (const auto& pair : image.pairs) r.pairs.push_back(pair_record(pair, by_prompt[pair.prompt][i]));
            finish(batch[i], std::move(r));
        }
        return batch.size();
    }

    void finish(const PreparedImage& prepared, ImageRecord record) {
        const PredictImage& image = job_.images[prepared.index];
        // The per-image files first: one that cannot be written (a file name LabelMe's JSON
        // cannot hold, a full disk) fails this image, not the run.
        try {
            if (!params_.labelme_dir.empty())
                write_labelme_record(labelme_path(params_.labelme_dir, image.file), image.path, record);
            if (!params_.overlay_dir.empty())
                write_jpeg(overlay_path(params_.overlay_dir, image.file), render_overlay(prepared.image, record), 90);
        } catch (const Error& e) {
            fail(prepared.index, describe(e));
            return;
        }
        if (jsonl_) jsonl_->write(image_record_to_json(record));
        ++summary_.predicted;
        count(record);
        records_[prepared.index] = std::move(record);
    }

    void count(const ImageRecord& r) {
        for (const auto& p : r.pairs) {
            ++summary_.pairs;
            summary_.gated += p.gated;
            summary_.detections += p.detections.size();
        }
    }

    void fail(size_t index, const std::string& error) {
        const PredictImage& image = job_.images[index];
        ImageRecord r{image.file, 0, 0, {}, error};
        if (jsonl_) jsonl_->write(image_record_to_json(r));
        ++summary_.failed;
        if (summary_.errors.size() < 100) summary_.errors.emplace_back(image.file, error);
        std::cerr << (params_.progress ? "\n" : "") << "error: " << error << '\n';
        if (params_.stop_on_error)
            throw Error(error + " (stopped: --on-error stop; the finished images are in the JSONL file, if any)");
        records_[index] = std::move(r);
    }

    void write_results() {
        if (params_.results.empty()) return;
        const std::string results = coco_results_text(records_);
        const std::string presence = presence_text(records_, job_, engine_.package().model_source);
        const fs::path presence_path =
            params_.presence.empty() ? default_presence_path(params_.results) : params_.presence;
        // Both or neither: a results file without its presence file would be evaluated wrongly.
        const FileContent files[] = {{params_.results, results}, {presence_path, presence}};
        write_files_atomic(files);
    }

    const Engine& engine_;
    const PredictJob& job_;
    const PredictParams& params_;
    std::vector<ImageRecord> records_;    // job order; failed ones hold their error
    std::unique_ptr<JsonlWriter> jsonl_;  // one line per finished image, flushed at once
    PredictSummary summary_;
};

}  // namespace

PredictParams predict_default_params() { return PredictParams{}; }

std::string image_failure(const fs::path& path, const std::function<void()>& work) {
    try {
        work();
        return "";
    } catch (const Error& e) {
        return e.what();
    } catch (const std::bad_alloc&) {
        return path.string() + ": out of memory decoding the image";
    } catch (const std::exception& e) {
        return path.string() + ": " + e.what();
    }
}

fs::path default_presence_path(const fs::path& results) {
    return results.parent_path() / (results.stem().string() + ".presence.json");
}

PredictSummary run_predict(const Engine& engine, const PredictJob& job, const PredictParams& params) {
    return PredictRun(engine, job, params).run();
}

json predict_summary_to_json(const PredictSummary& s) {
    json errors = json::array();
    for (const auto& [file, message] : s.errors) errors.push_back({{"file", file}, {"error", message}});
    return {{"images", s.images},
            {"predicted", s.predicted},
            {"resumed", s.resumed},
            {"failed", s.failed},
            {"pairs", s.pairs},
            {"gated", s.gated},
            {"detections", s.detections},
            {"seconds", s.seconds},
            {"images_per_second", s.images_per_second},
            {"stage_ms",
             {{"upload", s.timings.upload_ms},
              {"encoder", s.timings.encoder_ms},
              {"decoder", s.timings.decoder_ms},
              {"mask_decoder", s.timings.mask_decoder_ms},
              {"postprocess", s.timings.postprocess_ms}}},
            {"errors", std::move(errors)}};
}

}  // namespace chickenseg
