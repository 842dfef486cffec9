#include "nodal/core/shape.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"

namespace nodal {

void Shape::assign(const std::int64_t* first, const std::int64_t* last) {
  auto n = std::distance(first, last);
  if (n > max_rank) throw ValueError(fmt::format("Shape: rank {} exceeds the maximum rank {}", n, max_rank));
  rank_ = int(n);
  std::int64_t* out = dims_.data();
  for (; first != last; ++first) {
    if (*first < 0) throw ValueError(fmt::format("Shape: negative extent {}", *first));
    *out++ = *first;
  }
}

Shape Shape::filled(int rank, std::int64_t value) {
  Shape s;
  for (int i = 0; i < rank; ++i) s.push_back(value);
  return s;
}

void Shape::push_back(std::int64_t d) { insert(rank_, d); }

void Shape::insert(int at, std::int64_t d) {
  if (rank_ >= max_rank) throw ValueError(fmt::format("Shape: rank would exceed the maximum rank {}", max_rank));
  for (int i = rank_; i > at; --i) dims_[i] = dims_[i - 1];
  dims_[at] = d;
  ++rank_;
}

void Shape::erase(int at) {
  for (int i = at; i + 1 < rank_; ++i) dims_[i] = dims_[i + 1];
  --rank_;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) {
    if (__builtin_mul_overflow(n, dims_[i], &n))
      throw ValueError(fmt::format("Shape {}: element count overflows 64 bits", to_string(*this)));
  }
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides s = shape;
  std::int64_t step = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    s[i] = step;
    step *= std::max<std::int64_t>(shape[i], 1);
  }
  return s;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const int rank = std::max(a.rank(), b.rank());
  Shape out = Shape::filled(rank, 1);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i, ib = b.rank() - rank + i;
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes {} and {} do not broadcast (axis {}: {} vs {})", op, to_string(a),
                                   to_string(b), i - rank, da, db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int normalize_axis(int axis, int rank, std::string_view op) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw ValueError(fmt::format("{}: axis {} is out of range for rank {}", op, axis, rank));
  return a;
}

std::string to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape.span(), ", ")); }

}  // namespace nodal
