// data stats: exact counts and histogram bins on a hand-made dataset.
#include "chickenseg/data/stats.h"

#include <gtest/gtest.h>

using namespace chickenseg;

namespace {

SacoImage image(int64_t id, const std::string& file, uint32_t w, uint32_t h) {
    SacoImage im;
    im.id = id;
    im.file_name = file;
    im.width = w;
    im.height = h;
    im.text_input = "chicken";
    return im;
}

SacoAnnotation annotation(int64_t id, int64_t image_id, double area, int iscrowd = 0) {
    SacoAnnotation a;
    a.id = id;
    a.image_id = image_id;
    a.segmentation.polygons = {{0, 0, 1, 0, 1, 1}};
    a.area = area;
    a.iscrowd = iscrowd;
    return a;
}

size_t bin(const std::vector<HistogramBin>& h, const std::string& label) {
    for (const auto& b : h)
        if (b.label == label) return b.count;
    ADD_FAILURE() << "no bin " << label;
    return 0;
}

// Image 1 (100x100, farmA/): 3 instances; image 2 (200x50, farmA/): none, crowd only;
// image 3 (640x480, source "barn-cam"): 12 instances; image 4 (10x20, root): none,
// not exhaustive; plus one annotation naming no image.
SacoDataset sample() {
    SacoDataset ds;
    ds.images = {image(1, "farmA/a.jpg", 100, 100), image(2, "farmA/sub/b.jpg", 200, 50),
                 image(3, "farmB/c.jpg", 640, 480), image(4, "d.jpg", 10, 20)};
    ds.images[2].extra["source"] = "barn-cam";
    ds.images[3].is_instance_exhaustive = 0;
    int64_t id = 1;
    ds.annotations.push_back(annotation(id++, 1, 5));     // 0.05% of 10000: < 0.1%; small
    ds.annotations.push_back(annotation(id++, 1, 1024));  // exactly 32^2: medium; 10.24%: 10-25%
    ds.annotations.push_back(annotation(id++, 1, 9216));  // exactly 96^2: large; 92%: >= 50%
    ds.annotations.push_back(annotation(id++, 2, 500, 1));
    for (int k = 0; k < 12; ++k) ds.annotations.push_back(annotation(id++, 3, 3072));  // 1% of 307200: 1-5%; medium
    ds.annotations.push_back(annotation(id++, 99, 50));
    return ds;
}

}  // namespace

TEST(Stats, Counts) {
    const DatasetStats s = compute_stats(sample());
    EXPECT_EQ(s.images, 4u);
    EXPECT_EQ(s.positives, 2u);
    EXPECT_EQ(s.negatives, 2u);
    EXPECT_EQ(s.annotations, 17u);
    EXPECT_EQ(s.crowd, 1u);
    EXPECT_EQ(s.non_exhaustive, 1u);
    EXPECT_EQ(s.orphan_annotations, 1u);
}

TEST(Stats, InstancesPerImage) {
    const DatasetStats s = compute_stats(sample());
    EXPECT_EQ(bin(s.instances_per_image, "0"), 2u);  // the crowd-only image counts as 0
    EXPECT_EQ(bin(s.instances_per_image, "3"), 1u);
    EXPECT_EQ(bin(s.instances_per_image, "10-19"), 1u);
    EXPECT_EQ(bin(s.instances_per_image, "1"), 0u);
    EXPECT_EQ(s.instances_per_image.size(), 9u);
}

TEST(Stats, InstanceSizesUseCocoBoundsAndImageFractions) {
    const DatasetStats s = compute_stats(sample());
    // Non-crowd annotations on known images only: 3 + 12.
    EXPECT_EQ(bin(s.instance_sizes, "small (< 32^2)"), 1u);
    EXPECT_EQ(bin(s.instance_sizes, "medium (< 96^2)"), 13u);  // 1024 and the twelve 3072s
    EXPECT_EQ(bin(s.instance_sizes, "large"), 1u);
    EXPECT_EQ(bin(s.relative_sizes, "< 0.1%"), 1u);
    EXPECT_EQ(bin(s.relative_sizes, "1-5%"), 12u);  // exactly 1% goes up
    EXPECT_EQ(bin(s.relative_sizes, "10-25%"), 1u);
    EXPECT_EQ(bin(s.relative_sizes, ">= 50%"), 1u);
    EXPECT_EQ(bin(s.relative_sizes, "0.1-1%"), 0u);
}

TEST(Stats, SourcesFromTheFieldElseTheFirstFolder) {
    const DatasetStats s = compute_stats(sample());
    ASSERT_EQ(s.sources.size(), 3u);
    const SourceStats& a = s.sources.at("farmA");
    EXPECT_EQ(a.images, 2u);
    EXPECT_EQ(a.positives, 1u);
    EXPECT_EQ(a.negatives, 1u);
    EXPECT_EQ(a.annotations, 3u);
    EXPECT_EQ(s.sources.at("barn-cam").annotations, 12u);
    EXPECT_EQ(s.sources.at(".").images, 1u);
    EXPECT_FALSE(s.sources.count("farmB"));
}

TEST(Stats, ImageSizeDistributionUsesTheLowerMedian) {
    const DatasetStats s = compute_stats(sample());
    // widths 10, 100, 200, 640; heights 20, 50, 100, 480; pixels 200, 10000, 10000, 307200.
    EXPECT_EQ(s.width.min, 10u);
    EXPECT_EQ(s.width.median, 100u);
    EXPECT_EQ(s.width.max, 640u);
    EXPECT_EQ(s.height.median, 50u);
    EXPECT_EQ(s.pixels.max, 307200u);
    EXPECT_EQ(s.pixels.median, 10000u);
}

TEST(Stats, EmptyDatasetAndJson) {
    const DatasetStats empty = compute_stats(SacoDataset{});
    EXPECT_EQ(empty.images, 0u);
    EXPECT_EQ(empty.width.max, 0u);
    const json j = stats_to_json(compute_stats(sample()));
    EXPECT_EQ(j["positives"], 2);
    EXPECT_EQ(j["crowd"], 1);
    EXPECT_EQ(j["sources"]["barn-cam"]["images"], 1);
    EXPECT_EQ(j["instances_per_image"][0], json({{"label", "0"}, {"count", 2}}));
    EXPECT_EQ(j["image_size"]["width"], json({{"min", 10}, {"median", 100}, {"max", 640}}));
}
