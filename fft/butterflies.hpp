#pragma once
// Hand-written butterflies (small DFTs) on a scalar Cx or a vector CxV, for direction sign S = ±1
// (ω_P = exp(S·2πi/P)). Each computes y_k = Σ_j a_j ω_P^{jk} in place on the array a.
//   P = 2: y0 = a0 + a1, y1 = a0 − a1.
//   P = 4: two radix-2 layers; ω_4 = S·i is a swap, not a multiplication.
//   P = 8: radix-4 on even and odd halves combined with ω_8 = (1 + S·i)/√2.
//   P = 3, 5, 7 and any odd P (Singleton): pair a_j with a_{P−j}: s_j = a_j + a_{P−j},
//     d_j = a_j − a_{P−j}; then y_0 = a_0 + Σ s_j and for k = 1..(P−1)/2
//     A_k = a_0 + Σ_j cos(2πjk/P)·s_j,  B_k = Σ_j sin(2πjk/P)·d_j,
//     y_k = A_k + S·i·B_k,  y_{P−k} = A_k − S·i·B_k.
//     Only real×complex products remain: (P−1)²/2 of them instead of (P−1)² complex ones.
#include <cstddef>

#include "nodal/fft/simd.hpp"

namespace nodal::fft::detail {

// cos/sin(2πt/P) for t = 0..P−1, P ≤ max_odd_radix (filled in double precision, then rounded).
constexpr int max_odd_radix = 31;
template <class Real>
struct OddConstants {
  int p = 0;
  Real cos[max_odd_radix];
  Real sin[max_odd_radix];
};

template <int S, class T>
NODAL_FFT_INLINE void butterfly2(T* a) {
  const T t = a[0];
  a[0] = t + a[1];
  a[1] = t - a[1];
}

template <int S, class T>
NODAL_FFT_INLINE void butterfly4(T* a) {
  const T t0 = a[0] + a[2], t1 = a[0] - a[2];
  const T t2 = a[1] + a[3], t3 = rot<S>(a[1] - a[3]);
  a[0] = t0 + t2;
  a[2] = t0 - t2;
  a[1] = t1 + t3;
  a[3] = t1 - t3;
}

template <int S, class T, class Real>
NODAL_FFT_INLINE void butterfly8(T* a) {
  constexpr Real r = Real(0.70710678118654752440084436210484903928L);
  T e[4] = {a[0], a[2], a[4], a[6]};
  T o[4] = {a[1], a[3], a[5], a[7]};
  butterfly4<S>(e);
  butterfly4<S>(o);
  // ω8·o1 = (o1 + S·i·o1)/√2, ω8²·o2 = S·i·o2, ω8³·o3 = (−o3 + S·i·o3)/√2.
  const T w1 = scale(o[1] + rot<S>(o[1]), r);
  const T w2 = rot<S>(o[2]);
  const T w3 = scale(rot<S>(o[3]) - o[3], r);
  a[0] = e[0] + o[0];
  a[4] = e[0] - o[0];
  a[1] = e[1] + w1;
  a[5] = e[1] - w1;
  a[2] = e[2] + w2;
  a[6] = e[2] - w2;
  a[3] = e[3] + w3;
  a[7] = e[3] - w3;
}

// Singleton odd butterfly; P > 0 is a compile-time radix (3, 5, 7), P == 0 takes c.p at run time.
template <int P, int S, class T, class Real>
NODAL_FFT_INLINE void butterfly_odd(T* a, const OddConstants<Real>& c) {
  const int p = P > 0 ? P : c.p;
  const int half = (p - 1) / 2;
  T s[max_odd_radix / 2 + 1], d[max_odd_radix / 2 + 1];
  const T a0 = a[0];
  T y0 = a0;
  for (int j = 1; j <= half; ++j) {
    s[j] = a[j] + a[p - j];
    d[j] = a[j] - a[p - j];
    y0 = y0 + s[j];
  }
  a[0] = y0;
  for (int k = 1; k <= half; ++k) {
    T A = a0, B = scale(d[1], c.sin[k]);
    A = A + scale(s[1], c.cos[k]);
    int t = k;  // j·k mod p
    for (int j = 2; j <= half; ++j) {
      t += k;
      if (t >= p) t -= p;
      A = A + scale(s[j], c.cos[t]);
      B = B + scale(d[j], c.sin[t]);
    }
    const T iB = rot<S>(B);
    a[k] = A + iB;
    a[p - k] = A - iB;
  }
}

}  // namespace nodal::fft::detail
