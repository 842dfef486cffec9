#pragma once
// Complex arithmetic on one value (Cx) or on a 64-byte vector of interleaved complex values (CxV:
// 4 doubles or 8 floats as (re, im) pairs). Keeping the interleaved layout means loads and stores need no
// shuffles; multiplying by i is one in-register pair swap, and multiplying by a twiddle w uses
// a·w = a·(w.re, w.re) + swap(a)·(−w.im, w.im). GCC vector extensions give AVX-512 code with
// -march=native and portable code elsewhere.
#include <cstring>

#include "nodal/fft/node.hpp"

// The pass kernels are large; without forcing, GCC stops inlining these one-liners into them.
#define NODAL_FFT_INLINE inline __attribute__((always_inline))

namespace nodal::fft::detail {

template <class Real>
struct VecTraits;
template <>
struct VecTraits<double> {
  typedef double V __attribute__((vector_size(64)));
  typedef double Unaligned __attribute__((vector_size(64), aligned(8), may_alias));
  typedef long long Mask __attribute__((vector_size(64)));
  static constexpr int lanes = 4;  // complex values per vector
  static constexpr Mask swap = {1, 0, 3, 2, 5, 4, 7, 6};
};
template <>
struct VecTraits<float> {
  typedef float V __attribute__((vector_size(64)));
  typedef float Unaligned __attribute__((vector_size(64), aligned(8), may_alias));
  typedef int Mask __attribute__((vector_size(64)));
  static constexpr int lanes = 8;
  static constexpr Mask swap = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14};
};

template <class Real>
struct CxV {
  using V = typename VecTraits<Real>::V;
  static constexpr int lanes = VecTraits<Real>::lanes;
  V v;
};
// A twiddle prepared for CxV multiplication: (w.re, w.re, …) and (−w.im, w.im, …).
template <class Real>
struct TwV {
  typename VecTraits<Real>::V re, im;
};

template <class Real>
NODAL_FFT_INLINE CxV<Real> operator+(CxV<Real> a, CxV<Real> b) { return {a.v + b.v}; }
template <class Real>
NODAL_FFT_INLINE CxV<Real> operator-(CxV<Real> a, CxV<Real> b) { return {a.v - b.v}; }
template <class Real>
NODAL_FFT_INLINE CxV<Real> scale(CxV<Real> a, Real s) { return {a.v * s}; }

// Unaligned vector load/store through a may_alias type: one vmovupd, no stack round trip (a memcpy
// into a vector can split into two 32-byte moves and defeat store-to-load forwarding).
template <class Real>
NODAL_FFT_INLINE typename VecTraits<Real>::V load_vector(const Cx<Real>* p) {
  return *reinterpret_cast<const typename VecTraits<Real>::Unaligned*>(p);
}
template <class Real>
NODAL_FFT_INLINE void store_vector(Cx<Real>* p, typename VecTraits<Real>::V v) {
  *reinterpret_cast<typename VecTraits<Real>::Unaligned*>(p) = v;
}
template <class Real>
NODAL_FFT_INLINE CxV<Real> load(const Cx<Real>* p) { return {load_vector(p)}; }
template <class Real>
NODAL_FFT_INLINE void store(Cx<Real>* p, CxV<Real> a) { store_vector(p, a.v); }

// S·i·a for S = ±1: (re, im) → (−S·im, S·re).
template <int S, class Real>
NODAL_FFT_INLINE CxV<Real> rot(CxV<Real> a) {
  using T = VecTraits<Real>;
  typename T::V sw = __builtin_shuffle(a.v, T::swap);
  typename T::V sign;
  for (int l = 0; l < T::lanes; ++l) {
    sign[2 * l] = Real(-S);
    sign[2 * l + 1] = Real(S);
  }
  return {sw * sign};  // a constant: folded at compile time
}
template <int S, class Real>
NODAL_FFT_INLINE Cx<Real> rot(Cx<Real> a) {
  return S > 0 ? Cx<Real>{-a.im, a.re} : Cx<Real>{a.im, -a.re};
}

