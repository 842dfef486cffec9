// OpenCL convolve/correlate (nodes/convolve1d.hpp) and separable_conv2d (nodes/separable_conv.hpp)
// on the direct convolution kernels (conv_direct.hpp).
//
// convolve/correlate: every row of x [..., n] is a conv1d sample with one channel, filter h [m]
// (flipped for convolve), pad_before = −start, and the boundary rule applied where x is read:
//   y  = x̃ ⋆ g                                 conv forward (replicate/circular index maps)
//   x̄ = Pᵀ (ȳ ∗ g)                            zero boundary: conv backward input (pad = −start);
//                                               else the backward input on the extended signal
//                                               (length padded, no pad), then signal_fold (Pᵀ)
//   h̄ = Σ_rows x̃ ⋆ ȳ                          conv backward weight (same index maps)
//   ẏ = conv(ẋ, h) + conv(x, ḣ)                two forward launches, the second accumulating
//
// separable_conv2d: the depthwise conv2d with w[c] = col[c] ⊗ row[c] (one elementwise launch
// builds it), then the direct kernels; col̄ and row̄ contract w̄ with the other factor:
//   col̄[c, a] = Σ_b w̄[c, a, b] · row[c, b],   row̄[c, b] = Σ_a w̄[c, a, b] · col[c, a]
//   ẏ = conv(ẋ, w) + conv(x, ċol ⊗ row + col ⊗ ṙow)
// This costs kH·kW multiply-adds per output (the CPU's two 1-D passes cost kH + kW): a
// two-pass device version is future work.
#include <fmt/format.h>

#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/convolve1d.hpp"
#include "nodal/nodes/separable_conv.hpp"

namespace nodal::opencl {
namespace {

Boundary boundary_of(SignalBoundary b) {
  switch (b) {
    case SignalBoundary::zero: return Boundary::zero;
    case SignalBoundary::replicate: return Boundary::replicate;
    case SignalBoundary::circular: return Boundary::circular;
  }
  return Boundary::zero;
}

// The conv1d problem of a signal node: rows samples, one channel, `in` samples read from x̃
// starting at `start` (pad_before = −start).
ConvPass signal_pass(const Convolve1d& node, const SignalGeometry& s, std::int64_t in, std::int64_t pad) {
  ConvPass p;
  p.g.rank = 1;
  p.g.batch = s.rows;
  p.g.in[2] = in;
  p.g.kernel[2] = s.m;
  p.g.out[2] = s.out;
  p.g.pad_before[2] = pad;
  p.flip = !node.correlate();  // convolve slides h reversed
  p.boundary = boundary_of(node.boundary());
  p.node = node.type();
  return p;
}

struct SignalOpenCl final : NodeImpl {
  static Tensor run_forward(Context& context, const Convolve1d& node, const Tensor& x, const Tensor& h, Tensor* into) {
    const SignalGeometry s = node.geometry(x.shape(), h.shape());
    const ConvPass p = signal_pass(node, s, s.n, -s.start);
    Tensor y = into ? *into : device_empty(context, s.output_shape, x.dtype());
    conv_forward(context, p, dense(context, x), dense(context, h), Tensor(), y, into != nullptr);
    return y;
  }

  // y = x̃ ⋆ g
  void forward(const ForwardCall& c) const override {
    const auto& node = c.as<Convolve1d>();
    Context& context = context_of({&c.inputs[0], &c.inputs[1]}, node.type());
    c.outputs[0] = run_forward(context, node, c.inputs[0], c.inputs[1], nullptr);
  }

  // x̄ = Pᵀ(ȳ ∗ g),  h̄ = Σ_rows x̃ ⋆ ȳ
  void vjp(const VjpCall& c) const override {
    const auto& node = c.as<Convolve1d>();
    const Tensor& x = c.inputs[0];
    const Tensor& h = c.inputs[1];
    const Tensor& ybar = c.output_cotangents[0];
    Context& context = context_of({&x, &h, &ybar}, node.type());
    const SignalGeometry s = node.geometry(x.shape(), h.shape());
    if (!ybar.defined()) {
      for (std::size_t i = 0; i < 2; ++i)
        if (c.wanted[i]) c.input_cotangents[i] = device_zeros(context, c.inputs[i].shape(), x.dtype());
      return;
    }
    const Tensor dy = dense(context, ybar);
    if (c.wanted[0]) {
      if (node.boundary() == SignalBoundary::zero) {
        ConvPass p = signal_pass(node, s, s.n, -s.start);
        p.boundary = Boundary::zero;
        Tensor dx = device_empty(context, x.shape(), x.dtype());
        conv_backward_input(context, p, dy, dense(context, h), Tensor(), dx, false);
        c.input_cotangents[0] = dx;
      } else {
        // The cotangent of the extended signal x̃ [rows, padded], then folded back onto x.
        ConvPass p = signal_pass(node, s, s.padded, 0);
        p.boundary = Boundary::zero;
        Tensor dxe = device_empty(context, Shape{s.rows, 1, s.padded}, x.dtype());
        conv_backward_input(context, p, dy, dense(context, h), Tensor(), dxe, false);
        c.input_cotangents[0] = signal_fold(context, dxe, s.rows, s.n, s.padded, s.start, boundary_of(node.boundary()),
                                            x.shape());
      }
    }
    if (c.wanted[1])
      c.input_cotangents[1] =
          conv_backward_weight(context, signal_pass(node, s, s.n, -s.start), dense(context, x), dy, h.shape());
  }

