#include "chickenseg/eval/saco_metrics.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

#include "chickenseg/core/build_info.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "core/id_index.h"
#include "chickenseg/core/parallel.h"
#include "chickenseg/core/progress.h"
#include "chickenseg/core/sha256.h"
#include "results_list_scanner.h"

namespace chickenseg {

const char* epsilon_convention_name(EpsilonConvention e) {
    return e == EpsilonConvention::official ? "official" : "none";
}

namespace {

std::vector<int64_t> image_ids(const SacoDataset& gt) {
    std::vector<int64_t> ids;
    ids.reserve(gt.images.size());
    for (const auto& im : gt.images) ids.push_back(im.id);
    return ids;
}

}  // namespace

void check_eval_gt(const SacoDataset& gt, const std::string& gt_file) {
    check_saco_ids(gt, gt_file);  // the rules split, holdout and merge apply
    for (size_t i = 0; i < gt.images.size(); ++i) {
        const auto& im = gt.images[i];
        if (im.is_instance_exhaustive != 0 && im.is_instance_exhaustive != 1)
            throw Error("expected 0 or 1, found " + std::to_string(im.is_instance_exhaustive), gt_file, 0,
                        json_index("images", i) + ".is_instance_exhaustive");
    }
}

namespace {

constexpr double kEpsF1 = 1e-4;     // cgf1_eval.py: precision, recall, F1 denominators
constexpr double kEpsImage = 1e-6;  // cgf1_eval.py: image-level ratios and MCC

// num / den under the chosen convention; `why` explains a zero denominator.
MetricValue ratio(double num, double den, double eps, EpsilonConvention conv, const std::string& why) {
    if (conv == EpsilonConvention::official) return MetricValue::of(num / (den + eps));
    if (den == 0) return MetricValue::undefined(why);
    return MetricValue::of(num / den);
}

// F1 from counts. Official: 2PR / (P + R + 1e-4) with P, R carrying 1e-4 (the
// order of operations of cgf1_eval.py). None: 2TP / (2TP + FP + FN).
MetricValue f1_from_counts(uint64_t tp, uint64_t fp, uint64_t fn, EpsilonConvention conv, const std::string& why) {
    double t = static_cast<double>(tp);
    if (conv == EpsilonConvention::official) {
        double p = t / (static_cast<double>(tp + fp) + kEpsF1);
        double r = t / (static_cast<double>(tp + fn) + kEpsF1);
        return MetricValue::of(2 * p * r / (p + r + kEpsF1));
    }
    uint64_t den = 2 * tp + fp + fn;
    if (den == 0) return MetricValue::undefined(why);
    return MetricValue::of(2 * t / static_cast<double>(den));
}

MetricValue product(const MetricValue& a, const MetricValue& b) {
    if (!a.value) return MetricValue::undefined(a.reason);
    if (!b.value) return MetricValue::undefined(b.reason);
    return MetricValue::of(*a.value * *b.value);
}

// Mean over thresholds; undefined when any threshold's value is (the reason is the same).
template <typename Get>
MetricValue mean_over_thresholds(const std::array<ThresholdMetrics, kIouThresholdCount>& per, Get get) {
    double sum = 0;
    for (const auto& m : per) {
        const MetricValue& v = get(m);
        if (!v.value) return MetricValue::undefined(v.reason);
        sum += *v.value;
    }
    return MetricValue::of(sum / static_cast<double>(per.size()));
}

ImageLevelMetrics image_level_metrics(uint64_t tp, uint64_t fp, uint64_t tn, uint64_t fn, EpsilonConvention conv) {
    ImageLevelMetrics m;
    m.tp = tp;
    m.fp = fp;
    m.tn = tn;
    m.fn = fn;
    double dtp = static_cast<double>(tp), dfp = static_cast<double>(fp);
    m.recall = ratio(dtp, static_cast<double>(tp + fn), kEpsImage, conv, "no positive pairs (GT > 0)");
    m.precision = ratio(dtp, static_cast<double>(tp + fp), kEpsImage, conv, "no pair has a kept prediction");
    if (conv == EpsilonConvention::official) {
        double p = *m.precision.value, r = *m.recall.value;
        m.f1 = MetricValue::of(2 * p * r / (p + r + kEpsImage));
    } else {
        uint64_t den = 2 * tp + fp + fn;
        m.f1 = den ? MetricValue::of(2 * dtp / static_cast<double>(den))
                   : MetricValue::undefined("no positive pairs and no pair has a kept prediction");
    }
    m.fpr = ratio(dfp, static_cast<double>(fp + tn), kEpsImage, conv, "no negative pairs (GT = 0)");
    // MCC: the numerator is an exact integer; the denominator as cgf1_eval.py computes it.
    double num = static_cast<double>(static_cast<int64_t>(tp * tn) - static_cast<int64_t>(fp * fn));
    double den = std::sqrt(static_cast<double>(tp + fp) * static_cast<double>(tp + fn) * static_cast<double>(tn + fp) *
                           static_cast<double>(tn + fn));
    if (conv == EpsilonConvention::official) {
        m.mcc = MetricValue::of(num / (den + kEpsImage));
    } else if (den == 0) {
        std::string why;
        auto add = [&](bool zero, const char* what) {
            if (!zero) return;
            if (!why.empty()) why += "; ";
            why += what;
        };
        add(tp + fp == 0, "no pair has a kept prediction");
        add(tp + fn == 0, "no positive pairs (GT > 0)");
        add(tn + fp == 0, "no negative pairs (GT = 0)");
        add(tn + fn == 0, "every pair has a kept prediction");
        m.mcc = MetricValue::undefined("IL_MCC undefined: " + why);
    } else {
        m.mcc = MetricValue::of(num / den);
    }
    return m;
}

struct TypeSums {
    std::array<uint64_t, kIouThresholdCount> tp{}, fp{}, fn{}, pm_fp{};
    std::array<double, kIouThresholdCount> local_f1_sum{};
    size_t macro_pairs = 0;
};

void add_pair(TypeSums& s, const PairMatching& m, EpsilonConvention conv) {
    bool positive = m.gt_count > 0;
    for (size_t t = 0; t < kIouThresholdCount; ++t) {
        s.tp[t] += m.tp[t];
        s.fp[t] += m.fp_at(t);
        s.fn[t] += m.fn_at(t);
        if (positive) s.pm_fp[t] += m.fp_at(t);
        if (positive && m.pred_count > 0)
            s.local_f1_sum[t] += *f1_from_counts(m.tp[t], m.fp_at(t), m.fn_at(t), conv, {}).value;
    }
    if (positive && m.pred_count > 0) ++s.macro_pairs;
}

IouTypeMetrics type_metrics(IouType type, const TypeSums& s, const MetricValue& mcc, EpsilonConvention conv) {
    IouTypeMetrics out;
    out.type = type;
    out.macro_pair_count = s.macro_pairs;
    const auto& thr = iou_thresholds();
    for (size_t t = 0; t < kIouThresholdCount; ++t) {
        ThresholdMetrics& m = out.per_threshold[t];
        m.iou_threshold = thr[t];
        m.tp = s.tp[t];
        m.fp = s.fp[t];
        m.fn = s.fn[t];
        m.pm_fp = s.pm_fp[t];
        double tp = static_cast<double>(m.tp);
        m.precision =
            ratio(tp, static_cast<double>(m.tp + m.fp), kEpsF1, conv, "no kept predictions on any evaluated pair");
        m.recall = ratio(tp, static_cast<double>(m.tp + m.fn), kEpsF1, conv, "no GT instances (no positive pairs)");
        m.pm_precision =
            ratio(tp, static_cast<double>(m.tp + m.pm_fp), kEpsF1, conv, "no kept predictions on positive pairs");
        if (conv == EpsilonConvention::official) {
            double p = *m.precision.value, r = *m.recall.value, pp = *m.pm_precision.value;
            m.f1 = MetricValue::of(2 * p * r / (p + r + kEpsF1));
            m.pm_f1 = MetricValue::of(2 * pp * r / (pp + r + kEpsF1));
        } else {
            m.f1 = f1_from_counts(m.tp, m.fp, m.fn, conv, "no GT instances and no kept predictions");
            m.pm_f1 = f1_from_counts(m.tp, m.pm_fp, m.fn, conv, "pmF1 undefined: no positive pairs (GT > 0)");
        }
        m.positive_macro_f1 = s.macro_pairs
                                  ? MetricValue::of(s.local_f1_sum[t] / static_cast<double>(s.macro_pairs))
                                  : MetricValue::undefined("no pair has both GT instances and kept predictions");
        m.cgf1 = product(m.pm_f1, mcc);
    }
    out.cgf1 =
        mean_over_thresholds(out.per_threshold, [](const ThresholdMetrics& m) -> const MetricValue& { return m.cgf1; });
    out.pm_f1 = mean_over_thresholds(out.per_threshold,
                                     [](const ThresholdMetrics& m) -> const MetricValue& { return m.pm_f1; });
    out.pm_precision = mean_over_thresholds(
        out.per_threshold, [](const ThresholdMetrics& m) -> const MetricValue& { return m.pm_precision; });
    out.precision = mean_over_thresholds(out.per_threshold,
                                         [](const ThresholdMetrics& m) -> const MetricValue& { return m.precision; });
    out.recall = mean_over_thresholds(out.per_threshold,
                                      [](const ThresholdMetrics& m) -> const MetricValue& { return m.recall; });
    out.f1 =
        mean_over_thresholds(out.per_threshold, [](const ThresholdMetrics& m) -> const MetricValue& { return m.f1; });
    out.positive_macro_f1 = mean_over_thresholds(
        out.per_threshold, [](const ThresholdMetrics& m) -> const MetricValue& { return m.positive_macro_f1; });
    return out;
}

// Items (annotations, predictions) grouped by image position, each group in file order:
// a counting sort into one array, instead of a growing vector per image.
class ImageGroups {
public:
    // group_of[i]: the image position of item i.
    ImageGroups(const std::vector<uint32_t>& group_of, size_t groups) : start_(groups + 1, 0) {
        for (uint32_t g : group_of) ++start_[g + 1];
        for (size_t g = 0; g < groups; ++g) start_[g + 1] += start_[g];
        items_.resize(group_of.size());
        std::vector<size_t> next(start_.begin(), start_.end() - 1);
        for (size_t i = 0; i < group_of.size(); ++i) items_[next[group_of[i]]++] = i;
    }
    std::span<const size_t> operator[](size_t g) const {
        return {items_.data() + start_[g], start_[g + 1] - start_[g]};
    }

private:
    std::vector<size_t> start_;
    std::vector<size_t> items_;
};

struct ImageIndex {
    ImageGroups annotations;  // per gt.images[] position, file order
    ImageGroups predictions;  // per gt.images[] position, file order
};

void evaluate_image(const SacoDataset& gt, const PredictionSet& preds, const PresenceScores* presence,
                    const EvalParams& params, size_t image_pos, const ImageIndex& index, ImageResult& out) {
    const SacoImage& im = gt.images[image_pos];
    out.image_id = im.id;
    out.file_name = im.file_name;
    out.text_input = im.text_input;
    for (size_t a : index.annotations[image_pos]) {
        if (gt.annotations[a].iscrowd)
            ++out.crowd_count;
        else
            out.gt_annotations.push_back(a);
    }
    out.gt_count = static_cast<uint32_t>(out.gt_annotations.size());
    const auto& image_preds = index.predictions[image_pos];
    out.prediction_count = static_cast<uint32_t>(image_preds.size());
    for (size_t p : image_preds) {
        const Prediction& pred = preds.predictions[p];
        out.max_score = std::max(out.max_score, pred.score);
        if (pred.score >= params.score_threshold) {  // >= as in cgf1_eval.py: a score of exactly 0.5 is kept
            out.kept.push_back(p);
            out.kept_scores.push_back(pred.score);
        }
    }
    if (presence) {
        auto it = presence->by_image.find(im.id);
        if (it != presence->by_image.end()) out.presence = it->second;
    }
    if (params.negatives_only) return;
    if (params.segm) {
        // Masks are held compressed (GT and predictions): each is decoded here, into
        // memory this thread reuses image after image. Decoding them all up front cost
        // 93 MB and its page faults on bench/eval_bench.py's set.
        thread_local std::vector<Rle> decoded_dt, decoded_gt;
        if (decoded_dt.size() < out.kept.size()) decoded_dt.resize(out.kept.size());
        if (decoded_gt.size() < out.gt_annotations.size()) decoded_gt.resize(out.gt_annotations.size());
        std::vector<const Rle*> dt, gts;
        dt.reserve(out.kept.size());
        gts.reserve(out.gt_annotations.size());
        for (size_t k = 0; k < out.kept.size(); ++k) {
            const Prediction& pred = preds.predictions[out.kept[k]];
            if (!pred.has_mask)
                throw Error("segm evaluation needs a mask, this prediction has only a bbox", preds.file, 0,
                            json_index("predictions", pred.index) + ".segmentation");
            if (pred.mask.h != im.height || pred.mask.w != im.width)
                throw Error(
                    "the mask of this prediction is " + std::to_string(pred.mask.h) + "x" +
                        std::to_string(pred.mask.w) + ", expected the image's " + std::to_string(im.height) + "x" +
                        std::to_string(im.width) +
                        (pred.mask.counts().empty() ? " (read with masks_from_score above the threshold?)" : ""),
                    preds.file, 0, json_index("predictions", pred.index) + ".segmentation");
            rle_from_string(pred.mask.counts(), pred.mask.h, pred.mask.w, decoded_dt[k]);
            dt.push_back(&decoded_dt[k]);
        }
        // Without a kept prediction nothing is matched and the GT masks are not read (the
        // reader has checked them): an image where the model kept nothing is not rasterised.
        for (size_t k = 0; k < out.gt_annotations.size(); ++k) {
            const Segmentation& seg = gt.annotations[out.gt_annotations[k]].segmentation;
            if (!dt.empty()) {
                if (seg.is_rle)
                    rle_from_string(seg.rle.counts(), seg.rle.h, seg.rle.w, decoded_gt[k]);
                else
                    decoded_gt[k] = rle_from_polygons(seg.polygons, im.height, im.width);
            }
            gts.push_back(&decoded_gt[k]);
        }
        out.segm = PairTypeResult{match_masks(std::span<const Rle* const>(dt), std::span<const Rle* const>(gts))};
    }
    if (params.bbox) {
        std::vector<BoxXywh> dt, gts;
        for (size_t p : out.kept) dt.push_back(preds.predictions[p].bbox);
        for (size_t a : out.gt_annotations) gts.push_back(gt.annotations[a].bbox);
        out.bbox = PairTypeResult{match_boxes(dt, gts)};
    }
}

// Each annotation and prediction grouped under its image's position in gt.images; a
// prediction on an image the GT does not have is an error, not a false positive.
ImageIndex index_by_image(const SacoDataset& gt, const PredictionSet& preds) {
    IdIndex pos_of(image_ids(gt));
    std::vector<uint32_t> image_of_annotation(gt.annotations.size()), image_of_prediction(preds.predictions.size());
    // Every annotation names a GT image: checked by check_eval_gt.
    for (size_t a = 0; a < gt.annotations.size(); ++a)
        image_of_annotation[a] = static_cast<uint32_t>(pos_of.find(gt.annotations[a].image_id));
    for (size_t p = 0; p < preds.predictions.size(); ++p) {
        size_t pos = pos_of.find(preds.predictions[p].image_id);
        if (pos == IdIndex::npos)
            throw Error(
                "image id " + std::to_string(preds.predictions[p].image_id) + " is not an image of the ground truth",
                preds.file, 0, json_index("predictions", preds.predictions[p].index) + ".image_id");
        image_of_prediction[p] = static_cast<uint32_t>(pos);
    }
    return ImageIndex{ImageGroups(image_of_annotation, gt.images.size()),
                      ImageGroups(image_of_prediction, gt.images.size())};
}

// Only exhaustively annotated pairs are evaluated (cgf1_eval.py's eval_img_ids).
std::vector<size_t> select_evaluated(const SacoDataset& gt, const ImageIndex& index, EvalCounts& counts) {
    std::vector<size_t> evaluated;
    for (size_t i = 0; i < gt.images.size(); ++i) {
        if (gt.images[i].is_instance_exhaustive) {
            evaluated.push_back(i);
        } else {
            ++counts.skipped_not_exhaustive;
            counts.predictions_on_skipped += index.predictions[i].size();
        }
    }
    return evaluated;
}

// Checks that need the evaluated set: a negatives-only holdout must hold no instance, and a
// presence file must score every evaluated image.
void check_evaluated(const SacoDataset& gt, const std::vector<size_t>& evaluated, const ImageIndex& index,
                     const PresenceScores* presence, const EvalParams& params, const std::string& gt_file) {
    if (params.negatives_only) {
        for (size_t i : evaluated) {
            size_t non_crowd = 0;
            for (size_t a : index.annotations[i]) non_crowd += gt.annotations[a].iscrowd == 0;
            if (non_crowd)
                throw Error("--negatives-only expects a hard-negative holdout with no instance, but image id " +
                                std::to_string(gt.images[i].id) + " has " + std::to_string(non_crowd) +
                                " annotation(s); evaluate it without --negatives-only (the negatives section is "
                                "reported whenever the GT has negatives)",
                            gt_file, 0, json_index("images", i));
        }
    }
    if (presence) {
        for (size_t i : evaluated)
            if (!presence->by_image.count(gt.images[i].id))
                throw Error("no presence score for image id " + std::to_string(gt.images[i].id) +
                                " (every evaluated image needs one)",
                            presence->file, 0, "presence");
    }
}

// Pairs are independent: workers take images in blocks; results land in fixed slots, and
// the sums run in GT order afterwards, so the output does not depend on the thread count.
void evaluate_images(const SacoDataset& gt, const PredictionSet& preds, const PresenceScores* presence,
                     const EvalParams& params, const std::vector<size_t>& evaluated, const ImageIndex& index,
                     std::vector<ImageResult>& images) {
    images.resize(evaluated.size());
    unsigned threads = params.threads ? params.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(1, evaluated.size() / 16)));
    std::mutex progress_mutex;
    Progress progress("eval", evaluated.size());
    constexpr size_t kBlock = 32;  // images per work item: few enough hand-outs, even enough loads
    parallel_for((evaluated.size() + kBlock - 1) / kBlock, threads, [&](size_t block) {
        const size_t begin = block * kBlock, end = std::min(begin + kBlock, evaluated.size());
        for (size_t k = begin; k < end; ++k)
            evaluate_image(gt, preds, presence, params, evaluated[k], index, images[k]);
        std::lock_guard lock(progress_mutex);
        progress.tick(end - begin);
    });
    progress.finish();
}

