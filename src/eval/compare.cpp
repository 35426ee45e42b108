#include "chickenseg/core/text_format.h"
#include "chickenseg/eval/compare.h"

#include <cmath>
#include <cstdio>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/sha256.h"
#include "chickenseg/eval/negative_test.h"
#include "chickenseg/eval/saco_metrics.h"

namespace chickenseg {

namespace {

std::string signed_fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.*f", digits, v);
    return buf;
}

// Shortest round-trip-ish text for thresholds given by the user ("5", "0.9", "2.5").
std::string plain_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// Reads doc[keys...]: nullopt when a key on the way is absent or the value is null;
// Error naming the JSON path when the value is neither a number nor null.
class FieldReader {
public:
    FieldReader(const json& doc, const std::string& file) : doc_(doc), file_(file) {}

    const json* find(std::initializer_list<const char*> keys, std::string* path_out = nullptr) const {
        const json* v = &doc_;
        std::string path;
        for (const char* k : keys) {
            if (!v->is_object()) {
                if (v->is_null()) return nullptr;
                throw Error("expected a JSON object, found " + std::string(v->type_name()), file_, 0, path);
            }
            path = json_key(path, k);
            auto it = v->find(k);
            if (it == v->end()) return nullptr;
            v = &*it;
        }
        if (path_out) *path_out = path;
        return v;
    }

    std::optional<double> number(std::initializer_list<const char*> keys, double scale = 1.0) const {
        std::string path;
        const json* v = find(keys, &path);
        if (!v || v->is_null()) return std::nullopt;
        if (!v->is_number()) throw Error("expected a number or null, found " + v->dump(), file_, 0, path);
        double d = v->get<double>();
        if (!std::isfinite(d)) throw Error("expected a finite number", file_, 0, path);
        return d * scale;
    }

    // A number in [lo, hi] (before scaling) or null/absent.
    std::optional<double> number_in(std::initializer_list<const char*> keys, double lo, double hi,
                                    double scale = 1.0) const {
        std::optional<double> v = number(keys);
        if (v && !(*v >= lo && *v <= hi)) {
            std::string path;
            find(keys, &path);
            throw Error("expected a number in [" + plain_number(lo) + ", " + plain_number(hi) + "], found " +
                            plain_number(*v) + " (not a value `chickenseg eval` writes)",
                        file_, 0, path);
        }
        if (v) *v *= scale;
        return v;
    }

    // A whole non-negative number (a count) or null/absent.
    std::optional<double> count(std::initializer_list<const char*> keys) const {
        std::optional<double> v = number(keys);
        if (v && !(*v >= 0 && *v == std::floor(*v) && *v <= 9007199254740992.0)) {
            std::string path;
            find(keys, &path);
            throw Error("expected a count (a whole number >= 0), found " + plain_number(*v), file_, 0, path);
        }
        return v;
    }

