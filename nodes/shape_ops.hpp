#pragma once
// Structural nodes: they move, select or pad elements and compute nothing, so they accept every
// dtype (complex too) and their vjp/jvp are the adjoint moves (reshape back, inverse permutation,
// scatter into zeros, ...). reshape, permute, transpose, flatten and slice return views of their
// input when the layout allows it (no copy).
#include <cstdint>
#include <limits>
#include <vector>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

// reshape(x, shape): same elements in row-major order, new shape; one extent may be -1.
struct Reshape final : Node {
  std::vector<std::int64_t> shape;
  Reshape() = default;
  explicit Reshape(std::vector<std::int64_t> shape) : shape(std::move(shape)) {}
  std::string_view type() const override { return "reshape"; }
  Attributes attributes() const override { return {{"shape", shape}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// permute(x, axes): output axis i is input axis axes[i].
struct Permute final : Node {
  std::vector<std::int64_t> axes;
  Permute() = default;
  explicit Permute(std::vector<std::int64_t> axes) : axes(std::move(axes)) {}
  std::string_view type() const override { return "permute"; }
  Attributes attributes() const override { return {{"axes", axes}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// transpose(x, axis0, axis1): swaps two axes.
struct Transpose final : Node {
  std::int64_t axis0 = -2, axis1 = -1;
  Transpose() = default;
  Transpose(std::int64_t axis0, std::int64_t axis1) : axis0(axis0), axis1(axis1) {}
  std::string_view type() const override { return "transpose"; }
  Attributes attributes() const override { return {{"axis0", axis0}, {"axis1", axis1}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// flatten(x, start_axis, end_axis): merges axes start..end (inclusive) into one, as PyTorch's
// torch.flatten; a scalar becomes [1].
struct Flatten final : Node {
  std::int64_t start_axis = 1, end_axis = -1;
  Flatten() = default;
  Flatten(std::int64_t start_axis, std::int64_t end_axis) : start_axis(start_axis), end_axis(end_axis) {}
  std::string_view type() const override { return "flatten"; }
  Attributes attributes() const override { return {{"start_axis", start_axis}, {"end_axis", end_axis}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
  Shape output_shape(const Shape& x) const;
};

// concat(x0, x1, ..., axis): joins tensors of one rank and dtype along `axis`; the other extents
// must agree.
struct Concat final : Node {
  std::int64_t axis = 0;
  Concat() = default;
  explicit Concat(std::int64_t axis) : axis(axis) {}
  std::string_view type() const override { return "concat"; }
  Attributes attributes() const override { return {{"axis", axis}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// slice(x, axis, start, stop, step): x[..., start:stop:step, ...] along `axis` with Python's rules
// (negative indices count from the end, out-of-range bounds clamp); step must be positive.
struct Slice final : Node {
  std::int64_t axis = 0, start = 0, stop = std::numeric_limits<std::int64_t>::max(), step = 1;
  Slice() = default;
  Slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step)
      : axis(axis), start(start), stop(stop), step(step) {}
  std::string_view type() const override { return "slice"; }
  Attributes attributes() const override {
    return {{"axis", axis}, {"start", start}, {"stop", stop}, {"step", step}};
  }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

// pad(x): constant padding. Two ways to say how much (use one):
//   before/after : one entry per axis, elements added before and after along that axis;
//   pads         : PyTorch's F.pad order, a flat list starting from the LAST axis:
//                  (before_last, after_last, before_second_last, after_second_last, ...),
//                  covering as many trailing axes as it has pairs.
// `value` fills the new elements. Negative amounts (cropping) are rejected: use slice.
struct Pad final : Node {
  std::vector<std::int64_t> before, after, pads;
  Pad() = default;
  Pad(std::vector<std::int64_t> before, std::vector<std::int64_t> after, std::vector<std::int64_t> pads, double value)
      : before(std::move(before)), after(std::move(after)), pads(std::move(pads)), value(value) {}
  double value = 0.0;
  std::string_view type() const override { return "pad"; }
  Attributes attributes() const override {
    return {{"before", before}, {"after", after}, {"pads", pads}, {"value", value}};
  }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
  // Per-axis amounts for an input of `rank` (from whichever form was given); ValueError if invalid.
  void resolve(int rank, std::vector<std::int64_t>& before_out, std::vector<std::int64_t>& after_out) const;
};

Value reshape(const Value& x, std::vector<std::int64_t> shape, std::source_location where = std::source_location::current());
Tensor reshape(const Tensor& x, std::vector<std::int64_t> shape);
Value permute(const Value& x, std::vector<std::int64_t> axes, std::source_location where = std::source_location::current());
Tensor permute(const Tensor& x, std::vector<std::int64_t> axes);
Value transpose(const Value& x, std::int64_t axis0, std::int64_t axis1,
                std::source_location where = std::source_location::current());
Tensor transpose(const Tensor& x, std::int64_t axis0, std::int64_t axis1);
Value flatten(const Value& x, std::int64_t start_axis = 1, std::int64_t end_axis = -1,
              std::source_location where = std::source_location::current());
Tensor flatten(const Tensor& x, std::int64_t start_axis = 1, std::int64_t end_axis = -1);
Value concat(std::span<const Value> xs, std::int64_t axis = 0, std::source_location where = std::source_location::current());
Value concat(std::initializer_list<Value> xs, std::int64_t axis = 0,
             std::source_location where = std::source_location::current());
Tensor concat(std::span<const Tensor> xs, std::int64_t axis = 0);
Tensor concat(std::initializer_list<Tensor> xs, std::int64_t axis = 0);
Value slice(const Value& x, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1,
            std::source_location where = std::source_location::current());
Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
Value pad(const Value& x, std::vector<std::int64_t> before, std::vector<std::int64_t> after, double value = 0.0,
          std::source_location where = std::source_location::current());
Tensor pad(const Tensor& x, std::vector<std::int64_t> before, std::vector<std::int64_t> after, double value = 0.0);
// PyTorch-style flat `pads` (last axis first), see Pad.
Value pad_flat(const Value& x, std::vector<std::int64_t> pads, double value = 0.0,
               std::source_location where = std::source_location::current());
Tensor pad_flat(const Tensor& x, std::vector<std::int64_t> pads, double value = 0.0);

}  // namespace nodal