// The dataset-level metrics from the per-pair results: image-level confusion, the per-type
// sums, and the negatives section (whenever the GT has negatives).
void sum_results(EvalResult& result, const PresenceScores* presence, const EvalParams& params) {
    EvalCounts& counts = result.counts;
    uint64_t il_tp = 0, il_fp = 0, il_tn = 0, il_fn = 0;
    TypeSums segm_sums, bbox_sums;
    std::vector<NegativeImage> negatives;
    for (const ImageResult& r : result.images) {
        ++counts.evaluated_pairs;
        counts.gt_instances += r.gt_count;
        counts.crowd_regions += r.crowd_count;
        counts.kept_predictions += r.kept.size();
        bool has_pred = !r.kept.empty();
        if (r.is_positive()) {
            ++counts.positive_pairs;
            (has_pred ? il_tp : il_fn) += 1;
        } else {
            ++counts.negative_pairs;
            (has_pred ? il_fp : il_tn) += 1;
            negatives.push_back({r.image_id, r.kept_count(), r.presence ? *r.presence : r.max_score});
        }
        if (r.segm) add_pair(segm_sums, r.segm->matching, params.epsilon);
        if (r.bbox) add_pair(bbox_sums, r.bbox->matching, params.epsilon);
    }
    result.image_level = image_level_metrics(il_tp, il_fp, il_tn, il_fn, params.epsilon);
    if (!params.negatives_only) {
        if (params.segm) result.segm = type_metrics(IouType::segm, segm_sums, result.image_level.mcc, params.epsilon);
        if (params.bbox) result.bbox = type_metrics(IouType::bbox, bbox_sums, result.image_level.mcc, params.epsilon);
    }
    if (!negatives.empty() || params.negatives_only)
        result.negatives = analyse_negatives(
            negatives, presence ? PresenceSource::presence_file : PresenceSource::max_prediction_score,
            params.negatives);
}

}  // namespace