    std::optional<std::string> string(std::initializer_list<const char*> keys) const {
        std::string path;
        const json* v = find(keys, &path);
        if (!v || v->is_null()) return std::nullopt;
        if (!v->is_string()) throw Error("expected a string, found " + v->dump(), file_, 0, path);
        return v->get<std::string>();
    }

private:
    const json& doc_;
    const std::string& file_;
};

// Equal within kGateTolerance (relative to the threshold's size): such a value
// does not pass a "more than" test, so 9/10 is "exactly 0.9".
bool strictly_greater(double value, double threshold) {
    double tol = kGateTolerance * std::max(1.0, std::fabs(threshold));
    return value > threshold + tol;
}

std::string short_digest(const std::string& hex) { return hex.size() > 12 ? hex.substr(0, 12) : hex; }

GateCheck check_comparable(const MetricsSummary& b, const MetricsSummary& c, const GateParams& p) {
    GateCheck check{"comparable", true, {}};
    std::vector<std::string> problems, notes;
    const char* type = iou_type_name(p.iou_type);
    if (!b.has_iou_type) problems.push_back("the baseline has no " + std::string(type) + " metrics");
    if (!c.has_iou_type) problems.push_back("the candidate has no " + std::string(type) + " metrics");
    if (b.gt_sha256 && c.gt_sha256) {
        if (*b.gt_sha256 != *c.gt_sha256)
            problems.push_back("evaluated on different ground truth (sha256 " + short_digest(*b.gt_sha256) + "... vs " +
                               short_digest(*c.gt_sha256) + "...)");
        else
            notes.push_back("same ground truth (sha256 " + short_digest(*b.gt_sha256) + "...)");
    } else {
        notes.push_back("ground-truth digest not recorded in both files: not checked");
    }
    if (b.score_threshold && c.score_threshold && *b.score_threshold != *c.score_threshold)
        problems.push_back("different score thresholds (" + plain_number(*b.score_threshold) + " vs " +
                           plain_number(*c.score_threshold) + ")");
    if (b.epsilon && c.epsilon && *b.epsilon != *c.epsilon)
        problems.push_back("different denominator conventions (" + *b.epsilon + " vs " + *c.epsilon + ")");
    if (c.epsilon && (!b.epsilon || *b.epsilon == *c.epsilon)) notes.push_back("convention " + *c.epsilon);
    if (!problems.empty()) {
        check.passed = false;
        for (const auto& s : problems) check.detail += (check.detail.empty() ? "" : "; ") + s;
    } else {
        for (const auto& s : notes) check.detail += (check.detail.empty() ? "" : ", ") + s;
    }
    return check;
}

std::string undefined_note(const MetricsSummary& m, const std::string& key) {
    auto it = m.undefined_reasons.find(key);
    return it == m.undefined_reasons.end() ? std::string("missing or null") : "undefined: " + it->second;
}

GateCheck check_improvement(const MetricsSummary& b, const MetricsSummary& c, const GateParams& p,
                            std::optional<double>& improvement) {
    GateCheck check{"cgF1 improvement", false, {}};
    bool relative = p.improvement == ImprovementMode::relative;
    std::string required = relative ? "more than " + plain_number(p.min_improvement) + "% relative"
                                    : "more than " + plain_number(p.min_improvement) + " points absolute";
    if (!b.cgf1 || !c.cgf1) {
        std::string which = !b.cgf1 ? "baseline cgF1 is " + undefined_note(b, "cgF1")
                                    : "candidate cgF1 is " + undefined_note(c, "cgF1");
        if (!b.cgf1 && !c.cgf1) which += "; candidate cgF1 is " + undefined_note(c, "cgF1");
        check.detail = "cannot compare: " + which + " (required: " + required + ")";
        return check;
    }
    double base = *b.cgf1, cand = *c.cgf1;
    if (relative) {
        if (base == 0) {
            check.detail = "relative improvement undefined: the baseline cgF1 is 0 (use --improvement absolute)";
            return check;
        }
        improvement = (cand - base) / std::fabs(base) * 100.0;
        check.passed = strictly_greater(*improvement, p.min_improvement);
        check.detail = "relative " + signed_fixed(*improvement, 2) + "% (candidate " + format_fixed(cand, 2) +
                       " vs baseline " + format_fixed(base, 2) + "), required " + required;
    } else {
        improvement = cand - base;
        check.passed = strictly_greater(*improvement, p.min_improvement);
        check.detail = "absolute " + signed_fixed(*improvement, 2) + " points (candidate " + format_fixed(cand, 2) +
                       " vs baseline " + format_fixed(base, 2) + "), required " + required;
    }
    return check;
}

GateCheck check_mean_presence(const MetricsSummary& c, const GateParams& p, std::optional<double>& mean) {
    GateCheck check{"hard-negative mean presence", false, {}};
    if (!p.max_mean_presence) {
        check.passed = true;
        check.detail = "not checked (switched off)";
        return check;
    }
    std::string required = "below " + plain_number(*p.max_mean_presence);
    if (!c.has_negatives) {
        check.detail =
            "the candidate metrics have no negatives section (no negative images were evaluated), so "
            "its presence without chickens is unknown (required: " +
            required + ")";
        return check;
    }
    if (!c.presence_mean) {
        check.detail = "the candidate's mean presence is null (no negative images) (required: " + required + ")";
        return check;
    }
    mean = c.presence_mean;
    check.passed = mean_presence_below(*mean, *p.max_mean_presence);
    check.detail = "candidate " + format_fixed(*mean, 4);
    if (c.presence_source)
        check.detail += *c.presence_source == "presence_file" ? " (presence head)"
                                                              : " (proxy: the highest prediction score per image)";
    check.detail += ", required " + required;
    return check;
}

GateCheck check_pass_rate(const MetricsSummary& c, const GateParams& p, std::optional<double>& pass_rate) {
    GateCheck check{"hard-negative pass rate", false, {}};
    std::string required = "more than " + plain_number(p.min_pass_rate);
    if (!c.has_negatives) {
        check.detail =
            "the candidate metrics have no negatives section (no negative images were evaluated), so "
            "its behaviour without chickens is unknown (required: " +
            required + ")";
        return check;
    }
    if (!c.pass_rate) {
        check.detail = "the candidate's pass rate is null (no negative images) (required: " + required + ")";
        return check;
    }
    pass_rate = c.pass_rate;
    check.passed = strictly_greater(*c.pass_rate, p.min_pass_rate);
    check.detail = "candidate " + format_fixed(*c.pass_rate, 4);
    if (c.negative_images) check.detail += " over " + plain_number(*c.negative_images) + " negative images";
    check.detail += ", required " + required;
    return check;
}

}  // namespace

