#include "nodal/nodes/relu.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::vector<TensorSpec> Relu::infer(std::span<const TensorSpec> in) const {
  if (is_complex(in[0].dtype)) throw DTypeError("relu: complex input has no order; relu needs float32 or float64");
  return {in[0]};
}

Value relu(const Value& x, std::source_location where) { return detail::add_node(Relu{}, {x}, where); }
Tensor relu(const Tensor& x) { return detail::run_node(Relu{}, {x}); }

NODAL_REGISTER_NODE_TYPE({.name = "relu",
                          .doc = "max(x, 0), elementwise",
                          .make = [](const Attributes&) { return std::make_unique<Relu>(); }});

}  // namespace nodal