EvalResult evaluate_saco(const SacoDataset& gt, const PredictionSet& preds, const PresenceScores* presence,
                         const EvalParams& params, const std::string& gt_file) {
    if (!params.negatives_only && !params.segm && !params.bbox)
        throw Error("nothing to evaluate: choose at least one IoU type (segm, bbox)");
    if (!(params.score_threshold >= 0 && params.score_threshold <= 1)) throw Error("score threshold must be in [0, 1]");
    check_eval_gt(gt, gt_file);

    EvalResult result;
    result.params = params;
    result.counts.gt_images = gt.images.size();
    result.counts.predictions = preds.predictions.size();

    ImageIndex index = index_by_image(gt, preds);
    std::vector<size_t> evaluated = select_evaluated(gt, index, result.counts);
    check_evaluated(gt, evaluated, index, presence, params, gt_file);
    evaluate_images(gt, preds, presence, params, evaluated, index, result.images);
    sum_results(result, presence, params);
    return result;
}

EvalInputs load_eval_inputs(const std::string& gt_path, const std::string& predictions_path,
                            const std::string& presence_path, const PredictionReadParams& read_params) {
    // The hashing thread shares the mapped files, and may still read them after this
    // function has returned.
    auto gt_file = std::make_shared<const MappedFile>(gt_path);
    auto pred_file = std::make_shared<const MappedFile>(predictions_path);
    std::shared_ptr<const MappedFile> presence_file;
    if (!presence_path.empty()) presence_file = std::make_shared<const MappedFile>(presence_path);
    std::string_view gt_text = gt_file->view(), pred_text = pred_file->view();
    std::string_view presence_text = presence_file ? presence_file->view() : std::string_view();
    // Hashing, reading the GT and scanning the predictions (all they can be checked
    // for without the GT) are independent: all three run at once.
    EvalInputs in;
    in.files = std::async(std::launch::async, [=]() {
                   std::vector<EvalInput> files{{"gt", gt_path, sha256_hex(gt_file->view())},
                                                {"predictions", predictions_path, sha256_hex(pred_file->view())}};
                   if (presence_file) files.push_back({"presence", presence_path, sha256_hex(presence_file->view())});
                   return files;
               }).share();
    auto scanned = std::async(std::launch::async, [&]() {
        return detail::scan_results_list(pred_text, predictions_path, read_params, pred_file);
    });
    in.gt = saco_from_text(gt_text, gt_path);  // on error, `scanned` waits for its thread
    check_eval_gt(in.gt, gt_path);
    in.predictions = detail::predictions_after_scan(scanned.get(), pred_text, predictions_path, in.gt, read_params);
    if (!presence_path.empty()) in.presence = presence_from_text(presence_text, presence_path, in.gt);
    return in;
}

