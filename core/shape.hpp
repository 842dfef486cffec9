#pragma once
// Shape: up to 8 extents stored inline, so creating a tensor does not allocate for its shape.
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace nodal {

class Shape {
 public:
  static constexpr int max_rank = 8;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) { assign(dims.begin(), dims.begin() + dims.size()); }
  explicit Shape(std::span<const std::int64_t> dims) { assign(dims.data(), dims.data() + dims.size()); }
  explicit Shape(const std::vector<std::int64_t>& dims) { assign(dims.data(), dims.data() + dims.size()); }
  static Shape filled(int rank, std::int64_t value);

  int rank() const { return rank_; }
  std::size_t size() const { return rank_; }
  bool empty() const { return rank_ == 0; }
  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t& operator[](int i) { return dims_[i]; }
  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + rank_; }
  std::int64_t* begin() { return dims_.data(); }
  std::int64_t* end() { return dims_.data() + rank_; }
  std::int64_t back() const { return dims_[rank_ - 1]; }
  std::span<const std::int64_t> span() const { return {dims_.data(), std::size_t(rank_)}; }
  std::vector<std::int64_t> to_vector() const { return {begin(), end()}; }

  void push_back(std::int64_t d);
  void insert(int at, std::int64_t d);
  void erase(int at);

  // Product of the extents (1 for a scalar). Overflow-checked: throws ValueError.
  std::int64_t numel() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  void assign(const std::int64_t* first, const std::int64_t* last);
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

using Strides = Shape;  // in elements; same inline storage

// Row-major (C order) strides of a contiguous tensor.
Strides contiguous_strides(const Shape& shape);
// NumPy broadcasting of two shapes; throws ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);
// Normalise a possibly negative axis; throws ValueError naming `op`.
int normalize_axis(int axis, int rank, std::string_view op);
// "[2, 3, 4]"
std::string to_string(const Shape& shape);

}  // namespace nodal
