#pragma once
// relu(x) = max(x, 0)
#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct Relu final : Node {
  std::string_view type() const override { return "relu"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

Value relu(const Value& x, std::source_location where = std::source_location::current());
Tensor relu(const Tensor& x);

}  // namespace nodal
