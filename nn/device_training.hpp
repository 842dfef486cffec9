#pragma once
// The in-place parts of a training step on a device (OpenCL): the optimizers' updates, gradient
// clipping, and the running loss/accuracy sums of a training loop. nn/ stays free of any device
// API, as core does for memory (core/device_memory.hpp). A backend registers its kernels once
// when the library loads (backends/opencl/optimizer.cpp); Sgd, Adam/AdamW and clip_grad_norm call
// them for parameters and gradients that live on that backend, so a training step on the device
// never copies a parameter, gradient or state buffer to the host.
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

// One parameter's tensors in a fused update: updated in place from `grad`.
struct SgdTensors {
  Tensor* param;
  const Tensor* grad;
  Tensor* momentum_buffer;  // null without momentum
};
struct AdamTensors {
  Tensor* param;
  const Tensor* grad;
  Tensor* exp_avg;
  Tensor* exp_avg_sq;
};

class DeviceTrainingKernels {
 public:
  virtual ~DeviceTrainingKernels() = default;
  // The updates of several parameters with the same scalars, fused: one launch per 8 parameters.
  virtual void sgd(std::span<const SgdTensors> tensors, const SgdScalars& s) = 0;
  virtual void adam(std::span<const AdamTensors> tensors, const AdamScalars& s) = 0;
  // Σ g² over every defined gradient, as a scalar float64 tensor on the device where it has
  // float64, else float32 (nothing waits for it).
  virtual Tensor sum_of_squares(std::span<const Tensor> grads) = 0;
  // g ← g·c for every gradient when c = max_norm / (√total + 1e-6) < 1, with `total` = Σ g² from
  // sum_of_squares: the coefficient is computed on the device.
  virtual void clip(std::span<Tensor> grads, const Tensor& sum_squares, double max_norm) = 0;
  // sums[0] += loss·N and sums[1] += the number of rows of logits [N, C] whose first largest entry
  // is at the row's label (labels [N] as floats); `sums` is a [2] tensor of the logits' dtype on
  // the device, `loss` a scalar there. One launch, nothing downloaded: a training loop reads the
  // sums once per progress update.
  virtual void accumulate_classification(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                                         Tensor& sums) = 0;
  // A device copy of the host tensor `host` whose transfer does not wait for the kernels queued
  // before it (Tensor::to waits: a blocking write on an in-order queue), so that a training loop
  // queues step k + 1 while the device runs step k. The host memory is kept until it is read.
  virtual Tensor upload(const Tensor& host) = 0;
};

bool register_device_training_kernels(Backend backend, DeviceTrainingKernels* kernels);
// The kernels of `backend`; BackendError naming `op` when none are registered.
DeviceTrainingKernels& device_training_kernels(Backend backend, std::string_view op);
bool has_device_training_kernels(Backend backend);

}  // namespace nodal::nn
