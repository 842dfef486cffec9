#pragma once
// Eigen interop.
//
//   Tensor t = from_eigen(m);            // copy: rank 2 for a matrix, rank 1 for a vector
//   auto m = as_matrix<float>(t);        // no copy: an Eigen::Map over a rank-2 CPU tensor
//
// from_eigen copies element (i, j) of the expression to t[i][j] whatever the Eigen storage order
// (Eigen defaults to column-major, tensors are row-major), so the values land where they read.
// An Eigen vector (compile-time one column or one row) becomes a rank-1 tensor; use
// from_eigen_matrix to keep a dynamic-size n x 1 matrix rank 2 even when it is a vector type.
//
// as_matrix maps the tensor's own strides, so it also works on transposed or sliced views
// (including zero strides from expand: writing through such a map writes the shared element).
// The map aliases the tensor's buffer: keep a Tensor that owns the buffer alive while it is used.
#include <cstdint>

#include <Eigen/Core>
#include <fmt/format.h>

#include "nodal/core/dtype.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DynamicStride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
// What as_matrix returns: a strided map over a rank-2 tensor (outer stride = row stride).
template <class T> using MatrixMap = Eigen::Map<RowMajorMatrix<T>, Eigen::Unaligned, DynamicStride>;
template <class T> using ConstMatrixMap = Eigen::Map<const RowMajorMatrix<T>, Eigen::Unaligned, DynamicStride>;

namespace detail {
template <class Scalar> void check_eigen_scalar() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double> ||
                    std::is_same_v<Scalar, complex64> || std::is_same_v<Scalar, complex128>,
                "from_eigen: the Eigen scalar must be float, double, std::complex<float> or std::complex<double>");
}

inline void check_matrix_view(const Tensor& t, DType want, const char* op) {
  if (!t.defined()) throw ValueError(fmt::format("{}: the tensor is undefined", op));
  if (t.rank() != 2)
    throw ShapeError(fmt::format("{}: needs a rank-2 tensor, got {} (rank {})", op, describe(t), t.rank()));
  if (t.dtype() != want)
    throw DTypeError(fmt::format("{}<{}>: tensor {} has dtype {}", op, dtype_name(want), describe(t),
                                 dtype_name(t.dtype())));
}

template <class Derived> Tensor copy_rows_cols(const Eigen::DenseBase<Derived>& m, const Shape& shape) {
  using Scalar = typename Derived::Scalar;
  check_eigen_scalar<Scalar>();
  Tensor t = Tensor::empty(shape, dtype_of<Scalar>);
  Scalar* p = t.data<Scalar>();
  const Eigen::Index rows = m.rows(), cols = m.cols();
  // Element access rather than a raw copy: Derived may be any expression (a block, a product,
  // a column-major matrix) and coeff(i, j) evaluates it in whatever storage order it has.
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) p[i * cols + j] = m.derived().coeff(i, j);
  return t;
}
}  // namespace detail

// A rank-2 tensor [rows, cols] holding a copy of `m`, whatever its storage order or shape.
template <class Derived> Tensor from_eigen_matrix(const Eigen::DenseBase<Derived>& m) {
  return detail::copy_rows_cols(m, Shape{std::int64_t(m.rows()), std::int64_t(m.cols())});
}

// A copy of `m`: rank 1 [n] when Derived is a compile-time vector (Eigen::VectorXf, RowVector3d,
// a column block...), rank 2 [rows, cols] otherwise.
template <class Derived> Tensor from_eigen(const Eigen::DenseBase<Derived>& m) {
  if constexpr (Derived::IsVectorAtCompileTime)
    return detail::copy_rows_cols(m, Shape{std::int64_t(m.size())});
  else
    return from_eigen_matrix(m);
}

// A writable Eigen view of a rank-2 CPU tensor (strides honoured). ShapeError if rank != 2,
// DTypeError if T is not the tensor's element type, BackendError if the tensor is not on the CPU.
template <class T> MatrixMap<T> as_matrix(Tensor& t) {
  detail::check_matrix_view(t, dtype_of<T>, "as_matrix");
  return MatrixMap<T>(t.data<T>(), Eigen::Index(t.dim(0)), Eigen::Index(t.dim(1)),
                      DynamicStride(Eigen::Index(t.strides()[0]), Eigen::Index(t.strides()[1])));
}

// A read-only Eigen view of a rank-2 CPU tensor.
template <class T> ConstMatrixMap<T> as_matrix(const Tensor& t) {
  detail::check_matrix_view(t, dtype_of<T>, "as_matrix");
  return ConstMatrixMap<T>(t.data<T>(), Eigen::Index(t.dim(0)), Eigen::Index(t.dim(1)),
                           DynamicStride(Eigen::Index(t.strides()[0]), Eigen::Index(t.strides()[1])));
}

// A copy of a rank-2 tensor (any strides, CPU) as a row-major Eigen matrix of T; converts real
// dtypes like Tensor::to_vector does.
template <class T> RowMajorMatrix<T> to_eigen(const Tensor& t) {
  if (!t.defined()) throw ValueError("to_eigen: the tensor is undefined");
  if (t.rank() != 2)
    throw ShapeError(fmt::format("to_eigen: needs a rank-2 tensor, got {} (rank {})", describe(t), t.rank()));
  const std::vector<T> values = t.to_vector<T>();
  RowMajorMatrix<T> m(Eigen::Index(t.dim(0)), Eigen::Index(t.dim(1)));
  std::copy(values.begin(), values.end(), m.data());
  return m;
}

}  // namespace nodal
