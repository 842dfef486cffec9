// OpenCL conv1d/2d/3d and conv_transpose1d/2d/3d on the direct kernels (conv_direct.hpp).
//
//   conv            y  = x ⋆ w + b                       1 launch (bias fused)
//                   x̄ = ȳ ⋆ᵀ w                          1 launch (gather, no atomics)
//                   w̄ = x ⋆ ȳ  (Σ over the batch)        1 launch (+1 summing pieces when few weights)
//                   b̄ = Σ_{n,p} ȳ                        1 reduce launch
//                   ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ               2 launches (ḃ fused into the first,
//                                                           the second accumulates)
//   conv_transpose  the same passes with roles exchanged: with C its convolution
//                   (ConvTranspose::conv_geometry), y = C's backward input of x, x̄ = C(ȳ),
//                   w̄ = C's backward weight with input ȳ and cotangent x.
// flip (a true convolution) is an index map inside the kernels: no flipped copy of w.
#include <fmt/format.h>

#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/conv_spectral.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/conv_transpose.hpp"

namespace nodal::opencl {
namespace {

// ḃ broadcast over [N, C, *pixels] (the jvp when only the bias has a tangent).
Tensor broadcast_bias(Context& context, const Tensor& b, const Shape& y_shape) {
  Shape view(std::vector<std::int64_t>(std::size_t(y_shape.rank()), 1));
  view[1] = y_shape[1];
  return scaled_copy(context, b.reshape(view), y_shape, 1.0);
}

void zero_cotangents(Context& context, const VjpCall& c) {
  for (std::size_t i = 0; i < c.inputs.size(); ++i)
    if (c.wanted[i]) c.input_cotangents[i] = device_zeros(context, c.inputs[i].shape(), c.inputs[i].dtype());
}

// ẏ = B(ẋ, w) + B(x, ẇ) + ḃ for the bilinear B of conv (forward) or conv_transpose (backward
// input); apply(x, w, b, y, accumulate) writes or adds B(x, w) + b into y. Undefined tangents are zero.
template <class Apply>
Tensor bilinear_jvp(Context& context, const JvpCall& c, const Shape& shape, Apply apply) {
  const Tensor& xdot = c.input_tangents[0];
  const Tensor& wdot = c.input_tangents[1];
  const Tensor bdot = c.inputs.size() == 3 ? c.input_tangents[2] : Tensor();
  if (!xdot.defined() && !wdot.defined())
    return bdot.defined() ? broadcast_bias(context, dense(context, bdot), shape)
                          : device_zeros(context, shape, c.inputs[0].dtype());
  Tensor y = device_empty(context, shape, c.inputs[0].dtype());
  const Tensor b = dense(context, bdot);
  if (xdot.defined()) apply(dense(context, xdot), dense(context, c.inputs[1]), b, y, false);
  if (wdot.defined()) apply(dense(context, c.inputs[0]), dense(context, wdot), xdot.defined() ? Tensor() : b, y, xdot.defined());
  return y;
}

struct ConvOpenCl final : NodeImpl {
  static ConvPass pass_of(const Conv& node, const Tensor& x, const Tensor& w) {
    check_conv_algorithm(node.type(), node.options().algorithm);
    return {node.geometry(x.shape(), w.shape()), node.options().flip, Boundary::zero, node.type(),
            node.options().algorithm == "gemm"};
  }

  // y = x ⋆ w + b
  void forward(const ForwardCall& c) const override {
    if (spectral_conv_forward(c)) return;  // algorithm fft / fft_tiled, or auto choosing fft
    const Conv& node = c.as<Conv>();
    Context& context = context_of({&c.inputs[0], &c.inputs[1], c.inputs.size() == 3 ? &c.inputs[2] : nullptr}, node.type());
    const ConvPass p = pass_of(node, c.inputs[0], c.inputs[1]);
    const Tensor b = c.inputs.size() == 3 ? dense(context, c.inputs[2]) : Tensor();
    Tensor y = device_empty(context, p.g.output_shape(), c.inputs[0].dtype());
    conv_forward(context, p, dense(context, c.inputs[0]), dense(context, c.inputs[1]), b, y, false);
    c.outputs[0] = y;
  }

  // x̄ = ȳ ⋆ᵀ w,  w̄ = x ⋆ ȳ,  b̄ = Σ_{n,p} ȳ
  void vjp(const VjpCall& c) const override {
    if (spectral_conv_vjp(c)) return;
    const Conv& node = c.as<Conv>();
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Tensor& ybar = c.output_cotangents[0];
    Context& context = context_of({&x, &w, &ybar}, node.type());
    const ConvPass p = pass_of(node, x, w);
    if (!ybar.defined()) return zero_cotangents(context, c);
    const Tensor dy = dense(context, ybar);
    if (c.wanted[0]) {
      Tensor dx = device_empty(context, x.shape(), x.dtype());
      conv_backward_input(context, p, dy, dense(context, w), Tensor(), dx, false);
      c.input_cotangents[0] = dx;
    }
    if (c.wanted[1]) c.input_cotangents[1] = conv_backward_weight(context, p, dense(context, x), dy, w.shape());
    if (c.inputs.size() == 3 && c.wanted[2])
      c.input_cotangents[2] = conv_bias_gradient(context, dy, p.g.batch, p.g.out_channels, p.g.out_pixels());
  }

  // ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ  (undefined tangents are zero)
  void jvp(const JvpCall& c) const override {
    if (spectral_conv_jvp(c)) return;
    const Conv& node = c.as<Conv>();
    const Tensor& xdot = c.input_tangents[0];
    const Tensor& wdot = c.input_tangents[1];
    const Tensor bdot = c.inputs.size() == 3 ? c.input_tangents[2] : Tensor();
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &xdot, &wdot, &bdot}, node.type());
    const ConvPass p = pass_of(node, c.inputs[0], c.inputs[1]);
    c.output_tangents[0] = bilinear_jvp(context, c, p.g.output_shape(), [&](auto&&... args) { conv_forward(context, p, args...); });
  }
};

struct ConvTransposeOpenCl final : NodeImpl {
  static ConvPass pass_of(const ConvTranspose& node, const Tensor& x, const Tensor& w) {
    check_conv_algorithm(node.type(), node.options().algorithm);
    return {node.conv_geometry(x.shape(), w.shape()), false, Boundary::zero, node.type(),
            node.options().algorithm == "gemm"};
  }

  // y = x ⋆ᵀ w + b  (C's backward input with dy = x)
  void forward(const ForwardCall& c) const override {
    const auto& node = c.as<ConvTranspose>();
    Context& context = context_of({&c.inputs[0], &c.inputs[1], c.inputs.size() == 3 ? &c.inputs[2] : nullptr}, node.type());
    const ConvPass p = pass_of(node, c.inputs[0], c.inputs[1]);
    const Tensor b = c.inputs.size() == 3 ? dense(context, c.inputs[2]) : Tensor();
    Tensor y = device_empty(context, p.g.input_shape(), c.inputs[0].dtype());
    conv_backward_input(context, p, dense(context, c.inputs[0]), dense(context, c.inputs[1]), b, y, false);
    c.outputs[0] = y;
  }

  // x̄ = ȳ ⋆ w (C's forward),  w̄ = ȳ ⋆ x (C's backward weight),  b̄ = Σ_{n,p} ȳ
  void vjp(const VjpCall& c) const override {
    const auto& node = c.as<ConvTranspose>();
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Tensor& ybar = c.output_cotangents[0];
    Context& context = context_of({&x, &w, &ybar}, node.type());
    const ConvPass p = pass_of(node, x, w);
    if (!ybar.defined()) return zero_cotangents(context, c);
    const Tensor dy = dense(context, ybar);
    if (c.wanted[0]) {
      Tensor dx = device_empty(context, x.shape(), x.dtype());
      conv_forward(context, p, dy, dense(context, w), Tensor(), dx, false);
      c.input_cotangents[0] = dx;
    }
    if (c.wanted[1]) c.input_cotangents[1] = conv_backward_weight(context, p, dy, dense(context, x), w.shape());
    if (c.inputs.size() == 3 && c.wanted[2])
      c.input_cotangents[2] = conv_bias_gradient(context, dy, p.g.batch, p.g.in_channels, p.g.in_pixels());
  }

  // ẏ = ẋ ⋆ᵀ w + x ⋆ᵀ ẇ + ḃ
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<ConvTranspose>();
    const Tensor& xdot = c.input_tangents[0];
    const Tensor& wdot = c.input_tangents[1];
    const Tensor bdot = c.inputs.size() == 3 ? c.input_tangents[2] : Tensor();
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &xdot, &wdot, &bdot}, node.type());
    const ConvPass p = pass_of(node, c.inputs[0], c.inputs[1]);
    c.output_tangents[0] =
        bilinear_jvp(context, c, p.g.input_shape(), [&](auto&&... args) { conv_backward_input(context, p, args...); });
  }
};

NODAL_REGISTER_IMPL("conv1d", Backend::opencl, ConvOpenCl);
NODAL_REGISTER_IMPL("conv2d", Backend::opencl, ConvOpenCl);
NODAL_REGISTER_IMPL("conv3d", Backend::opencl, ConvOpenCl);
NODAL_REGISTER_IMPL("conv_transpose1d", Backend::opencl, ConvTransposeOpenCl);
NODAL_REGISTER_IMPL("conv_transpose2d", Backend::opencl, ConvTransposeOpenCl);
NODAL_REGISTER_IMPL("conv_transpose3d", Backend::opencl, ConvTransposeOpenCl);

}  // namespace
}  // namespace nodal::opencl
