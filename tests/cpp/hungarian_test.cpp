// Optimal assignment: hand-checked cases, brute force over all assignments of
// thousands of random small matrices, and errors. Agreement with
// scipy.optimize.linear_sum_assignment (ties included) is checked by
// tests/python/test_rle_pycocotools.py.
#include "chickenseg/eval/hungarian.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

using Pairs = std::vector<AssignmentPair>;

// Best total over every assignment of min(rows, cols) pairs: permutations of the
// longer side's indices, the first min(rows, cols) of each used.
double brute_force_best(const std::vector<double>& m, size_t rows, size_t cols, bool maximize) {
    size_t k = std::min(rows, cols), n = std::max(rows, cols);
    std::vector<size_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    const double inf = std::numeric_limits<double>::infinity();
    double best = maximize ? -inf : inf;
    do {
        double total = 0;
        for (size_t i = 0; i < k; ++i) total += rows <= cols ? m[i * cols + perm[i]] : m[perm[i] * cols + i];
        best = maximize ? std::max(best, total) : std::min(best, total);
    } while (std::next_permutation(perm.begin(), perm.end()));
    return best;
}

void expect_valid(const Pairs& pairs, size_t rows, size_t cols) {
    ASSERT_EQ(pairs.size(), std::min(rows, cols));
    std::vector<char> row_used(rows), col_used(cols);
    for (size_t i = 0; i < pairs.size(); ++i) {
        ASSERT_LT(pairs[i].row, rows);
        ASSERT_LT(pairs[i].col, cols);
        EXPECT_FALSE(row_used[pairs[i].row]++);
        EXPECT_FALSE(col_used[pairs[i].col]++);
        if (i > 0) {
            EXPECT_LT(pairs[i - 1].row, pairs[i].row);
        }
    }
}

TEST(Hungarian, HandCheckedSquare) {
    // Classic 3x3: optimum 5 = 1 (0,1) + 2 (1,0) + 2 (2,2).
    std::vector<double> cost{4, 1, 3, 2, 0, 5, 3, 2, 2};
    Pairs p = hungarian_minimize(cost, 3, 3);
    EXPECT_EQ(p, (Pairs{{0, 1}, {1, 0}, {2, 2}}));
    EXPECT_EQ(assignment_total(cost, 3, p), 5.0);
    // Maximising IoU: the greedy choice (0,0)=0.9 is not optimal; (0,1)+(1,0) = 1.6 is.
    std::vector<double> iou{0.9, 0.8, 0.8, 0.0};
    EXPECT_EQ(hungarian_maximize(iou, 2, 2), (Pairs{{0, 1}, {1, 0}}));
}

TEST(Hungarian, RectangularBothWays) {
    // Wide: 2 rows, 4 columns; each row takes its best distinct column.
    std::vector<double> wide{0.1, 0.2, 0.9, 0.3, 0.7, 0.1, 0.8, 0.0};
    EXPECT_EQ(hungarian_maximize(wide, 2, 4), (Pairs{{0, 2}, {1, 0}}));
    // Tall: the transpose; pairs still come back sorted by row.
    std::vector<double> tall{0.1, 0.7, 0.2, 0.1, 0.9, 0.8, 0.3, 0.0};
    EXPECT_EQ(hungarian_maximize(tall, 4, 2), (Pairs{{0, 1}, {2, 0}}));
}

TEST(Hungarian, TiesResolveLikeScipy) {
    // Constant matrix: the identity (SciPy's documented behaviour since 1.4).
    std::vector<double> ones(16, 1.0);
    EXPECT_EQ(hungarian_minimize(ones, 4, 4), (Pairs{{0, 0}, {1, 1}, {2, 2}, {3, 3}}));
    EXPECT_EQ(hungarian_maximize(ones, 4, 4), (Pairs{{0, 0}, {1, 1}, {2, 2}, {3, 3}}));
    std::vector<double> zeros(6, 0.0);
    EXPECT_EQ(hungarian_maximize(zeros, 2, 3), (Pairs{{0, 0}, {1, 1}}));
    EXPECT_EQ(hungarian_maximize(zeros, 3, 2), (Pairs{{0, 0}, {1, 1}}));
    // Same answer on every call.
    std::mt19937 rng(7);
    std::vector<double> m(36);
    for (auto& x : m) x = static_cast<double>(rng() % 3);
    Pairs first = hungarian_maximize(m, 6, 6);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(hungarian_maximize(m, 6, 6), first);
}

TEST(Hungarian, MatchesBruteForceOnRandomMatrices) {
    std::mt19937 rng(11);
    int checked = 0;
    for (int trial = 0; trial < 4000; ++trial) {
        size_t rows = 1 + rng() % 6, cols = 1 + rng() % 6;
        std::vector<double> m(rows * cols);
        int kind = trial % 3;
        for (auto& x : m) {
            if (kind == 0)
                x = static_cast<double>(rng() % 4);  // many ties
            else if (kind == 1)
                x = std::uniform_real_distribution<double>(0, 1)(rng);  // IoU-like
            else
                x = static_cast<double>(static_cast<int>(rng() % 2001) - 1000);  // signed integers
        }
        bool maximize = rng() % 2 == 0;
        auto goal = maximize ? AssignmentGoal::maximize_weight : AssignmentGoal::minimize_cost;
        Pairs p = solve_assignment(m, rows, cols, goal);
        expect_valid(p, rows, cols);
        double best = brute_force_best(m, rows, cols, maximize);
        // Integer-valued matrices sum exactly; reals may differ in the last bits by summation order.
        if (kind == 1)
            EXPECT_NEAR(assignment_total(m, cols, p), best, 1e-12);
        else
            EXPECT_EQ(assignment_total(m, cols, p), best);
        ++checked;
    }
    EXPECT_EQ(checked, 4000);
}

TEST(Hungarian, ForbiddenPairs) {
    const double inf = std::numeric_limits<double>::infinity();
    // Row 0 may only take column 1, which forces row 1 onto column 0.
    std::vector<double> cost{inf, 5, 1, 1};
    EXPECT_EQ(hungarian_minimize(cost, 2, 2), (Pairs{{0, 1}, {1, 0}}));
    std::vector<double> weights{-inf, 0.2, 0.1, 0.9};
    EXPECT_EQ(hungarian_maximize(weights, 2, 2), (Pairs{{0, 1}, {1, 0}}));
    std::vector<double> infeasible{inf, inf, 1, 1};
    try {
        hungarian_minimize(infeasible, 2, 2);
        ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no complete assignment"), std::string::npos) << e.what();
    }
}

TEST(Hungarian, EmptyAndInvalidInput) {
    EXPECT_TRUE(hungarian_maximize({}, 0, 5).empty());
    EXPECT_TRUE(hungarian_maximize({}, 3, 0).empty());
    std::vector<double> three{1, 2, 3};
    EXPECT_THROW(hungarian_maximize(three, 2, 2), Error);
    std::vector<double> nan{0, std::numeric_limits<double>::quiet_NaN(), 1, 1};
    try {
        hungarian_maximize(nan, 2, 2);
        ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("row 0, column 1"), std::string::npos) << e.what();
    }
    // +inf is forbidden only when minimising; when maximising it is invalid.
    std::vector<double> pinf{0, std::numeric_limits<double>::infinity(), 1, 1};
    EXPECT_THROW(hungarian_maximize(pinf, 2, 2), Error);
}

}  // namespace
}  // namespace chickenseg
