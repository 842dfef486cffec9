#pragma once
// Unary elementwise nodes. Each operation is its own registered node type ("exp", "relu", ...);
// they share one Node class whose `op` says which function it is.
//
//   neg     y = −x                     (real and complex)
//   abs     y = |x|                    (real)
//   exp     y = eˣ                     (real and complex)
//   log     y = ln x                   (real; x < 0 gives NaN, x = 0 gives −inf, as in NumPy)
//   sqrt    y = √x                     (real; x < 0 gives NaN)
//   square  y = x²                     (real and complex)
//   tanh    y = tanh x                 (real)
//   sigmoid y = 1 / (1 + e⁻ˣ)          (real)
//   relu    y = max(x, 0)              (real)
//   leaky_relu y = x > 0 ? x : s·x     (real; attribute negative_slope s, default 0.01)
//   elu     y = x > 0 ? x : α(eˣ − 1)  (real; attribute alpha α, default 1)
//
// Domain errors are not exceptions: they give NaN or ±inf exactly as NumPy does.
#include <cstdint>
#include <string_view>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

enum class UnaryOp : std::uint8_t { neg, abs, exp, log, sqrt, square, tanh, sigmoid, relu, leaky_relu, elu };

std::string_view unary_op_name(UnaryOp op);  // the registered node type, e.g. "leaky_relu"
bool unary_op_supports_complex(UnaryOp op);

struct Unary final : Node {
  explicit Unary(UnaryOp op, double parameter = 0.0) : op(op), parameter(parameter) {}
  UnaryOp op;
  double parameter;  // negative_slope for leaky_relu, alpha for elu; unused otherwise

  std::string_view type() const override { return unary_op_name(op); }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

#define NODAL_DECLARE_UNARY(fn)                                                           \
  Value fn(const Value& x, std::source_location where = std::source_location::current()); \
  Tensor fn(const Tensor& x);
NODAL_DECLARE_UNARY(neg)
NODAL_DECLARE_UNARY(abs)
NODAL_DECLARE_UNARY(exp)
NODAL_DECLARE_UNARY(log)
NODAL_DECLARE_UNARY(sqrt)
NODAL_DECLARE_UNARY(square)
NODAL_DECLARE_UNARY(tanh)
NODAL_DECLARE_UNARY(sigmoid)
NODAL_DECLARE_UNARY(relu)
#undef NODAL_DECLARE_UNARY

Value leaky_relu(const Value& x, double negative_slope = 0.01, std::source_location where = std::source_location::current());
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Value elu(const Value& x, double alpha = 1.0, std::source_location where = std::source_location::current());
Tensor elu(const Tensor& x, double alpha = 1.0);

}  // namespace nodal
