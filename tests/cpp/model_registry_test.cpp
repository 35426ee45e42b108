// The model registry: tags increment per prefix, entries are never dropped (even
// ones this version does not understand), re-registering is idempotent, bad files
// are reported with their path, and writes leave no temporary files behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/eval/compare.h"
#include "chickenseg/eval/model_registry.h"

namespace chickenseg {
namespace {

namespace fs = std::filesystem;

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("chickenseg_registry_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        path_ = dir_ / "models" / "registry.json";
    }
    void TearDown() override { fs::remove_all(dir_); }

    static RegistryEntry entry(const std::string& name, const std::string& sha) {
        RegistryEntry e;
        e.name = name;
        e.baseline = {"base.json", "b0", 40.0};
        e.candidate = {"cand.json", sha, 45.0};
        e.gate = {{"improvement", 12.5}};
        return e;
    }

    fs::path dir_;
    fs::path path_;
};

TEST_F(RegistryTest, MissingFileIsAnEmptyRegistry) {
    json r = read_model_registry(path_);
    EXPECT_EQ(r["schema"], kRegistrySchema);
    EXPECT_TRUE(r["models"].empty());
    EXPECT_EQ(next_registry_tag(r, "production-candidate"), "production-candidate-v1");
}

TEST_F(RegistryTest, TagsIncrementAndEntriesAccumulate) {
    auto a = register_model(path_, "production-candidate", entry("run-a", "s1"));
    auto b = register_model(path_, "production-candidate", entry("run-b", "s2"));
    auto c = register_model(path_, "production-candidate", entry("run-c", "s3"));
    EXPECT_EQ(a.tag, "production-candidate-v1");
    EXPECT_EQ(b.tag, "production-candidate-v2");
    EXPECT_EQ(c.tag, "production-candidate-v3");
    EXPECT_FALSE(c.already_registered);
    json r = read_model_registry(path_);
    ASSERT_EQ(r["models"].size(), 3u);
    EXPECT_EQ(r["models"][0]["name"], "run-a");
    EXPECT_EQ(r["models"][2]["tag"], "production-candidate-v3");
    EXPECT_EQ(r["models"][1]["candidate_metrics"]["sha256"], "s2");
    EXPECT_DOUBLE_EQ(r["models"][1]["candidate_metrics"]["cgF1"].get<double>(), 45.0);
    EXPECT_EQ(r["models"][1]["decision"], "promote");
    EXPECT_FALSE(r["models"][1].contains("dataset_version"));
}

TEST_F(RegistryTest, PrefixesCountSeparatelyAndGapsAreNotReused) {
    write_file_atomic(path_, R"({"schema": "chickenseg.registry/1", "models": [
        {"tag": "production-candidate-v7", "name": "old"},
        {"tag": "staging-v2", "name": "s"},
        {"tag": "production-candidate-v07", "name": "not a version number"},
        {"tag": "production-candidate-vX", "name": "odd"}]})");
    EXPECT_EQ(register_model(path_, "production-candidate", entry("new", "s9")).tag, "production-candidate-v8");
    EXPECT_EQ(register_model(path_, "staging", entry("new", "s9")).tag, "staging-v3");
}

TEST_F(RegistryTest, TheLargestVersionNumberIsAnErrorNotAnOverflow) {
    // v9223372036854775807 + 1 overflowed to a negative tag that two models then shared.
    write_file_atomic(path_, R"({"schema": "chickenseg.registry/1", "models": [
        {"tag": "production-candidate-v9223372036854775807", "name": "last"}]})");
    std::string before = read_file(path_);
    try {
        register_model(path_, "production-candidate", entry("new", "s9"));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("production-candidate-v9223372036854775807, the largest version number"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(read_file(path_), before);
    EXPECT_EQ(register_model(path_, "staging", entry("new", "s9")).tag, "staging-v1");  // another prefix is fine
    write_file_atomic(path_, R"({"schema": "chickenseg.registry/1", "models": [
        {"tag": "production-candidate-v9223372036854775806", "name": "last but one"}]})");
    EXPECT_EQ(register_model(path_, "production-candidate", entry("new", "s9")).tag,
              "production-candidate-v9223372036854775807");
}

TEST_F(RegistryTest, NeverDropsEntriesOrFieldsItDoesNotKnow) {
    write_file_atomic(path_, R"({"schema": "chickenseg.registry/1", "owner": "farm-team", "models": [
        {"tag": "production-candidate-v1", "name": "first", "notes": {"approved_by": "ana"}, "extra": [1, 2]}]})");
    RegistryEntry e = entry("second", "s2");
    e.dataset_version = "ds-v4";
    register_model(path_, "production-candidate", e);
    json r = read_model_registry(path_);
    EXPECT_EQ(r["owner"], "farm-team");
    ASSERT_EQ(r["models"].size(), 2u);
    EXPECT_EQ(r["models"][0]["notes"]["approved_by"], "ana");
    EXPECT_EQ(r["models"][0]["extra"], json::array({1, 2}));
    EXPECT_EQ(r["models"][1]["dataset_version"], "ds-v4");
}

TEST_F(RegistryTest, SameCandidateTwiceKeepsItsTagAndTheFileUnchanged) {
    register_model(path_, "production-candidate", entry("run-a", "s1"));
    std::string before = read_file(path_);
    auto again = register_model(path_, "production-candidate", entry("run-a", "s1"));
    EXPECT_TRUE(again.already_registered);
    EXPECT_EQ(again.tag, "production-candidate-v1");
    EXPECT_EQ(read_file(path_), before);
    // Same name, new metrics: a new version.
    EXPECT_EQ(register_model(path_, "production-candidate", entry("run-a", "s2")).tag, "production-candidate-v2");
}

