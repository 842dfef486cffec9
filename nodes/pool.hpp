#pragma once
// 2-D pooling in PyTorch's layout and semantics, on x [N, C, H, W] (or an unbatched [C, H, W]):
//
//   max_pool2d        y[n, c, i, j] = max over the window of x, implicit −∞ padding
//   avg_pool2d        y[n, c, i, j] = (Σ over the window of x) / divisor, implicit zero padding
//   global_avg_pool2d y[n, c, 0, 0] = mean over the whole H×W plane
//
// Window of output (i, j): rows i·s_h − p_h + a·d_h (a < k_h), columns likewise.
// Output extent (PyTorch's rule, per axis):
//   O = ⌊(S + 2p − d(k−1) − 1) / s⌋ + 1          (ceil_mode: ⌈·⌉, but the last window must start
//                                                  inside the input or its left padding)
// Requires p ≤ k/2 as PyTorch does, and (with dilation) that every window holds at least one
// input element (PyTorch would return an index outside the plane there; we throw ShapeError).
//
// max_pool2d has TWO outputs: the values and the argmax indices. The dtypes have no integer type,
// so the indices are stored as float64 (exact up to 2^53): the flat position h·W + w of the
// maximum within its own H×W input plane (PyTorch's return_indices convention). Ties go to the
// first position in row-major window order; a NaN in the window wins (it propagates).
// Derivatives (the indices output has none; its cotangent is ignored, its tangent is zero):
//   max: x̄[idx] += ȳ (each output routes its cotangent to its argmax);  ẏ = ẋ[idx]
//   avg: x̄[window] += ȳ / divisor;  ẏ = avg_pool2d(ẋ) (the pool is linear)
//   global avg: x̄ = ȳ / (H·W) broadcast;  ẏ = mean of ẋ
#include <array>
#include <cstdint>
#include <vector>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct Pool2dOptions {
  std::vector<std::int64_t> kernel{2};    // one value for both axes, or (kH, kW)
  std::vector<std::int64_t> stride{};     // empty: the kernel (PyTorch's default)
  std::vector<std::int64_t> padding{0};   // per side, one value or (pH, pW)
  std::vector<std::int64_t> dilation{1};  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;          // average pooling only: divide by the padded window size
};

// The resolved shape of one pooling problem: `planes` = N·C planes of H×W -> OH×OW.
struct PoolGeometry {
  std::int64_t planes = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  std::array<std::int64_t, 2> kernel{1, 1}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  Shape output_shape;  // x's shape with the last two extents replaced by (OH, OW)

  // ValueError/ShapeError naming `node`, the attributes and the input shape.
  static PoolGeometry resolve(std::string_view node, const Shape& x, const Pool2dOptions& o, bool is_max);
};

class MaxPool2d final : public Node {
 public:
  explicit MaxPool2d(Pool2dOptions options = {});
  std::string_view type() const override { return "max_pool2d"; }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;  // {values, indices}
  const Pool2dOptions& options() const { return options_; }
  PoolGeometry geometry(const Shape& x) const { return PoolGeometry::resolve(type(), x, options_, true); }

 private:
  Pool2dOptions options_;
};

class AvgPool2d final : public Node {
 public:
  explicit AvgPool2d(Pool2dOptions options = {});
  std::string_view type() const override { return "avg_pool2d"; }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
  const Pool2dOptions& options() const { return options_; }
  PoolGeometry geometry(const Shape& x) const { return PoolGeometry::resolve(type(), x, options_, false); }

 private:
  Pool2dOptions options_;
};

struct GlobalAvgPool2d final : Node {
  std::string_view type() const override { return "global_avg_pool2d"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// Both outputs of max_pool2d.
struct MaxPoolValues {
  Value values;
  Value indices;  // float64 flat positions h·W + w within each input plane
};
struct MaxPoolTensors {
  Tensor values;
  Tensor indices;
};

MaxPoolValues max_pool2d(const Value& x, const Pool2dOptions& options,
                         std::source_location where = std::source_location::current());
MaxPoolTensors max_pool2d(const Tensor& x, const Pool2dOptions& options);
// Convenience: the pooled values only (the usual layer).
Value max_pool2d_values(const Value& x, const Pool2dOptions& options,
                        std::source_location where = std::source_location::current());
Tensor max_pool2d_values(const Tensor& x, const Pool2dOptions& options);

Value avg_pool2d(const Value& x, const Pool2dOptions& options,
                 std::source_location where = std::source_location::current());
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);

Value global_avg_pool2d(const Value& x, std::source_location where = std::source_location::current());
Tensor global_avg_pool2d(const Tensor& x);

}  // namespace nodal
