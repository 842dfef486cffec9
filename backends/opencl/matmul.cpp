// OpenCL forward, vjp and jvp of matmul (nodes/matmul.hpp) on the device GEMM (kernels/gemm.cl):
// NumPy semantics as backends/cpu/matmul.cpp (1-D operands promoted to matrices, batch axes
// broadcast), with the vjp summing each cotangent over the batch axes its operand was broadcast
// along. Transposed operands are views (the GEMM takes strides), never copies.
#include "nodal/backends/opencl/copy.hpp"
#include "nodal/backends/opencl/gemm.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/matmul.hpp"

namespace nodal::opencl {
namespace {

// A 1-D operand as a matrix: a [k] -> [1, k], b [k] -> [k, 1].
Tensor as_left_matrix(const Tensor& a) { return a.rank() == 1 ? a.unsqueeze(0) : a; }
Tensor as_right_matrix(const Tensor& b) { return b.rank() == 1 ? b.unsqueeze(1) : b; }
Tensor matrix_transpose(const Tensor& t) { return t.transpose(-2, -1); }

// ȳ (the output's shape) viewed as batch + [n, m]: the promoted axes put back as extent-1 views,
// so a strided cotangent is never copied.
Tensor as_full(const Tensor& g, const Tensor& a, const Tensor& b, const MatmulShapes& s) {
  Tensor full = g;
  if (a.rank() == 1) full = full.unsqueeze(s.batch.rank());
  if (b.rank() == 1) full = full.unsqueeze(full.rank());
  return full;
}

// When b is one matrix and a a full stack whose rows fold into one matrix [batch·n, k] (a
// contiguous stack, the common case of a layer applied to a batch), b̄ = Σ_batch a_iᵀ·ȳ_i is one
// GEMM with K = batch·n, no [batch, k, m] intermediate to sum.
bool folds_into_rows(const Tensor& t, const MatmulShapes& s) {
  return t.rank() == s.batch.rank() + 2 && t.is_contiguous();
}

struct MatMulOpenCl final : NodeImpl {
  // y = a·b
  void forward(const ForwardCall& c) const override {
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const MatmulShapes s = matmul_shapes(a.shape(), b.shape());
    c.outputs[0] = matmul_batched(as_left_matrix(a), as_right_matrix(b), "matmul").reshape(s.out);
  }
  // ā = ȳ·bᵀ, b̄ = aᵀ·ȳ, each summed over the batch axes its operand was broadcast along
  void vjp(const VjpCall& c) const override {
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    if (!c.output_cotangents[0].defined()) return;
    const MatmulShapes s = matmul_shapes(a.shape(), b.shape());
    const Tensor g = as_full(c.output_cotangents[0], a, b, s);
    Context& context = context_of({&a, &b, &g}, "matmul");
    if (c.wanted[0]) {
      const Tensor full = matmul_batched(g, matrix_transpose(as_right_matrix(b)), "matmul");
      c.input_cotangents[0] = sum_to(context, full, s.a).reshape(a.shape());
    }
    if (c.wanted[1]) {
      const Tensor left = as_left_matrix(a);
      if (s.b.rank() == 2 && s.batch.numel() > 1 && folds_into_rows(left, s) && folds_into_rows(g, s)) {
        const std::int64_t rows = s.batch.numel() * s.a[s.a.rank() - 2];
        const Tensor a_rows = left.reshape(Shape{rows, s.a[s.a.rank() - 1]});
        const Tensor g_rows = g.reshape(Shape{rows, s.full[s.full.rank() - 1]});
        c.input_cotangents[1] = matmul_batched(matrix_transpose(a_rows), g_rows, "matmul").reshape(b.shape());
      } else {
        const Tensor full = matmul_batched(matrix_transpose(left), g, "matmul");
        c.input_cotangents[1] = sum_to(context, full, s.b).reshape(b.shape());
      }
    }
  }
  // ẏ = ȧ·b + a·ḃ: the second product accumulates into the first (GEMM with beta = 1)
  void jvp(const JvpCall& c) const override {
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const Tensor& da = c.input_tangents[0];
    const Tensor& db = c.input_tangents[1];
    const MatmulShapes s = matmul_shapes(a.shape(), b.shape());
    Context& context = context_of({&a, &b, &da, &db}, "matmul");
    check_kernel_dtype(context, a.dtype(), "matmul");
    if (!da.defined() && !db.defined()) {
      c.output_tangents[0] = device_full(context, s.out, a.dtype(), 0.0, "matmul");
      return;
    }
    Tensor y = device_empty(context, s.full, a.dtype());
    double beta = 0.0;
    if (da.defined()) {
      gemm(as_left_matrix(da), as_right_matrix(b), y, 1.0, 0.0, "matmul");
      beta = 1.0;
    }
    if (db.defined()) gemm(as_left_matrix(a), as_right_matrix(db), y, 1.0, beta, "matmul");
    c.output_tangents[0] = y.reshape(s.out);
  }
};

NODAL_REGISTER_IMPL("matmul", Backend::opencl, MatMulOpenCl);

}  // namespace
}  // namespace nodal::opencl
