// Algorithm "gemm": im2col + matrix products through Eigen (conv_im2col.hpp draws the matrix).
// Per sample n and group g, with cols = im2col(x[n, g]) of shape [Cin_g·K, P]:
//
//   forward          y[n, g]   = W_g · cols                 [Cout_g, Cin_g·K] · [Cin_g·K, P]
//   backward input   dx[n, g]  = col2im(W_gᵀ · dy[n, g])    [Cin_g·K, Cout_g] · [Cout_g, P]
//   backward weight  dW_g     += dy[n, g] · colsᵀ           [Cout_g, P] · [P, Cin_g·K], Σ over n
//
// W_g is a plain row-major view of w ([Cout, Cin_g, K] is [Cout, Cin_g·K]). With at least two
// samples the batch is split over the threads, each running single-threaded products on its own
// scratch matrix (no sharing, no atomics; the weight gradient is summed from per-thread partials);
// with one sample Eigen threads each product instead. A 1×1 kernel with stride 1 and no padding
// needs no im2col: cols is x itself.
#include <omp.h>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_cost.hpp"
#include "nodal/backends/cpu/conv_direct_kernel.hpp"
#include "nodal/backends/cpu/conv_im2col.hpp"
#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/backends/cpu/gemm.hpp"

namespace nodal::cpu {
namespace {

// Per-thread scratch matrices, reused across calls; a very large one is released after use so
// one big convolution does not pin its im2col matrix for the life of the thread.
constexpr std::size_t keep_scratch_bytes = std::size_t(32) << 20;
template <class T> std::vector<T>& scratch(int slot) {
  thread_local std::vector<T> buffers[4];  // cols, dcols, padded x, padded dx
  return buffers[slot];
}
template <class T> T* scratch_data(int slot, std::int64_t n) {
  std::vector<T>& b = scratch<T>(slot);
  if (b.size() < std::size_t(n)) b.resize(std::size_t(n));
  return b.data();
}
template <class T> void trim_scratch() {
  for (int slot = 0; slot < 4; ++slot) {
    std::vector<T>& b = scratch<T>(slot);
    if (b.capacity() * sizeof(T) > keep_scratch_bytes) std::vector<T>().swap(b);
  }
}

bool is_pointwise(const ConvGeometry& g) {
  for (std::size_t a = 0; a < 3; ++a)
    if (g.kernel[a] != 1 || g.stride[a] != 1 || g.pad_before[a] != 0 || g.pad_after[a] != 0) return false;
  return true;
}

// Runs body(n, thread) for every sample: split over threads when there are at least two samples
// and enough work (`flops` of the whole pass) to pay for waking them (the products inside then
// run single-threaded), else in turn with Eigen free to thread each product.
constexpr double parallel_flops = 4e6;
template <class F> void for_each_sample(std::int64_t batch, double flops, F&& body) {
  const int threads = omp_get_max_threads();
  if (batch >= 2 && threads > 1 && flops >= parallel_flops && !omp_in_parallel()) {
#pragma omp parallel num_threads(int(std::min<std::int64_t>(threads, batch)))
    {
      const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      for (std::int64_t n = batch * t / nt; n < batch * (t + 1) / nt; ++n) body(n, int(t));
    }
  } else {
    for (std::int64_t n = 0; n < batch; ++n) body(n, 0);
  }
}

// Output rows (one row = one (o0, o1), O2 pixels) per im2col block: the block's matrix
// [Cin_g·K, rows·O2] is kept below 1.5 MiB so that it stays in the core's L2 (2 MiB here) between being
// written by im2col and read by the product (the whole matrix of a large image would not).
constexpr std::int64_t block_bytes = 1536 << 10;

template <class T> struct Layout {
  std::int64_t cin_g, cout_g, K, P, rows;  // rows = Cin_g·K of cols
  std::int64_t out_rows, O2, block_rows;
  explicit Layout(const ConvGeometry& g)
      : cin_g(g.in_per_group()), cout_g(g.out_per_group()), K(g.kernel_pixels()), P(g.out_pixels()),
        rows(g.in_per_group() * g.kernel_pixels()), out_rows(g.out[0] * g.out[1]), O2(g.out[2]),
        L(conv_detail::padded_extents(g)) {
    const std::int64_t row_bytes = std::max<std::int64_t>(1, rows * O2 * std::int64_t(sizeof(T)));
    block_rows = is_pointwise(g) ? out_rows : std::clamp<std::int64_t>(block_bytes / row_bytes, 1, out_rows);
  }
  std::array<std::int64_t, 3> L;  // padded input extents (conv_im2col.hpp)
  std::int64_t block_elements() const { return rows * block_rows * O2; }
  std::int64_t padded_elements() const { return cin_g * L[0] * L[1] * L[2]; }
  MatrixRef<T> weight(const T* w, std::int64_t grp) const { return {w + grp * cout_g * rows, cout_g, rows, rows, 1}; }
  // Runs f(row_begin, row_end) over the blocks of output rows.
  template <class F> void for_each_block(F&& f) const {
    for (std::int64_t r = 0; r < out_rows; r += block_rows) f(r, std::min(out_rows, r + block_rows));
  }
};

template <class T> void forward_typed(const ConvGeometry& g, const T* x, const T* w, T* y) {
  const Layout<T> l(g);
  const bool pointwise = is_pointwise(g);
  for_each_sample(g.batch, g.forward_flops(), [&](std::int64_t n, int) {
    T* cols = pointwise ? nullptr : scratch_data<T>(0, l.block_elements());
    T* xp = pointwise ? nullptr : scratch_data<T>(2, l.padded_elements());
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = x + (n * g.in_channels + grp * l.cin_g) * g.in_pixels();
      T* yg = y + (n * g.out_channels + grp * l.cout_g) * l.P;
      if (!pointwise) conv_detail::pad_group(g, l.L, xg, xp);
      l.for_each_block([&](std::int64_t r0, std::int64_t r1) {
        const std::int64_t pixels = (r1 - r0) * l.O2;
        if (!pointwise) conv_detail::im2col_padded(g, l.L, xp, cols, pixels, r0, r1);
        const MatrixRef<T> c = pointwise ? MatrixRef<T>{xg, l.rows, l.P, l.P, 1} : MatrixRef<T>{cols, l.rows, pixels, pixels, 1};
        gemm(l.weight(w, grp), c, yg + r0 * l.O2, l.P);
      });
    }
  });
  trim_scratch<T>();
}

template <class T> void gemm_backward_input(const ConvGeometry& g, const T* w, const T* dy, T* dx) {
  const Layout<T> l(g);
  const bool pointwise = is_pointwise(g);
  for_each_sample(g.batch, g.forward_flops(), [&](std::int64_t n, int) {
    T* dcols = pointwise ? nullptr : scratch_data<T>(1, l.block_elements());
    T* dxp = pointwise ? nullptr : scratch_data<T>(3, l.padded_elements());
    T* dxn = dx + n * g.in_channels * g.in_pixels();
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const T* dyg = dy + (n * g.out_channels + grp * l.cout_g) * l.P;
      T* dxg = dxn + grp * l.cin_g * g.in_pixels();
      if (!pointwise) std::fill(dxp, dxp + l.padded_elements(), T(0));
      l.for_each_block([&](std::int64_t r0, std::int64_t r1) {
        const std::int64_t pixels = (r1 - r0) * l.O2;
        const MatrixRef<T> dyb{dyg + r0 * l.O2, l.cout_g, pixels, l.P, 1};
        if (pointwise) {
          gemm(l.weight(w, grp).transposed(), dyb, dxg, l.P);
        } else {
          gemm(l.weight(w, grp).transposed(), dyb, dcols, pixels);
          conv_detail::col2im_padded_add(g, l.L, dcols, pixels, dxp, r0, r1);
        }
      });
      if (!pointwise) conv_detail::crop_group(g, l.L, dxp, dxg);
    }
  });
  trim_scratch<T>();
}

