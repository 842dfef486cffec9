#pragma once
// Iterating over the elements of strided views in row-major order. The innermost extent is run
// as a plain loop so the compiler can vectorise contiguous cases.
#include <cstdint>

#include "nodal/core/shape.hpp"

namespace nodal {

// f(base, count, step): for each row of the iteration space, base[k] is the element offset of the
// row's first element in operand k, and step[k] the operand's stride along the row.
template <int K, class F>
void for_each_row(const Shape& shape, const Strides* const (&strides)[K], F&& f) {
  const int rank = shape.rank();
  std::int64_t base[K] = {};
  if (rank == 0) {
    std::int64_t inner[K] = {};
    f(base, std::int64_t(1), inner);
    return;
  }
  if (shape.numel() == 0) return;
  const std::int64_t inner_count = shape[rank - 1];
  std::int64_t inner[K];
  for (int k = 0; k < K; ++k) inner[k] = (*strides[k])[rank - 1];
  std::int64_t index[Shape::max_rank] = {};
  for (;;) {
    f(base, inner_count, inner);
    int axis = rank - 2;
    for (; axis >= 0; --axis) {
      for (int k = 0; k < K; ++k) base[k] += (*strides[k])[axis];
      if (++index[axis] < shape[axis]) break;
      for (int k = 0; k < K; ++k) base[k] -= (*strides[k])[axis] * shape[axis];
      index[axis] = 0;
    }
    if (axis < 0) return;
  }
}

}  // namespace nodal
