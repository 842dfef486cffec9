#pragma once
// matmul(a, b): matrix product with NumPy semantics.
//   a [..., n, k] · b [..., k, m] -> [..., n, m], batch dimensions broadcast;
//   a 1-D `a` [k] is treated as [1, k] and a 1-D `b` [k] as [k, 1], the added axis removed after.
// float32, float64, complex64, complex128. For complex inputs the vjp is the conjugate-linear
// adjoint (ā = ȳ·bᴴ), as in PyTorch.
#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct MatMul final : Node {
  std::string_view type() const override { return "matmul"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

Value matmul(const Value& a, const Value& b, std::source_location where = std::source_location::current());
Tensor matmul(const Tensor& a, const Tensor& b);

// The shapes involved in one matmul, after promoting 1-D operands to matrices.
struct MatmulShapes {
  Shape a;      // a as a matrix stack: [..., n, k]
  Shape b;      // b as a matrix stack: [..., k, m]
  Shape batch;  // broadcast batch shape
  Shape full;   // batch + [n, m]: the product before removing promoted axes
  Shape out;    // the output shape
};
// Throws ShapeError naming both shapes when they do not fit.
MatmulShapes matmul_shapes(const Shape& a, const Shape& b);

}  // namespace nodal