namespace {

// A metric as JSON: the number, or null with its reason recorded in `undefined`.
void put_metric(json& obj, const std::string& key, const MetricValue& v) {
    if (v.value) {
        obj[key] = *v.value;
    } else {
        obj[key] = nullptr;
        obj["undefined"][key] = v.reason;
    }
}

json opt_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json type_metrics_to_json(const IouTypeMetrics& m) {
    json j = json::object();
    put_metric(j, "cgF1", m.cgf1);
    put_metric(j, "cgF1@0.5", m.per_threshold[kThreshold50].cgf1);
    put_metric(j, "cgF1@0.75", m.per_threshold[kThreshold75].cgf1);
    put_metric(j, "pmF1", m.pm_f1);
    put_metric(j, "pmF1@0.5", m.per_threshold[kThreshold50].pm_f1);
    put_metric(j, "pmF1@0.75", m.per_threshold[kThreshold75].pm_f1);
    put_metric(j, "pm_precision", m.pm_precision);
    put_metric(j, "positive_macro_F1", m.positive_macro_f1);
    put_metric(j, "precision", m.precision);
    put_metric(j, "recall", m.recall);
    put_metric(j, "F1", m.f1);
    j["positive_macro_pairs"] = m.macro_pair_count;
    json per = json::array();
    for (const auto& t : m.per_threshold) {
        json e = json::object();
        e["iou"] = t.iou_threshold;
        e["TP"] = t.tp;
        e["FP"] = t.fp;
        e["FN"] = t.fn;
        e["pm_FP"] = t.pm_fp;
        put_metric(e, "precision", t.precision);
        put_metric(e, "recall", t.recall);
        put_metric(e, "F1", t.f1);
        put_metric(e, "pm_precision", t.pm_precision);
        put_metric(e, "pmF1", t.pm_f1);
        put_metric(e, "positive_macro_F1", t.positive_macro_f1);
        put_metric(e, "cgF1", t.cgf1);
        per.push_back(std::move(e));
    }
    j["per_threshold"] = std::move(per);
    return j;
}

json matching_to_json(const PairMatching& m) {
    json j = json::object();
    json matches = json::array();
    for (const auto& x : m.matches) matches.push_back({{"pred", x.pred}, {"gt", x.gt}, {"iou", x.iou}});
    j["matches"] = std::move(matches);
    j["best_iou_per_pred"] = m.best_iou_per_pred;
    j["best_iou_per_gt"] = m.best_iou_per_gt;
    json tp = json::array(), fp = json::array(), fn = json::array();
    for (size_t t = 0; t < kIouThresholdCount; ++t) {
        tp.push_back(m.tp[t]);
        fp.push_back(m.fp_at(t));
        fn.push_back(m.fn_at(t));
    }
    j["TP"] = std::move(tp);
    j["FP"] = std::move(fp);
    j["FN"] = std::move(fn);
    return j;
}

json image_to_json(const ImageResult& r, const SacoDataset* gt) {
    json j = json::object();
    j["image_id"] = r.image_id;
    j["file_name"] = r.file_name;
    j["text_input"] = r.text_input;
    j["gt_count"] = r.gt_count;
    j["crowd_count"] = r.crowd_count;
    j["prediction_count"] = r.prediction_count;
    json kept = json::array();
    for (size_t k = 0; k < r.kept.size(); ++k) kept.push_back({{"prediction", r.kept[k]}, {"score", r.kept_scores[k]}});
    j["kept"] = std::move(kept);
    j["max_score"] = r.max_score;
    j["presence"] = opt_number(r.presence);
    if (r.segm) j["segm"] = matching_to_json(r.segm->matching);
    if (r.bbox) j["bbox"] = matching_to_json(r.bbox->matching);
    return j;
}

}  // namespace

