#include "nodal/nodes/add.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

TensorSpec infer_broadcast(std::string_view op, std::span<const TensorSpec> in) {
  if (in[0].dtype != in[1].dtype)
    throw DTypeError(fmt::format("{}: dtypes differ ({} and {}); convert one with astype", op, dtype_name(in[0].dtype),
                                 dtype_name(in[1].dtype)));
  return {broadcast_shapes(in[0].shape, in[1].shape, op), in[0].dtype};
}

std::vector<TensorSpec> Add::infer(std::span<const TensorSpec> in) const { return {infer_broadcast("add", in)}; }

Value add(const Value& a, const Value& b, std::source_location where) { return detail::add_node(Add{}, {a, b}, where); }
Tensor add(const Tensor& a, const Tensor& b) { return detail::run_node(Add{}, {a, b}); }

NODAL_REGISTER_NODE_TYPE({.name = "add",
                          .doc = "a + b, elementwise with NumPy broadcasting",
                          .min_inputs = 2,
                          .max_inputs = 2,
                          .make = [](const Attributes&) { return std::make_unique<Add>(); }});

}  // namespace nodal
