#include "nodal/nodes/linear.hpp"

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/backends/cpu/gemm.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

// Every leading axis of x folds into the rows of one matrix: x [..., in] -> X [rows, in].
template <class T> cpu::MatrixRef<T> rows_of(const Tensor& contiguous_x, bool conj = false) {
  const std::int64_t in = contiguous_x.shape().back();
  return {contiguous_x.data<T>(), contiguous_x.numel() / std::max<std::int64_t>(in, 1), in, in, 1, conj};
}
template <class T> cpu::MatrixRef<T> matrix_of(const Tensor& w, bool conj = false) {
  return {w.data<T>(), w.shape()[0], w.shape()[1], w.strides()[0], w.strides()[1], conj};
}
Tensor mappable_matrix(const Tensor& w) {
  const cpu::MatrixRef<float> probe{nullptr, w.shape()[0], w.shape()[1], w.strides()[0], w.strides()[1]};
  return probe.mappable() ? w : w.contiguous();
}

// y (rows of `out`) = b broadcast over the rows, or 0.
template <class T> Tensor rows_of_bias(const Shape& out_shape, const Tensor* bias) {
  if (!bias) return Tensor::zeros(out_shape, dtype_of<T>);
  Tensor y = Tensor::empty(out_shape, dtype_of<T>);
  const Tensor bc = bias->contiguous();
  const std::int64_t out = out_shape.back();
  const T* pb = bc.data<T>();
  T* py = y.numel() > 0 ? y.data<T>() : nullptr;
  for (std::int64_t r = 0; out > 0 && r < y.numel() / out; ++r) std::copy(pb, pb + out, py + r * out);
  return y;
}

// y += X·Wᵀ, X the rows of x [..., in], W [out, in]: the product shared by forward and jvp.
template <class T> void add_product(Tensor& y, const Tensor& x, const Tensor& w) {
  if (y.numel() == 0) return;
  const Tensor xc = x.contiguous();
  cpu::gemm(rows_of<T>(xc), matrix_of<T>(mappable_matrix(w)).transposed(), y.data<T>(), w.shape()[0], true);
}

struct LinearCpu final : NodeImpl {
  // y = x·Wᵀ + b
  void forward(const ForwardCall& c) const override {
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor* bias = c.inputs.size() == 3 ? &c.inputs[2] : nullptr;
      Tensor y = rows_of_bias<T>(output_shape(c.inputs[0], c.inputs[1]), bias);
      add_product<T>(y, c.inputs[0], c.inputs[1]);
      c.outputs[0] = y;
    });
  }
  // x̄ = ȳ·conj(W),  W̄ = ȳᵀ·conj(x) (rows of every leading axis summed),  b̄ = Σ_rows ȳ
  void vjp(const VjpCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Tensor g = c.output_cotangents[0].contiguous();
    const std::int64_t out = w.shape()[0], in = w.shape()[1];
    const std::int64_t rows = g.numel() / std::max<std::int64_t>(out, 1);
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (c.wanted[0]) {
        Tensor dx = Tensor::empty(x.shape(), x.dtype());
        if (dx.numel() > 0) cpu::gemm(rows_of<T>(g), matrix_of<T>(mappable_matrix(w), true), dx.data<T>(), in);
        c.input_cotangents[0] = dx;
      }
      if (c.wanted[1]) {
        Tensor dw = Tensor::zeros(w.shape(), w.dtype());
        const Tensor xc = x.contiguous();
        if (rows > 0 && dw.numel() > 0)
          cpu::gemm(rows_of<T>(g).transposed(), rows_of<T>(xc, true), dw.data<T>(), in);
        c.input_cotangents[1] = dw;
      }
      if (c.inputs.size() == 3 && c.wanted[2]) {
        Tensor db = Tensor::zeros(Shape{out}, x.dtype());
        T* pdb = db.data<T>();
        const T* pg = rows > 0 ? g.data<T>() : nullptr;
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t o = 0; o < out; ++o) pdb[o] += pg[r * out + o];
        c.input_cotangents[2] = db;
      }
    });
  }
  // ẏ = ẋ·Wᵀ + x·Ẇᵀ + ḃ
  void jvp(const JvpCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Shape shape = output_shape(x, w);
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor& dx = c.input_tangents[0];
      const Tensor& dw = c.input_tangents[1];
      const Tensor* db = c.input_tangents.size() == 3 && c.input_tangents[2].defined() ? &c.input_tangents[2] : nullptr;
      Tensor y = rows_of_bias<T>(shape, db);
      if (dx.defined()) add_product<T>(y, dx, w);
      if (dw.defined()) add_product<T>(y, x, dw);
      c.output_tangents[0] = y;
    });
  }

  static Shape output_shape(const Tensor& x, const Tensor& w) {
    Shape s = x.shape();
    s[s.rank() - 1] = w.shape()[0];
    return s;
  }
};

NODAL_REGISTER_IMPL("linear", Backend::cpu, LinearCpu);

}  // namespace
}  // namespace nodal
