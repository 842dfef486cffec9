// CPU rules of the structural nodes. Forward passes return views where a strided view can express
// the result; the rules below therefore never assume contiguous inputs or cotangents.
#include "nodal/nodes/shape_ops.hpp"

#include <algorithm>
#include <array>

#include "nodal/core/registry.hpp"
#include "nodal/nodes/shape_views.hpp"

namespace nodal {
namespace {

Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype(), t.backend()); }

// Reshape and flatten: y = x viewed with the inferred shape (a copy only for non-viewable layouts).
struct ReshapeLikeCpu final : NodeImpl {
  static Shape out_shape(const Node& node, const Tensor& x) { return node.infer(std::array{spec_of(x)})[0].shape; }
  void forward(const ForwardCall& c) const override { c.outputs[0] = c.inputs[0].reshape(out_shape(c.node, c.inputs[0])); }
  // x̄ = reshape(ȳ, shape of x)
  void vjp(const VjpCall& c) const override {
    if (c.wanted[0]) c.input_cotangents[0] = c.output_cotangents[0].reshape(c.inputs[0].shape());
  }
  // ẏ = reshape(ẋ, shape of y)
  void jvp(const JvpCall& c) const override { c.output_tangents[0] = c.input_tangents[0].reshape(c.outputs[0].shape()); }
};

struct ConcatCpu final : NodeImpl {
  static int axis(const Node& node, int rank) { return normalize_axis(int(static_cast<const Concat&>(node).axis), rank, "concat"); }
  // y = [x0 | x1 | ...] along the axis: each input copied into its block of y
  static Tensor join(const Node& node, std::span<const Tensor> parts, std::span<const Tensor> like, const Shape& shape) {
    const int a = axis(node, shape.rank());
    Tensor y = parts.size() == like.size() && std::all_of(parts.begin(), parts.end(), [](const Tensor& t) { return t.defined(); })
                   ? Tensor::empty(shape, like[0].dtype())
                   : Tensor::zeros(shape, like[0].dtype());
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < like.size(); ++i) {
      const std::int64_t n = like[i].shape()[a];
      if (parts[i].defined() && n > 0) y.slice(a, offset, offset + n).copy_from(parts[i]);
      offset += n;
    }
    return y;
  }
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = join(c.node, c.inputs, c.inputs, c.node.infer(specs(c.inputs))[0].shape);
  }
  // x̄ᵢ = ȳ restricted to block i (a view)
  void vjp(const VjpCall& c) const override {
    const int a = axis(c.node, c.inputs[0].rank());
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      const std::int64_t n = c.inputs[i].shape()[a];
      if (c.wanted[i]) c.input_cotangents[i] = c.output_cotangents[0].slice(a, offset, offset + n);
      offset += n;
    }
  }
  // ẏ = [ẋ0 | ẋ1 | ...], undefined tangents as zero blocks
  void jvp(const JvpCall& c) const override {
    c.output_tangents[0] = join(c.node, c.input_tangents, c.inputs, c.outputs[0].shape());
  }
  static std::vector<TensorSpec> specs(std::span<const Tensor> ts) {
    std::vector<TensorSpec> out;
    for (const Tensor& t : ts) out.push_back(spec_of(t));
    return out;
  }
};

struct SliceCpu final : NodeImpl {
  static Tensor cut(const Node& node, const Tensor& t) {
    const Slice& s = static_cast<const Slice&>(node);
    return t.slice(int(s.axis), s.start, s.stop, s.step);
  }
  // y = x[start:stop:step] along the axis (a view)
  void forward(const ForwardCall& c) const override { c.outputs[0] = cut(c.node, c.inputs[0]); }
  // x̄ = zeros with ȳ scattered into the selected positions
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    Tensor dx = zeros_like(c.inputs[0]);
    if (c.output_cotangents[0].numel() > 0) cut(c.node, dx).copy_from(c.output_cotangents[0]);
    c.input_cotangents[0] = dx;
  }
  // ẏ = ẋ[start:stop:step]
  void jvp(const JvpCall& c) const override { c.output_tangents[0] = cut(c.node, c.input_tangents[0]); }
};

struct PadCpu final : NodeImpl {
  // The region of a padded tensor that holds the input.
  static Tensor interior(const Pad& p, const Tensor& padded, const Shape& inner) {
    std::vector<std::int64_t> before, after;
    p.resolve(inner.rank(), before, after);
    Tensor view = padded;
    for (int d = 0; d < inner.rank(); ++d) view = view.slice(d, before[d], before[d] + inner[d]);
    return view;
  }
  static Tensor fill(const Pad& p, const Tensor& x, const Shape& shape, double value) {
    Tensor y = Tensor::full(shape, value, x.dtype(), x.backend());
    if (x.numel() > 0) interior(p, y, x.shape()).copy_from(x);
    return y;
  }
  // y = value everywhere, x copied into the interior
  void forward(const ForwardCall& c) const override {
    const Pad& p = c.as<Pad>();
    c.outputs[0] = fill(p, c.inputs[0], p.infer(std::array{spec_of(c.inputs[0])})[0].shape, p.value);
  }
  // x̄ = the interior of ȳ (a view); the padding does not depend on x
  void vjp(const VjpCall& c) const override {
    if (c.wanted[0]) c.input_cotangents[0] = interior(c.as<Pad>(), c.output_cotangents[0], c.inputs[0].shape());
  }
  // ẏ = ẋ padded with zeros (the fill value is a constant)
  void jvp(const JvpCall& c) const override {
    c.output_tangents[0] = fill(c.as<Pad>(), c.input_tangents[0], c.outputs[0].shape(), 0.0);
  }
};

NODAL_REGISTER_IMPL("reshape", Backend::cpu, ReshapeLikeCpu);
NODAL_REGISTER_IMPL("flatten", Backend::cpu, ReshapeLikeCpu);
NODAL_REGISTER_IMPL("permute", Backend::cpu, PermuteView);
NODAL_REGISTER_IMPL("transpose", Backend::cpu, TransposeView);
NODAL_REGISTER_IMPL("concat", Backend::cpu, ConcatCpu);
NODAL_REGISTER_IMPL("slice", Backend::cpu, SliceCpu);
NODAL_REGISTER_IMPL("pad", Backend::cpu, PadCpu);

}  // namespace
}  // namespace nodal
