// OpenCL rules of the structural nodes (nodes/shape_ops.hpp), as backends/cpu/shape_ops.cpp:
// device tensors are strided views of a cl_mem, so permute and transpose (nodes/shape_views.hpp, shared
// with the CPU), slice, the vjp of concat
// and of pad are views (no launch), and reshape/flatten are views whenever the strides allow. The
// copies that remain are one launch each of kernels/copy.cl:
//   reshape of a view no strides can express   strided_copy, then a view
//   concat forward / jvp                        one strided_copy (or fill) per input block
//   pad forward / jvp, slice vjp                embed (interior copied, the rest filled), one launch
#include <algorithm>
#include <array>

#include "nodal/backends/opencl/copy.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/shape_ops.hpp"
#include "nodal/nodes/shape_views.hpp"

namespace nodal::opencl {
namespace {

// Reshape and flatten: y = x viewed with the inferred shape (a device copy only when no view can).
struct ReshapeLikeOpenCl final : NodeImpl {
  static Shape out_shape(const Node& node, const Tensor& x) { return node.infer(std::array{spec_of(x)})[0].shape; }
  void forward(const ForwardCall& c) const override {
    context_of({&c.inputs[0]}, c.node.type());
    c.outputs[0] = reshape_on_device(c.inputs[0], out_shape(c.node, c.inputs[0]), c.node.type());
  }
  // x̄ = reshape(ȳ, shape of x)
  void vjp(const VjpCall& c) const override {
    if (c.wanted[0] && c.output_cotangents[0].defined())
      c.input_cotangents[0] = reshape_on_device(c.output_cotangents[0], c.inputs[0].shape(), c.node.type());
  }
  // ẏ = reshape(ẋ, shape of y)
  void jvp(const JvpCall& c) const override {
    if (c.input_tangents[0].defined())
      c.output_tangents[0] = reshape_on_device(c.input_tangents[0], c.outputs[0].shape(), c.node.type());
  }
};

struct ConcatOpenCl final : NodeImpl {
  static int axis(const Node& node, int rank) { return normalize_axis(int(static_cast<const Concat&>(node).axis), rank, "concat"); }
  // y = [x0 | x1 | ...] along the axis: one copy per block (a zero fill for an undefined tangent)
  static Tensor join(const Node& node, std::span<const Tensor> parts, std::span<const Tensor> like, const Shape& shape) {
    Context& context = context_of({&like[0]}, "concat");
    for (const Tensor& t : parts) context_of({&like[0], &t}, "concat");
    const int a = axis(node, shape.rank());
    Tensor y = device_empty(context, shape, like[0].dtype());
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < like.size(); ++i) {
      const std::int64_t n = like[i].shape()[a];
      Tensor block = y.slice(a, offset, offset + n);
      if (parts[i].defined()) copy_into(parts[i], block, "concat");
      else fill(block, 0.0, "concat");
      offset += n;
    }
    return y;
  }
  void forward(const ForwardCall& c) const override {
    std::vector<TensorSpec> specs;
    for (const Tensor& t : c.inputs) specs.push_back(spec_of(t));
    c.outputs[0] = join(c.node, c.inputs, c.inputs, c.node.infer(specs)[0].shape);
  }
  // x̄ᵢ = ȳ restricted to block i (a view)
  void vjp(const VjpCall& c) const override {
    if (!c.output_cotangents[0].defined()) return;
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
};

struct SliceOpenCl final : NodeImpl {
  static Tensor cut(const Node& node, const Tensor& t) {
    const Slice& s = static_cast<const Slice&>(node);
    return t.slice(int(s.axis), s.start, s.stop, s.step);
  }
  // y = x[start:stop:step] along the axis (a view)
  void forward(const ForwardCall& c) const override {
    context_of({&c.inputs[0]}, "slice");
    c.outputs[0] = cut(c.node, c.inputs[0]);
  }
  // x̄ = zeros with ȳ scattered into the selected positions: one embed launch
  void vjp(const VjpCall& c) const override {
    const Tensor& g = c.output_cotangents[0];
    if (!c.wanted[0] || !g.defined()) return;
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x, &g}, "slice");
    // where the slice starts, with Tensor::slice's (Python's) clamping of the start
    const Slice& s = c.as<Slice>();
    const int axis = normalize_axis(int(s.axis), x.rank(), "slice");
    const std::int64_t n = x.shape()[axis];
    std::vector<std::int64_t> start(std::size_t(x.rank()), 0), step(std::size_t(x.rank()), 1);
    start[axis] = std::clamp<std::int64_t>(s.start < 0 ? s.start + n : s.start, 0, n);
    step[axis] = s.step;
    c.input_cotangents[0] = embed(context, g, x.shape(), start, step, 0.0, "slice");
  }
  // ẏ = ẋ[start:stop:step] (a view)
  void jvp(const JvpCall& c) const override {
    if (c.input_tangents[0].defined()) c.output_tangents[0] = cut(c.node, c.input_tangents[0]);
  }
};

struct PadOpenCl final : NodeImpl {
  static Tensor interior(const Pad& p, const Tensor& padded, const Shape& inner) {
    std::vector<std::int64_t> before, after;
    p.resolve(inner.rank(), before, after);
    Tensor view = padded;
    for (int d = 0; d < inner.rank(); ++d) view = view.slice(d, before[d], before[d] + inner[d]);
    return view;
  }
  // value everywhere, x in the interior: one embed launch
  static Tensor fill_around(const Pad& p, const Tensor& x, const Shape& shape, double value) {
    Context& context = context_of({&x}, "pad");
    std::vector<std::int64_t> before, after;
    p.resolve(x.rank(), before, after);
    const std::vector<std::int64_t> step(std::size_t(x.rank()), 1);
    return embed(context, x, shape, before, step, value, "pad");
  }
  // y = value everywhere, x copied into the interior
  void forward(const ForwardCall& c) const override {
    const Pad& p = c.as<Pad>();
    c.outputs[0] = fill_around(p, c.inputs[0], p.infer(std::array{spec_of(c.inputs[0])})[0].shape, p.value);
  }
  // x̄ = the interior of ȳ (a view); the padding does not depend on x
  void vjp(const VjpCall& c) const override {
    if (c.wanted[0] && c.output_cotangents[0].defined())
      c.input_cotangents[0] = interior(c.as<Pad>(), c.output_cotangents[0], c.inputs[0].shape());
  }
  // ẏ = ẋ padded with zeros (the fill value is a constant)
  void jvp(const JvpCall& c) const override {
    if (c.input_tangents[0].defined())
      c.output_tangents[0] = fill_around(c.as<Pad>(), c.input_tangents[0], c.outputs[0].shape(), 0.0);
  }
};

NODAL_REGISTER_IMPL("reshape", Backend::opencl, ReshapeLikeOpenCl);
NODAL_REGISTER_IMPL("flatten", Backend::opencl, ReshapeLikeOpenCl);
NODAL_REGISTER_IMPL("permute", Backend::opencl, PermuteView);
NODAL_REGISTER_IMPL("transpose", Backend::opencl, TransposeView);
NODAL_REGISTER_IMPL("concat", Backend::opencl, ConcatOpenCl);
NODAL_REGISTER_IMPL("slice", Backend::opencl, SliceOpenCl);
NODAL_REGISTER_IMPL("pad", Backend::opencl, PadOpenCl);

}  // namespace
}  // namespace nodal::opencl
