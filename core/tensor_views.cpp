// Views: new shape/strides/offset over the same buffer. Only reshape of a non-contiguous
// tensor copies (as NumPy's reshape does when no strided view can express the result).
#include <algorithm>

#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal {

Tensor Tensor::reshape(const std::vector<std::int64_t>& dims) const {
  std::vector<std::int64_t> resolved = dims;
  std::int64_t known = 1;
  int inferred = -1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (inferred >= 0) throw ShapeError(fmt::format("reshape: more than one -1 in [{}]", fmt::join(dims, ", ")));
      inferred = int(i);
    } else if (dims[i] < 0) {
      throw ShapeError(fmt::format("reshape: negative extent in [{}]", fmt::join(dims, ", ")));
    } else {
      known *= dims[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || numel() % known != 0)
      throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into [{}]", to_string(shape_), numel(),
                                   fmt::join(dims, ", ")));
    resolved[inferred] = numel() / known;
  }
  return reshape(Shape(resolved));
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel())
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {} ({} elements)", to_string(shape_),
                                 numel(), to_string(shape), shape.numel()));
  const Tensor source = contiguous();
  return Tensor(source.buffer_, shape, contiguous_strides(shape), source.offset_, dtype_);
}

Tensor Tensor::permute(std::span<const int> axes) const {
  if (int(axes.size()) != rank())
    throw ShapeError(fmt::format("permute: {} axes given for a tensor of rank {} (shape {})", axes.size(), rank(),
                                 to_string(shape_)));
  Shape shape = shape_;
  Strides strides = strides_;
  bool seen[Shape::max_rank] = {};
  for (int i = 0; i < rank(); ++i) {
    const int a = normalize_axis(axes[i], rank(), "permute");
    if (seen[a]) throw ValueError(fmt::format("permute: axis {} appears twice", a));
    seen[a] = true;
    shape[i] = shape_[a];
    strides[i] = strides_[a];
  }
  return Tensor(buffer_, shape, strides, offset_, dtype_);
}

Tensor Tensor::transpose(int axis0, int axis1) const {
  const int a = normalize_axis(axis0, rank(), "transpose"), b = normalize_axis(axis1, rank(), "transpose");
  Shape shape = shape_;
  Strides strides = strides_;
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return Tensor(buffer_, shape, strides, offset_, dtype_);
}

Tensor Tensor::slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step) const {
  const int a = normalize_axis(axis, rank(), "slice");
  if (step <= 0) throw ValueError(fmt::format("slice: step must be positive, got {}", step));
  const std::int64_t n = shape_[a];
  auto clamp = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clamp(start);
  stop = clamp(stop);
  const std::int64_t count = stop > start ? (stop - start + step - 1) / step : 0;
  Shape shape = shape_;
  Strides strides = strides_;
  shape[a] = count;
  strides[a] = strides_[a] * step;
  return Tensor(buffer_, shape, strides, offset_ + start * strides_[a], dtype_);
}

Tensor Tensor::unsqueeze(int axis) const {
  const int a = normalize_axis(axis, rank() + 1, "unsqueeze");
  Shape shape = shape_;
  Strides strides = strides_;
  shape.insert(a, 1);
  strides.insert(a, a < rank() ? strides_[a] * shape_[a] : 1);
  return Tensor(buffer_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze(int axis) const {
  const int a = normalize_axis(axis, rank(), "squeeze");
  if (shape_[a] != 1)
    throw ShapeError(fmt::format("squeeze: axis {} of shape {} has extent {}, not 1", a, to_string(shape_), shape_[a]));
  Shape shape = shape_;
  Strides strides = strides_;
  shape.erase(a);
  strides.erase(a);
  return Tensor(buffer_, shape, strides, offset_, dtype_);
}

Tensor Tensor::expand(const Shape& shape) const {
  const Shape target = broadcast_shapes(shape_, shape, "expand");
  if (!(target == shape))
    throw ShapeError(fmt::format("expand: shape {} cannot be expanded to {}", to_string(shape_), to_string(shape)));
  Strides strides = Strides::filled(shape.rank(), 0);
  for (int i = 0; i < rank(); ++i) {
    const int j = shape.rank() - rank() + i;
    strides[j] = shape_[i] == 1 ? 0 : strides_[i];
  }
  return Tensor(buffer_, shape, strides, offset_, dtype_);
}

}  // namespace nodal
