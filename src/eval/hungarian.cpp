// Rectangular linear sum assignment by shortest augmenting paths (Crouse 2016),
// mirroring SciPy's implementation step for step so ties resolve the same way.
#include "chickenseg/eval/hungarian.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr ptrdiff_t kNone = -1;

// Dual variables, the current matching and the scratch space of the path search,
// allocated once per solve and reused for every row.
struct Solver {
    size_t nr, nc;
    const std::vector<double>& cost;  // nr x nc, nr <= nc, minimised
    std::vector<double> u, v, shortest;
    std::vector<ptrdiff_t> path, col4row, row4col, remaining;
    std::vector<char> in_sr, in_sc;

    Solver(size_t rows, size_t cols, const std::vector<double>& c)
        : nr(rows),
          nc(cols),
          cost(c),
          u(rows, 0),
          v(cols, 0),
          shortest(cols),
          path(cols, kNone),
          col4row(rows, kNone),
          row4col(cols, kNone),
          remaining(cols),
          in_sr(rows),
          in_sc(cols) {}

    // Dijkstra-like search from row i over reduced costs for the nearest free column.
    // Returns that column, or kNone when every reachable column is forbidden.
    ptrdiff_t augmenting_path(size_t i, double& min_val) {
        min_val = 0;
        size_t num_remaining = nc;
        // Columns are scanned from the last to the first and an equally short free
        // column replaces the current choice, so ties go to the lowest-numbered free
        // column: a constant matrix solves to the identity, as in SciPy.
        for (size_t it = 0; it < nc; ++it) remaining[it] = static_cast<ptrdiff_t>(nc - it - 1);
        std::fill(in_sr.begin(), in_sr.end(), 0);
        std::fill(in_sc.begin(), in_sc.end(), 0);
        std::fill(shortest.begin(), shortest.end(), kInf);
        ptrdiff_t sink = kNone;
        while (sink == kNone) {
            size_t index = 0;
            bool found = false;
            double lowest = kInf;
            in_sr[i] = 1;
            for (size_t it = 0; it < num_remaining; ++it) {
                auto j = static_cast<size_t>(remaining[it]);
                double r = min_val + cost[i * nc + j] - u[i] - v[j];
                if (r < shortest[j]) {
                    path[j] = static_cast<ptrdiff_t>(i);
                    shortest[j] = r;
                }
                // Among equally short columns prefer a free one: it ends the search.
                if (shortest[j] < lowest || (shortest[j] == lowest && row4col[j] == kNone)) {
                    lowest = shortest[j];
                    index = it;
                    found = true;
                }
            }
            min_val = lowest;
            if (!found || min_val == kInf) return kNone;
            auto j = static_cast<size_t>(remaining[index]);
            if (row4col[j] == kNone)
                sink = static_cast<ptrdiff_t>(j);
            else
                i = static_cast<size_t>(row4col[j]);
            in_sc[j] = 1;
            remaining[index] = remaining[--num_remaining];
        }
        return sink;
    }

    bool run() {
        for (size_t cur = 0; cur < nr; ++cur) {
            double min_val = 0;
            ptrdiff_t sink = augmenting_path(cur, min_val);
            if (sink == kNone) return false;
            u[cur] += min_val;
            for (size_t i = 0; i < nr; ++i)
                if (in_sr[i] && i != cur) u[i] += min_val - shortest[static_cast<size_t>(col4row[i])];
            for (size_t j = 0; j < nc; ++j)
                if (in_sc[j]) v[j] -= min_val - shortest[j];
            // Flip the matching along the path back to the current row.
            ptrdiff_t j = sink;
            while (true) {
                ptrdiff_t i = path[static_cast<size_t>(j)];
                row4col[static_cast<size_t>(j)] = i;
                std::swap(col4row[static_cast<size_t>(i)], j);
                if (static_cast<size_t>(i) == cur) break;
            }
        }
        return true;
    }
};

}  // namespace

std::vector<AssignmentPair> solve_assignment(std::span<const double> matrix, size_t rows, size_t cols,
                                             AssignmentGoal goal) {
    if (matrix.size() != rows * cols)
        throw Error("assignment: matrix has " + std::to_string(matrix.size()) +
                    " values, expected rows*cols = " + std::to_string(rows) + "*" + std::to_string(cols));
    if (rows == 0 || cols == 0) return {};
    const bool maximize = goal == AssignmentGoal::maximize_weight;
    // The search runs over the longer side, so a tall matrix is solved transposed.
    const bool transpose = cols < rows;
    const size_t nr = transpose ? cols : rows, nc = transpose ? rows : cols;
    std::vector<double> cost(rows * cols);
    for (size_t i = 0; i < rows; ++i) {
        for (size_t j = 0; j < cols; ++j) {
            double x = matrix[i * cols + j];
            if (maximize) x = -x;
            if (std::isnan(x) || x == -kInf)
                throw Error("assignment: value at row " + std::to_string(i) + ", column " + std::to_string(j) + " is " +
                            std::to_string(matrix[i * cols + j]) + ", expected a number (or " +
                            (maximize ? "-inf" : "+inf") + " for a forbidden pair)");
            cost[transpose ? j * rows + i : i * cols + j] = x;
        }
    }
    Solver solver(nr, nc, cost);
    if (!solver.run())
        throw Error("assignment: no complete assignment avoids the forbidden (infinite) pairs of the " +
                    std::to_string(rows) + "x" + std::to_string(cols) + " matrix");
    std::vector<AssignmentPair> pairs(nr);
    for (size_t i = 0; i < nr; ++i) {
        auto c = static_cast<size_t>(solver.col4row[i]);
        pairs[i] = transpose ? AssignmentPair{c, i} : AssignmentPair{i, c};
    }
    if (transpose)
        std::sort(pairs.begin(), pairs.end(),
                  [](const AssignmentPair& a, const AssignmentPair& b) { return a.row < b.row; });
    return pairs;
}

double assignment_total(std::span<const double> matrix, size_t cols, std::span<const AssignmentPair> pairs) {
    double total = 0;
    for (const auto& p : pairs) total += matrix[p.row * cols + p.col];
    return total;
}

}  // namespace chickenseg
