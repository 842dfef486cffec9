#pragma once
// Helpers for the conv tests: random operands as tensors and as float64 vectors holding exactly
// the same values, and the comparison of an algorithm's result with the float64 reference under
// the rounding-error bound of its dtype and algorithm.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "conv_reference.hpp"
#include "nodal/core/tensor.hpp"

namespace conv_test {

using nodal::DType;
using nodal::Shape;
using nodal::Tensor;

// A random tensor of `dtype` and its values in float64 (float32 values convert exactly).
struct Operand {
  Tensor tensor;
  std::vector<double> values;
};
inline Operand random_operand(const Shape& shape, std::uint64_t seed, DType dtype) {
  Operand o;
  o.tensor = Tensor::randn(shape, seed, DType::float64).astype(dtype);
  o.values = o.tensor.to_vector<double>();
  return o;
}

// The bound on |result − reference| for one element, given Σ|terms| of that element (abs),
// the largest Σ|terms| of the whole result (max_abs), the number m of products summed into one
// element, and for the spectral algorithms the transform size T and the norm scale of the
// operands (‖a‖₂·‖b‖₂ of the two factors, see norm_scale). THE one place with per-algorithm
// slack:
//
//  * direct, gemm (any order of summation of m products, float32 unit round-off u = 6e-8):
//    Higham's bound |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γ_m·Σ|aᵢbᵢ|, γ_m = m·u/(1 − m·u), whatever the
//    summation tree, plus u·|y| to round the stored result: (m + 2)·u·abs covers both. It is
//    per element, so an exact zero (no terms) must come out exactly zero.
//  * fft, fft_tiled, helix and any other spectral algorithm: a convolution through FFTs of
//    size T errs normwise, ‖ŷ − y‖₂ ≲ c·u·log2(T)·‖a‖₂·‖b‖₂ (the error of each transform is
//    spread over all outputs, even those whose exact value is 0), and |ŷᵢ − yᵢ| ≤ ‖ŷ − y‖₂.
//    c = 32 leaves room for forward + inverse transforms, the spectral products and the
//    accumulation over channels and tiles.
//  * winograd: the γ-bound again, over the magnitudes of its transformed operands instead of
//    Σ|terms| (tests/winograd_bound.hpp), with m the length of its chain of sums.
//  * float64: u = 1.1e-16 and the same structure; the tests allow 1e-10 relative to the larger
//    of max_abs and the norm scale for every algorithm: far above rounding, far below any bug.
struct ErrorModel {
  std::string_view algorithm;
  DType dtype;
  std::int64_t terms;          // m
  double transform_size = 64;  // T, for the spectral algorithms
  double norm_scale = 0;       // ‖a‖₂·‖b‖₂ (an upper bound of it), for the spectral algorithms
  double bound(double abs, double max_abs) const {
    const double scale = std::max(max_abs, norm_scale);
    if (dtype == DType::float64) return 1e-10 * scale;
    constexpr double u = 6e-8;
    // winograd: `abs` is the magnitude bound of tests/winograd_bound.hpp and `terms` its chain
    // length, so the same γ-bound applies to it
    if (algorithm == "direct" || algorithm == "gemm" || algorithm == "winograd") return double(terms + 2) * u * abs;
    return 32.0 * u * std::log2(std::max(2.0, transform_size)) * scale;
  }
};

// Euclidean norms of `blocks` equal consecutive blocks of `values` (per sample, per filter).
inline std::vector<double> block_norms(const std::vector<double>& values, std::int64_t blocks) {
  std::vector<double> norms(std::size_t(blocks), 0.0);
  const std::size_t size = blocks > 0 ? values.size() / std::size_t(blocks) : 0;
  for (std::size_t i = 0; i < values.size(); ++i) norms[i / size] += values[i] * values[i];
  for (double& n : norms) n = std::sqrt(n);
  return norms;
}
inline double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

// Norm scales of the three passes for samples a (x or dy, per sample) and the kernel w:
// forward ‖x_n‖·‖w‖ (Cauchy–Schwarz over channels and taps), backward input ‖dy_n‖·‖w‖,
// backward weight Σ_n ‖x_n‖·‖dy_n‖.
struct NormScales {
  double forward, backward_input, backward_weight;
};
inline NormScales norm_scales(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& dy,
                              std::int64_t batch) {
  const std::vector<double> nx = block_norms(x, batch), ndy = block_norms(dy, batch);
  const double nw = block_norms(w, 1)[0];
  double cross = 0;
  for (std::size_t n = 0; n < nx.size(); ++n) cross += nx[n] * ndy[n];
  return {max_of(nx) * nw, max_of(ndy) * nw, cross};
}

// Worst ratio |got − want| / bound over the elements (≤ 1 passes), with a description of it.
struct Comparison {
  double worst_ratio = 0;
  std::string worst;
};
inline Comparison compare(const std::vector<double>& got, const std::vector<double>& want,
                          const std::vector<double>& abs, const ErrorModel& model) {
  Comparison c;
  REQUIRE(got.size() == want.size());
  const double max_abs = abs.empty() ? 0.0 : *std::max_element(abs.begin(), abs.end());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double error = std::abs(got[i] - want[i]);
    const double bound = model.bound(abs[i], max_abs);
    const double ratio = error == 0 ? 0.0 : bound == 0 ? INFINITY : error / bound;
    if (!(ratio <= c.worst_ratio)) {  // also catches NaN
      c.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      c.worst = fmt::format("element {}: got {:.10g}, want {:.10g}, |error| {:.3g}, bound {:.3g}", i, got[i], want[i],
                            error, bound);
    }
  }
  return c;
}

// Reverses each kernel's flattened spatial index (K per kernel): the flip of every spatial axis.
inline std::vector<double> flip_kernels(const std::vector<double>& w, std::int64_t K) {
  std::vector<double> out(w.size());
  for (std::size_t p = 0; p < w.size() / std::size_t(K); ++p)
    for (std::int64_t k = 0; k < K; ++k) out[p * std::size_t(K) + std::size_t(k)] = w[p * std::size_t(K) + std::size_t(K - 1 - k)];
  return out;
}

}  // namespace conv_test