template <class T> void gemm_backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  const Layout<T> l(g);
  const bool pointwise = is_pointwise(g);
  const std::int64_t wsize = g.out_channels * l.rows;
  const int threads = std::max(1, std::min<int>(omp_get_max_threads(), int(g.batch)));
  // partial[t] = Σ over thread t's samples; partial 0 is dw itself.
  std::vector<T> partials(std::size_t(std::max(0, threads - 1)) * std::size_t(wsize), T(0));
  std::fill(dw, dw + wsize, T(0));
  for_each_sample(g.batch, g.forward_flops(), [&](std::int64_t n, int t) {
    T* acc = t == 0 ? dw : partials.data() + std::size_t(t - 1) * std::size_t(wsize);
    T* cols = pointwise ? nullptr : scratch_data<T>(0, l.block_elements());
    T* xp = pointwise ? nullptr : scratch_data<T>(2, l.padded_elements());
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = x + (n * g.in_channels + grp * l.cin_g) * g.in_pixels();
      const T* dyg = dy + (n * g.out_channels + grp * l.cout_g) * l.P;
      if (!pointwise) conv_detail::pad_group(g, l.L, xg, xp);
      l.for_each_block([&](std::int64_t r0, std::int64_t r1) {
        const std::int64_t pixels = (r1 - r0) * l.O2;
        if (!pointwise) conv_detail::im2col_padded(g, l.L, xp, cols, pixels, r0, r1);
        const MatrixRef<T> c = pointwise ? MatrixRef<T>{xg, l.rows, l.P, l.P, 1} : MatrixRef<T>{cols, l.rows, pixels, pixels, 1};
        const MatrixRef<T> dyb{dyg + r0 * l.O2, l.cout_g, pixels, l.P, 1};
        gemm(dyb, c.transposed(), acc + grp * l.cout_g * l.rows, l.rows, /*accumulate=*/true);
      });
    }
  });
  for (int t = 1; t < threads; ++t) {
    const T* p = partials.data() + std::size_t(t - 1) * std::size_t(wsize);
    for (std::int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
  }
  trim_scratch<T>();
}