TEST_F(RegistryTest, WritesAtomicallyAndLeavesNoTemporaryFiles) {
    register_model(path_, "production-candidate", entry("run-a", "s1"));
    register_model(path_, "production-candidate", entry("run-b", "s2"));
    for (const auto& f : fs::directory_iterator(path_.parent_path())) {
        std::string name = f.path().filename().string();
        EXPECT_TRUE(name == "registry.json" || name == "registry.json.lock") << name;
    }
    // A broken registry is reported, and left exactly as it was.
    write_file_atomic(path_, "{\"schema\": \"chickenseg.registry/1\", \"models\": [ {\"name\": 1} ]}");
    std::string broken = read_file(path_);
    try {
        register_model(path_, "production-candidate", entry("run-c", "s3"));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, path_.string());
        EXPECT_EQ(e.place().field, "models[0].tag");
    }
    EXPECT_EQ(read_file(path_), broken);
}

TEST_F(RegistryTest, ConcurrentRegistrationsLoseNothing) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([this, i] {
            register_model(path_, "production-candidate", entry("run-" + std::to_string(i), "s" + std::to_string(i)));
        });
    for (auto& t : threads) t.join();
    json r = read_model_registry(path_);
    ASSERT_EQ(r["models"].size(), 8u);
    std::set<std::string> tags;
    for (const auto& m : r["models"]) tags.insert(m["tag"].get<std::string>());
    EXPECT_EQ(tags.size(), 8u);
    EXPECT_TRUE(tags.count("production-candidate-v8"));
}

TEST_F(RegistryTest, RejectsBadFilesNamesAndPrefixes) {
    write_file_atomic(path_, R"({"schema": "something-else/1", "models": []})");
    try {
        read_model_registry(path_);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().field, "schema");
    }
    write_file_atomic(path_, R"({"schema": "chickenseg.registry/1", "models": {}})");
    EXPECT_THROW(read_model_registry(path_), Error);
    write_file_atomic(path_, "[1, 2");
    EXPECT_THROW(read_model_registry(path_), Error);
    fs::remove(path_);
    EXPECT_THROW(register_model(path_, "bad prefix", entry("a", "s")), Error);
    EXPECT_THROW(register_model(path_, "", entry("a", "s")), Error);
    EXPECT_THROW(register_model(path_, "ok", entry("", "s")), Error);
    EXPECT_FALSE(fs::exists(path_));
}

TEST_F(RegistryTest, RecordPromotionOnlyWhenPromoted) {
    MetricsSummary base, cand;
    base.file = "b.json";
    base.sha256 = "bsha";
    base.has_iou_type = cand.has_iou_type = true;
    base.cgf1 = 40.0;
    cand.file = "c.json";
    cand.sha256 = "csha";
    cand.cgf1 = 50.0;
    cand.has_negatives = true;
    cand.pass_rate = 0.95;
    cand.presence_mean = 0.02;
    cand.dataset_version = "ds-v2";
    Comparison promoted = compare_metrics(base, cand, GateParams{});
    ASSERT_TRUE(promoted.decision.promote);
    fs::create_directories(dir_ / "run" / "best");
    PromotionRecord record = resolve_promotion_record(
        PromotionRecord{path_, "run-7", "production-candidate", dir_ / "run" / "best" / ""}, cand);
    EXPECT_EQ(record.dataset_version, "ds-v2");  // no training.json: the metrics' version
    auto reg = record_promotion(promoted, record);
    ASSERT_TRUE(reg);
    EXPECT_EQ(reg->tag, "production-candidate-v1");
    json r = read_model_registry(path_);
    EXPECT_EQ(r["models"][0]["dataset_version"], "ds-v2");
    EXPECT_EQ(r["models"][0]["checkpoint"], (dir_ / "run" / "best").string());
    EXPECT_EQ(r["models"][0]["baseline_metrics"]["sha256"], "bsha");
    EXPECT_NEAR(r["models"][0]["gate"]["improvement"].get<double>(), 25.0, 1e-9);

    cand.pass_rate = 0.5;
    Comparison rejected = compare_metrics(base, cand, GateParams{});
    std::string before = read_file(path_);
    EXPECT_FALSE(record_promotion(rejected, PromotionRecord{path_, "run-8", "production-candidate"}));
    EXPECT_EQ(read_file(path_), before);
}

TEST_F(RegistryTest, ThePromotionRecordNamesTheCheckpointAndItsDatasetVersion) {
    MetricsSummary cand;
    const fs::path best = dir_ / "run" / "best";
    auto resolve = [&](PromotionRecord r) { return resolve_promotion_record(std::move(r), cand); };
    auto error_of = [&](PromotionRecord r) -> std::string {
        try {
            resolve(std::move(r));
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(error_of({path_, "run", "p"}).find("--checkpoint"), std::string::npos);
    EXPECT_NE(error_of({path_, "run", "p", best}).find("expected the promoted model's checkpoint folder"),
              std::string::npos);
    fs::create_directories(best);
    EXPECT_NE(error_of({path_, "run", "p", best}).find("the dataset version of the promoted model is unknown"),
              std::string::npos);
    // `chickenseg train` writes the version into training.json beside the weights.
    write_file_atomic(best / "training.json", R"({"epoch": 3, "dataset_version": {"version_id": "abc123"}})");
    EXPECT_EQ(resolve({path_, "run", "p", best}).dataset_version, "abc123");
    EXPECT_EQ(resolve({path_, "run", "p", best, "given"}).dataset_version, "given");  // --dataset-version wins
}

}  // namespace
}  // namespace chickenseg