  // ẏ = conv(ẋ, h) + conv(x, ḣ)
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<Convolve1d>();
    const Tensor& xdot = c.input_tangents[0];
    const Tensor& hdot = c.input_tangents[1];
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &xdot, &hdot}, node.type());
    if (!xdot.defined() && !hdot.defined()) return;
    Tensor y;
    if (xdot.defined()) y = run_forward(context, node, xdot, c.inputs[1], nullptr);
    if (hdot.defined()) y = run_forward(context, node, c.inputs[0], hdot, y.defined() ? &y : nullptr);
    c.output_tangents[0] = y;
  }
};

struct SeparableOpenCl final : NodeImpl {
  // w[c, 0, a, b] = col[c, a] · row[c, b]
  static Tensor outer(Context& context, const Tensor& col, const Tensor& row) {
    const std::int64_t C = col.shape()[0], kh = col.shape()[1], kw = row.shape()[1];
    return mul(dense(context, col).reshape(Shape{C, kh, 1}), dense(context, row).reshape(Shape{C, 1, kw}))
        .reshape(Shape{C, 1, kh, kw});
  }
  static ConvPass pass_of(const SeparableConv2d& node, const Tensor& x, const Tensor& col, const Tensor& row) {
    return {node.geometry(x.shape(), col.shape(), row.shape()), node.options().flip, Boundary::zero, node.type()};
  }

  // y = x ⋆ (col ⊗ row)
  void forward(const ForwardCall& c) const override {
    const auto& node = c.as<SeparableConv2d>();
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &c.inputs[2]}, node.type());
    const ConvPass p = pass_of(node, c.inputs[0], c.inputs[1], c.inputs[2]);
    Tensor y = device_empty(context, p.g.output_shape(), c.inputs[0].dtype());
    conv_forward(context, p, dense(context, c.inputs[0]), dense(context, outer(context, c.inputs[1], c.inputs[2])), Tensor(), y,
                 false);
    c.outputs[0] = y;
  }

  // x̄ = ȳ ⋆ᵀ w;  col̄ = Σ_b w̄ · row;  row̄ = Σ_a w̄ · col
  void vjp(const VjpCall& c) const override {
    const auto& node = c.as<SeparableConv2d>();
    const Tensor& x = c.inputs[0];
    const Tensor& col = c.inputs[1];
    const Tensor& row = c.inputs[2];
    const Tensor& ybar = c.output_cotangents[0];
    Context& context = context_of({&x, &col, &row, &ybar}, node.type());
    const ConvPass p = pass_of(node, x, col, row);
    if (!ybar.defined()) {
      for (std::size_t i = 0; i < 3; ++i)
        if (c.wanted[i]) c.input_cotangents[i] = device_zeros(context, c.inputs[i].shape(), x.dtype());
      return;
    }
    const Tensor dy = dense(context, ybar);
    if (c.wanted[0]) {
      Tensor dx = device_empty(context, x.shape(), x.dtype());
      conv_backward_input(context, p, dy, dense(context, outer(context, col, row)), Tensor(), dx, false);
      c.input_cotangents[0] = dx;
    }
    if (!c.wanted[1] && !c.wanted[2]) return;
    const std::int64_t C = col.shape()[0], kh = col.shape()[1], kw = row.shape()[1];
    const Tensor dw = conv_backward_weight(context, p, dense(context, x), dy, Shape{C, kh, kw});
    if (c.wanted[1]) {
      const std::uint8_t reduced[] = {0, 0, 1};
      c.input_cotangents[1] = sum_axes(context, mul(dw, dense(context, row).reshape(Shape{C, 1, kw})), reduced, 1.0);
    }
    if (c.wanted[2]) {
      const std::uint8_t reduced[] = {0, 1, 0};
      c.input_cotangents[2] = sum_axes(context, mul(dw, dense(context, col).reshape(Shape{C, kh, 1})), reduced, 1.0);
    }
  }

  // ẏ = conv(ẋ, col ⊗ row) + conv(x, ċol ⊗ row + col ⊗ ṙow)
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<SeparableConv2d>();
    const Tensor& x = c.inputs[0];
    const Tensor& col = c.inputs[1];
    const Tensor& row = c.inputs[2];
    const Tensor& xdot = c.input_tangents[0];
    const Tensor& cdot = c.input_tangents[1];
    const Tensor& rdot = c.input_tangents[2];
    Context& context = context_of({&x, &col, &row, &xdot, &cdot, &rdot}, node.type());
    const ConvPass p = pass_of(node, x, col, row);
    if (!xdot.defined() && !cdot.defined() && !rdot.defined()) return;
    Tensor y = device_empty(context, p.g.output_shape(), x.dtype());
    bool filled = false;
    if (xdot.defined()) {
      conv_forward(context, p, dense(context, xdot), dense(context, outer(context, col, row)), Tensor(), y, false);
      filled = true;
    }
    Tensor wdot;
    if (cdot.defined()) wdot = outer(context, cdot, row);
    if (rdot.defined()) wdot = wdot.defined() ? add(wdot, outer(context, col, rdot)) : outer(context, col, rdot);
    if (wdot.defined()) conv_forward(context, p, dense(context, x), dense(context, wdot), Tensor(), y, filled);
    c.output_tangents[0] = y;
  }
};

NODAL_REGISTER_IMPL("convolve", Backend::opencl, SignalOpenCl);
NODAL_REGISTER_IMPL("correlate", Backend::opencl, SignalOpenCl);
NODAL_REGISTER_IMPL("separable_conv2d", Backend::opencl, SeparableOpenCl);

}  // namespace
}  // namespace nodal::opencl
