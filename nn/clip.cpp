#include "nodal/nn/clip.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {

constexpr std::int64_t parallel_threshold = 1 << 16;

template <class T>
double sum_of_squares(const T* g, std::int64_t n) {
  double s = 0;
#pragma omp parallel for simd reduction(+ : s) schedule(static) if (n > parallel_threshold)
  for (std::int64_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
  return s;
}

template <class T>
void scale(T* g, std::int64_t n, T c) {
#pragma omp parallel for simd schedule(static) if (n > parallel_threshold)
  for (std::int64_t i = 0; i < n; ++i) g[i] *= c;
}

}  // namespace

double grad_norm(std::span<const Tensor> grads) {
  double total = 0;
  for (const Tensor& g : grads) {
    if (!g.defined()) continue;  // a parameter without gradient contributes nothing
    const Tensor c = g.contiguous();
    total += visit_real_dtype(c.dtype(), "grad_norm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      return sum_of_squares<T>(c.data<T>(), c.numel());
    });
  }
  return std::sqrt(total);
}

double clip_grad_norm(std::span<Tensor> grads, double max_norm) {
  if (!(max_norm >= 0)) throw ValueError(fmt::format("clip_grad_norm: max_norm must be >= 0, got {}", max_norm));
  const double total = grad_norm(std::span<const Tensor>(grads.data(), grads.size()));
  const double coefficient = max_norm / (total + 1e-6);
  if (!(coefficient < 1.0)) return total;  // within the bound (a nan coefficient scales, as in PyTorch)
  for (Tensor& g : grads) {
    if (!g.defined()) continue;
    if (!g.is_contiguous()) g = g.contiguous();
    visit_real_dtype(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      scale<T>(g.data<T>(), g.numel(), T(coefficient));
    });
  }
  return total;
}

}  // namespace nodal::nn
