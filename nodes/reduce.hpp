#pragma once
// Reductions over axes. Attributes: `axes` (list of ints, negative counts from the end, empty =
// all axes) and `keepdims` (reduced axes stay as extent 1, so the result broadcasts against x).
//
//   sum   y = Σ x over the axes                      (real and complex)
//   mean  y = Σ x / n, n = product of reduced extents (real and complex; empty axes give NaN)
//   max   y = max x over the axes                    (real; NaN propagates; a reduced extent of
//         0 is a ValueError). Its vjp sends the cotangent to the argmax; at ties to the FIRST
//         maximal element in row-major order of the reduced axes (as NumPy's argmax), so the
//         result is a valid subgradient and forward and reverse mode agree.
#include <cstdint>
#include <string_view>
#include <vector>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

enum class ReduceOp : std::uint8_t { sum, mean, max };

std::string_view reduce_op_name(ReduceOp op);  // the registered node type

struct Reduce final : Node {
  Reduce(ReduceOp op, std::vector<std::int64_t> axes, bool keepdims)
      : op(op), axes(std::move(axes)), keepdims(keepdims) {}
  ReduceOp op;
  std::vector<std::int64_t> axes;  // as given; empty = all
  bool keepdims;

  std::string_view type() const override { return reduce_op_name(op); }
  Attributes attributes() const override { return {{"axes", axes}, {"keepdims", keepdims}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// Which axes of a rank-`rank` input a reduction covers: reduced[a] = 1. Negative axes count from
// the end; out-of-range or repeated axes are a ValueError naming `op`.
std::vector<std::uint8_t> reduced_axes(std::span<const std::int64_t> axes, int rank, std::string_view op);
// The output shape: reduced axes dropped, or kept as 1 with keepdims.
Shape reduced_shape(const Shape& shape, std::span<const std::uint8_t> reduced, bool keepdims);

#define NODAL_DECLARE_REDUCE(fn)                                                                    \
  Value fn(const Value& x, std::vector<std::int64_t> axes = {}, bool keepdims = false,              \
           std::source_location where = std::source_location::current());                          \
  Tensor fn(const Tensor& x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
NODAL_DECLARE_REDUCE(sum)
NODAL_DECLARE_REDUCE(mean)
NODAL_DECLARE_REDUCE(max)
#undef NODAL_DECLARE_REDUCE

}  // namespace nodal
