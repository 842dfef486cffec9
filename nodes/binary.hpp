#pragma once
// Binary elementwise nodes with NumPy broadcasting. Each operation is its own registered node
// type ("add", "mul", ...); they share one Node class whose `op` says which function it is.
//
//   add      y = a + b            (real and complex)
//   sub      y = a − b            (real and complex)
//   mul      y = a · b            (real and complex)
//   div      y = a / b            (real and complex; division by zero gives ±inf/NaN as NumPy)
//   pow      y = aᵇ               (real; a < 0 with non-integer b gives NaN as NumPy)
//   maximum  y = max(a, b)        (real; NaN propagates; at ties a and b get half the gradient each)
//   minimum  y = min(a, b)        (real; same tie rule)
//
// Both inputs must have the same dtype (DTypeError otherwise) and broadcastable shapes
// (ShapeError naming the node and both shapes).
#include <cstdint>
#include <string_view>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

enum class BinaryOp : std::uint8_t { add, sub, mul, div, pow, maximum, minimum };

std::string_view binary_op_name(BinaryOp op);  // the registered node type, e.g. "maximum"
bool binary_op_supports_complex(BinaryOp op);

struct Binary final : Node {
  explicit Binary(BinaryOp op) : op(op) {}
  BinaryOp op;

  std::string_view type() const override { return binary_op_name(op); }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// Shared by binary elementwise nodes: broadcast shape, equal dtypes.
TensorSpec infer_broadcast(std::string_view op, std::span<const TensorSpec> in);

#define NODAL_DECLARE_BINARY(fn)                                                                            \
  Value fn(const Value& a, const Value& b, std::source_location where = std::source_location::current()); \
  Tensor fn(const Tensor& a, const Tensor& b);
NODAL_DECLARE_BINARY(add)
NODAL_DECLARE_BINARY(sub)
NODAL_DECLARE_BINARY(mul)
NODAL_DECLARE_BINARY(div)
NODAL_DECLARE_BINARY(pow)
NODAL_DECLARE_BINARY(maximum)
NODAL_DECLARE_BINARY(minimum)
#undef NODAL_DECLARE_BINARY

}  // namespace nodal
