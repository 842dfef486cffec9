#pragma once
// Tensor: a dense n-dimensional view (shape, strides, offset, dtype) of a backend Buffer.
// Copying a Tensor shares its buffer; views (reshape, permute, slice) share it too.
#include <complex>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/backend.hpp"
#include "nodal/core/dtype.hpp"
#include "nodal/core/shape.hpp"

namespace nodal {

class Tensor {
 public:
  Tensor() = default;  // undefined: holds no buffer
  Tensor(std::shared_ptr<Buffer> buffer, Shape shape, Strides strides, std::int64_t offset, DType dtype);

  // --- creation (contiguous) ---
  static Tensor empty(const Shape& shape, DType dtype = DType::float32, Backend backend = Backend::cpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::float32, Backend backend = Backend::cpu);
  static Tensor ones(const Shape& shape, DType dtype = DType::float32, Backend backend = Backend::cpu);
  static Tensor full(const Shape& shape, std::complex<double> value, DType dtype = DType::float32,
                     Backend backend = Backend::cpu);
  static Tensor scalar(double value, DType dtype = DType::float32) { return full(Shape{}, value, dtype); }
  // 0, 1, ..., n-1 and start, start+step, ... (< stop)
  static Tensor arange(std::int64_t n, DType dtype = DType::float32);
  static Tensor arange(double start, double stop, double step, DType dtype = DType::float32);
  // Seeded random tensors: the same seed gives the same values on every machine.
  static Tensor randn(const Shape& shape, std::uint64_t seed, DType dtype = DType::float32, double mean = 0.0,
                      double stddev = 1.0);
  static Tensor rand(const Shape& shape, std::uint64_t seed, DType dtype = DType::float32, double low = 0.0,
                     double high = 1.0);
  // Copies `values` (row-major) into a new tensor of `shape`; the sizes must agree.
  template <class T> static Tensor from_data(std::span<const T> values, const Shape& shape);
  template <class T> static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    return from_data(std::span<const T>(values), shape);
  }

  // --- metadata ---
  bool defined() const { return buffer_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  std::int64_t offset() const { return offset_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int axis) const;  // negative axes count from the end
  std::int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Backend backend() const;
  bool is_contiguous() const;
  std::size_t nbytes() const { return std::size_t(numel()) * dtype_size(dtype_); }
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }

  // --- element access (CPU only; checks dtype) ---
  template <class T> T* data();              // first element of the view
  template <class T> const T* data() const;
  template <class T> std::vector<T> to_vector() const;  // row-major copy; converts real dtypes
  template <class T> T item() const;                     // a one-element tensor's value

  // --- views: no copy when the layout allows it ---
  Tensor reshape(const Shape& shape) const;  // one extent may be -1 via reshape(std::vector)
  Tensor reshape(const std::vector<std::int64_t>& shape) const;
  Tensor permute(std::span<const int> axes) const;
  Tensor permute(std::initializer_list<int> axes) const { return permute(std::span<const int>(axes.begin(), axes.size())); }
  Tensor transpose(int axis0, int axis1) const;
  Tensor slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;  // Python rules
  Tensor unsqueeze(int axis) const;
  Tensor squeeze(int axis) const;
  Tensor expand(const Shape& shape) const;  // broadcast view with zero strides

  // --- copies ---
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a new buffer
  Tensor astype(DType dtype) const;
  Tensor to(Backend backend) const;  // moves data between backends on purpose only
  void copy_from(const Tensor& source);  // same shape; any strides/dtypes; writes into this view

 private:
  void check_host(std::string_view op) const;
  std::shared_ptr<Buffer> buffer_;
  Shape shape_;
  Strides strides_;
  std::int64_t offset_ = 0;
  DType dtype_ = DType::float32;
};

// Calls f(linear_index_of_a, linear_index_of_b, ...) style iteration helpers live in core/strided.hpp.

std::string describe(const Tensor& t);  // "Tensor[2, 3] float32 cpu" (no values)

}  // namespace nodal
