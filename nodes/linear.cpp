#include "nodal/nodes/linear.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::vector<TensorSpec> Linear::infer(std::span<const TensorSpec> in) const {
  const Shape& x = in[0].shape;
  const Shape& w = in[1].shape;
  for (std::size_t i = 1; i < in.size(); ++i)
    if (in[i].dtype != in[0].dtype)
      throw DTypeError(fmt::format("linear: input {} is {} but x is {}; convert with astype", i,
                                   dtype_name(in[i].dtype), dtype_name(in[0].dtype)));
  if (x.rank() < 1) throw ShapeError("linear: x must have at least one dimension [..., in]");
  if (w.rank() != 2)
    throw ShapeError(fmt::format("linear: weight must be [out, in], got {}", to_string(w)));
  if (w[1] != x.back())
    throw ShapeError(fmt::format("linear: x {} has {} features but weight {} expects {}", to_string(x), x.back(),
                                 to_string(w), w[1]));
  if (in.size() == 3 && !(in[2].shape == Shape{w[0]}))
    throw ShapeError(fmt::format("linear: bias must be [{}] to match weight {}, got {}", w[0], to_string(w),
                                 to_string(in[2].shape)));
  Shape out = x;
  out[out.rank() - 1] = w[0];
  return {{out, in[0].dtype}};
}

Value linear(const Value& x, const Value& weight, std::source_location where) {
  return detail::add_node(Linear{}, {x, weight}, where);
}
Value linear(const Value& x, const Value& weight, const Value& bias, std::source_location where) {
  return detail::add_node(Linear{}, {x, weight, bias}, where);
}
Tensor linear(const Tensor& x, const Tensor& weight) { return detail::run_node(Linear{}, {x, weight}); }
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return detail::run_node(Linear{}, {x, weight, bias});
}

NODAL_REGISTER_NODE_TYPE({.name = "linear",
                          .doc = "x·Wᵀ + b with W [out, in] and optional b [out] (fully connected layer)",
                          .min_inputs = 2,
                          .max_inputs = 3,
                          .make = [](const Attributes&) { return std::make_unique<Linear>(); }});

}  // namespace nodal
