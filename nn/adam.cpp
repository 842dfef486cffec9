#include "nodal/nn/adam.hpp"

#include <fmt/format.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nodal/core/error.hpp"
#include "nodal/nn/device_training.hpp"

namespace nodal::nn {
namespace {

constexpr std::int64_t adam_parallel_threshold = 1 << 16;

AdamOptions checked(AdamOptions o, std::string_view op) {
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    throw ValueError(fmt::format("{}: betas must be in [0, 1), got ({}, {})", op, o.beta1, o.beta2));
  if (!(o.eps >= 0)) throw ValueError(fmt::format("{}: eps must be >= 0, got {}", op, o.eps));
  return o;
}

// out = √in, correctly rounded (IEEE sqrt instructions; Eigen's float sqrt is an approximation
// under its default EIGEN_FAST_MATH, and std::sqrt in a loop does not vectorize: see adam_range).
inline void sqrt_block(float* out, const float* in, std::int64_t n) {
  std::int64_t i = 0;
#ifdef __AVX__
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_sqrt_ps(_mm256_loadu_ps(in + i)));
#endif
  for (; i < n; ++i) out[i] = std::sqrt(in[i]);
}
inline void sqrt_block(double* out, const double* in, std::int64_t n) {
  std::int64_t i = 0;
#ifdef __AVX__
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(out + i, _mm256_sqrt_pd(_mm256_loadu_pd(in + i)));
#endif
  for (; i < n; ++i) out[i] = std::sqrt(in[i]);
}

// One fused pass over [begin, end): decay, both moments and the parameter, in the order PyTorch
// computes them. `l2` is Adam's weight decay (added to the gradient), `shrink` AdamW's factor
// 1 − lr·wd. The square roots are taken separately on a block that stays in L1: GCC does not
// vectorize std::sqrt without -fno-math-errno (it keeps a library call for negative inputs), and
// that single call would keep the whole loop scalar (3-4x slower).
template <class T>
void adam_range(T* p, const T* grad, T* m, T* v, std::int64_t begin, std::int64_t end, T l2, T shrink,
                T one_minus_beta1, T beta2, T one_minus_beta2, T step_size, T bias2_sqrt, T eps) {
  constexpr std::int64_t block = 512;
  alignas(64) T root[block];
  for (std::int64_t first = begin; first < end; first += block) {
    const std::int64_t count = std::min(block, end - first);
    T *pb = p + first, *mb = m + first, *vb = v + first;
    const T* gb = grad + first;
#pragma omp simd
    for (std::int64_t i = 0; i < count; ++i) {
      const T g = gb[i] + l2 * (pb[i] * shrink);
      mb[i] += one_minus_beta1 * (g - mb[i]);
      vb[i] = beta2 * vb[i] + one_minus_beta2 * g * g;
    }
    sqrt_block(root, vb, count);
#pragma omp simd
    for (std::int64_t i = 0; i < count; ++i)
      pb[i] = pb[i] * shrink - step_size * (mb[i] / (root[i] / bias2_sqrt + eps));
  }
}

template <class T>
void adam_kernel(T* p, const T* grad, T* m, T* v, std::int64_t n, T l2, T shrink, T one_minus_beta1, T beta2,
                 T one_minus_beta2, T step_size, T bias2_sqrt, T eps) {
  if (n <= adam_parallel_threshold)
    return adam_range(p, grad, m, v, 0, n, l2, shrink, one_minus_beta1, beta2, one_minus_beta2, step_size, bias2_sqrt,
                      eps);
#pragma omp parallel
  {
    // Equal contiguous shares, each a multiple of 16 elements (whole cache lines).
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t share = ((n + threads - 1) / threads + 15) / 16 * 16;
    const std::int64_t begin = std::min(n, t * share), end = std::min(n, begin + share);
    adam_range(p, grad, m, v, begin, end, l2, shrink, one_minus_beta1, beta2, one_minus_beta2, step_size, bias2_sqrt,
               eps);
  }
}

}  // namespace

