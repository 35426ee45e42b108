// data merge: ids continue, duplicates by content are skipped (or refused),
// name conflicts and concept mismatches are errors, the base is never changed,
// and merging the same batch twice adds nothing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "test_support.h"
#include "chickenseg/core/error.h"
#include "chickenseg/core/file_io.h"
#include "chickenseg/core/sha256.h"
#include "chickenseg/data/merge.h"
#include "chickenseg/data/saco.h"

namespace fs = std::filesystem;
using namespace chickenseg;

using chickenseg::test::TempDir;

namespace {

void write_image(const fs::path& p, const std::string& content) { write_file_atomic(p, "IMG:" + content); }

SacoImage image(int64_t id, std::string file, std::string noun = "chicken") {
    SacoImage im;
    im.id = id;
    im.file_name = std::move(file);
    im.width = 100;
    im.height = 80;
    im.text_input = std::move(noun);
    im.extra = {{"source", "labelme"}};
    return im;
}

SacoAnnotation annotation(int64_t id, int64_t image_id, double x = 10) {
    SacoAnnotation a;
    a.id = id;
    a.image_id = image_id;
    a.segmentation.polygons = {{x, 10, x + 20, 10, x + 20, 30, x, 30}};
    a.bbox = {x, 10, 20, 20};
    a.area = 400;
    return a;
}

SacoDataset dataset(std::vector<SacoImage> images, std::vector<SacoAnnotation> anns, std::string noun = "chicken") {
    SacoDataset ds;
    ds.images = std::move(images);
    ds.annotations = std::move(anns);
    ds.categories = {SacoCategory{1, noun, json::object()}};
    ds.top = {{"chickenseg", {{"schema", kSacoSchema}, {"concept", noun}}}};
    return ds;
}

// Base: images 3 and 7 (ids need not be dense), annotations 5 and 9. Batch: a new
// positive, a negative, and a copy of base image 7 under another name.
struct Fixture {
    TempDir tmp;
    fs::path root;
    SacoDataset base, batch;
    MergeParams params;
    Fixture() {
        root = tmp.path / "images";
        write_image(root / "old/a.png", "a");
        write_image(root / "old/b.png", "b");
        write_image(root / "new/c.png", "c");
        write_image(root / "new/d.png", "d");
        write_image(root / "new/b_copy.png", "b");
        base = dataset({image(3, "old/a.png"), image(7, "old/b.png")}, {annotation(5, 3), annotation(9, 7)});
        batch = dataset({image(1, "new/c.png"), image(2, "new/d.png"), image(3, "new/b_copy.png")},
                        {annotation(1, 1), annotation(2, 1, 40), annotation(3, 3)});
        params.image_root = root;
    }
};

}  // namespace

TEST(Merge, AppendsWithContinuingIdsAndKeepsTheBase) {
    Fixture f;
    MergeResult r = merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
    const auto& m = r.merged;
    ASSERT_EQ(m.images.size(), 4u);
    ASSERT_EQ(m.annotations.size(), 4u);
    // The base records come out unchanged, first.
    json base_json = saco_to_json(f.base), merged_json = saco_to_json(m);
    EXPECT_EQ(merged_json["images"][0], base_json["images"][0]);
    EXPECT_EQ(merged_json["images"][1], base_json["images"][1]);
    EXPECT_EQ(merged_json["annotations"][0], base_json["annotations"][0]);
    EXPECT_EQ(merged_json["annotations"][1], base_json["annotations"][1]);
    EXPECT_EQ(merged_json["chickenseg"], base_json["chickenseg"]);
    // New ids continue after the base's maxima (images 7, annotations 9).
    EXPECT_EQ(m.images[2].id, 8);
    EXPECT_EQ(m.images[2].file_name, "new/c.png");
    EXPECT_EQ(m.images[2].extra["source"], "labelme");
    EXPECT_EQ(m.images[3].id, 9);
    EXPECT_EQ(m.annotations[2].id, 10);
    EXPECT_EQ(m.annotations[2].image_id, 8);
    EXPECT_EQ(m.annotations[3].id, 11);
    EXPECT_EQ(m.annotations[3].image_id, 8);
    EXPECT_EQ(m.annotations[3].bbox[0], 40);

    const MergeSummary& s = r.summary;
    EXPECT_EQ(s.added_images, 2u);
    EXPECT_EQ(s.added_annotations, 2u);
    EXPECT_EQ(s.added_positives, 1u);
    EXPECT_EQ(s.added_negatives, 1u);
    EXPECT_EQ(s.skipped_images, 1u);
    EXPECT_EQ(s.skipped_annotations, 1u);
    EXPECT_EQ(s.first_new_image_id, 8);
    EXPECT_EQ(s.first_new_annotation_id, 10);
    ASSERT_EQ(s.duplicates.size(), 1u);
    EXPECT_EQ(s.duplicates[0].add_image_id, 3);
    EXPECT_EQ(s.duplicates[0].add_file_name, "new/b_copy.png");
    EXPECT_EQ(s.duplicates[0].matched_image_id, 7);  // the base id it matched
    EXPECT_EQ(s.duplicates[0].matched_file_name, "old/b.png");
    EXPECT_TRUE(s.duplicates[0].matched_in_base);
    EXPECT_EQ(s.duplicates[0].annotations_skipped, 1u);
    json sj = merge_summary_to_json(s);
    EXPECT_EQ(sj["duplicates"][0]["matched_image_id"], 7);
    EXPECT_EQ(sj["output"]["images"], 4);
}

