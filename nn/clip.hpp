#pragma once
// Gradient clipping by the global L2 norm, PyTorch's torch.nn.utils.clip_grad_norm_ (norm 2):
//
//   total = √(Σ over all gradients and elements of g²)
//   c = max_norm / (total + 1e-6);  if c < 1, every gradient is multiplied by c
//
// The sum is accumulated in double. Returns `total` (before clipping), which is nan or inf when
// a gradient holds nan or inf (the gradients are then scaled by nan or 0, as PyTorch does with
// error_if_nonfinite = false). Gradients are scaled in place; a non-contiguous one (a broadcast
// view, whose elements alias) is first replaced by a contiguous copy, which is why the span is
// of Tensor, not const Tensor.
#include <span>

#include "nodal/core/tensor.hpp"

namespace nodal::nn {

double grad_norm(std::span<const Tensor> grads);
double clip_grad_norm(std::span<Tensor> grads, double max_norm);

// Device gradients (OpenCL): the same, by the device's kernels (nn/device_training.hpp) in
// T-precision tree sums; the norm and the coefficient never leave the device. grad_norm and
// clip_grad_norm then download the one total they return; clip_grad_norm_on_device returns it as
// a scalar tensor on the device instead (float64 where the device has it), so a training step
// does not wait. On the CPU it returns the CPU result as a float64 scalar.
Tensor clip_grad_norm_on_device(std::span<Tensor> grads, double max_norm);

}  // namespace nodal::nn