json eval_result_to_json(const EvalResult& r, const std::vector<EvalInput>& inputs, bool with_images) {
    json j = json::object();
    j["schema"] = kMetricsSchema;
    j["tool"] = version_string();
    j["convention"] = {
        {"epsilon", epsilon_convention_name(r.params.epsilon)},
        {"description", r.params.epsilon == EpsilonConvention::official
                            ? "cgf1_eval.py constants: +1e-4 in precision/recall/F1 denominators, +1e-6 in "
                              "image-level ratios and MCC"
                            : "exact fractions; F1 = 2TP/(2TP+FP+FN); a zero denominator gives null with a reason"}};
    j["score_threshold"] = r.params.score_threshold;
    j["iou_thresholds"] = iou_thresholds();
    json types = json::array();
    if (!r.params.negatives_only) {
        if (r.params.segm) types.push_back("segm");
        if (r.params.bbox) types.push_back("bbox");
    }
    j["iou_types"] = std::move(types);
    j["negatives_only"] = r.params.negatives_only;
    json in = json::object();
    for (const auto& i : inputs) in[i.role] = {{"path", i.path}, {"sha256", i.sha256}};
    j["inputs"] = std::move(in);
    const EvalCounts& c = r.counts;
    j["counts"] = {{"gt_images", c.gt_images},
                   {"skipped_not_exhaustive", c.skipped_not_exhaustive},
                   {"evaluated_pairs", c.evaluated_pairs},
                   {"positive_pairs", c.positive_pairs},
                   {"negative_pairs", c.negative_pairs},
                   {"gt_instances", c.gt_instances},
                   {"crowd_regions", c.crowd_regions},
                   {"predictions", c.predictions},
                   {"predictions_on_skipped", c.predictions_on_skipped},
                   {"kept_predictions", c.kept_predictions}};
    json il = json::object();
    il["TP"] = r.image_level.tp;
    il["FP"] = r.image_level.fp;
    il["TN"] = r.image_level.tn;
    il["FN"] = r.image_level.fn;
    put_metric(il, "IL_MCC", r.image_level.mcc);
    put_metric(il, "IL_precision", r.image_level.precision);
    put_metric(il, "IL_recall", r.image_level.recall);
    put_metric(il, "IL_F1", r.image_level.f1);
    put_metric(il, "IL_FPR", r.image_level.fpr);
    j["image_level"] = std::move(il);
    if (r.segm) j["segm"] = type_metrics_to_json(*r.segm);
    if (r.bbox) j["bbox"] = type_metrics_to_json(*r.bbox);
    if (r.negatives) {
        const NegativeReport& n = *r.negatives;
        json neg = json::object();
        neg["image_count"] = n.image_count;
        neg["presence_source"] = presence_source_name(n.presence_source);
        neg["detections"] = {{"total", n.detections_total},
                             {"mean", opt_number(n.detections_mean)},
                             {"max", n.detections_max},
                             {"images_with_detections", n.images_with_detections}};
        neg["pass_rate"] = opt_number(n.pass_rate);
        neg["presence"] = {{"mean", opt_number(n.presence_mean)},
                           {"p50", opt_number(n.presence_p50)},
                           {"p95", opt_number(n.presence_p95)},
                           {"max", opt_number(n.presence_max)}};
        json hall = json::array();
        for (const auto& h : n.hallucinations)
            hall.push_back({{"image_id", h.image_id}, {"presence", h.presence}, {"detections", h.detections}});
        neg["hallucinations"] = {{"count", n.hallucination_count}, {"images", std::move(hall)}};
        neg["thresholds"] = {{"max_mean_presence", n.params.max_mean_presence},
                             {"hallucination_presence", n.params.hallucination_presence},
                             {"min_pass_rate", n.params.min_pass_rate}};
        neg["mean_presence_ok"] = n.mean_presence_ok;
        neg["pass_rate_ok"] = n.pass_rate_ok;
        neg["passed"] = n.passed;
        neg["verdict"] = n.passed ? "pass" : "fail";
        neg["failures"] = n.failures;
        j["negatives"] = std::move(neg);
    }
    if (with_images) {
        json images = json::array();
        for (const auto& im : r.images) images.push_back(image_to_json(im, nullptr));
        j["images"] = std::move(images);
    }
    return j;
}

}  // namespace chickenseg
