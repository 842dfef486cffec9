#pragma once
// The split butterflies of the half-length real FFT (see real_plan.hpp), vectorized for contiguous
// bins. Bin k pairs with bin m−k, so a vector of L consecutive bins k0..k0+L−1 meets the vector of
// bins m−k0−L+1..m−k0 read backwards: one load, one lane reversal, one store per side. Complex
// values stay interleaved (re, im); ·i and conj are a pair swap and a sign flip. GCC vector
// extensions: AVX-512 with -march=native, plain SSE/AVX code elsewhere.
#include <complex>
#include <cstddef>
#include <cstring>

namespace nodal::fft::detail {

template <class Real>
struct SplitVec;
template <>
struct SplitVec<float> {
  typedef float V __attribute__((vector_size(64)));
  typedef int M __attribute__((vector_size(64)));
  static constexpr std::size_t lanes = 8;  // complex values per vector
  static constexpr M swap = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
  static constexpr M reverse = {14, 15, 12, 13, 10, 11, 8, 9, 6, 7, 4, 5, 2, 3, 0, 1};
  static constexpr M dup_re = {0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14};
  static constexpr M dup_im = {1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15};
  static constexpr V conj = {1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1};
};
template <>
struct SplitVec<double> {
  typedef double V __attribute__((vector_size(64)));
  typedef long long M __attribute__((vector_size(64)));
  static constexpr std::size_t lanes = 4;
  static constexpr M swap = {1, 0, 3, 2, 5, 4, 7, 6};
  static constexpr M reverse = {6, 7, 4, 5, 2, 3, 0, 1};
  static constexpr M dup_re = {0, 0, 2, 2, 4, 4, 6, 6};
  static constexpr M dup_im = {1, 1, 3, 3, 5, 5, 7, 7};
  static constexpr V conj = {1, -1, 1, -1, 1, -1, 1, -1};
};

template <class Real>
inline typename SplitVec<Real>::V split_load(const std::complex<Real>* p) {
  typename SplitVec<Real>::V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <class Real>
inline void split_store(std::complex<Real>* p, typename SplitVec<Real>::V v) {
  std::memcpy(static_cast<void*>(p), &v, sizeof(v));
}

// Forward split on contiguous bins y[0..m] (y[k] holds Z_k on entry), for the pairs k = 1 .. while
// 2k < m; returns the first k not done (the scalar loop finishes from there).
//   E = (Z_k + conj Z_{m−k})/2, O = −i/2·(Z_k − conj Z_{m−k}), F_k = s(E + wO), F_{m−k} = s·conj(E − wO)
template <class Real>
std::size_t split_forward_vector(std::complex<Real>* y, const std::complex<Real>* w, std::size_t m,
                                 Real scale) {
  using T = SplitVec<Real>;
  using V = typename T::V;
  constexpr std::size_t L = T::lanes;
  const V half = V{} + Real(0.5) * scale;
  std::size_t k = 1;
  for (; 2 * (k + L - 1) < m; k += L) {
    std::complex<Real>* hi_ptr = y + (m - k - L + 1);
    const V zk = split_load(y + k);
    const V zm = __builtin_shuffle(split_load(hi_ptr), T::reverse) * T::conj;  // conj Z_{m−k}
    const V e = (zk + zm) * half;                                               // s·E
    const V d = (zk - zm) * half;                                               // s·D/2
    const V o = __builtin_shuffle(d, T::swap) * T::conj;                        // −i·d = (d.im, −d.re)
    const V wv = split_load(w + k);
    const V wr = __builtin_shuffle(wv, T::dup_re), wi = __builtin_shuffle(wv, T::dup_im) * -T::conj;
    const V t = o * wr + __builtin_shuffle(o, T::swap) * wi;                   // w·o
    split_store(y + k, e + t);
    split_store(hi_ptr, __builtin_shuffle((e - t) * T::conj, T::reverse));
  }
  return k;
}

// Inverse pre-split from bins x[0..m] (contiguous) into z[0..m−1]:
//   P = X_k + conj X_{m−k}, Q = X_k − conj X_{m−k}, u = i·conj(w)·Q, Z_k = s(P + u), Z_{m−k} = s·conj(P − u)
// z may equal x (in place): each pair of vectors is loaded before either is stored.
template <class Real>
std::size_t split_inverse_vector(const std::complex<Real>* x, std::complex<Real>* z,
                                 const std::complex<Real>* w, std::size_t m, Real scale) {
  using T = SplitVec<Real>;
  using V = typename T::V;
  constexpr std::size_t L = T::lanes;
  const V s = V{} + scale;
  std::size_t k = 1;
  for (; 2 * (k + L - 1) < m; k += L) {
    const std::size_t hi = m - k - L + 1;
    const V xk = split_load(x + k) * s;
    const V xm = __builtin_shuffle(split_load(x + hi), T::reverse) * T::conj * s;  // s·conj X_{m−k}
    const V p = xk + xm, q = xk - xm;
    const V wv = split_load(w + k);
    // conj(w)·q = q·(wr, wr) + swap(q)·(wi, −wi)
    const V wr = __builtin_shuffle(wv, T::dup_re), wi = __builtin_shuffle(wv, T::dup_im) * T::conj;
    const V c = q * wr + __builtin_shuffle(q, T::swap) * wi;
    const V u = __builtin_shuffle(c, T::swap) * -T::conj;  // i·c = (−c.im, c.re)
    split_store(z + k, p + u);
    split_store(z + hi, __builtin_shuffle((p - u) * T::conj, T::reverse));
  }
  return k;
}

}  // namespace nodal::fft::detail
