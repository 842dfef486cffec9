#pragma once
// add(a, b) = a + b with NumPy broadcasting
#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct Add final : Node {
  std::string_view type() const override { return "add"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

Value add(const Value& a, const Value& b, std::source_location where = std::source_location::current());
Tensor add(const Tensor& a, const Tensor& b);
inline Value operator+(ValueAt a, const Value& b) { return add(a.value, b, a.where); }
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }

// Shared by binary elementwise nodes: broadcast shape, equal dtypes.
TensorSpec infer_broadcast(std::string_view op, std::span<const TensorSpec> in);

}  // namespace nodal
