#pragma once
// The definition of cpu::gemm (gemm.hpp) over Eigen's GEMM; included only by the two files that
// instantiate it (gemm_real.cpp, gemm_complex64.cpp, gemm_complex128.cpp).
#include <algorithm>
#include <cstdint>

#include <Eigen/Core>

#include "nodal/backends/cpu/gemm.hpp"
#include "nodal/core/error.hpp"

namespace nodal::cpu {

namespace detail {

template <class T, int Order>
using ConstMatrixMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, 0, Eigen::OuterStride<>>;

template <class T, int OrderA, int OrderB>
void gemm_mapped(const MatrixRef<T>& a, const MatrixRef<T>& b, T* c, std::int64_t c_row_stride, bool accumulate) {
  auto outer = [](const MatrixRef<T>& m, int order) {
    const std::int64_t s = order == Eigen::RowMajor ? m.row_stride : m.col_stride;
    // With a single row (column) the outer stride is unused; give Eigen a consistent one.
    const std::int64_t inner = order == Eigen::RowMajor ? m.cols : m.rows;
    return std::max<std::int64_t>(s, inner);
  };
  ConstMatrixMap<T, OrderA> ma(a.data, a.rows, a.cols, Eigen::OuterStride<>(outer(a, OrderA)));
  ConstMatrixMap<T, OrderB> mb(b.data, b.rows, b.cols, Eigen::OuterStride<>(outer(b, OrderB)));
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>> mc(
      c, a.rows, b.cols, Eigen::OuterStride<>(std::max<std::int64_t>(c_row_stride, b.cols)));
  // conjugate() is free for real T and folds into the GEMM kernel for complex T.
  auto run = [&](const auto& x, const auto& y) {
    if (accumulate) mc.noalias() += x * y;
    else mc.noalias() = x * y;
  };
  if (a.conjugate && b.conjugate) run(ma.conjugate(), mb.conjugate());
  else if (a.conjugate) run(ma.conjugate(), mb);
  else if (b.conjugate) run(ma, mb.conjugate());
  else run(ma, mb);
}

}  // namespace detail

// C = op(A)·op(B) (or C += ... when `accumulate`), C row-major with row stride c_row_stride.
// A and B must be mappable() (callers copy other layouts to contiguous first).
template <class T>
void gemm(const MatrixRef<T>& a, const MatrixRef<T>& b, T* c, std::int64_t c_row_stride, bool accumulate) {
  if (a.rows == 0 || b.cols == 0) return;
  if (a.cols == 0) {
    if (!accumulate)
      for (std::int64_t i = 0; i < a.rows; ++i)
        for (std::int64_t j = 0; j < b.cols; ++j) c[i * c_row_stride + j] = T(0);
    return;
  }
  if (!a.mappable() || !b.mappable())
    throw BackendError("cpu::gemm: an operand has no unit stride along rows or columns (copy it to contiguous)");
  const bool ra = a.row_major(), rb = b.row_major();
  if (ra && rb) detail::gemm_mapped<T, Eigen::RowMajor, Eigen::RowMajor>(a, b, c, c_row_stride, accumulate);
  else if (ra) detail::gemm_mapped<T, Eigen::RowMajor, Eigen::ColMajor>(a, b, c, c_row_stride, accumulate);
  else if (rb) detail::gemm_mapped<T, Eigen::ColMajor, Eigen::RowMajor>(a, b, c, c_row_stride, accumulate);
  else detail::gemm_mapped<T, Eigen::ColMajor, Eigen::ColMajor>(a, b, c, c_row_stride, accumulate);
}

}  // namespace nodal::cpu
