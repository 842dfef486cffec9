#include "nodal/nn/sgd.hpp"

#include <fmt/format.h>

#include <vector>

#include "nodal/core/error.hpp"
#include "nodal/nn/device_training.hpp"

namespace nodal::nn {
namespace {

// Above this many elements a parameter's update is split over the OpenMP threads.
constexpr std::int64_t sgd_parallel_threshold = 1 << 16;

SgdOptions checked(SgdOptions o) {
  if (!(o.momentum >= 0)) throw ValueError(fmt::format("Sgd: momentum must be >= 0, got {}", o.momentum));
  if (!(o.dampening >= 0 && o.dampening <= 1))
    throw ValueError(fmt::format("Sgd: dampening must be in [0, 1], got {}", o.dampening));
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw ValueError(fmt::format("Sgd: nesterov needs momentum > 0 and dampening 0 (got momentum {}, dampening {})",
                                 o.momentum, o.dampening));
  return o;
}

std::vector<std::string> slots_for(const SgdOptions& o) {
  return o.momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
}

// The whole update in one pass over contiguous memory (vectorizable: no branch in the loop).
template <class T>
void sgd_kernel(T* p, const T* grad, T* buf, std::int64_t n, T lr, T wd, T mu, T one_minus_dampening, bool first,
                bool nesterov) {
#pragma omp parallel for simd schedule(static) if (n > sgd_parallel_threshold)
  for (std::int64_t i = 0; i < n; ++i) {
    T g = wd != T(0) ? grad[i] + wd * p[i] : grad[i];  // wd = 0 must not turn an inf p into nan
    if (buf) {
      const T b = first ? g : mu * buf[i] + one_minus_dampening * g;
      buf[i] = b;
      g = nesterov ? g + mu * b : b;
    }
    p[i] -= lr * g;
  }
}

}  // namespace

Sgd::Sgd(NamedTensors parameters, SgdOptions options) : Sgd(one_group(std::move(parameters)), options) {}

Sgd::Sgd(std::vector<ParameterGroup> groups, SgdOptions options)
    : Optimizer(std::move(groups), options.lr, options.weight_decay, slots_for(checked(options)), "Sgd"),
      options_(options) {}

void Sgd::update(Tensor& param, const Tensor& grad, std::span<Tensor> slots, std::int64_t step, const Group& group) {
  if (param.backend() != Backend::cpu) {  // the same update by the device's kernel, in place
    const SgdTensors tensors{&param, &grad, slots.empty() ? nullptr : &slots[0]};
    device_training_kernels(param.backend(), "Sgd.step").sgd(std::span(&tensors, 1), scalars(group, step));
    return;
  }
  visit_real_dtype(param.dtype(), "Sgd.step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sgd_kernel<T>(param.data<T>(), grad.data<T>(), slots.empty() ? nullptr : slots[0].data<T>(), param.numel(),
                  T(group.lr), T(group.weight_decay), T(options_.momentum), T(1 - options_.dampening), step == 1,
                  options_.nesterov);
  });
}

SgdScalars Sgd::scalars(const Group& group, std::int64_t step) const {
  return SgdScalars{group.lr, group.weight_decay, options_.momentum, 1 - options_.dampening, step == 1, options_.nesterov};
}

void Sgd::update_many(std::span<const Update> updates) {
  // The scalars differ only between a first step and later ones: one fused update per run.
  for_each_device_run(
      updates, [](const Update& a, const Update& b) { return (a.step == 1) == (b.step == 1); },
      [&](std::span<const Update> run) {
        std::vector<SgdTensors> tensors;
        for (const Update& v : run) tensors.push_back({v.param, &v.grad, v.slots.empty() ? nullptr : &v.slots[0]});
        device_training_kernels(run[0].param->backend(), "Sgd.step").sgd(tensors, scalars(*run[0].group, run[0].step));
      });
}

void Sgd::save_hyper(Metadata& out, std::string_view prefix) const {
  out[fmt::format("{}momentum", prefix)] = format_number(options_.momentum);
  out[fmt::format("{}dampening", prefix)] = format_number(options_.dampening);
  out[fmt::format("{}nesterov", prefix)] = std::string(options_.nesterov ? "1" : "0");
}

void Sgd::load_hyper(const Metadata& in, std::string_view prefix, std::string_view source) {
  SgdOptions o = options_;
  o.momentum = metadata_number(in, fmt::format("{}momentum", prefix), source);
  o.dampening = metadata_number(in, fmt::format("{}dampening", prefix), source);
  o.nesterov = metadata_number(in, fmt::format("{}nesterov", prefix), source) != 0;
  // The state tensors exist only for momentum ≠ 0: switching it on or off would need other slots.
  if ((o.momentum != 0) != (options_.momentum != 0))
    throw IoError(
        fmt::format("load_state_dict: the checkpoint's momentum {} and this optimizer's {} disagree on "
                    "keeping a momentum buffer",
                    o.momentum, options_.momentum));
  options_ = checked(o);
}

}  // namespace nodal::nn
