#include "chickenseg/stream/kalman_box.h"

#include <algorithm>
#include <cmath>

#include "chickenseg/core/error.h"

namespace chickenseg {
namespace {

using Mat4 = std::array<double, 16>;

// The inverse of a symmetric positive definite 4 x 4 matrix (the innovation covariance), by
// Gauss-Jordan elimination with partial pivoting.
Mat4 invert4(Mat4 a) {
    Mat4 inv{};
    for (int i = 0; i < 4; ++i) inv[i * 4 + i] = 1;
    for (int col = 0; col < 4; ++col) {
        int pivot = col;
        for (int r = col + 1; r < 4; ++r)
            if (std::abs(a[r * 4 + col]) > std::abs(a[pivot * 4 + col])) pivot = r;
        if (a[pivot * 4 + col] == 0) throw Error("Kalman filter: singular innovation covariance");
        for (int c = 0; c < 4; ++c) {
            std::swap(a[col * 4 + c], a[pivot * 4 + c]);
            std::swap(inv[col * 4 + c], inv[pivot * 4 + c]);
        }
        const double d = a[col * 4 + col];
        for (int c = 0; c < 4; ++c) {
            a[col * 4 + c] /= d;
            inv[col * 4 + c] /= d;
        }
        for (int r = 0; r < 4; ++r) {
            if (r == col) continue;
            const double f = a[r * 4 + col];
            for (int c = 0; c < 4; ++c) {
                a[r * 4 + c] -= f * a[col * 4 + c];
                inv[r * 4 + c] -= f * inv[col * 4 + c];
            }
        }
    }
    return inv;
}

}  // namespace

KalmanBoxParams kalman_box_default_params() { return KalmanBoxParams{}; }

std::array<double, 4> box_to_xyah(const BoxXywh& b) {
    const double h = std::max(b[3], 1e-6);
    return {b[0] + b[2] / 2, b[1] + b[3] / 2, b[2] / h, b[3]};
}

BoxXywh xyah_to_box(const std::array<double, 4>& m) {
    const double w = m[2] * m[3];
    return {m[0] - w / 2, m[1] - m[3] / 2, w, m[3]};
}

KalmanBox::KalmanBox(const BoxXywh& box, const KalmanBoxParams& params) : params_(params) {
    const auto m = box_to_xyah(box);
    for (int i = 0; i < 4; ++i) mean_[i] = m[i];
    const double h = m[3], wp = params_.position_weight, wv = params_.velocity_weight;
    const std::array<double, 8> sd = {2 * wp * h,  2 * wp * h,  1e-2, 2 * wp * h,
                                      10 * wv * h, 10 * wv * h, 1e-5, 10 * wv * h};
    for (int i = 0; i < 8; ++i) cov_[i * 8 + i] = sd[i] * sd[i];
}

void KalmanBox::predict(double seconds) {
    if (!(seconds > 0)) return;
    // Velocities are in pixels per reference frame; `steps` reference frames pass.
    const double steps = seconds * params_.reference_fps;
    const double h = mean_[3], wp = params_.position_weight, wv = params_.velocity_weight;
    for (int i = 0; i < 4; ++i) mean_[i] += steps * mean_[i + 4];
    // P = F P F^T with F = [[I, steps I], [0, I]].
    Covariance fp = cov_;
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 8; ++c) fp[r * 8 + c] += steps * cov_[(r + 4) * 8 + c];
    Covariance next = fp;
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 4; ++c) next[r * 8 + c] += steps * fp[r * 8 + c + 4];
    const std::array<double, 8> sd = {wp * h, wp * h, 1e-2, wp * h, wv * h, wv * h, 1e-5, wv * h};
    for (int i = 0; i < 8; ++i) next[i * 8 + i] += steps * sd[i] * sd[i];
    cov_ = next;
}

void KalmanBox::update(const BoxXywh& box) {
    const auto z = box_to_xyah(box);
    const double h = mean_[3], wp = params_.position_weight;
    const std::array<double, 4> sd = {wp * h, wp * h, 1e-1, wp * h};
    // H selects the first four state terms: S = P[0:4, 0:4] + R, K = P[:, 0:4] S^-1.
    Mat4 s{};
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) s[r * 4 + c] = cov_[r * 8 + c] + (r == c ? sd[r] * sd[r] : 0);
    const Mat4 s_inv = invert4(s);
    std::array<double, 32> gain{};  // 8 x 4
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 4; ++c)
            for (int k = 0; k < 4; ++k) gain[r * 4 + c] += cov_[r * 8 + k] * s_inv[k * 4 + c];
    std::array<double, 4> innovation{};
    for (int i = 0; i < 4; ++i) innovation[i] = z[i] - mean_[i];
    for (int r = 0; r < 8; ++r)
        for (int k = 0; k < 4; ++k) mean_[r] += gain[r * 4 + k] * innovation[k];
    // P -= K S K^T, which equals K H P (the rows of P that H selects).
    Covariance next = cov_;
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c)
            for (int k = 0; k < 4; ++k) next[r * 8 + c] -= gain[r * 4 + k] * cov_[k * 8 + c];
    cov_ = next;
}

BoxXywh KalmanBox::box() const { return xyah_to_box({mean_[0], mean_[1], mean_[2], mean_[3]}); }

}  // namespace chickenseg