TEST(Merge, MergingTheSameBatchAgainAddsNothing) {
    Fixture f;
    fs::path base = f.tmp.path / "base.json", batch = f.tmp.path / "batch.json";
    fs::path once = f.tmp.path / "once.json", twice = f.tmp.path / "twice.json";
    write_saco_json(f.base, base);
    write_saco_json(f.batch, batch);
    std::string base_bytes = read_file(base), batch_bytes = read_file(batch);
    MergeSummary s1 = merge_saco_files(base, batch, once, f.params);
    EXPECT_EQ(s1.added_images, 2u);
    MergeSummary s2 = merge_saco_files(once, batch, twice, f.params);
    EXPECT_EQ(s2.added_images, 0u);
    EXPECT_EQ(s2.added_annotations, 0u);
    EXPECT_EQ(s2.skipped_images, 3u);
    EXPECT_EQ(s2.skipped_annotations, 3u);
    EXPECT_EQ(read_file(once), read_file(twice));  // byte-identical: idempotent
    // Inputs untouched; re-running gives the same bytes.
    EXPECT_EQ(read_file(base), base_bytes);
    EXPECT_EQ(read_file(batch), batch_bytes);
    fs::path again = f.tmp.path / "again.json";
    merge_saco_files(base, batch, again, f.params);
    EXPECT_EQ(read_file(again), read_file(once));
}

TEST(Merge, DuplicatePolicyErrorListsThem) {
    Fixture f;
    f.params.on_duplicate = DuplicatePolicy::error;
    try {
        merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        std::string w = e.what();
        EXPECT_NE(w.find("batch.json"), std::string::npos) << w;
        EXPECT_NE(w.find("new/b_copy.png"), std::string::npos) << w;
        EXPECT_NE(w.find("base image 7 old/b.png"), std::string::npos) << w;
    }
    EXPECT_EQ(parse_duplicate_policy("skip"), DuplicatePolicy::skip);
    EXPECT_EQ(parse_duplicate_policy("replace"), DuplicatePolicy::replace);
    EXPECT_THROW(parse_duplicate_policy("overwrite"), Error);
}

// Corrections: the batch's copy of base image 7 (new/b_copy.png, same bytes) carries the
// annotator's two chickens where the base had one; image 3 of the base is corrected to "no
// chicken". Each base record takes the batch's annotations and flags, keeps its id and name,
// and nothing is duplicated.
TEST(Merge, ReplaceSwapsTheBaseRecordOfACorrectedImage) {
    Fixture f;
    f.params.on_duplicate = DuplicatePolicy::replace;
    write_image(f.root / "new/a_copy.png", "a");
    SacoImage negative = image(5, "new/a_copy.png");
    negative.extra["reviewed"] = "no chicken";
    f.batch.images.push_back(negative);
    f.batch.annotations.push_back(annotation(4, 3, 60));  // a second chicken on the copy of image 7
    f.base.images[1].extra["sha256"] = sha256_hex("IMG:b");
    MergeResult r = merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
    EXPECT_EQ(r.summary.replaced_images, 2u);
    EXPECT_EQ(r.summary.replaced_annotations, 2u);   // 5 (image 3) and 9 (image 7)
    EXPECT_EQ(r.summary.replacing_annotations, 2u);  // the batch's two on the copy of image 7
    EXPECT_TRUE(r.summary.duplicates.empty());
    ASSERT_EQ(r.merged.images.size(), 4u);  // 3, 7 and the two new ones: no duplicate
    EXPECT_EQ(r.merged.images[0].id, 3);
    EXPECT_EQ(r.merged.images[0].file_name, "old/a.png");
    EXPECT_EQ(r.merged.images[0].extra.value("reviewed", ""), "no chicken");
    EXPECT_EQ(r.merged.images[1].extra.value("sha256", ""), sha256_hex("IMG:b"));  // the recorded bytes stay
    std::map<int64_t, std::vector<double>> xs;  // image id -> x of each annotation's box
    for (const auto& a : r.merged.annotations) xs[a.image_id].push_back(a.bbox[0]);
    EXPECT_EQ(xs.count(3), 0u) << "image 3 is a negative now";
    EXPECT_EQ(xs[7], (std::vector<double>{10, 60}));
    EXPECT_EQ(r.merged.annotations.size(), merged_annotation_count(r.summary));
    std::set<int64_t> ids;
    for (const auto& a : r.merged.annotations) EXPECT_TRUE(ids.insert(a.id).second) << "duplicate id " << a.id;
}

