#include "nodal/nn/adam.hpp"

#include <cmath>

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {

constexpr std::int64_t parallel_threshold = 1 << 16;

AdamOptions checked(AdamOptions o, std::string_view op) {
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    throw ValueError(fmt::format("{}: betas must be in [0, 1), got ({}, {})", op, o.beta1, o.beta2));
  if (!(o.eps >= 0)) throw ValueError(fmt::format("{}: eps must be >= 0, got {}", op, o.eps));
  return o;
}

// One fused pass: decay, both moments and the parameter, in the order PyTorch computes them.
// `l2` is Adam's weight decay (added to the gradient), `shrink` AdamW's factor 1 − lr·wd.
template <class T>
void adam_kernel(T* p, const T* grad, T* m, T* v, std::int64_t n, T l2, T shrink, T beta1, T beta2, T step_size,
                 T bias2_sqrt, T eps) {
  const T one_minus_beta1 = T(1) - beta1, one_minus_beta2 = T(1) - beta2;
#pragma omp parallel for simd schedule(static) if (n > parallel_threshold)
  for (std::int64_t i = 0; i < n; ++i) {
    T pi = p[i] * shrink;
    const T g = l2 != T(0) ? grad[i] + l2 * pi : grad[i];
    const T mi = m[i] + one_minus_beta1 * (g - m[i]);
    const T vi = beta2 * v[i] + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * (mi / (std::sqrt(vi) / bias2_sqrt + eps));
  }
}

}  // namespace

Adam::Adam(NamedTensors parameters, AdamOptions options)
    : Adam(one_group(std::move(parameters)), options, false) {}
Adam::Adam(std::vector<ParameterGroup> groups, AdamOptions options) : Adam(std::move(groups), options, false) {}

Adam::Adam(std::vector<ParameterGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(std::move(groups), options.lr, options.weight_decay, {"exp_avg", "exp_avg_sq"},
                decoupled ? "AdamW" : "Adam"),
      options_(checked(options, decoupled ? "AdamW" : "Adam")),
      decoupled_(decoupled) {}

AdamW::AdamW(NamedTensors parameters, AdamOptions options)
    : Adam(one_group(std::move(parameters)), options, true) {}
AdamW::AdamW(std::vector<ParameterGroup> groups, AdamOptions options) : Adam(std::move(groups), options, true) {}

void Adam::update(Tensor& param, const Tensor& grad, std::span<Tensor> slots, std::int64_t step, const Group& group) {
  // Scalars in double, like PyTorch computes them in Python floats, then rounded to T once.
  const double bias1 = 1 - std::pow(options_.beta1, double(step));
  const double bias2 = 1 - std::pow(options_.beta2, double(step));
  const double l2 = decoupled_ ? 0.0 : group.weight_decay;
  const double shrink = decoupled_ ? 1 - group.lr * group.weight_decay : 1.0;
  visit_real_dtype(param.dtype(), decoupled_ ? "AdamW.step" : "Adam.step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    adam_kernel<T>(param.data<T>(), grad.data<T>(), slots[0].data<T>(), slots[1].data<T>(), param.numel(), T(l2),
                   T(shrink), T(options_.beta1), T(options_.beta2), T(group.lr / bias1), T(std::sqrt(bias2)),
                   T(options_.eps));
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
