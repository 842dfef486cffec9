#pragma once
// Elementwise loops for CPU kernels: dtype dispatch, NumPy broadcasting, and splitting large
// work over the machine's cores. Scalar lambdas over contiguous spans vectorise under -O3.
#include <cstdint>

#include <omp.h>

#include "nodal/core/error.hpp"
#include "nodal/core/strided.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::cpu {

// Below this many elements a loop runs on one thread: waking a second costs more than it saves.
inline constexpr std::int64_t parallel_grain = 1 << 15;

// f(begin, end) over [0, n), split across threads when n is large.
template <class F> void parallel_for(std::int64_t n, F&& f, std::int64_t grain = parallel_grain) {
  if (n < 2 * grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    f(std::int64_t(0), n);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    f(begin, end);
  }
}

// out[i] = f(x[i]) with out of dtype Out (T -> Out given by the caller's lambda types).
template <class T, class U, class F> Tensor map_unary(const Tensor& x, F&& f) {
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(in.shape(), dtype_of<U>, in.backend());
  const T* src = in.data<T>();
  U* dst = out.data<U>();
  parallel_for(in.numel(), [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) dst[i] = f(src[i]);
  });
  return out;
}

// out = f(a, b) with NumPy broadcasting to `shape`.
template <class T, class U, class F> Tensor map_binary(const Tensor& a, const Tensor& b, const Shape& shape, F&& f) {
  Tensor out = Tensor::empty(shape, dtype_of<U>, a.backend());
  U* dst = out.data<U>();
  if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    parallel_for(out.numel(), [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) dst[i] = f(pa[i], pb[i]);
    });
    return out;
  }
  if (b.numel() == 1 && a.shape() == shape && a.is_contiguous()) {
    const T* pa = a.data<T>();
    const T vb = *b.data<T>();
    parallel_for(out.numel(), [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) dst[i] = f(pa[i], vb);
    });
    return out;
  }
  if (a.numel() == 1 && b.shape() == shape && b.is_contiguous()) {
    const T va = *a.data<T>();
    const T* pb = b.data<T>();
    parallel_for(out.numel(), [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) dst[i] = f(va, pb[i]);
    });
    return out;
  }
  const Tensor ea = a.expand(shape), eb = b.expand(shape);
  const T* pa = static_cast<const T*>(ea.buffer()->host_data()) + ea.offset();
  const T* pb = static_cast<const T*>(eb.buffer()->host_data()) + eb.offset();
  const Strides so = out.strides();
  const Strides* strides[3] = {&so, &ea.strides(), &eb.strides()};
  for_each_row<3>(shape, strides, [&](const std::int64_t* base, std::int64_t n, const std::int64_t* step) {
    U* d = dst + base[0];
    const T* x = pa + base[1];
    const T* y = pb + base[2];
    for (std::int64_t i = 0; i < n; ++i) d[i] = f(x[i * step[1]], y[i * step[2]]);
  });
  return out;
}

// out = f(a, b, c) with NumPy broadcasting of all three to `shape` (used by derivative rules
// such as ā = ȳ · ∂y/∂a(a, b)).
template <class T, class U, class F>
Tensor map_ternary(const Tensor& a, const Tensor& b, const Tensor& c, const Shape& shape, F&& f) {
  Tensor out = Tensor::empty(shape, dtype_of<U>, a.backend());
  U* dst = out.data<U>();
  if (a.shape() == shape && b.shape() == shape && c.shape() == shape && a.is_contiguous() && b.is_contiguous() &&
      c.is_contiguous()) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    const T* pc = c.data<T>();
    parallel_for(out.numel(), [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) dst[i] = f(pa[i], pb[i], pc[i]);
    });
    return out;
  }
  const Tensor ea = a.expand(shape), eb = b.expand(shape), ec = c.expand(shape);
  const T* pa = static_cast<const T*>(ea.buffer()->host_data()) + ea.offset();
  const T* pb = static_cast<const T*>(eb.buffer()->host_data()) + eb.offset();
  const T* pc = static_cast<const T*>(ec.buffer()->host_data()) + ec.offset();
  const Strides so = out.strides();
  const Strides* strides[4] = {&so, &ea.strides(), &eb.strides(), &ec.strides()};
  for_each_row<4>(shape, strides, [&](const std::int64_t* base, std::int64_t n, const std::int64_t* step) {
    U* d = dst + base[0];
    const T* x = pa + base[1];
    const T* y = pb + base[2];
    const T* z = pc + base[3];
    for (std::int64_t i = 0; i < n; ++i) d[i] = f(x[i * step[1]], y[i * step[2]], z[i * step[3]]);
  });
  return out;
}

// Sums `g` over the axes that broadcasting expanded, giving a tensor of `shape` (the vjp of a
// broadcast). Returns g itself when no axis was expanded.
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace nodal::cpu
