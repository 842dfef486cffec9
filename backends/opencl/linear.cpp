// OpenCL forward, vjp and jvp of linear (nodes/linear.hpp): y = x·Wᵀ + b on the device GEMM.
// x [..., in] is used as a stack of rows; W [out, in] enters transposed as a view (no copy). The
// bias is added in the GEMM's epilogue, so the forward is one launch with or without it.
#include <vector>

#include "nodal/backends/opencl/copy.hpp"
#include "nodal/backends/opencl/gemm.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/linear.hpp"

namespace nodal::opencl {
namespace {

// t [..., f] as a matrix [rows, f] when its leading axes step as one (a contiguous stack, or any
// rank-2 view): a view, no copy. Otherwise a stack [lead..., r, f] for the batched GEMM, which
// takes any strides. A rank-1 t is one row.
Tensor as_rows(const Tensor& t) {
  if (t.rank() == 1) return t.unsqueeze(0);
  if (t.rank() == 2) return t;
  const int r = t.rank();
  bool folds = true;
  for (int d = 0; d + 2 < r; ++d) folds = folds && (t.shape()[d + 1] == 1 || t.strides()[d] == t.strides()[d + 1] * t.shape()[d + 1]);
  if (!folds && t.numel() > 0) return t;  // an empty stack folds whatever its strides say
  std::int64_t rows = 1;
  for (int d = 0; d + 1 < r; ++d) rows *= t.shape()[d];
  Strides strides{t.strides()[r - 2], t.strides()[r - 1]};
  return Tensor(t.buffer(), Shape{rows, t.shape()[r - 1]}, strides, t.offset(), t.dtype());
}

Shape output_shape(const Tensor& x, const Tensor& w) {
  Shape s = x.shape();
  s[s.rank() - 1] = w.shape()[0];
  return s;
}

// y = x·Wᵀ (+ bias, fused into the GEMM's epilogue) when `beta` is 0, y += x·Wᵀ (+ bias) when 1;
// y is contiguous, so it folds into rows whenever x does.
void add_product(Tensor& y, const Tensor& x, const Tensor& w, double& beta, const Tensor* bias) {
  const Tensor x_rows = as_rows(x);
  Tensor y_view = x_rows.rank() == 2 ? as_rows(y) : y;
  gemm(x_rows, w.transpose(0, 1), y_view, 1.0, beta, "linear", bias);
  beta = 1.0;
}

struct LinearOpenCl final : NodeImpl {
  // y = x·Wᵀ + b
  void forward(const ForwardCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Tensor* bias = c.inputs.size() == 3 ? &c.inputs[2] : nullptr;
    Context& context = context_of({&x, &w, bias}, "linear");
    check_kernel_dtype(context, x.dtype(), "linear");
    double beta = 0.0;
    Tensor y = device_empty(context, output_shape(x, w), x.dtype());
    add_product(y, x, w, beta, bias);
    c.outputs[0] = y;
  }
  // x̄ = ȳ·W,  W̄ = ȳᵀ·x (every row of every leading axis summed by the GEMM's K),  b̄ = Σ_rows ȳ
  void vjp(const VjpCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Tensor& g = c.output_cotangents[0];
    if (!g.defined()) return;
    Context& context = context_of({&x, &w, &g}, "linear");
    check_kernel_dtype(context, x.dtype(), "linear");
    if (c.wanted[0]) {
      Tensor dx = device_empty(context, x.shape(), x.dtype());
      const Tensor g_rows = as_rows(g);  // a stack when g does not fold: the batched GEMM
      Tensor dx_view = g_rows.rank() == 2 ? as_rows(dx) : dx;
      gemm(g_rows, w, dx_view, 1.0, 0.0, "linear");
      c.input_cotangents[0] = dx;
    }
    if (c.wanted[1]) {
      // W̄ needs every row in one K: g and x folded to [rows, ·]; a view unless one does not fold
      Tensor g_rows = as_rows(g), x_rows = as_rows(x);
      if (g_rows.rank() != 2) g_rows = as_rows(g.contiguous());
      if (x_rows.rank() != 2) x_rows = as_rows(x.contiguous());
      Tensor dw = device_empty(context, w.shape(), w.dtype());
      gemm(g_rows.transpose(0, 1), x_rows, dw, 1.0, 0.0, "linear");
      c.input_cotangents[1] = dw;
    }
    if (c.inputs.size() == 3 && c.wanted[2]) {
      std::vector<std::uint8_t> reduced(std::size_t(g.rank()), 1);
      reduced.back() = 0;
      c.input_cotangents[2] = sum_axes(context, g, reduced, 1.0);
    }
  }
  // ẏ = ẋ·Wᵀ + x·Ẇᵀ + ḃ: ḃ in the first product's epilogue, the second accumulated (beta = 1)
  void jvp(const JvpCall& c) const override {
    const Tensor& x = c.inputs[0];
    const Tensor& w = c.inputs[1];
    const Tensor& dx = c.input_tangents[0];
    const Tensor& dw = c.input_tangents[1];
    const Tensor* db = c.input_tangents.size() == 3 && c.input_tangents[2].defined() ? &c.input_tangents[2] : nullptr;
    Context& context = context_of({&x, &w, &dx, &dw, db}, "linear");
    check_kernel_dtype(context, x.dtype(), "linear");
    const Shape shape = output_shape(x, w);
    if (!dx.defined() && !dw.defined() && !db) {
      c.output_tangents[0] = device_full(context, shape, x.dtype(), 0.0, "linear");
      return;
    }
    if (!dx.defined() && !dw.defined()) {
      c.output_tangents[0] = scaled_copy(context, *db, shape, 1.0);  // ẏ = ḃ broadcast over the rows
      return;
    }
    double beta = 0.0;
    Tensor y = device_empty(context, shape, x.dtype());
    if (dx.defined()) add_product(y, dx, w, beta, db);
    if (dw.defined()) add_product(y, x, dw, beta, dx.defined() ? nullptr : db);
    c.output_tangents[0] = y;
  }
};

NODAL_REGISTER_IMPL("linear", Backend::opencl, LinearOpenCl);

}  // namespace
}  // namespace nodal::opencl
