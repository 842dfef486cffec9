#include "nodal/nodes/scalar_ops.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::string_view scalar_op_name(ScalarOp op) {
  switch (op) {
    case ScalarOp::add: return "add_scalar";
    case ScalarOp::mul: return "mul_scalar";
    case ScalarOp::div: return "div_scalar";
    case ScalarOp::rsub: return "rsub_scalar";
    case ScalarOp::rdiv: return "rdiv_scalar";
    case ScalarOp::pow: return "pow_scalar";
  }
  return "scalar?";
}

std::vector<TensorSpec> ScalarNode::infer(std::span<const TensorSpec> in) const {
  // a complex power needs a branch of the logarithm: real only
  if (op == ScalarOp::pow && is_complex(in[0].dtype))
    throw DTypeError(fmt::format("{}: supports float32 and float64 only, got {} (input shape {})", type(),
                                 dtype_name(in[0].dtype), to_string(in[0].shape)));
  return {in[0]};
}

#define NODAL_DEFINE_SCALAR(fn, op)                                             \
  Value fn(const Value& x, double value, std::source_location where) {          \
    return detail::add_node(ScalarNode(ScalarOp::op, value), {x}, where);       \
  }                                                                             \
  Tensor fn(const Tensor& x, double value) { return detail::run_node(ScalarNode(ScalarOp::op, value), {x}); }
NODAL_DEFINE_SCALAR(add_scalar, add)
NODAL_DEFINE_SCALAR(mul_scalar, mul)
NODAL_DEFINE_SCALAR(div_scalar, div)
NODAL_DEFINE_SCALAR(rsub_scalar, rsub)
NODAL_DEFINE_SCALAR(rdiv_scalar, rdiv)
NODAL_DEFINE_SCALAR(pow_scalar, pow)
#undef NODAL_DEFINE_SCALAR

namespace {

NodeTypeInfo scalar_type(ScalarOp op, std::string doc) {
  return {.name = std::string(scalar_op_name(op)),
          .doc = std::move(doc),
          .attributes = {{"value", 0.0, "the constant c"}},
          .make = [op](const Attributes& a) { return std::make_unique<ScalarNode>(op, a.get<double>("value")); }};
}

}  // namespace

NODAL_REGISTER_NODE_TYPE(scalar_type(ScalarOp::add, "x + value, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(scalar_type(ScalarOp::mul, "value * x, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(scalar_type(ScalarOp::div, "x / value, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(scalar_type(ScalarOp::rsub, "value - x, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(scalar_type(ScalarOp::rdiv, "value / x, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(scalar_type(ScalarOp::pow, "x ^ value, elementwise (NaN for x < 0 and non-integer value)"));

}  // namespace nodal
