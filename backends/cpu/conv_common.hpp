#pragma once
// Pieces shared by the CPU implementations of the conv and conv_transpose nodes: kernel flip,
// bias add and bias gradient, and running one algorithm pass on contiguous operands.
#include <cstdint>
#include <memory>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/backends/cpu/elementwise.hpp"

namespace nodal::cpu::conv_detail {

// w reversed on every spatial axis (a contiguous copy): w'[a, b, k] = w[a, b, K − 1 − k], with
// k the flattened spatial index (reversing it reverses each axis at once). Its own inverse.
inline Tensor flip_kernel(const Tensor& w, std::int64_t kernel_pixels) {
  const Tensor src = w.contiguous();
  Tensor out = Tensor::empty(src.shape(), src.dtype());
  visit_real_dtype(src.dtype(), "conv flip", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* s = src.data<T>();
    T* d = out.data<T>();
    const std::int64_t K = kernel_pixels, planes = K > 0 ? src.numel() / K : 0;
    for (std::int64_t p = 0; p < planes; ++p)
      for (std::int64_t k = 0; k < K; ++k) d[p * K + k] = s[p * K + K - 1 - k];
  });
  return out;
}

// y[n, o, :] += b[o] on a contiguous y [N, C, pixels].
inline void add_bias(Tensor& y, const Tensor& b, std::int64_t batch, std::int64_t channels, std::int64_t pixels) {
  const Tensor bias = b.contiguous();
  visit_real_dtype(y.dtype(), "conv bias", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* py = y.data<T>();
    const T* pb = bias.data<T>();
    parallel_for(
        batch * channels,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t plane = begin; plane < end; ++plane) {
            const T v = pb[plane % channels];
            T* row = py + plane * pixels;
            for (std::int64_t i = 0; i < pixels; ++i) row[i] += v;
          }
        },
        std::max<std::int64_t>(1, parallel_grain / std::max<std::int64_t>(1, pixels)));
  });
}

// db[o] = Σ_{n, p} dy[n, o, p] (summed in double), as a [channels] tensor.
inline Tensor bias_gradient(const Tensor& dy_contiguous, std::int64_t batch, std::int64_t channels, std::int64_t pixels) {
  Tensor db = Tensor::empty(Shape{channels}, dy_contiguous.dtype());
  visit_real_dtype(dy_contiguous.dtype(), "conv bias gradient", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = dy_contiguous.data<T>();
    T* out = db.data<T>();
    parallel_for(
        channels,
        [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t o = begin; o < end; ++o) {
            double total = 0;
            for (std::int64_t n = 0; n < batch; ++n) {
              const T* row = p + (n * channels + o) * pixels;
              T s = 0;
#pragma omp simd reduction(+ : s)
              for (std::int64_t i = 0; i < pixels; ++i) s += row[i];
              total += double(s);
            }
            out[o] = T(total);
          }
        },
        std::max<std::int64_t>(1, parallel_grain / std::max<std::int64_t>(1, batch * pixels)));
  });
  return db;
}

// a += b elementwise (same shape, both contiguous).
inline void add_into(Tensor& a, const Tensor& b) {
  visit_real_dtype(a.dtype(), "conv tangent sum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* pa = a.data<T>();
    const T* pb = b.data<T>();
    parallel_for(a.numel(), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) pa[i] += pb[i];
    });
  });
}

// y = x ⋆ w (+ bias) through `algorithm` on contiguous operands, as a new tensor of `y_shape`.
inline Tensor run_forward(const ConvAlgorithm& algorithm, const ConvGeometry& g, const Tensor& x, const Tensor& w,
                          const Shape& y_shape, std::unique_ptr<ConvSaved>* saved = nullptr,
                          const Tensor* bias = nullptr) {
  Tensor y = Tensor::empty(y_shape, x.dtype());
  std::unique_ptr<ConvSaved> kept =
      bias ? algorithm.forward_with_bias(g, x.contiguous(), w.contiguous(), bias->contiguous(), y, saved != nullptr)
           : algorithm.forward(g, x.contiguous(), w.contiguous(), y, saved != nullptr);
  if (saved) *saved = std::move(kept);
  return y;
}

}  // namespace nodal::cpu::conv_detail
