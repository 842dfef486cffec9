#pragma once
// The optimizers' in-place updates on a device (OpenCL): nn/ stays free of any device API, as core
// does for memory (core/device_memory.hpp). A backend registers its kernels once when the library
// loads (backends/opencl/optimizer.cpp); Sgd, Adam/AdamW and clip_grad_norm call them for
// parameters and gradients that live on that backend, so a training step on the device never
// copies a parameter, gradient or state buffer to the host.
//
// The scalars are those of the CPU kernels (nn/sgd.cpp, nn/adam.cpp), computed on the host in
// double and rounded to the parameter's dtype once, so both backends run the same arithmetic.
#include <span>
#include <string_view>

#include "nodal/core/tensor.hpp"

namespace nodal::nn {

struct SgdScalars {
  double lr = 0, weight_decay = 0, momentum = 0, one_minus_dampening = 1;
  bool first = false, nesterov = false;
};

struct AdamScalars {
  double l2 = 0, shrink = 1, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0, step_size = 0, bias2_sqrt = 1,
         eps = 0;
};

class DeviceOptimizerKernels {
 public:
  virtual ~DeviceOptimizerKernels() = default;
  // p, b (momentum buffer, may be null) updated in place from g; one launch.
  virtual void sgd(Tensor& param, const Tensor& grad, Tensor* momentum_buffer, const SgdScalars& s) = 0;
  // p, m, v updated in place from g; one launch.
  virtual void adam(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, const AdamScalars& s) = 0;
  // Σ g² over every defined gradient, as a scalar float64 tensor on the device where it has
  // float64, else float32 (nothing waits for it).
  virtual Tensor sum_of_squares(std::span<const Tensor> grads) = 0;
  // g ← g·c for every gradient when c = max_norm / (√total + 1e-6) < 1, with `total` = Σ g² from
  // sum_of_squares: the coefficient is computed on the device.
  virtual void clip(std::span<Tensor> grads, const Tensor& sum_squares, double max_norm) = 0;
};

bool register_device_optimizer_kernels(Backend backend, DeviceOptimizerKernels* kernels);
// The kernels of `backend`; BackendError naming `op` when none are registered.
DeviceOptimizerKernels& device_optimizer_kernels(Backend backend, std::string_view op);
bool has_device_optimizer_kernels(Backend backend);

}  // namespace nodal::nn
