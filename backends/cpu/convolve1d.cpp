// CPU kernels of the signal-view convolve / correlate nodes (nodes/convolve1d.hpp).
//
// Every row (one signal) is first gathered into its extended window x̃[start, start + padded)
// (the boundary rule applied once), after which everything is one uniform sliding product
//   y[k] = Σ_i x̃[k + i] · g[i]      (g = h reversed for convolve, h for correlate)
// so the boundary never appears inside a hot loop. Two paths:
//   direct  O(L·m) per row, loops ordered so the innermost runs along k (contiguous, vectorised)
//   fft     O(N log N) per row through fft::CircularConvolver with N = next_smooth_size(padded):
//           y[k] = (x̃ ∗ reverse(g))[k + m − 1], and the wrap-around of a length-N circular
//           convolution only reaches indices < m − 1, which are not kept.
#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/fft/convolve.hpp"
#include "nodal/nodes/convolve1d.hpp"

namespace nodal {
namespace {

// Index of x read for extended position i, or −1 for a zero.
std::int64_t source_index(std::int64_t i, std::int64_t n, SignalBoundary b) {
  switch (b) {
    case SignalBoundary::zero: return i >= 0 && i < n ? i : -1;
    case SignalBoundary::replicate: return std::clamp<std::int64_t>(i, 0, n - 1);
    case SignalBoundary::circular: return ((i % n) + n) % n;
  }
  return -1;
}

// x̃[t] = x[source(start + t)], t ∈ [0, padded): the inside part is a straight copy.
template <class T> void gather_row(const SignalGeometry& g, SignalBoundary b, const T* x, T* pad) {
  const std::int64_t lo = std::clamp<std::int64_t>(-g.start, 0, g.padded);           // first t inside x
  const std::int64_t hi = std::clamp<std::int64_t>(g.n - g.start, lo, g.padded);      // one past the last
  for (std::int64_t t = 0; t < lo; ++t) {
    const std::int64_t s = source_index(g.start + t, g.n, b);
    pad[t] = s < 0 ? T(0) : x[s];
  }
  std::copy(x + (g.start + lo), x + (g.start + hi), pad + lo);
  for (std::int64_t t = hi; t < g.padded; ++t) {
    const std::int64_t s = source_index(g.start + t, g.n, b);
    pad[t] = s < 0 ? T(0) : x[s];
  }
}

// dx = Pᵀ dx̃: every extended position adds its cotangent to the sample it was read from.
template <class T> void scatter_row(const SignalGeometry& g, SignalBoundary b, const T* dpad, T* dx) {
  std::fill(dx, dx + g.n, T(0));
  for (std::int64_t t = 0; t < g.padded; ++t) {
    const std::int64_t s = source_index(g.start + t, g.n, b);
    if (s >= 0) dx[s] += dpad[t];
  }
}

// Σ_k a[k]·b[k·stride] with sixteen independent partial sums: without -ffast-math one accumulator
// is a serial chain the compiler may neither reorder nor vectorise; sixteen lanes are one
// AVX-512 vector of float (two of double) and give the same result on every run.
template <class T> T dot_lanes(const T* a, const T* b, std::int64_t n, std::int64_t stride = 1) {
  T lane[16] = {};
  std::int64_t k = 0;
  if (stride == 1) {
    for (; k + 16 <= n; k += 16)
      for (int l = 0; l < 16; ++l) lane[l] += a[k + l] * b[k + l];
  } else {
    for (; k + 16 <= n; k += 16)
      for (int l = 0; l < 16; ++l) lane[l] += a[k + l] * b[(k + l) * stride];
  }
  T s = 0;
  for (; k < n; ++k) s += a[k] * b[k * stride];
  for (T v : lane) s += v;
  return s;
}

constexpr std::int64_t block = 512;  // outputs per block: y, x̃ and g stay in L1 across the taps

// y[k] = Σ_i x̃[k + i] g[i]
template <class T> void slide_row(const T* pad, const T* taps, std::int64_t m, std::int64_t out, T* y) {
  for (std::int64_t k0 = 0; k0 < out; k0 += block) {
    const std::int64_t k1 = std::min(out, k0 + block);
    std::fill(y + k0, y + k1, T(0));
    for (std::int64_t i = 0; i < m; ++i) {
      const T gi = taps[i];
      const T* p = pad + i;
      for (std::int64_t k = k0; k < k1; ++k) y[k] += gi * p[k];
    }
  }
}

// dx̃[k + i] += dy[k] g[i]: the full convolution dy ∗ g (the adjoint of slide_row in x̃)
template <class T> void slide_row_adjoint(const T* dy, const T* taps, std::int64_t m, std::int64_t out, T* dpad) {
  std::fill(dpad, dpad + out + m - 1, T(0));
  for (std::int64_t k0 = 0; k0 < out; k0 += block) {
    const std::int64_t k1 = std::min(out, k0 + block);
    for (std::int64_t i = 0; i < m; ++i) {
      const T gi = taps[i];
      T* p = dpad + i;
      for (std::int64_t k = k0; k < k1; ++k) p[k] += gi * dy[k];
    }
  }
}

// dg[i] += Σ_k dy[k] x̃[k + i]: the adjoint of slide_row in g
template <class T> void slide_row_taps_adjoint(const T* dy, const T* pad, std::int64_t m, std::int64_t out, double* dg) {
  for (std::int64_t i = 0; i < m; ++i) dg[i] += double(dot_lanes(dy, pad + i, out));
}

// The taps as slide_row reads them: h reversed for a convolution, h itself for a correlation.
template <class T> std::vector<T> taps_of(const Tensor& h, bool correlate) {
  std::vector<T> taps = h.contiguous().to_vector<T>();
  if (!correlate) std::reverse(taps.begin(), taps.end());
  return taps;
}

// The FFT pays off for long filters; estimated cost of a row: L·m multiply-adds against about
// 5 N log2 N flops of a complex transform pair shared by two real rows.
bool use_fft(const SignalGeometry& g) {
  if (g.m < 32) return false;
  const double n = double(fft::next_smooth_size(std::size_t(g.padded)));
  return double(g.out) * double(g.m) >= 4.0 * n * std::log2(n);
}

// Rows split over the threads; `f(r0, r1)` gets its own scratch through the lambda's captures.
template <class F> void for_rows(const SignalGeometry& g, std::int64_t work_per_row, F&& f) {
  cpu::parallel_for(g.rows, f, std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(work_per_row, 1)));
}

// ------------------------------------------------------------------ the two paths

// Y[r] = slide(X̃[r], taps) for every row r: x rows [rows, n] -> y rows [rows, out].
template <class T> void slide_rows(const SignalGeometry& g, SignalBoundary b, const T* x, const std::vector<T>& taps, T* y) {
  if (use_fft(g)) {
    const std::size_t N = fft::next_smooth_size(std::size_t(g.padded));
    const fft::CircularConvolver<T> conv(N);
    std::vector<T> w(N, T(0));
    for (std::int64_t i = 0; i < g.m; ++i) w[std::size_t(i)] = taps[std::size_t(g.m - 1 - i)];
    const fft::Spectrum<T> spectrum = conv.transform_real(w.data());
    for_rows(g, std::int64_t(N) * 16, [&](std::int64_t r0, std::int64_t r1) {
      std::vector<T> pad(2 * N, T(0)), res(2 * N);  // two rows per complex transform
      for (std::int64_t r = r0; r < r1; r += 2) {
        const bool pair = r + 1 < r1;
        gather_row(g, b, x + r * g.n, pad.data());
        if (pair) gather_row(g, b, x + (r + 1) * g.n, pad.data() + N);
        conv.convolve_two_reals(pad.data(), pair ? pad.data() + N : nullptr, spectrum, res.data(), res.data() + N);
        std::copy_n(res.data() + (g.m - 1), g.out, y + r * g.out);
        if (pair) std::copy_n(res.data() + N + (g.m - 1), g.out, y + (r + 1) * g.out);
      }
    });
    return;
  }
  for_rows(g, g.out * g.m, [&](std::int64_t r0, std::int64_t r1) {
    std::vector<T> pad(std::size_t(g.padded));
    for (std::int64_t r = r0; r < r1; ++r) {
      gather_row(g, b, x + r * g.n, pad.data());
      slide_row(pad.data(), taps.data(), g.m, g.out, y + r * g.out);
    }
  });
}

// dx rows = Pᵀ (dy ∗ g), row by row.
template <class T> void slide_rows_adjoint(const SignalGeometry& g, SignalBoundary b, const T* dy, const std::vector<T>& taps, T* dx) {
  if (use_fft(g)) {
    const std::size_t N = fft::next_smooth_size(std::size_t(g.padded));
    const fft::CircularConvolver<T> conv(N);
    std::vector<T> w(N, T(0));
    std::copy(taps.begin(), taps.end(), w.begin());
    const fft::Spectrum<T> spectrum = conv.transform_real(w.data());
    for_rows(g, std::int64_t(N) * 16, [&](std::int64_t r0, std::int64_t r1) {
      std::vector<T> in(2 * N, T(0)), res(2 * N);
      for (std::int64_t r = r0; r < r1; r += 2) {
        const bool pair = r + 1 < r1;
        std::copy_n(dy + r * g.out, g.out, in.data());
        if (pair) std::copy_n(dy + (r + 1) * g.out, g.out, in.data() + N);
        conv.convolve_two_reals(in.data(), pair ? in.data() + N : nullptr, spectrum, res.data(), res.data() + N);
        scatter_row(g, b, res.data(), dx + r * g.n);
        if (pair) scatter_row(g, b, res.data() + N, dx + (r + 1) * g.n);
      }
    });
    return;
  }
  for_rows(g, g.out * g.m, [&](std::int64_t r0, std::int64_t r1) {
    std::vector<T> dpad(std::size_t(g.padded));
    for (std::int64_t r = r0; r < r1; ++r) {
      slide_row_adjoint(dy + r * g.out, taps.data(), g.m, g.out, dpad.data());
      scatter_row(g, b, dpad.data(), dx + r * g.n);
    }
  });
}

// dg[i] = Σ_r Σ_k dy_r[k] x̃_r[k + i], accumulated in float64 per thread then summed.
template <class T> std::vector<double> taps_gradient(const SignalGeometry& g, SignalBoundary b, const T* x, const T* dy) {
  std::vector<double> total(std::size_t(g.m), 0.0);
  const bool spectral = use_fft(g);
  const std::size_t N = spectral ? fft::next_smooth_size(std::size_t(g.padded)) : 0;
  std::unique_ptr<fft::CircularConvolver<T>> conv;
  if (spectral) conv = std::make_unique<fft::CircularConvolver<T>>(N);
  for_rows(g, spectral ? std::int64_t(N) * 16 : g.out * g.m, [&](std::int64_t r0, std::int64_t r1) {
    std::vector<double> dg(std::size_t(g.m), 0.0);
    std::vector<T> pad(std::size_t(spectral ? N : std::size_t(g.padded)), T(0));
    if (spectral) {
      // Σ_r x̃_r ⋆ dy_r as one spectrum: Σ_r F(x̃_r)·F(reverse(dy_r)), one inverse at the end;
      // output index i + L − 1 of the circular result is dg[i] (wrap-around stays below L − 1).
      using C = std::complex<T>;
      std::vector<C> a(N), bvec(N), fa(N), fb(N), acc(N, C(0));
      for (std::int64_t r = r0; r < r1; ++r) {
        gather_row(g, b, x + r * g.n, pad.data());
        for (std::size_t t = 0; t < N; ++t) a[t] = C(pad[t], 0);
        std::fill(bvec.begin(), bvec.end(), C(0));
        for (std::int64_t k = 0; k < g.out; ++k) bvec[std::size_t(g.out - 1 - k)] = C(dy[r * g.out + k], 0);
        conv->forward(a.data(), fa.data());
        conv->forward(bvec.data(), fb.data());
        for (std::size_t t = 0; t < N; ++t) acc[t] += fa[t] * fb[t];
      }
      if (r1 > r0) {
        conv->inverse(acc.data(), a.data());
        for (std::int64_t i = 0; i < g.m; ++i) dg[std::size_t(i)] = double(a[std::size_t(i + g.out - 1)].real());
      }
    } else {
      for (std::int64_t r = r0; r < r1; ++r) {
        gather_row(g, b, x + r * g.n, pad.data());
        slide_row_taps_adjoint(dy + r * g.out, pad.data(), g.m, g.out, dg.data());
      }
    }
#pragma omp critical(nodal_convolve1d_taps)
    for (std::int64_t i = 0; i < g.m; ++i) total[std::size_t(i)] += dg[std::size_t(i)];
  });
  return total;
}

Tensor run_forward(const Convolve1d& node, const Tensor& x_in, const Tensor& h) {
  const SignalGeometry g = node.geometry(x_in.shape(), h.shape());
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(g.output_shape, x.dtype());
  visit_real_dtype(x.dtype(), node.type(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    slide_rows<T>(g, node.boundary(), x.data<T>(), taps_of<T>(h, node.correlate()), y.data<T>());
  });
  return y;
}

struct Convolve1dCpu final : NodeImpl {
  // y = x̃ ⋆ g  (g = reverse(h) for convolve, h for correlate)
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = run_forward(c.as<Convolve1d>(), c.inputs[0], c.inputs[1]);
  }
  // dE/dx = Pᵀ(dE/dy ∗ g);  dE/dg = Σ_rows x̃ ⋆ dE/dy, reversed into dE/dh for convolve
  void vjp(const VjpCall& c) const override {
    const auto& node = c.as<Convolve1d>();
    const Tensor& x = c.inputs[0];
    const Tensor& h = c.inputs[1];
    const SignalGeometry g = node.geometry(x.shape(), h.shape());
    const Tensor dy = c.output_cotangents[0].contiguous();
    visit_real_dtype(x.dtype(), node.type(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (c.wanted[0]) {
        Tensor dx = Tensor::empty(x.shape(), x.dtype());
        slide_rows_adjoint<T>(g, node.boundary(), dy.data<T>(), taps_of<T>(h, node.correlate()), dx.data<T>());
        c.input_cotangents[0] = dx;
      }
      if (c.wanted[1]) {
        const Tensor xc = x.contiguous();
        std::vector<double> dg = taps_gradient<T>(g, node.boundary(), xc.data<T>(), dy.data<T>());
        if (!node.correlate()) std::reverse(dg.begin(), dg.end());
        Tensor dh = Tensor::empty(h.shape(), h.dtype());
        T* p = dh.data<T>();
        for (std::int64_t i = 0; i < g.m; ++i) p[i] = T(dg[std::size_t(i)]);
        c.input_cotangents[1] = dh;
      }
    });
  }
  // ẏ = conv(ẋ, h) + conv(x, ḣ)
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<Convolve1d>();
    Tensor out;
    if (c.input_tangents[0].defined()) out = run_forward(node, c.input_tangents[0], c.inputs[1]);
    if (c.input_tangents[1].defined()) {
      Tensor part = run_forward(node, c.inputs[0], c.input_tangents[1]);
      if (out.defined()) {
        visit_real_dtype(out.dtype(), node.type(), [&](auto tag) {
          using T = typename decltype(tag)::type;
          T* o = out.data<T>();
          const T* q = part.data<T>();
          for (std::int64_t i = 0; i < out.numel(); ++i) o[i] += q[i];
        });
      } else {
        out = part;
      }
    }
    c.output_tangents[0] = out;
  }
};

NODAL_REGISTER_IMPL("convolve", Backend::cpu, Convolve1dCpu);
NODAL_REGISTER_IMPL("correlate", Backend::cpu, Convolve1dCpu);

}  // namespace
}  // namespace nodal
