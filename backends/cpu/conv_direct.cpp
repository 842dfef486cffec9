// Algorithm "direct": the convolution sums evaluated as written, vectorized along output rows
// (conv_direct_kernel.hpp). No transform and no im2col matrix; best for small kernels and few
// channels, and the algorithm every other one is checked against after the naive reference.
//
//   forward          y[n,o,p]  = Σ_c Σ_k x[n,c, p·s + k·d − pad] · w[o,c,k]
//   backward input   dx[n,c,i] = Σ_o Σ_k dy↑[n,o, i − (K−1−k)·d … ]  — the same correlation run
//                    on dy with zeros inserted between its pixels (stride s), padded by
//                    (K−1)·d − pad, against the kernel flipped and with in/out channels swapped
//   backward weight  dw[o,c,k] = Σ_n Σ_p dy[n,o,p] · x[n,c, p·s + k·d − pad]   (register-blocked
//                    over 4 output channels × 4 taps, conv_direct_weight.hpp)
#include <fmt/format.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/conv_cost.hpp"
#include "nodal/backends/cpu/conv_direct_kernel.hpp"
#include "nodal/backends/cpu/conv_direct_weight.hpp"

namespace nodal::cpu {
namespace {

using conv_detail::DirectProblem;
using conv_detail::forward_problem;
using conv_detail::prepare_x;

// dx = dy⋆ᵀw as a stride-1 correlation: output i reads dy↑ at i + (K−1−k)·d − ((K−1)·d − pad)
// = i + pad − k·d, which is where tap k of output (i + pad − k·d)/s read input i.
template <class T> void direct_backward_input(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
  DirectProblem q;
  q.batch = g.batch;
  q.groups = g.groups;
  q.cin_g = g.out_per_group();
  q.cout_g = g.in_per_group();
  std::array<std::int64_t, 3> offset{};
  for (std::size_t a = 0; a < 3; ++a) {
    q.K[a] = g.kernel[a];
    q.O[a] = g.in[a];
    q.s[a] = 1;
    q.d[a] = g.dilation[a];
    q.L[a] = g.in[a] + (g.kernel[a] - 1) * g.dilation[a];
    offset[a] = (g.kernel[a] - 1) * g.dilation[a] - g.pad_before[a];
  }
  const std::vector<T> dyp = conv_detail::prepare(dy, g.batch * g.out_channels, g.out, g.stride, offset, q.L,
                                                  q.slack(conv_detail::max_chunk<T>()));
  // wt[group·cin_g + c, o, k'] = w[group·cout_g + o, c, K−1−k']
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group(), K = g.kernel_pixels();
  std::vector<T> wt(std::size_t(g.in_channels * cout_g * K));
  for (std::int64_t grp = 0; grp < g.groups; ++grp)
    for (std::int64_t o = 0; o < cout_g; ++o)
      for (std::int64_t c = 0; c < cin_g; ++c) {
        const T* src = w + ((grp * cout_g + o) * cin_g + c) * K;
        T* dst = wt.data() + ((grp * cin_g + c) * cout_g + o) * K;
        for (std::int64_t k = 0; k < K; ++k) dst[k] = src[K - 1 - k];
      }
  conv_detail::correlate(q, dyp.data(), wt.data(), dx);
}

// dw[o, c, k] = Σ_n Σ_p dy[n, o, p] · xp[n, c, p·s + k·d] (conv_direct_weight.hpp).
template <class T> void direct_backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  const DirectProblem q = forward_problem(g);
  const std::vector<T> xp = prepare_x(g, q, x);
  conv_detail::weight_gradient(q, xp.data(), dy, dw);
}

class DirectConv final : public ConvAlgorithm {
 public:
  std::string_view name() const override { return "direct"; }

  // Three passes of the forward's multiply-adds at the direct loop's rate; the backward input
  // pass also multiplies the zeros inserted by the stride (s per axis), plus the padded copies.
  double estimated_seconds(const ConvGeometry& g, DType dtype) const override {
    const double stride_waste = double(g.stride[0] * g.stride[1] * g.stride[2]);
    const double flops = g.forward_flops() * (2.0 + stride_waste);
    const double bytes = conv_cost::element_bytes(dtype) *
                         double(3 * g.batch * (g.in_channels * g.in_pixels() + g.out_channels * g.out_pixels()));
    return flops / (conv_cost::direct_flops_per_s * conv_cost::rate_scale(dtype)) + bytes / conv_cost::bytes_per_s;
  }

  std::unique_ptr<ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                     bool) const override {
    visit_real_dtype(x.dtype(), "conv direct", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (y.numel() > 0) conv_detail::direct_forward<T>(g, x.data<T>(), w.data<T>(), y.data<T>());
    });
    return nullptr;
  }

  // the accumulators start at b[o]
  std::unique_ptr<ConvSaved> forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b,
                                               Tensor& y, bool) const override {
    visit_real_dtype(x.dtype(), "conv direct", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (y.numel() > 0) conv_detail::direct_forward<T>(g, x.data<T>(), w.data<T>(), y.data<T>(), b.data<T>());
    });
    return nullptr;
  }

  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const ConvSaved*) const override {
    visit_real_dtype(dy.dtype(), "conv direct", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (dx && dx->numel() > 0) direct_backward_input<T>(g, dy.data<T>(), w.data<T>(), dx->data<T>());
      if (dw && dw->numel() > 0) direct_backward_weight<T>(g, x.data<T>(), dy.data<T>(), dw->data<T>());
    });
  }
};

NODAL_REGISTER_CONV_ALGORITHM(DirectConv);

}  // namespace
}  // namespace nodal::cpu