class GemmConv final : public ConvAlgorithm {
 public:
  std::string_view name() const override { return "gemm"; }

  // With a reduction of at most implicit_reduction (Cin_g·K: a first layer's 1×5×5 or 3×3×3) the
  // forward product is computed implicitly: the register-blocked kernel of the direct algorithm
  // (conv_direct_kernel.hpp) is a GEMM whose B operand is read from the padded input where im2col
  // would have copied it. For so short a reduction, writing the im2col matrix and Eigen's packing
  // of it cost as much as the products (64×1→32 28² k5: 0.49 ms explicit, 0.36 ms implicit on 2
  // threads), and the bias is then added in the accumulators.
  static constexpr std::int64_t implicit_reduction = 32;
  static bool implicit(const ConvGeometry& g) {
    return g.in_per_group() * g.kernel_pixels() <= implicit_reduction && !is_pointwise(g);
  }
  void run_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) const {
    visit_real_dtype(x.dtype(), "conv gemm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (y.numel() == 0) return;
      if (implicit(g)) conv_detail::direct_forward<T>(g, x.data<T>(), w.data<T>(), y.data<T>(), b ? b->data<T>() : nullptr);
      else forward_typed<T>(g, x.data<T>(), w.data<T>(), y.data<T>());
    });
  }

  // Three products of the forward's size at GEMM rate, plus writing and reading the im2col
  // matrices (three of N·Cin·K·P elements: forward, backward input, backward weight).
  double estimated_seconds(const ConvGeometry& g, DType dtype) const override {
    const double flops = 3.0 * g.forward_flops();
    const double cols = is_pointwise(g) ? 0.0 : 3.0 * 2.0 * double(g.batch * g.in_channels * g.kernel_pixels() * g.out_pixels());
    const double bytes = conv_cost::element_bytes(dtype) *
                         (cols + 3.0 * double(g.batch * (g.in_channels * g.in_pixels() + g.out_channels * g.out_pixels())));
    return flops / (conv_cost::gemm_flops_per_s * conv_cost::rate_scale(dtype)) + bytes / conv_cost::bytes_per_s;
  }

  std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                     bool) const override {
    run_forward(g, x, w, nullptr, y);
    return nullptr;
  }
  std::unique_ptr<ConvSaved> forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b,
                                               Tensor& y, bool keep) const override {
    if (!implicit(g)) return ConvAlgorithm::forward_with_bias(g, x, w, b, y, keep);
    run_forward(g, x, w, &b, y);
    return nullptr;
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved*) const override {
    visit_real_dtype(dy.dtype(), "conv gemm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (dx && dx->numel() > 0) gemm_backward_input<T>(g, w.data<T>(), dy.data<T>(), dx->data<T>());
      if (dw && dw->numel() > 0) gemm_backward_weight<T>(g, x.data<T>(), dy.data<T>(), dw->data<T>());
    });
  }
};

NODAL_REGISTER_CONV_ALGORITHM(GemmConv);

}  // namespace
}  // namespace nodal::cpu
