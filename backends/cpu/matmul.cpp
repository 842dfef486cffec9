#include "nodal/nodes/matmul.hpp"

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/backends/cpu/gemm.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

// Below this many multiply-adds per matrix, batches run in parallel (each GEMM on one thread);
// above it, batches run in turn and Eigen threads each GEMM.
constexpr std::int64_t small_gemm_work = 1 << 18;

// The matrix formed by the last two axes of `t` (rank >= 2), copied when neither its rows nor its
// columns are unit-stride (Eigen maps need one unit stride).
Tensor mappable(const Tensor& t) {
  const int r = t.rank();
  const std::int64_t rows = t.shape()[r - 2], cols = t.shape()[r - 1];
  const cpu::MatrixRef<float> layout{nullptr, rows, cols, t.strides()[r - 2], t.strides()[r - 1]};
  return layout.mappable() ? t : t.contiguous();
}

// C[i] = op(A[i])·op(B[i]) for every index i of `batch` (A and B broadcast to it); op conjugates
// when asked. A: [..., n, k], B: [..., k, m]; returns a contiguous [batch..., n, m].
template <class T>
Tensor batched_product(Tensor a, Tensor b, bool conj_a, bool conj_b, const Shape& batch) {
  a = mappable(a);
  b = mappable(b);
  const int ra = a.rank(), rb = b.rank();
  const std::int64_t n = a.shape()[ra - 2], k = a.shape()[ra - 1], m = b.shape()[rb - 1];
  Shape full = batch;
  full.push_back(n);
  full.push_back(m);
  Tensor c = Tensor::empty(full, dtype_of<T>);
  T* pc = c.numel() > 0 ? c.data<T>() : nullptr;
  if (c.numel() == 0) return c;

  // A row-major stack against one matrix B: fold the batch into the rows, one large GEMM.
  if (rb == 2 && ra > 2 && a.is_contiguous() && Shape(std::vector<std::int64_t>(a.shape().begin(), a.shape().end() - 2)) == batch) {
    const cpu::MatrixRef<T> ma{a.data<T>(), batch.numel() * n, k, k, 1, conj_a};
    const cpu::MatrixRef<T> mb{b.data<T>(), k, m, b.strides()[0], b.strides()[1], conj_b};
    cpu::gemm(ma, mb, pc, m);
    return c;
  }

  Shape a_full = batch, b_full = batch;
  a_full.push_back(n), a_full.push_back(k);
  b_full.push_back(k), b_full.push_back(m);
  const Tensor ea = a.expand(a_full), eb = b.expand(b_full);
  const int br = batch.rank();
  const T* base_a = ea.data<T>();
  const T* base_b = eb.data<T>();
  auto run = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      std::int64_t off_a = 0, off_b = 0, rest = i;
      for (int d = br - 1; d >= 0; --d) {
        const std::int64_t idx = rest % batch[d];
        rest /= batch[d];
        off_a += idx * ea.strides()[d];
        off_b += idx * eb.strides()[d];
      }
      const cpu::MatrixRef<T> ma{base_a + off_a, n, k, ea.strides()[br], ea.strides()[br + 1], conj_a};
      const cpu::MatrixRef<T> mb{base_b + off_b, k, m, eb.strides()[br], eb.strides()[br + 1], conj_b};
      cpu::gemm(ma, mb, pc + i * n * m, m);
    }
  };
  const std::int64_t batches = batch.numel();
  const std::int64_t work = std::max<std::int64_t>(1, n * k * m);
  if (batches > 1 && work < small_gemm_work) cpu::parallel_for(batches, run, std::max<std::int64_t>(1, small_gemm_work / work));
  else run(0, batches);
  return c;
}

// A 1-D operand as a matrix: a [k] -> [1, k], b [k] -> [k, 1].
Tensor as_left_matrix(const Tensor& a) { return a.rank() == 1 ? a.unsqueeze(0) : a; }
Tensor as_right_matrix(const Tensor& b) { return b.rank() == 1 ? b.unsqueeze(1) : b; }
Tensor matrix_transpose(const Tensor& t) { return t.transpose(-2, -1); }

struct MatMulCpu final : NodeImpl {
  // y = a·b
  void forward(const ForwardCall& c) const override {
    const MatmulShapes s = matmul_shapes(c.inputs[0].shape(), c.inputs[1].shape());
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = batched_product<T>(as_left_matrix(c.inputs[0]), as_right_matrix(c.inputs[1]), false, false, s.batch)
                         .reshape(s.out);
    });
  }
  // ā = ȳ·bᴴ, b̄ = aᴴ·ȳ, each summed over the batch axes its operand was broadcast along
  void vjp(const VjpCall& c) const override {
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const MatmulShapes s = matmul_shapes(a.shape(), b.shape());
    const Tensor g = c.output_cotangents[0].reshape(s.full);
    visit_dtype(a.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (c.wanted[0]) {
        const Tensor full = batched_product<T>(g, matrix_transpose(as_right_matrix(b)), false, true, s.batch);
        c.input_cotangents[0] = cpu::sum_to(full, s.a).reshape(a.shape());
      }
      if (c.wanted[1]) {
        const Tensor full = batched_product<T>(matrix_transpose(as_left_matrix(a)), g, true, false, s.batch);
        c.input_cotangents[1] = cpu::sum_to(full, s.b).reshape(b.shape());
      }
    });
  }
  // ẏ = ȧ·b + a·ḃ
  void jvp(const JvpCall& c) const override {
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const Tensor& da = c.input_tangents[0];
    const Tensor& db = c.input_tangents[1];
    const MatmulShapes s = matmul_shapes(a.shape(), b.shape());
    visit_dtype(a.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor sum;
      if (da.defined()) sum = batched_product<T>(as_left_matrix(da), as_right_matrix(b), false, false, s.batch);
      if (db.defined()) {
        Tensor term = batched_product<T>(as_left_matrix(a), as_right_matrix(db), false, false, s.batch);
        if (sum.defined()) {
          T* dst = sum.data<T>();
          const T* src = term.data<T>();
          cpu::parallel_for(sum.numel(), [&](std::int64_t i0, std::int64_t i1) {
            for (std::int64_t i = i0; i < i1; ++i) dst[i] += src[i];
          });
        } else {
          sum = term;
        }
      }
      c.output_tangents[0] = sum.defined() ? sum.reshape(s.out) : Tensor::zeros(s.out, a.dtype());
    });
  }
};

NODAL_REGISTER_IMPL("matmul", Backend::cpu, MatMulCpu);

}  // namespace
}  // namespace nodal