Adam::Adam(NamedTensors parameters, AdamOptions options) : Adam(one_group(std::move(parameters)), options, false) {}
Adam::Adam(std::vector<ParameterGroup> groups, AdamOptions options) : Adam(std::move(groups), options, false) {}

Adam::Adam(std::vector<ParameterGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(std::move(groups), options.lr, options.weight_decay, {"exp_avg", "exp_avg_sq"},
                decoupled ? "AdamW" : "Adam"),
      options_(checked(options, decoupled ? "AdamW" : "Adam")),
      decoupled_(decoupled) {}

AdamW::AdamW(NamedTensors parameters, AdamOptions options) : Adam(one_group(std::move(parameters)), options, true) {}
AdamW::AdamW(std::vector<ParameterGroup> groups, AdamOptions options) : Adam(std::move(groups), options, true) {}

AdamScalars Adam::scalars(const Group& group, std::int64_t step) const {
  // Scalars (1 − β included) in double, as PyTorch computes them in Python floats, then rounded
  // to T once: 1 − 0.999f in float would differ from float(1 − 0.999) by 5e-5 relative.
  const double bias1 = 1 - std::pow(options_.beta1, double(step));
  const double bias2 = 1 - std::pow(options_.beta2, double(step));
  const double l2 = decoupled_ ? 0.0 : group.weight_decay;
  const double shrink = decoupled_ ? 1 - group.lr * group.weight_decay : 1.0;
  return AdamScalars{l2, shrink, 1 - options_.beta1, options_.beta2, 1 - options_.beta2, group.lr / bias1,
                     std::sqrt(bias2), options_.eps};
}

void Adam::update(Tensor& param, const Tensor& grad, std::span<Tensor> slots, std::int64_t step, const Group& group) {
  const AdamScalars s = scalars(group, step);
  if (param.backend() != Backend::cpu) {  // the same update by the device's kernel, in place
    const AdamTensors tensors{&param, &grad, &slots[0], &slots[1]};
    device_training_kernels(param.backend(), decoupled_ ? "AdamW.step" : "Adam.step").adam(std::span(&tensors, 1), s);
    return;
  }
  visit_real_dtype(param.dtype(), decoupled_ ? "AdamW.step" : "Adam.step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    adam_kernel<T>(param.data<T>(), grad.data<T>(), slots[0].data<T>(), slots[1].data<T>(), param.numel(), T(s.l2),
                   T(s.shrink), T(s.one_minus_beta1), T(s.beta2), T(s.one_minus_beta2), T(s.step_size),
                   T(s.bias2_sqrt), T(s.eps));
  });
}

void Adam::update_many(std::span<const Update> updates) {
  // Device parameters at the same step count share every scalar: one fused update per run.
  for_each_device_run(
      updates, [](const Update& a, const Update& b) { return a.step == b.step; },
      [&](std::span<const Update> run) {
        std::vector<AdamTensors> tensors;
        for (const Update& v : run) tensors.push_back({v.param, &v.grad, &v.slots[0], &v.slots[1]});
        device_training_kernels(run[0].param->backend(), decoupled_ ? "AdamW.step" : "Adam.step")
            .adam(tensors, scalars(*run[0].group, run[0].step));
      });
}

void Adam::save_hyper(Metadata& out, std::string_view prefix) const {
  out[fmt::format("{}beta1", prefix)] = format_number(options_.beta1);
  out[fmt::format("{}beta2", prefix)] = format_number(options_.beta2);
  out[fmt::format("{}eps", prefix)] = format_number(options_.eps);
}

void Adam::load_hyper(const Metadata& in, std::string_view prefix, std::string_view source) {
  AdamOptions o = options_;
  o.beta1 = metadata_number(in, fmt::format("{}beta1", prefix), source);
  o.beta2 = metadata_number(in, fmt::format("{}beta2", prefix), source);
  o.eps = metadata_number(in, fmt::format("{}eps", prefix), source);
  options_ = checked(o, decoupled_ ? "AdamW" : "Adam");
}

}  // namespace nodal::nn
