#pragma once
// linear(x, W[, b]) = x·Wᵀ + b, the fully connected layer in PyTorch's layout:
//   x [..., in], W [out, in], b [out] (optional) -> [..., out]
// float32, float64, complex64, complex128 (complex vjp: the conjugate-linear adjoint).
#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct Linear final : Node {
  std::string_view type() const override { return "linear"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

Value linear(const Value& x, const Value& weight, std::source_location where = std::source_location::current());
Value linear(const Value& x, const Value& weight, const Value& bias,
             std::source_location where = std::source_location::current());
Tensor linear(const Tensor& x, const Tensor& weight);
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace nodal