// Built with whole-vector operations (broadcast, multiply by a constant ±1 pattern): filling lanes one by
// one makes GCC assemble the vector in memory with narrower stores, which then stall the wide load.
template <class Real>
NODAL_FFT_INLINE TwV<Real> broadcast(Cx<Real> w) {
  using V = typename VecTraits<Real>::V;
  V alternating;
  for (int l = 0; l < VecTraits<Real>::lanes; ++l) {
    alternating[2 * l] = Real(-1);
    alternating[2 * l + 1] = Real(1);
  }
  const V zero = {};
  return {zero + w.re, alternating * w.im};
}
template <class Real>
NODAL_FFT_INLINE CxV<Real> twiddle(CxV<Real> a, const TwV<Real>& w) {
  using T = VecTraits<Real>;
  return {a.v * w.re + __builtin_shuffle(a.v, T::swap) * w.im};
}
template <class Real>
NODAL_FFT_INLINE Cx<Real> twiddle(Cx<Real> a, Cx<Real> w) { return a * w; }

// In-register transpose of a lanes×lanes block of complex values: r[l] holds row l (lanes complex
// values); afterwards r[t] holds column t. Double: 4×4 of 128-bit complex values in two shuffle
// layers; float: 8×8 of 64-bit complex values in three (unpack, pair, quad).
NODAL_FFT_INLINE void transpose_lanes(VecTraits<double>::V (&r)[4]) {
  using V = VecTraits<double>::V;
  using M = VecTraits<double>::Mask;
  constexpr M lo = {0, 1, 8, 9, 2, 3, 10, 11}, hi = {4, 5, 12, 13, 6, 7, 14, 15};
  constexpr M first = {0, 1, 2, 3, 8, 9, 10, 11}, second = {4, 5, 6, 7, 12, 13, 14, 15};
  const V t0 = __builtin_shuffle(r[0], r[1], lo), t1 = __builtin_shuffle(r[0], r[1], hi);
  const V t2 = __builtin_shuffle(r[2], r[3], lo), t3 = __builtin_shuffle(r[2], r[3], hi);
  r[0] = __builtin_shuffle(t0, t2, first);
  r[1] = __builtin_shuffle(t0, t2, second);
  r[2] = __builtin_shuffle(t1, t3, first);
  r[3] = __builtin_shuffle(t1, t3, second);
}
NODAL_FFT_INLINE void transpose_lanes(VecTraits<float>::V (&rf)[8]) {
  typedef double D __attribute__((vector_size(64)));
  typedef long long M __attribute__((vector_size(64)));
  D r[8];
  std::memcpy(r, rf, sizeof(r));
  constexpr M even = {0, 8, 2, 10, 4, 12, 6, 14}, odd = {1, 9, 3, 11, 5, 13, 7, 15};
  constexpr M pair_lo = {0, 1, 8, 9, 4, 5, 12, 13}, pair_hi = {2, 3, 10, 11, 6, 7, 14, 15};
  constexpr M quad_lo = {0, 1, 2, 3, 8, 9, 10, 11}, quad_hi = {4, 5, 6, 7, 12, 13, 14, 15};
  D a[8], b[8];
  for (int i = 0; i < 8; i += 2) {
    a[i] = __builtin_shuffle(r[i], r[i + 1], even);
    a[i + 1] = __builtin_shuffle(r[i], r[i + 1], odd);
  }
  for (int i = 0; i < 8; i += 4) {
    b[i + 0] = __builtin_shuffle(a[i + 0], a[i + 2], pair_lo);
    b[i + 2] = __builtin_shuffle(a[i + 0], a[i + 2], pair_hi);
    b[i + 1] = __builtin_shuffle(a[i + 1], a[i + 3], pair_lo);
    b[i + 3] = __builtin_shuffle(a[i + 1], a[i + 3], pair_hi);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = __builtin_shuffle(b[i], b[i + 4], quad_lo);
    r[i + 4] = __builtin_shuffle(b[i], b[i + 4], quad_hi);
  }
  std::memcpy(rf, r, sizeof(r));
}

}  // namespace nodal::fft::detail
