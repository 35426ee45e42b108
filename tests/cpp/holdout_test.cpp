// data holdout --negatives-only: the exhaustive images without non-crowd
// annotations, in input order with their ids; an error when there is none.
#include "saco_fixtures.h"
#include "chickenseg/data/holdout.h"

#include <gtest/gtest.h>

#include "chickenseg/core/error.h"

using namespace chickenseg;

namespace {

SacoImage image(int64_t id, int exhaustive = 1) {
    SacoImage im;
    im.id = id;
    im.file_name = "img_" + std::to_string(id) + ".jpg";
    im.width = 10;
    im.height = 10;
    im.text_input = "chicken";
    im.is_instance_exhaustive = exhaustive;
    im.extra = {{"source", "farm"}};
    return im;
}

// Images 1..6: 1 and 4 positive, 2 negative, 3 crowd only, 5 negative but not
// exhaustive, 6 negative.
SacoDataset sample() {
    SacoDataset ds;
    ds.top = {{"info", "val split"}};
    ds.categories = {SacoCategory{1, "chicken", json::object()}};
    for (int64_t id : {1, 2, 3, 4}) ds.images.push_back(image(id));
    ds.images.push_back(image(5, 0));
    ds.images.push_back(image(6));
    ds.annotations = {test::triangle_annotation(10, 1), test::triangle_annotation(11, 3, 1),
                      test::triangle_annotation(12, 4), test::triangle_annotation(13, 4)};
    return ds;
}

}  // namespace

TEST(Holdout, KeepsExhaustiveNegativesInOrderWithTheirIds) {
    const SacoDataset ds = sample();
    const HoldoutResult r = holdout_negatives(ds, "val.json");
    ASSERT_EQ(r.dataset.images.size(), 3u);
    EXPECT_EQ(r.dataset.images[0].id, 2);
    EXPECT_EQ(r.dataset.images[1].id, 3);
    EXPECT_EQ(r.dataset.images[2].id, 6);
    EXPECT_EQ(r.dataset.images[2].extra, json({{"source", "farm"}}));
    EXPECT_EQ(r.input_images, 6u);
    EXPECT_EQ(r.negatives, 3u);
    EXPECT_EQ(r.skipped_non_exhaustive, 1u);
    EXPECT_EQ(r.dataset.top, ds.top);
    ASSERT_EQ(r.dataset.categories.size(), 1u);
    // The crowd-only image keeps its crowd annotation; no other annotation comes along.
    ASSERT_EQ(r.dataset.annotations.size(), 1u);
    EXPECT_EQ(r.dataset.annotations[0].id, 11);
    EXPECT_EQ(r.crowd_only, 1u);
    EXPECT_EQ(r.dataset.positive_count(), 0u);
}

TEST(Holdout, NoNegativesIsAnErrorNamingTheFile) {
    SacoDataset ds = sample();
    ds.annotations.push_back(test::triangle_annotation(20, 2));
    ds.annotations.push_back(test::triangle_annotation(21, 3));
    ds.annotations.push_back(test::triangle_annotation(22, 6));
    try {
        holdout_negatives(ds, "val.json");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.place().file, "val.json");
        EXPECT_NE(e.message().find("no negative images to hold out (6 image(s), 5 positive, 1 negative but not "
                                   "instance-exhaustive)"),
                  std::string::npos)
            << e.what();
    }
    SacoDataset empty;
    EXPECT_THROW(holdout_negatives(empty, "empty.json"), Error);
}

TEST(Holdout, SummaryJson) {
    const json j = holdout_summary_to_json(holdout_negatives(sample(), "val.json"));
    EXPECT_EQ(j, json({{"input_images", 6}, {"negatives", 3}, {"crowd_only", 1}, {"skipped_non_exhaustive", 1}}));
}
