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
#include "nodal/backends/cpu/conv_im2col.hpp"
#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/backends/cpu/gemm.hpp"

namespace nodal::cpu {
namespace {

// Per-thread scratch matrices, reused across calls; a very large one is released after use so
// one big convolution does not pin its im2col matrix for the life of the thread.
constexpr std::size_t keep_scratch_bytes = std::size_t(32) << 20;
template <class T> std::vector<T>& scratch(int slot) {
  thread_local std::vector<T> buffers[2];
  return buffers[slot];
}
template <class T> T* scratch_data(int slot, std::int64_t n) {
  std::vector<T>& b = scratch<T>(slot);
  if (b.size() < std::size_t(n)) b.resize(std::size_t(n));
  return b.data();
}
template <class T> void trim_scratch() {
  for (int slot = 0; slot < 2; ++slot) {
    std::vector<T>& b = scratch<T>(slot);
    if (b.capacity() * sizeof(T) > keep_scratch_bytes) std::vector<T>().swap(b);
  }
}

bool is_pointwise(const ConvGeometry& g) {
  for (std::size_t a = 0; a < 3; ++a)
    if (g.kernel[a] != 1 || g.stride[a] != 1 || g.pad_before[a] != 0 || g.pad_after[a] != 0) return false;
  return true;
}

// Runs body(n) for every sample: split over threads when there are at least two samples (the
// products inside then run single-threaded), else in turn with Eigen free to thread each product.
template <class F> void for_each_sample(std::int64_t batch, F&& body) {
  const int threads = omp_get_max_threads();
  if (batch >= 2 && threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(int(std::min<std::int64_t>(threads, batch)))
    {
      const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      for (std::int64_t n = batch * t / nt; n < batch * (t + 1) / nt; ++n) body(n, int(t));
    }
  } else {
    for (std::int64_t n = 0; n < batch; ++n) body(n, 0);
  }
}

template <class T> struct Layout {
  std::int64_t cin_g, cout_g, K, P, rows;  // rows = Cin_g·K of cols
  explicit Layout(const ConvGeometry& g)
      : cin_g(g.in_per_group()), cout_g(g.out_per_group()), K(g.kernel_pixels()), P(g.out_pixels()),
        rows(g.in_per_group() * g.kernel_pixels()) {}
  MatrixRef<T> weight(const T* w, std::int64_t grp) const { return {w + grp * cout_g * rows, cout_g, rows, rows, 1}; }
};

template <class T> void forward_typed(const ConvGeometry& g, const T* x, const T* w, T* y) {
  const Layout<T> l(g);
  const bool pointwise = is_pointwise(g);
  for_each_sample(g.batch, [&](std::int64_t n, int) {
    T* cols = pointwise ? nullptr : scratch_data<T>(0, l.rows * l.P);
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = x + (n * g.in_channels + grp * l.cin_g) * g.in_pixels();
      if (!pointwise) conv_detail::im2col(g, xg, cols, l.P, 0, l.cin_g);
      const MatrixRef<T> c{pointwise ? xg : cols, l.rows, l.P, l.P, 1};
      gemm(l.weight(w, grp), c, y + (n * g.out_channels + grp * l.cout_g) * l.P, l.P);
    }
  });
  trim_scratch<T>();
}

template <class T> void backward_input_typed(const ConvGeometry& g, const T* w, const T* dy, T* dx) {
  const Layout<T> l(g);
  const bool pointwise = is_pointwise(g);
  for_each_sample(g.batch, [&](std::int64_t n, int) {
    T* dcols = pointwise ? nullptr : scratch_data<T>(1, l.rows * l.P);
    T* dxn = dx + n * g.in_channels * g.in_pixels();
    if (!pointwise) std::fill(dxn, dxn + g.in_channels * g.in_pixels(), T(0));
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const MatrixRef<T> dyg{dy + (n * g.out_channels + grp * l.cout_g) * l.P, l.cout_g, l.P, l.P, 1};
      T* dxg = dxn + grp * l.cin_g * g.in_pixels();
      gemm(l.weight(w, grp).transposed(), dyg, pointwise ? dxg : dcols, l.P);
      if (!pointwise) conv_detail::col2im_add(g, dcols, l.P, dxg, 0, l.cin_g);
    }
  });
  trim_scratch<T>();
}

template <class T> void backward_weight_typed(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  const Layout<T> l(g);
  const bool pointwise = is_pointwise(g);
  const std::int64_t wsize = g.out_channels * l.rows;
  const int threads = std::max(1, std::min<int>(omp_get_max_threads(), int(g.batch)));
  // partial[t] = Σ over thread t's samples; partial 0 is dw itself.
  std::vector<T> partials(std::size_t(std::max(0, threads - 1)) * std::size_t(wsize), T(0));
  std::fill(dw, dw + wsize, T(0));
  for_each_sample(g.batch, [&](std::int64_t n, int t) {
    T* acc = t == 0 ? dw : partials.data() + std::size_t(t - 1) * std::size_t(wsize);
    T* cols = pointwise ? nullptr : scratch_data<T>(0, l.rows * l.P);
    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
      const T* xg = x + (n * g.in_channels + grp * l.cin_g) * g.in_pixels();
      if (!pointwise) conv_detail::im2col(g, xg, cols, l.P, 0, l.cin_g);
      const MatrixRef<T> c{pointwise ? xg : cols, l.rows, l.P, l.P, 1};
      const MatrixRef<T> dyg{dy + (n * g.out_channels + grp * l.cout_g) * l.P, l.cout_g, l.P, l.P, 1};
      gemm(dyg, c.transposed(), acc + grp * l.cout_g * l.rows, l.rows, /*accumulate=*/true);
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
    visit_real_dtype(x.dtype(), "conv gemm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (y.numel() > 0) forward_typed<T>(g, x.data<T>(), w.data<T>(), y.data<T>());
    });
    return nullptr;
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved*) const override {
    visit_real_dtype(dy.dtype(), "conv gemm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (dx && dx->numel() > 0) backward_input_typed<T>(g, w.data<T>(), dy.data<T>(), dx->data<T>());
      if (dw && dw->numel() > 0) backward_weight_typed<T>(g, x.data<T>(), dy.data<T>(), dw->data<T>());
    });
  }
};

NODAL_REGISTER_CONV_ALGORITHM(GemmConv);

}  // namespace
}  // namespace nodal::cpu