const char* improvement_mode_name(ImprovementMode m) {
    return m == ImprovementMode::relative ? "relative" : "absolute";
}

ImprovementMode parse_improvement_mode(const std::string& s) {
    if (s == "relative") return ImprovementMode::relative;
    if (s == "absolute") return ImprovementMode::absolute;
    throw Error("unknown improvement mode \"" + s + "\" (expected relative or absolute)");
}

MetricsSummary metrics_summary_from_json(const json& doc, const std::string& file, IouType iou_type) {
    if (!doc.is_object())
        throw Error("expected a metrics object (schema " + std::string(kMetricsSchema) + "), found " +
                        std::string(doc.type_name()),
                    file);
    std::string schema = doc.contains("schema") && doc["schema"].is_string() ? doc["schema"].get<std::string>() : "";
    if (schema != kMetricsSchema)
        throw Error("not a metrics file: expected schema \"" + std::string(kMetricsSchema) + "\", found " +
                        (doc.contains("schema") ? doc["schema"].dump() : std::string("none")) +
                        " (write it with `chickenseg eval`)",
                    file, 0, "schema");
    FieldReader r(doc, file);
    // What `chickenseg eval` stamps on every metrics file: a hand-written or foreign file is
    // not evidence for a promotion.
    std::optional<std::string> tool = r.string({"tool"});
    if (!tool || tool->rfind("chickenseg", 0) != 0)
        throw Error("not written by `chickenseg eval`: expected \"tool\": \"chickenseg ...\", found " +
                        (tool ? "\"" + tool->substr(0, 60) + "\"" : std::string("none")),
                    file, 0, "tool");
    for (const char* role : {"gt", "predictions"})
        if (!r.string({"inputs", role, "sha256"}))
            throw Error("missing: `chickenseg eval` records the SHA-256 of each input (write the file with it)", file,
                        0, json_key(json_key("inputs", role), "sha256"));
    MetricsSummary m;
    m.file = file;
    m.gt_sha256 = r.string({"inputs", "gt", "sha256"});
    m.dataset_version = r.string({"dataset_version"});
    if (!m.dataset_version) m.dataset_version = r.string({"inputs", "gt", "dataset_version"});
    m.score_threshold = r.number_in({"score_threshold"}, 0.0, 1.0);
    m.epsilon = r.string({"convention", "epsilon"});
    if (!m.epsilon || (*m.epsilon != "official" && *m.epsilon != "none"))
        throw Error("expected \"official\" or \"none\", found " + (m.epsilon ? "\"" + *m.epsilon + "\"" : "none"), file,
                    0, "convention.epsilon");

    const char* type = iou_type_name(iou_type);
    const json* section = r.find({type});
    m.has_iou_type = section && section->is_object();
    if (section && !section->is_null() && !section->is_object())
        throw Error("expected a JSON object, found " + std::string(section->type_name()), file, 0, type);
    auto note_undefined = [&](const json* obj, const char* key, const std::string& row) {
        if (!obj || !obj->is_object()) return;
        auto u = obj->find("undefined");
        if (u == obj->end() || !u->is_object()) return;
        auto it = u->find(key);
        if (it != u->end() && it->is_string()) m.undefined_reasons[row] = it->get<std::string>();
    };
    // cgF1 and pmF1 are stored as fractions; compare shows and gates them x100.
    // cgF1 = pmF1 x IL_MCC: pmF1 in [0, 1], MCC in [-1, 1].
    m.cgf1 = r.number_in({type, "cgF1"}, -1.0, 1.0, 100.0);
    m.cgf1_50 = r.number_in({type, "cgF1@0.5"}, -1.0, 1.0, 100.0);
    m.cgf1_75 = r.number_in({type, "cgF1@0.75"}, -1.0, 1.0, 100.0);
    m.pmf1 = r.number_in({type, "pmF1"}, 0.0, 1.0, 100.0);
    for (auto [key, row] :
         {std::pair{"cgF1", "cgF1"}, {"cgF1@0.5", "cgF1@0.5"}, {"cgF1@0.75", "cgF1@0.75"}, {"pmF1", "pmF1"}})
        note_undefined(section, key, row);
    m.il_mcc = r.number_in({"image_level", "IL_MCC"}, -1.0, 1.0);
    m.il_precision = r.number_in({"image_level", "IL_precision"}, 0.0, 1.0);
    m.il_recall = r.number_in({"image_level", "IL_recall"}, 0.0, 1.0);
    m.il_fpr = r.number_in({"image_level", "IL_FPR"}, 0.0, 1.0);
    const json* il = r.find({"image_level"});
    for (auto [key, row] : {std::pair{"IL_MCC", "IL_MCC"},
                            {"IL_precision", "IL_precision"},
                            {"IL_recall", "IL_recall"},
                            {"IL_FPR", "IL_FPR"}})
        note_undefined(il, key, row);

    const json* neg = r.find({"negatives"});
    m.has_negatives = neg && neg->is_object();
    if (neg && !neg->is_null() && !neg->is_object())
        throw Error("expected a JSON object, found " + std::string(neg->type_name()), file, 0, "negatives");
    if (m.has_negatives) {
        m.negative_images = r.count({"negatives", "image_count"});
        m.pass_rate = r.number_in({"negatives", "pass_rate"}, 0.0, 1.0);
        m.presence_mean = r.number_in({"negatives", "presence", "mean"}, 0.0, 1.0);
        m.presence_p95 = r.number_in({"negatives", "presence", "p95"}, 0.0, 1.0);
        m.presence_max = r.number_in({"negatives", "presence", "max"}, 0.0, 1.0);
        m.hallucinations = r.count({"negatives", "hallucinations", "count"});
        if (m.hallucinations && m.negative_images && *m.hallucinations > *m.negative_images)
            throw Error("expected at most negatives.image_count (" + plain_number(*m.negative_images) +
                            ") hallucinating images, found " + plain_number(*m.hallucinations),
                        file, 0, "negatives.hallucinations.count");
        m.presence_source = r.string({"negatives", "presence_source"});
    }
    return m;
}

