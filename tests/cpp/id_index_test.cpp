// IdIndex: the same answers from its flat table (dense ids) and its hash map (sparse
// ids), including ids outside the range and at the ends of int64.
#include "core/id_index.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace chickenseg {
namespace {

void expect_positions(const std::vector<int64_t>& ids, const std::vector<int64_t>& absent) {
    IdIndex index(ids);
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(index.find(ids[i]), i) << ids[i];
    for (int64_t id : absent) EXPECT_EQ(index.find(id), IdIndex::npos) << id;
    EXPECT_FALSE(index.duplicate().has_value());
}

TEST(IdIndex, DenseAndSparseIdsAgree) {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
    expect_positions({}, {0, 1, -1, kMin, kMax});
    expect_positions({3, 1, 2, 5}, {0, 4, 6, -1, kMin, kMax});            // dense, with a gap
    expect_positions({-2, -1, 0, 1}, {-3, 2, kMin, kMax});                // negative ids
    expect_positions({1, 1000000000, 7}, {2, 999999999, 0, kMin, kMax});  // sparse: the map
    expect_positions({kMin, kMax}, {0, kMin + 1, kMax - 1});              // the whole int64 range
    expect_positions({kMax - 2, kMax, kMax - 1}, {kMax - 3, kMin, 0});    // dense at the top end
    expect_positions({kMin + 1, kMin, kMin + 3}, {kMin + 2, kMax, 0});    // dense at the bottom end
    std::vector<int64_t> many;
    for (int64_t i = 0; i < 5000; ++i) many.push_back(5000 - i);
    expect_positions(many, {0, 5001, -5000});
}

TEST(IdIndex, FirstDuplicateIsReportedAndFirstPositionKept) {
    for (const std::vector<int64_t>& ids :
         {std::vector<int64_t>{4, 5, 6, 5, 4}, std::vector<int64_t>{10, 900000000, 11, 900000000, 10}}) {
        IdIndex index(ids);
        ASSERT_TRUE(index.duplicate().has_value());
        EXPECT_EQ(*index.duplicate(), std::make_pair(size_t{1}, size_t{3}));
        EXPECT_EQ(index.find(ids[1]), 1u);
        EXPECT_EQ(index.find(ids[0]), 0u);
    }
}

}  // namespace
}  // namespace chickenseg
