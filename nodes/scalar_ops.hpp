#pragma once
// Elementwise operations between a tensor and a constant real number c (attribute `value`), so
// that `x * 2.0` or `1.0 - x` needs no constant tensor. Each is its own registered node type:
//
//   add_scalar   y = x + c     (real and complex)      x − c is add_scalar(x, −c), exact in IEEE
//   mul_scalar   y = c · x     (real and complex)
//   div_scalar   y = x / c     (real and complex)
//   rsub_scalar  y = c − x     (real and complex)
//   rdiv_scalar  y = c / x     (real and complex; x = 0 gives ±inf/NaN as NumPy)
//   pow_scalar   y = x^c       (real; x < 0 with non-integer c gives NaN as NumPy)
#include <cstdint>
#include <string_view>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

enum class ScalarOp : std::uint8_t { add, mul, div, rsub, rdiv, pow };

std::string_view scalar_op_name(ScalarOp op);  // the registered node type, e.g. "mul_scalar"

struct ScalarNode final : Node {
  ScalarNode(ScalarOp op, double value) : op(op), value(value) {}
  ScalarOp op;
  double value;

  std::string_view type() const override { return scalar_op_name(op); }
  Attributes attributes() const override { return {{"value", value}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

#define NODAL_DECLARE_SCALAR(fn)                                                                          \
  Value fn(const Value& x, double value, std::source_location where = std::source_location::current()); \
  Tensor fn(const Tensor& x, double value);
NODAL_DECLARE_SCALAR(add_scalar)
NODAL_DECLARE_SCALAR(mul_scalar)
NODAL_DECLARE_SCALAR(div_scalar)
NODAL_DECLARE_SCALAR(rsub_scalar)
NODAL_DECLARE_SCALAR(rdiv_scalar)
NODAL_DECLARE_SCALAR(pow_scalar)
#undef NODAL_DECLARE_SCALAR

// pow with a constant exponent reads like the tensor form.
inline Value pow(const Value& x, double exponent, std::source_location where = std::source_location::current()) {
  return pow_scalar(x, exponent, where);
}
inline Tensor pow(const Tensor& x, double exponent) { return pow_scalar(x, exponent); }

}  // namespace nodal