MetricsSummary read_metrics_summary(const std::filesystem::path& path, IouType iou_type) {
    std::string text = read_file(path);
    MetricsSummary m = metrics_summary_from_json(parse_json_text(text, path.string()), path.string(), iou_type);
    m.sha256 = sha256_hex(text);
    return m;
}

GateDecision decide_promotion(const MetricsSummary& baseline, const MetricsSummary& candidate,
                              const GateParams& params) {
    GateDecision d;
    d.params = params;
    d.checks.push_back(check_comparable(baseline, candidate, params));
    d.checks.push_back(check_improvement(baseline, candidate, params, d.improvement));
    d.checks.push_back(check_pass_rate(candidate, params, d.pass_rate));
    d.checks.push_back(check_mean_presence(candidate, params, d.presence_mean));
    d.promote = true;
    for (const GateCheck& c : d.checks) {
        if (c.passed) continue;
        d.promote = false;
        d.reasons.push_back(c.name + ": " + c.detail);
    }
    return d;
}

Comparison compare_metrics(const MetricsSummary& baseline, const MetricsSummary& candidate, const GateParams& params) {
    Comparison c;
    c.baseline = baseline;
    c.candidate = candidate;
    auto row = [&](const char* key, const char* label, std::optional<double> MetricsSummary::*field) {
        c.rows.push_back({key, label, baseline.*field, candidate.*field});
    };
    row("cgF1", "cgF1 (x100)", &MetricsSummary::cgf1);
    row("cgF1@0.5", "cgF1@0.5 (x100)", &MetricsSummary::cgf1_50);
    row("cgF1@0.75", "cgF1@0.75 (x100)", &MetricsSummary::cgf1_75);
    row("pmF1", "pmF1 (x100)", &MetricsSummary::pmf1);
    row("IL_MCC", "IL_MCC", &MetricsSummary::il_mcc);
    row("IL_precision", "IL precision", &MetricsSummary::il_precision);
    row("IL_recall", "IL recall", &MetricsSummary::il_recall);
    row("IL_FPR", "IL FPR", &MetricsSummary::il_fpr);
    row("negative_images", "hard-negative images", &MetricsSummary::negative_images);
    row("pass_rate", "hard-negative pass rate", &MetricsSummary::pass_rate);
    row("presence_mean", "negatives: presence mean", &MetricsSummary::presence_mean);
    row("presence_p95", "negatives: presence p95", &MetricsSummary::presence_p95);
    row("presence_max", "negatives: presence max", &MetricsSummary::presence_max);
    row("hallucinations", "negatives: hallucinations", &MetricsSummary::hallucinations);
    c.decision = decide_promotion(baseline, candidate, params);
    return c;
}

