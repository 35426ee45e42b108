// core/parallel.h: every item runs once, the first exception is rethrown after all threads
// stop, items after a failure are skipped.
#include "chickenseg/core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
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
    // One thread: exactly the items up to the failing one run.
    std::atomic<size_t> ran{0};
    EXPECT_THROW(parallel_for(100000, 1,
                              [&](size_t i) {
                                  ++ran;
                                  if (i == 10) throw std::runtime_error("item 10");
                              }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 11u);
    // Four threads: the rest are skipped. Each item takes a while, so that the thread holding
    // item 10 being descheduled on a loaded machine cannot let the others finish everything.
    ran = 0;
    EXPECT_THROW(parallel_for(100000, 4,
                              [&](size_t i) {
                                  ++ran;
                                  if (i == 10) throw std::runtime_error("item 10");
                                  std::this_thread::sleep_for(std::chrono::microseconds(100));
                              }),
                 std::runtime_error);
    EXPECT_LT(ran.load(), 100000u);
}

}  // namespace
}  // namespace chickenseg
