#pragma once
// Complex arithmetic on one value (Cx) or on a 64-byte vector of interleaved complex values (CxV:
// 4 doubles or 8 floats as (re, im) pairs). Keeping the interleaved layout means loads and stores need no
// shuffles; multiplying by i is one in-register pair swap, and multiplying by a twiddle w uses
// a·w = a·(w.re, w.re) + swap(a)·(−w.im, w.im). GCC vector extensions give AVX-512 code with
// -march=native and portable code elsewhere.
#include <cstring>

#include "nodal/fft/node.hpp"

namespace nodal::fft::detail {

template <class Real>
struct VecTraits;
template <>
struct VecTraits<double> {
  typedef double V __attribute__((vector_size(64)));
  typedef long long Mask __attribute__((vector_size(64)));
  static constexpr int lanes = 4;  // complex values per vector
  static constexpr Mask swap = {1, 0, 3, 2, 5, 4, 7, 6};
};
template <>
struct VecTraits<float> {
  typedef float V __attribute__((vector_size(64)));
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
inline CxV<Real> operator+(CxV<Real> a, CxV<Real> b) { return {a.v + b.v}; }
template <class Real>
inline CxV<Real> operator-(CxV<Real> a, CxV<Real> b) { return {a.v - b.v}; }
template <class Real>
inline CxV<Real> scale(CxV<Real> a, Real s) { return {a.v * s}; }

template <class Real>
inline CxV<Real> load(const Cx<Real>* p) {
  CxV<Real> r;
  std::memcpy(&r.v, p, sizeof(r.v));
  return r;
}
template <class Real>
inline void store(Cx<Real>* p, CxV<Real> a) { std::memcpy(p, &a.v, sizeof(a.v)); }

// S·i·a for S = ±1: (re, im) → (−S·im, S·re).
template <int S, class Real>
inline CxV<Real> rot(CxV<Real> a) {
  using T = VecTraits<Real>;
  typename T::V sw = __builtin_shuffle(a.v, T::swap);
  typename T::V sign;
  for (int l = 0; l < T::lanes; ++l) {
    sign[2 * l] = Real(-S);
    sign[2 * l + 1] = Real(S);
  }
  return {sw * sign};
}
template <int S, class Real>
inline Cx<Real> rot(Cx<Real> a) {
  return S > 0 ? Cx<Real>{-a.im, a.re} : Cx<Real>{a.im, -a.re};
}

template <class Real>
inline TwV<Real> broadcast(Cx<Real> w) {
  TwV<Real> t;
  for (int l = 0; l < VecTraits<Real>::lanes; ++l) {
    t.re[2 * l] = w.re;
    t.re[2 * l + 1] = w.re;
    t.im[2 * l] = -w.im;
    t.im[2 * l + 1] = w.im;
  }
  return t;
}
template <class Real>
inline CxV<Real> twiddle(CxV<Real> a, const TwV<Real>& w) {
  using T = VecTraits<Real>;
  return {a.v * w.re + __builtin_shuffle(a.v, T::swap) * w.im};
}
template <class Real>
inline Cx<Real> twiddle(Cx<Real> a, Cx<Real> w) { return a * w; }

}  // namespace nodal::fft::detail