json comparison_to_json(const Comparison& c) {
    auto side = [](const MetricsSummary& m) {
        json j = {{"file", m.file}, {"sha256", m.sha256}};
        j["gt_sha256"] = m.gt_sha256 ? json(*m.gt_sha256) : json(nullptr);
        j["dataset_version"] = m.dataset_version ? json(*m.dataset_version) : json(nullptr);
        j["presence_source"] = m.presence_source ? json(*m.presence_source) : json(nullptr);
        j["undefined"] = m.undefined_reasons;
        return j;
    };
    const GateDecision& d = c.decision;
    json j = json::object();
    j["schema"] = kCompareSchema;
    j["decision"] = d.promote ? "promote" : "reject";
    j["iou_type"] = iou_type_name(d.params.iou_type);
    j["baseline"] = side(c.baseline);
    j["candidate"] = side(c.candidate);
    json rows = json::array();
    for (const ComparisonRow& r : c.rows)
        rows.push_back({{"key", r.key},
                        {"label", r.label},
                        {"baseline", optional_json(r.baseline)},
                        {"candidate", optional_json(r.candidate)},
                        {"delta", optional_json(r.delta())}});
    j["metrics"] = rows;
    json checks = json::array();
    for (const GateCheck& g : d.checks)
        checks.push_back({{"name", g.name}, {"passed", g.passed}, {"detail", g.detail}});
    j["gate"] = {{"improvement_mode", improvement_mode_name(d.params.improvement)},
                 {"improvement_unit", d.params.improvement == ImprovementMode::relative ? "percent" : "cgF1 points"},
                 {"min_improvement", d.params.min_improvement},
                 {"improvement", optional_json(d.improvement)},
                 {"baseline_cgF1", optional_json(c.baseline.cgf1)},
                 {"candidate_cgF1", optional_json(c.candidate.cgf1)},
                 {"min_pass_rate", d.params.min_pass_rate},
                 {"pass_rate", optional_json(d.pass_rate)},
                 {"max_mean_presence", optional_json(d.params.max_mean_presence)},
                 {"presence_mean", optional_json(d.presence_mean)},
                 {"checks", checks}};
    j["reasons"] = d.reasons;
    return j;
}

