#pragma once
// Test-only references for the FFT tests: an O(N²) DFT in long double whose twiddle angle is reduced
// exactly in integers ((n·k) mod N), so its own error is ~1e-18 relative and it can judge float32
// and float64 transforms. Also deterministic random data and the relative L2 error.
#include <cmath>
#include <complex>
#include <cstddef>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

namespace nodal::fft::testing {

using ComplexLD = std::complex<long double>;

// One table of exp(sign·2πi·m/N), m = 0..N−1; the DFT indexes it with (n·k) mod N.
inline std::vector<ComplexLD> root_table(std::size_t n, int sign) {
  const long double two_pi = 6.283185307179586476925286766559005768L;
  std::vector<ComplexLD> roots(n);
  for (std::size_t m = 0; m < n; ++m) {
    const long double angle = sign * two_pi * static_cast<long double>(m) / n;
    roots[m] = ComplexLD(std::cos(angle), std::sin(angle));
  }
  return roots;
}

// y_k = Σ_n x_n · exp(∓2πi·n·k/N): forward uses −, inverse +; no scaling.
inline std::vector<ComplexLD> naive_dft(const std::vector<ComplexLD>& x, bool inverse = false) {
  const std::size_t n = x.size();
  const auto roots = root_table(n, inverse ? +1 : -1);
  std::vector<ComplexLD> y(n);
  for (std::size_t k = 0; k < n; ++k) {
    ComplexLD sum = 0;
    for (std::size_t j = 0; j < n; ++j) sum += x[j] * roots[(j * k) % n];
    y[k] = sum;
  }
  return y;
}

// Row-major multi-dimensional DFT by definition (a sum over every input index for every output
// index, no row–column factorisation), for small shapes.
inline std::vector<ComplexLD> naive_dft_nd(const std::vector<ComplexLD>& x,
                                           const std::vector<std::size_t>& shape,
                                           bool inverse = false) {
  std::size_t total = 1;
  for (auto s : shape) total *= s;
  std::vector<std::vector<ComplexLD>> roots;
  for (auto s : shape) roots.push_back(root_table(s, inverse ? +1 : -1));
  const std::size_t dims = shape.size();
  std::vector<ComplexLD> y(total);
  std::vector<std::size_t> k(dims), j(dims);
  for (std::size_t out = 0; out < total; ++out) {
    for (std::size_t d = dims, rest = out; d-- > 0;) k[d] = rest % shape[d], rest /= shape[d];
    ComplexLD sum = 0;
    for (std::size_t in = 0; in < total; ++in) {
      for (std::size_t d = dims, rest = in; d-- > 0;) j[d] = rest % shape[d], rest /= shape[d];
      ComplexLD w = 1;
      for (std::size_t d = 0; d < dims; ++d) w *= roots[d][(j[d] * k[d]) % shape[d]];
      sum += x[in] * w;
    }
    y[out] = sum;
  }
  return y;
}

template <class Real>
std::vector<Real> random_reals(std::size_t n, unsigned seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<Real> v(n);
  for (auto& x : v) x = static_cast<Real>(uniform(engine));
  return v;
}

template <class Real>
std::vector<std::complex<Real>> random_complex(std::size_t n, unsigned seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<std::complex<Real>> v(n);
  for (auto& x : v) {
    const double re = uniform(engine), im = uniform(engine);
    x = std::complex<Real>(static_cast<Real>(re), static_cast<Real>(im));
  }
  return v;
}

template <class T>
std::vector<ComplexLD> to_long_double(const std::vector<T>& v) {
  std::vector<ComplexLD> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if constexpr (std::is_arithmetic_v<T>) out[i] = ComplexLD(static_cast<long double>(v[i]), 0);
    else out[i] = ComplexLD(v[i].real(), v[i].imag());
  }
  return out;
}

// ‖y − ref‖₂ / ‖ref‖₂ over the first `count` elements (all when count is 0).
template <class T>
long double relative_l2_error(const std::vector<T>& y, const std::vector<ComplexLD>& ref,
                              std::size_t count = 0) {
  if (count == 0) count = ref.size();
  long double diff = 0, norm = 0;
  for (std::size_t i = 0; i < count; ++i) {
    ComplexLD yi;
    if constexpr (std::is_arithmetic_v<T>) yi = ComplexLD(static_cast<long double>(y[i]), 0);
    else yi = ComplexLD(y[i].real(), y[i].imag());
    diff += std::norm(yi - ref[i]);
    norm += std::norm(ref[i]);
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// Tolerance on the relative L2 error of a transform of length n in precision Real. A radix
// Cooley–Tukey FFT with exact twiddles has RMS relative error about c·ε·sqrt(log2 n) (cascade
// summation), with c of order 1; Bluestein/Rader add the error of three transforms of length
// ≥ 2n. 30·ε·(1 + log2 n) leaves a margin of ~10x over measured errors yet stays far below the
// O(1) error of any indexing or twiddle mistake.
template <class Real>
long double fft_tolerance(std::size_t n) {
  const long double eps = std::numeric_limits<Real>::epsilon();
  return 30 * eps * (1 + std::log2(static_cast<long double>(n) + 1));
}

}  // namespace nodal::fft::testing
