// Optimal assignment (linear sum assignment) on a rectangular matrix: the
// shortest-augmenting-path (Jonker-Volgenant family) algorithm as described by
// Crouse (2016), O(min(m,n)^2 * max(m,n)). Used by eval to match predictions to
// ground truth with maximum total IoU, once per (image, phrase) pair.
//
// Tie-breaking: the steps and floating-point operations are those of
// scipy.optimize.linear_sum_assignment (SciPy >= 1.6), so for every matrix,
// ties included, the same pairs come back as from SciPy, which the official
// SAM 3 evaluation uses. In particular: among equally short paths the search
// prefers one that ends at a free column, columns are scanned from the last to the
// first (a constant matrix gives the identity), a tall matrix (rows > cols) is
// solved transposed, and maximisation negates the weights.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace chickenseg {

struct AssignmentPair {
    size_t row = 0;
    size_t col = 0;
    bool operator==(const AssignmentPair&) const = default;
};

enum class AssignmentGoal { minimize_cost, maximize_weight };

// matrix: rows x cols values, row-major. Returns min(rows, cols) pairs sorted by row;
// every row (or every column, when there are fewer columns) is assigned exactly once.
// +infinity (minimising) or -infinity (maximising) marks a forbidden pair.
// Throws Error when matrix.size() != rows * cols, when a value is NaN or infinite
// the wrong way, or when the forbidden pairs leave no complete assignment.
std::vector<AssignmentPair> solve_assignment(std::span<const double> matrix, size_t rows, size_t cols,
                                             AssignmentGoal goal);

inline std::vector<AssignmentPair> hungarian_maximize(std::span<const double> weights, size_t rows, size_t cols) {
    return solve_assignment(weights, rows, cols, AssignmentGoal::maximize_weight);
}
inline std::vector<AssignmentPair> hungarian_minimize(std::span<const double> cost, size_t rows, size_t cols) {
    return solve_assignment(cost, rows, cols, AssignmentGoal::minimize_cost);
}

// Sum of matrix[row * cols + col] over the pairs.
double assignment_total(std::span<const double> matrix, size_t cols, std::span<const AssignmentPair> pairs);

}  // namespace chickenseg
