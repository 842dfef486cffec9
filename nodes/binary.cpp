#include "nodal/nodes/binary.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::string_view binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::pow: return "pow";
    case BinaryOp::maximum: return "maximum";
    case BinaryOp::minimum: return "minimum";
  }
  return "binary?";
}

// pow needs a branch of the complex logarithm, maximum/minimum an order: real only.
bool binary_op_supports_complex(BinaryOp op) {
  return op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::div;
}

TensorSpec infer_broadcast(std::string_view op, std::span<const TensorSpec> in) {
  if (in[0].dtype != in[1].dtype)
    throw DTypeError(fmt::format("{}: dtypes differ ({} and {}); convert one with astype", op, dtype_name(in[0].dtype),
                                 dtype_name(in[1].dtype)));
  return {broadcast_shapes(in[0].shape, in[1].shape, op), in[0].dtype};
}

std::vector<TensorSpec> Binary::infer(std::span<const TensorSpec> in) const {
  TensorSpec out = infer_broadcast(type(), in);
  if (is_complex(out.dtype) && !binary_op_supports_complex(op))
    throw DTypeError(fmt::format("{}: supports float32 and float64 only, got {} (shapes {} and {})", type(),
                                 dtype_name(out.dtype), to_string(in[0].shape), to_string(in[1].shape)));
  return {out};
}

#define NODAL_DEFINE_BINARY(fn)                                                  \
  Value fn(const Value& a, const Value& b, std::source_location where) {         \
    return detail::add_node(Binary(BinaryOp::fn), {a, b}, where);                \
  }                                                                              \
  Tensor fn(const Tensor& a, const Tensor& b) { return detail::run_node(Binary(BinaryOp::fn), {a, b}); }
NODAL_DEFINE_BINARY(add)
NODAL_DEFINE_BINARY(sub)
NODAL_DEFINE_BINARY(mul)
NODAL_DEFINE_BINARY(div)
NODAL_DEFINE_BINARY(pow)
NODAL_DEFINE_BINARY(maximum)
NODAL_DEFINE_BINARY(minimum)
#undef NODAL_DEFINE_BINARY

namespace {

NodeTypeInfo binary_type(BinaryOp op, std::string doc) {
  return {.name = std::string(binary_op_name(op)),
          .doc = std::move(doc),
          .min_inputs = 2,
          .max_inputs = 2,
          .attributes = {},
          .make = [op](const Attributes&) { return std::make_unique<Binary>(op); }};
}

}  // namespace

NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::add, "a + b, elementwise with NumPy broadcasting (real and complex)"));
NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::sub, "a - b, elementwise with NumPy broadcasting (real and complex)"));
NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::mul, "a * b, elementwise with NumPy broadcasting (real and complex)"));
NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::div, "a / b, elementwise with NumPy broadcasting (real and complex)"));
NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::pow, "a ^ b, elementwise with NumPy broadcasting"));
NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::maximum,
                                     "max(a, b), elementwise with broadcasting; ties split the gradient equally"));
NODAL_REGISTER_NODE_TYPE(binary_type(BinaryOp::minimum,
                                     "min(a, b), elementwise with broadcasting; ties split the gradient equally"));

}  // namespace nodal