std::string format_comparison(const Comparison& c) {
    auto cell = [](const std::optional<double>& v, int digits, bool sign = false) {
        if (!v) return std::string("null");
        return sign ? signed_fixed(*v, digits) : format_fixed(*v, digits);
    };
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%-28s %12s %12s %10s\n", "metric", "baseline", "candidate", "delta");
    out += line;
    for (const ComparisonRow& r : c.rows) {
        bool x100 = r.label.find("x100") != std::string::npos;
        bool count = r.key == "negative_images" || r.key == "hallucinations";
        int digits = count ? 0 : (x100 ? 2 : 3);
        std::snprintf(line, sizeof line, "%-28s %12s %12s %10s\n", r.label.c_str(), cell(r.baseline, digits).c_str(),
                      cell(r.candidate, digits).c_str(), cell(r.delta(), digits, true).c_str());
        out += line;
    }
    const GateDecision& d = c.decision;
    out += "\npromotion gate (" + std::string(iou_type_name(d.params.iou_type)) + "): cgF1 must improve by more than " +
           plain_number(d.params.min_improvement) +
           (d.params.improvement == ImprovementMode::relative ? "% (relative)" : " points (absolute)") +
           ", the candidate's hard-negative pass rate must be more than " + plain_number(d.params.min_pass_rate) +
           (d.params.max_mean_presence
                ? " and its mean presence on the negatives below " + plain_number(*d.params.max_mean_presence)
                : std::string(" (mean presence not checked)")) +
           "\n";
    for (const GateCheck& g : d.checks)
        out += std::string("  [") + (g.passed ? "pass" : "FAIL") + "] " + g.name + ": " + g.detail + "\n";
    out += std::string("decision: ") + (d.promote ? "PROMOTE" : "REJECT") + "\n";
    return out;
}

PromotionRecord resolve_promotion_record(PromotionRecord record, const MetricsSummary& candidate) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (record.checkpoint.empty())
        throw Error("the promoted checkpoint folder is not given (--checkpoint RUN/best): the registry records it");
    if (!fs::is_directory(record.checkpoint, ec))
        throw Error("expected the promoted model's checkpoint folder (e.g. RUN/best), found " +
                        std::string(fs::exists(record.checkpoint, ec) ? "a file" : "nothing"),
                    record.checkpoint.string());
    if (!record.dataset_version.empty()) return record;
    fs::path training = record.checkpoint / "training.json";
    if (fs::is_regular_file(training, ec)) {
        json info = read_json_file(training);
        if (info.is_object() && info.contains("dataset_version") && info["dataset_version"].is_object()) {
            const json& v = info["dataset_version"];
            if (v.contains("version_id") && v["version_id"].is_string() &&
                !v["version_id"].get<std::string>().empty()) {
                record.dataset_version = v["version_id"].get<std::string>();
                return record;
            }
        }
    }
    if (candidate.dataset_version && !candidate.dataset_version->empty()) {
        record.dataset_version = *candidate.dataset_version;
        return record;
    }
    throw Error("the dataset version of the promoted model is unknown: no dataset_version.version_id in " +
                training.string() +
                " (written by `chickenseg train`) nor in the candidate metrics; pass "
                "--dataset-version (the version_id of `chickenseg data version`)");
}

std::optional<RegistrationResult> record_promotion(const Comparison& c, const PromotionRecord& record) {
    if (!c.decision.promote) return std::nullopt;
    RegistryEntry e;
    e.name = record.candidate_name;
    e.decision = "promote";
    e.iou_type = iou_type_name(c.decision.params.iou_type);
    e.baseline = {c.baseline.file, c.baseline.sha256, c.baseline.cgf1};
    e.candidate = {c.candidate.file, c.candidate.sha256, c.candidate.cgf1};
    if (!record.checkpoint.empty()) {
        std::filesystem::path abs = std::filesystem::absolute(record.checkpoint).lexically_normal();
        if (!abs.has_filename()) abs = abs.parent_path();  // "RUN/best/" -> "RUN/best"
        e.checkpoint = abs.string();
    }
    e.dataset_version = !record.dataset_version.empty() ? std::optional<std::string>(record.dataset_version)
                                                        : c.candidate.dataset_version;
    json gate = comparison_to_json(c)["gate"];
    gate.erase("checks");
    e.gate = gate;
    return register_model(record.registry, record.tag_prefix, std::move(e));
}

json registration_to_json(const RegistrationResult& r, const std::filesystem::path& registry) {
    return {{"file", registry.string()}, {"tag", r.tag}, {"already_registered", r.already_registered}};
}

}  // namespace chickenseg
