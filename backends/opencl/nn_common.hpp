#pragma once
// Small helpers shared by the OpenCL implementations of the training nodes (softmax.cpp, loss.cpp,
// batch_norm.cpp, dropout.cpp) and of the optimizer updates (optimizer.cpp).
#include <algorithm>
#include <string_view>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"

namespace nodal::opencl {

inline cl_mem mem_of(const Tensor& t, std::string_view op) { return device_buffer(*t.buffer(), op).mem(); }

// `t` itself when it is contiguous from its offset 0, else a contiguous copy (one scaled_copy
// launch). The kernels of these nodes index rows directly, so they take offset + contiguous data.
inline Tensor contiguous_on(Context& context, const Tensor& t) {
  return t.is_contiguous() ? t : scaled_copy(context, t, t.shape(), 1.0);
}

// A host double as the kernel's T argument (rounded once, as the CPU rounds its constants).
inline Launch& typed_arg(Launch& launch, DType dtype, double value) {
  if (dtype == DType::float64) return launch.arg(cl_double(value));
  return launch.arg(cl_float(value));
}

// Work-group size for one row of `n` elements reduced in local memory: a power of two ≤ 256 and
// ≤ the device's limit, no larger than n needs (a 10-class row takes 16 items, not 256).
inline std::size_t row_group_size(const Context& context, std::int64_t n) { return tree_group_size(context, n); }

// Groups for a launch of one group per row, grid-striding beyond 65536 rows.
inline std::size_t row_groups(std::int64_t rows) {
  return std::size_t(std::clamp<std::int64_t>(rows, 1, 65536));
}

}  // namespace nodal::opencl
