// CPU implementation of conv_transpose1d/2d/3d through the convolution algorithms. With C the
// convolution whose backward-input pass the node is (ConvTranspose::conv_geometry: C's input is
// y, its output is x, its weight is w as given):
//
//   y  = x ⋆ᵀ w + b          C.backward(dy = x) → dx
//   x̄ = ȳ ⋆ w               C.forward(ȳ)
//   w̄ = ȳ ⋆ x               C.backward(x = ȳ, dy = x) → dw   (⟨ȳ, T(x, w)⟩ = ⟨C(ȳ; w), x⟩ is
//                                                               linear in w with that gradient)
//   b̄ = Σ_{n,p} ȳ
//   ẏ = ẋ ⋆ᵀ w + x ⋆ᵀ ẇ + ḃ
#include <fmt/format.h>

#include "nodal/backends/cpu/conv_common.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/conv_transpose.hpp"

namespace nodal {
namespace {

using cpu::ConvAlgorithm;

struct Resolved {
  ConvGeometry g;  // of C
  const ConvAlgorithm* algorithm;
};
Resolved resolve(const ConvTranspose& node, const Tensor& x, const Tensor& w) {
  Resolved r;
  r.g = node.conv_geometry(x.shape(), w.shape());
  r.algorithm = cpu::choose_conv_algorithm(r.g, x.dtype(), node.options().algorithm).algorithm;
  return r;
}

bool empty_sum(const ConvGeometry& g) { return g.batch == 0 || g.out_per_group() == 0 || g.in_per_group() == 0; }

// x ⋆ᵀ w: C's backward-input pass with dy = x. C's own input is not read for dx alone, but the
// algorithms check its shape, so an uninitialised one of the right shape is passed.
Tensor transpose_correlate(const Resolved& r, const Tensor& x, const Tensor& w) {
  if (empty_sum(r.g)) return Tensor::zeros(r.g.input_shape(), x.dtype());
  Tensor y = Tensor::empty(r.g.input_shape(), x.dtype());
  const Tensor unused_input = Tensor::empty(r.g.input_shape(), x.dtype());
  r.algorithm->backward(r.g, unused_input, w.contiguous(), x.contiguous(), &y, nullptr, nullptr);
  return y;
}

class ConvTransposeCpu final : public NodeImpl {
 public:
  // y = x ⋆ᵀ w + b
  void forward(const ForwardCall& c) const override {
    const Resolved r = resolve(c.as<ConvTranspose>(), c.inputs[0], c.inputs[1]);
    Tensor y = transpose_correlate(r, c.inputs[0], c.inputs[1]);
    if (c.inputs.size() == 3) cpu::conv_detail::add_bias(y, c.inputs[2], r.g.batch, r.g.in_channels, r.g.in_pixels());
    c.outputs[0] = y;
  }

  // x̄ = ȳ ⋆ w,  w̄ = ȳ ⋆ x,  b̄ = Σ_{n,p} ȳ
  void vjp(const VjpCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Resolved r = resolve(c.as<ConvTranspose>(), x, w);
    const Tensor& ybar = c.output_cotangents[0];
    if (!ybar.defined() || empty_sum(r.g)) {
      for (std::size_t i = 0; i < c.inputs.size(); ++i)
        if (c.wanted[i]) c.input_cotangents[i] = Tensor::zeros(c.inputs[i].shape(), x.dtype());
      return;
    }
    const Tensor dy = ybar.contiguous();
    if (c.wanted[0]) c.input_cotangents[0] = cpu::conv_detail::run_forward(*r.algorithm, r.g, dy, w, r.g.output_shape());
    if (c.wanted[1]) {
      Tensor dw = Tensor::empty(w.shape(), w.dtype());
      r.algorithm->backward(r.g, dy, w.contiguous(), x.contiguous(), nullptr, &dw, nullptr);
      c.input_cotangents[1] = dw;
    }
    if (c.inputs.size() == 3 && c.wanted[2])
      c.input_cotangents[2] = cpu::conv_detail::bias_gradient(dy, r.g.batch, r.g.in_channels, r.g.in_pixels());
  }

  // ẏ = ẋ ⋆ᵀ w + x ⋆ᵀ ẇ + ḃ  (undefined tangents are zero)
  void jvp(const JvpCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Resolved r = resolve(c.as<ConvTranspose>(), x, c.inputs[1]);
    Tensor ydot;
    if (c.input_tangents[0].defined()) ydot = transpose_correlate(r, c.input_tangents[0], c.inputs[1]);
    if (c.input_tangents[1].defined()) {
      Tensor term = transpose_correlate(r, x, c.input_tangents[1]);
      if (ydot.defined()) cpu::conv_detail::add_into(ydot, term);
      else ydot = term;
    }
    if (!ydot.defined()) ydot = Tensor::zeros(r.g.input_shape(), x.dtype());
    if (c.inputs.size() == 3 && c.input_tangents[2].defined())
      cpu::conv_detail::add_bias(ydot, c.input_tangents[2], r.g.batch, r.g.in_channels, r.g.in_pixels());
    c.output_tangents[0] = ydot;
  }
};

NODAL_REGISTER_IMPL("conv_transpose1d", Backend::cpu, ConvTransposeCpu);
NODAL_REGISTER_IMPL("conv_transpose2d", Backend::cpu, ConvTransposeCpu);
NODAL_REGISTER_IMPL("conv_transpose3d", Backend::cpu, ConvTransposeCpu);

}  // namespace
}  // namespace nodal
