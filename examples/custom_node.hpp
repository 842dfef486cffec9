#pragma once
// A custom node in twenty lines: softplus(x) = log(1 + eˣ), its rules written with tensor
// operations (so it runs on any backend). Shared by examples/custom_node.cpp and
// tests/test_custom_node.cpp.
#include "nodal/core/custom_node.hpp"
#include "nodal/nodes/operators.hpp"

namespace example {

using nodal::Tensor;

struct Softplus : nodal::CustomNode<Softplus> {
  static constexpr std::string_view name = "example_softplus";
  static constexpr std::string_view doc = "log(1 + exp(x)), the custom node of examples/custom_node.hpp";
  // relu(x) + log(1 + e^-|x|) is the same function without overflow for large x
  Tensor forward(const Tensor& x) const { return relu(x) + log(1.0 + exp(-abs(x))); }
  // d softplus / dx = sigmoid(x)
  Tensor vjp(const Tensor& x, const Tensor& /*y*/, const Tensor& ybar) const { return ybar * sigmoid(x); }
  Tensor jvp(const Tensor& x, const Tensor& /*y*/, const Tensor& xdot) const { return xdot * sigmoid(x); }
};
NODAL_REGISTER_CUSTOM_NODE(Softplus);

// softplus(value) adds the node to a graph; softplus(tensor) runs it at once.
inline constexpr nodal::CustomOp<Softplus> softplus;

}  // namespace example
