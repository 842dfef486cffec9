#pragma once
// Sum reductions on the device (kernels/reduce.cl), shared by the reduce nodes and by the vjp of
// broadcasting elementwise nodes.
#include <span>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl {

// scale · Σ of `x` over the axes flagged in `reduced` (one flag per axis of x), as a contiguous
// tensor of x's kept extents (reduced axes dropped). Picks the work-group tree kernel for long
// rows and the one-item-per-output kernel for short ones; with too few outputs to occupy the
// device (a full sum) the rows are summed in pieces by parallel groups, then the pieces' sums
// in a second launch.
Tensor sum_axes(Context& context, const Tensor& x, std::span<const std::uint8_t> reduced, double scale);

// Which reduction kernel runs: automatic (the serial kernel on CPU devices, the tree kernel
// elsewhere, the serial one for short rows everywhere), or one forced for every row (so that tests
// cover both kernels on any device). Process-wide.
enum class ReduceStrategy { automatic, tree, serial };
void set_reduce_strategy(ReduceStrategy strategy);
ReduceStrategy reduce_strategy();

// The work-group size of the tree reduction for rows of `row` elements: a power of two ≤ 256,
// ≤ the device's limit, no larger than the row needs.
std::size_t tree_group_size(const Context& context, std::int64_t row);

// Undoes broadcasting: sums g (a broadcast result's shape) down to `shape`. g itself when the
// shapes are equal.
Tensor sum_to(Context& context, const Tensor& g, const Shape& shape);

// scale · x as a new contiguous tensor of `shape` (x broadcast to it).
Tensor scaled_copy(Context& context, const Tensor& x, const Shape& shape, double scale);

}  // namespace nodal::opencl
