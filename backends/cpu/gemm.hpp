#pragma once
// Matrix products for CPU kernels through Eigen's GEMM. A MatrixRef describes one matrix inside a
// strided tensor; when its rows or its columns are unit-stride it is mapped without a copy
// (row-major or column-major), so transposed views such as Bᵀ cost nothing.
//
// gemm<T> is compiled once per dtype, in gemm_real.cpp, gemm_complex64.cpp and gemm_complex128.cpp
// (the Eigen template itself is in gemm_mapped.hpp): when every caller instantiated it (4 layouts ×
// 4 conjugations × 2 modes × 4 dtypes of Eigen's GEMM kernel), matmul.cpp and linear.cpp were the
// two slowest files of the build (126 s each under ASan, 30 s optimized).
#include <algorithm>
#include <cstdint>

#include "nodal/core/dtype.hpp"

namespace nodal::cpu {

template <class T> struct MatrixRef {
  const T* data = nullptr;
  std::int64_t rows = 0, cols = 0;
  std::int64_t row_stride = 0, col_stride = 1;  // in elements
  bool conjugate = false;                        // use conj(M) (complex only; ignored for real T)

  // Unit stride along columns (row-major) or rows (column-major), with rows/columns that do not
  // overlap. The stride of an extent of 1 is never used (broadcast views make it 0), so it is
  // ignored.
  bool row_major() const { return (cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= cols); }
  bool col_major() const { return (rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= rows); }
  bool mappable() const { return row_major() || col_major(); }
  // Mᵀ as a view: swaps extents and strides.
  MatrixRef transposed() const { return {data, cols, rows, col_stride, row_stride, conjugate}; }
  MatrixRef conjugated() const { return {data, rows, cols, row_stride, col_stride, !conjugate}; }
};

// C = op(A)·op(B) (or C += ... when `accumulate`), C row-major with row stride c_row_stride.
// A and B must be mappable() (callers copy other layouts to contiguous first); otherwise BackendError.
template <class T>
void gemm(const MatrixRef<T>& a, const MatrixRef<T>& b, T* c, std::int64_t c_row_stride, bool accumulate = false);

extern template void gemm<float>(const MatrixRef<float>&, const MatrixRef<float>&, float*, std::int64_t, bool);
extern template void gemm<double>(const MatrixRef<double>&, const MatrixRef<double>&, double*, std::int64_t, bool);
extern template void gemm<complex64>(const MatrixRef<complex64>&, const MatrixRef<complex64>&, complex64*,
                                     std::int64_t, bool);
extern template void gemm<complex128>(const MatrixRef<complex128>&, const MatrixRef<complex128>&, complex128*,
                                      std::int64_t, bool);

}  // namespace nodal::cpu
