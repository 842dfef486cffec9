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
// element, and the transform size of the spectral algorithms. THE one place with per-algorithm
// slack:
//
//  * direct, gemm (any order of summation of m products, float32 unit round-off u = 6e-8):
//    Higham's bound |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γ_m·Σ|aᵢbᵢ|, γ_m = m·u/(1 − m·u), whatever the
//    summation tree, plus u·|y| to round the stored result: (m + 2)·u·abs covers both. It is
//    per element, so an exact zero (no terms) must come out exactly zero.
//  * fft, fft_tiled, helix and any other spectral algorithm: an FFT of size T errs normwise by
//    O(u·log2 T) relative to the largest values, spread over all outputs, so the bound is
//    c·u·log2(T)·max_abs with c = 32 (forward + inverse transform, the spectral product and
//    the accumulation over channels each contribute a few u·log2 T).
//  * float64: u = 1.1e-16 and the same structure; the tests allow 1e-10·max_abs (relative to the
//    norm of the problem) for every algorithm, far above any rounding and far below any bug.
struct ErrorModel {
  std::string_view algorithm;
  DType dtype;
  std::int64_t terms;           // m
  double transform_size = 64;  // T, for the spectral algorithms
  double bound(double abs, double max_abs) const {
    if (dtype == DType::float64) return 1e-10 * max_abs;
    constexpr double u = 6e-8;
    if (algorithm == "direct" || algorithm == "gemm") return double(terms + 2) * u * abs;
    return 32.0 * u * std::log2(std::max(2.0, transform_size)) * max_abs;
  }
};

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
