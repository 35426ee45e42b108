// core/parallel.h: every item runs once, the first exception is rethrown after all threads
// stop, items after a failure are skipped.
#include "chickenseg/core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace chickenseg {
namespace {

TEST(ParallelFor, RunsEveryItemOnce) {
    for (unsigned threads : {0u, 1u, 3u, 16u}) {
        std::vector<std::atomic<int>> hits(1000);
        parallel_for(hits.size(), threads, [&](size_t i) { hits[i]++; });
        for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
    parallel_for(0, 4, [](size_t) { FAIL() << "no item to run"; });
}

TEST(ParallelFor, RethrowsTheFirstExceptionAndStops) {
    std::atomic<size_t> ran{0};
    EXPECT_THROW(parallel_for(100000, 4,
                              [&](size_t i) {
                                  ++ran;
                                  if (i == 10) throw std::runtime_error("item 10");
                              }),
                 std::runtime_error);
    EXPECT_LT(ran.load(), 100000u);  // the rest were skipped
}

}  // namespace
}  // namespace chickenseg
