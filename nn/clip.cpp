#include "nodal/nn/clip.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nodal/core/error.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nn/device_training.hpp"

namespace nodal::nn {
namespace {

constexpr std::int64_t clip_parallel_threshold = 1 << 16;

template <class T>
double sum_of_squares(const T* g, std::int64_t n) {
  double s = 0;
#pragma omp parallel for simd reduction(+ : s) schedule(static) if (n > clip_parallel_threshold)
  for (std::int64_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
  return s;
}

template <class T>
void scale(T* g, std::int64_t n, T c) {
#pragma omp parallel for simd schedule(static) if (n > clip_parallel_threshold)
  for (std::int64_t i = 0; i < n; ++i) g[i] *= c;
}

// The backend every defined gradient lives on (CPU when there is none); BackendError when mixed.
Backend backend_of(std::span<const Tensor> grads, std::string_view op) {
  const Tensor* first = nullptr;
  for (const Tensor& g : grads) {
    if (!g.defined()) continue;
    if (!first) first = &g;
    else if (g.backend() != first->backend())
      throw BackendError(fmt::format("{}: gradients live on backends '{}' and '{}'; move them to one", op,
                                     backend_name(first->backend()), backend_name(g.backend())));
  }
  return first ? first->backend() : Backend::cpu;
}

double host_norm(const Tensor& sum_squares) { return std::sqrt(sum_squares.to(Backend::cpu).to_vector<double>()[0]); }

}  // namespace

double grad_norm(std::span<const Tensor> grads) {
  if (const Backend b = backend_of(grads, "grad_norm"); b != Backend::cpu)
    return host_norm(device_training_kernels(b, "grad_norm").sum_of_squares(grads));
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
  const std::span<const Tensor> view(grads.data(), grads.size());
  if (const Backend b = backend_of(view, "clip_grad_norm"); b != Backend::cpu) {
    DeviceTrainingKernels& kernels = device_training_kernels(b, "clip_grad_norm");
    const Tensor sum_squares = kernels.sum_of_squares(view);
    kernels.clip(grads, sum_squares, max_norm);
    return host_norm(sum_squares);  // the one download, after the scaling is queued
  }
  const double total = grad_norm(view);
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

Tensor clip_grad_norm_on_device(std::span<Tensor> grads, double max_norm) {
  if (!(max_norm >= 0)) throw ValueError(fmt::format("clip_grad_norm: max_norm must be >= 0, got {}", max_norm));
  const std::span<const Tensor> view(grads.data(), grads.size());
  const Backend b = backend_of(view, "clip_grad_norm");
  if (b == Backend::cpu) return Tensor::scalar(clip_grad_norm(grads, max_norm), DType::float64);
  DeviceTrainingKernels& kernels = device_training_kernels(b, "clip_grad_norm");
  const Tensor sum_squares = kernels.sum_of_squares(view);
  kernels.clip(grads, sum_squares, max_norm);
  static const std::unique_ptr<Node> sqrt_node = Registry::instance().make("sqrt", {});
  return apply1(*sqrt_node, {sum_squares});
}

}  // namespace nodal::nn