TEST(Merge, ReplaceRefusesTheSameImageTwiceInTheBatch) {
    Fixture f;
    f.params.on_duplicate = DuplicatePolicy::replace;
    write_image(f.root / "new/b_again.png", "b");
    f.batch.images.push_back(image(4, "new/b_again.png"));
    try {
        merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("twice"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("images[3]"), std::string::npos) << e.what();
    }
}

TEST(Merge, DuplicatesInsideTheBatchAreSkippedToo) {
    Fixture f;
    write_image(f.root / "new/c_again.png", "c");
    f.batch.images.push_back(image(4, "new/c_again.png"));
    f.batch.annotations.push_back(annotation(4, 4));
    MergeResult r = merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
    ASSERT_EQ(r.summary.duplicates.size(), 2u);
    EXPECT_FALSE(r.summary.duplicates[1].matched_in_base);
    EXPECT_EQ(r.summary.duplicates[1].matched_image_id, 8);  // the new id of new/c.png
    EXPECT_EQ(r.merged.images.size(), 4u);
}

TEST(Merge, SameNameDifferentBytesIsAConflict) {
    Fixture f;
    // A first merge records the sha256 of every image it adds.
    MergeResult first = merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
    ASSERT_EQ(first.merged.images[2].file_name, "new/c.png");
    EXPECT_EQ(first.merged.images[2].extra["sha256"].get<std::string>().size(), 64u);
    // Then new/c.png is overwritten by a different photo with the same name, and a new
    // batch brings it: same file_name, different bytes -> conflict, nothing merged.
    write_image(f.root / "new/c.png", "another chicken");
    SacoDataset batch2 = dataset({image(1, "new/c.png")}, {});
    try {
        merge_saco(first.merged, "merged.json", batch2, "batch2.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        std::string w = e.what();
        EXPECT_NE(w.find("batch2.json"), std::string::npos) << w;
        EXPECT_NE(w.find("images[0].file_name"), std::string::npos) << w;
        EXPECT_NE(w.find("two different images with the same name"), std::string::npos) << w;
    }
}

TEST(Merge, ABaseImageOverwrittenWithAnotherImagesBytesIsAConflictNotADuplicate) {
    Fixture f;
    MergeResult first = merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
    ASSERT_EQ(first.merged.images[2].file_name, "new/c.png");
    // new/c.png (recorded sha256 of "c") is overwritten with the bytes of old/a.png, another
    // image of the dataset; a batch then brings new/c.png. Its bytes equal old/a.png's, but the
    // name says it is the image recorded as "c": a conflict, as documented, not a duplicate.
    write_image(f.root / "new/c.png", "a");
    SacoDataset batch2 = dataset({image(1, "new/c.png")}, {});
    try {
        MergeResult r = merge_saco(first.merged, "merged.json", batch2, "batch2.json", f.params);
        FAIL() << "expected an Error; got " << r.summary.duplicates.size() << " duplicate(s)";
    } catch (const Error& e) {
        std::string w = e.what();
        EXPECT_NE(w.find("batch2.json: images[0].file_name: file_name new/c.png is already in the dataset with other "
                         "bytes"),
                  std::string::npos)
            << w;
    }
}

TEST(Merge, NoIdLeftAfterTheLargestIsAnErrorNotAnOverflow) {
    Fixture f;
    const int64_t last = std::numeric_limits<int64_t>::max();
    f.base.images[1].id = last;
    f.base.annotations[1].image_id = last;
    try {
        merge_saco(f.base, "base.json", f.batch, "batch.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        std::string w = e.what();
        EXPECT_NE(w.find("batch.json: images[0].id: no image id is left for this batch: the base base.json already "
                         "uses image id 9223372036854775807"),
                  std::string::npos)
            << w;
    }
    Fixture g;
    g.base.annotations[1].id = last;
    EXPECT_THROW(merge_saco(g.base, "base.json", g.batch, "batch.json", g.params), Error);
    // One below the largest leaves exactly one id: a batch of one new image fits.
    Fixture h;
    h.base.images[1].id = last - 1;
    h.base.annotations[1].image_id = last - 1;
    SacoDataset one = dataset({image(1, "new/d.png")}, {});
    MergeResult r = merge_saco(h.base, "base.json", one, "batch.json", h.params);
    EXPECT_EQ(r.merged.images.back().id, last);
}

TEST(Merge, BatchFileNamesAreRewrittenRelativeToTheBaseRoot) {
    Fixture f;
    // The batch was converted inside images/new, so its file_names are "c.png", "d.png".
    SacoDataset batch = dataset({image(1, "c.png"), image(2, "d.png")}, {annotation(1, 2)});
    f.params.add_image_root = f.root / "new";
    MergeResult r = merge_saco(f.base, "base.json", batch, "batch.json", f.params);
    ASSERT_EQ(r.merged.images.size(), 4u);
    EXPECT_EQ(r.merged.images[2].file_name, "new/c.png");
    EXPECT_EQ(r.merged.images[3].file_name, "new/d.png");
    EXPECT_EQ(r.summary.renamed_file_names, 2u);
    EXPECT_EQ(r.merged.annotations.back().image_id, r.merged.images[3].id);
    // A batch root outside the base root cannot be expressed from one root: error.
    fs::path outside = f.tmp.path / "elsewhere";
    write_image(outside / "e.png", "e");
    f.params.add_image_root = outside;
    SacoDataset far = dataset({image(1, "e.png")}, {});
    try {
        merge_saco(f.base, "base.json", far, "batch.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("outside the image root"), std::string::npos) << e.what();
    }
}

TEST(Merge, ConceptMustMatch) {
    Fixture f;
    SacoDataset ducks = dataset({image(1, "new/c.png", "duck")}, {}, "duck");
    try {
        merge_saco(f.base, "base.json", ducks, "ducks.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        std::string w = e.what();
        EXPECT_NE(w.find("ducks.json"), std::string::npos) << w;
        EXPECT_NE(w.find("categories[0]"), std::string::npos) << w;
    }
    // Same category, but an image asks another noun phrase.
    SacoDataset mixed = dataset({image(1, "new/c.png"), image(2, "new/d.png", "hen")}, {});
    try {
        merge_saco(f.base, "base.json", mixed, "mixed.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("images[1].text_input"), std::string::npos) << e.what();
    }
}

TEST(Merge, BadBatchRecordsAreErrors) {
    Fixture f;
    SacoDataset orphan = dataset({image(1, "new/c.png")}, {annotation(1, 99)});
    try {
        merge_saco(f.base, "base.json", orphan, "batch.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("annotations[0].image_id"), std::string::npos) << e.what();
    }
    SacoDataset missing = dataset({image(1, "new/nope.png")}, {});
    try {
        merge_saco(f.base, "base.json", missing, "batch.json", f.params);
        FAIL() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("images[0].file_name"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("nope.png"), std::string::npos) << e.what();
    }
    SacoDataset twice = dataset({image(1, "new/c.png"), image(1, "new/d.png")}, {});
    EXPECT_THROW(merge_saco(f.base, "base.json", twice, "batch.json", f.params), Error);
}

TEST(Merge, OutputMustNotBeAnInput) {
    Fixture f;
    fs::path base = f.tmp.path / "base.json", batch = f.tmp.path / "batch.json";
    write_saco_json(f.base, base);
    write_saco_json(f.batch, batch);
    std::string before = read_file(base);
    EXPECT_THROW(merge_saco_files(base, batch, base, f.params), Error);
    EXPECT_EQ(read_file(base), before);
}

TEST(Merge, EmptyBaseTakesTheBatchCategories) {
    Fixture f;
    SacoDataset empty;
    MergeResult r = merge_saco(empty, "base.json", f.batch, "batch.json", f.params);
    EXPECT_EQ(r.merged.images.size(), 3u);
    EXPECT_EQ(r.merged.images[0].id, 1);
    ASSERT_EQ(r.merged.categories.size(), 1u);
    EXPECT_EQ(r.merged.categories[0].name, "chicken");
}
