// Kernels of the radix passes declared in radix_stage.hpp, instantiated for every butterfly radix,
// both directions and both precisions; make_stage picks one when a plan is built.
#include "nodal/fft/radix_stage.hpp"

#include "nodal/fft/twiddle.hpp"

namespace nodal::fft::detail {
namespace {

template <int P, int S, class T, class Real>
NODAL_FFT_INLINE void butterfly(T* a, const OddConstants<Real>& c) {
  if constexpr (P == 2) butterfly2<S>(a);
  else if constexpr (P == 4) butterfly4<S>(a);
  else if constexpr (P == 8) butterfly8<S, T, Real>(a);
  else butterfly_odd<P, S>(a, c);
}

constexpr int capacity(int P) { return P > 0 ? P : max_odd_radix; }

template <class Real, int P, int S>
void stockham_part(const RadixStage<Real>& st, const Cx<Real>* x, Cx<Real>* y, std::size_t k0, std::size_t k1,
                   std::size_t q0, std::size_t q1) {
  using V = CxV<Real>;
  constexpr int W = V::lanes;
  const int p = P > 0 ? P : st.p;
  const std::size_t m = st.m, s = st.s, ms = m * s;
  auto scalar = [&](std::size_t k, std::size_t q) __attribute__((always_inline)) {
    Cx<Real> a[capacity(P)];
    for (int j = 0; j < p; ++j) a[j] = x[q + s * k + j * ms];
    butterfly<P, S>(a, st.odd);
    Cx<Real>* yk = y + q + s * p * k;
    yk[0] = a[0];
    for (int j = 1; j < p; ++j) yk[j * s] = a[j] * st.w(j, k);
  };
  if (s >= std::size_t(W)) {
    for (std::size_t k = k0; k < k1; ++k) {
      TwV<Real> tw[capacity(P)];
      for (int j = 1; j < p; ++j) tw[j] = broadcast(st.w(j, k));
      const Cx<Real>* xk = x + s * k;
      Cx<Real>* yk = y + s * p * k;
      std::size_t q = q0;
      for (; q + W <= q1; q += W) {
        V a[capacity(P)];
        for (int j = 0; j < p; ++j) a[j] = load(xk + q + j * ms);
        butterfly<P, S>(a, st.odd);
        store(yk + q, a[0]);
        for (int j = 1; j < p; ++j) store(yk + q + j * s, twiddle(a[j], tw[j]));
      }
      for (; q < q1; ++q) scalar(k, q);
    }
  } else if (s == 1) {
    std::size_t k = k0;
    for (; k + W <= k1; k += W) {
      V a[capacity(P)];
      for (int j = 0; j < p; ++j) a[j] = load(x + k + j * m);
      butterfly<P, S>(a, st.odd);
      Cx<Real> lanes[capacity(P)][W];
      store(lanes[0], a[0]);
      for (int j = 1; j < p; ++j) store(lanes[j], twiddle(a[j], st.w_lanes(j, k)));
      Cx<Real>* yk = y + p * k;
      for (int l = 0; l < W; ++l)
        for (int j = 0; j < p; ++j) yk[p * l + j] = lanes[j][l];
    }
    for (; k < k1; ++k) scalar(k, 0);
  } else {
    for (std::size_t k = k0; k < k1; ++k)
      for (std::size_t q = q0; q < q1; ++q) scalar(k, q);
  }
}

template <class Real, int P, int S>
void stockham_pass(const RadixStage<Real>& st, const Cx<Real>* x, Cx<Real>* y, Cx<Real>*) {
  stockham_part<Real, P, S>(st, x, y, 0, st.m, 0, st.s);
}

template <class Real, int P, int S>
void stockham_lanes_pass(const RadixStage<Real>& st, const CxV<Real>* x, CxV<Real>* y) {
  const int p = P > 0 ? P : st.p;
  const std::size_t m = st.m, s = st.s, ms = m * s;
  for (std::size_t k = 0; k < m; ++k) {
    TwV<Real> tw[capacity(P)];
    for (int j = 1; j < p; ++j) tw[j] = broadcast(st.w(j, k));
    const CxV<Real>* xk = x + s * k;
    CxV<Real>* yk = y + s * p * k;
    for (std::size_t q = 0; q < s; ++q) {
      CxV<Real> a[capacity(P)];
      for (int j = 0; j < p; ++j) a[j] = xk[q + j * ms];
      butterfly<P, S>(a, st.odd);
      yk[q] = a[0];
      for (int j = 1; j < p; ++j) yk[q + j * s] = twiddle(a[j], tw[j]);
    }
  }
}

// DIF (Dit = false: butterfly then twiddle) and DIT (Dit = true: twiddle then butterfly), in place.
template <class Real, int P, int S, bool Dit>
void in_place_pass(const RadixStage<Real>& st, const Cx<Real>*, Cx<Real>* x, Cx<Real>*) {
  using V = CxV<Real>;
  constexpr int W = V::lanes;
  const int p = P > 0 ? P : st.p;
  const std::size_t m = st.m, n = m * p;
  for (std::size_t b = 0; b < st.s; ++b) {
    Cx<Real>* base = x + b * n;
    std::size_t k = 0;
    if (m >= std::size_t(W)) {
      for (; k + W <= m; k += W) {
        V a[capacity(P)];
        for (int j = 0; j < p; ++j) a[j] = load(base + k + j * m);
        if constexpr (Dit)
          for (int j = 1; j < p; ++j) a[j] = twiddle(a[j], st.w_lanes(j, k));
        butterfly<P, S>(a, st.odd);
        if constexpr (!Dit)
          for (int j = 1; j < p; ++j) a[j] = twiddle(a[j], st.w_lanes(j, k));
        for (int j = 0; j < p; ++j) store(base + k + j * m, a[j]);
      }
    }
    for (; k < m; ++k) {
      Cx<Real> a[capacity(P)];
      for (int j = 0; j < p; ++j) a[j] = base[k + j * m];
      if (m > 1 && Dit)
        for (int j = 1; j < p; ++j) a[j] = a[j] * st.w(j, k);
      butterfly<P, S>(a, st.odd);
      if (m > 1 && !Dit)
        for (int j = 1; j < p; ++j) a[j] = a[j] * st.w(j, k);
      for (int j = 0; j < p; ++j) base[k + j * m] = a[j];
    }
  }
}

// Radix without a butterfly: gather the p points, run the sub-transform, scatter (scalar).
template <class Real, bool Dit>
void sub_transform_pass(const RadixStage<Real>& st, const Cx<Real>*, Cx<Real>* x, Cx<Real>* work) {
  const std::size_t p = std::size_t(st.p), m = st.m, n = m * p;
  Cx<Real>* a = work;
  Cx<Real>* b = work + p;
  Cx<Real>* sub_work = work + 2 * p;
  for (std::size_t blk = 0; blk < st.s; ++blk) {
    Cx<Real>* base = x + blk * n;
    for (std::size_t k = 0; k < m; ++k) {
      for (std::size_t j = 0; j < p; ++j) a[j] = base[k + j * m];
      if (Dit && m > 1)
        for (std::size_t j = 1; j < p; ++j) a[j] = a[j] * st.w(int(j), k);
      st.sub->run(a, b, sub_work);
      if (!Dit && m > 1)
        for (std::size_t j = 1; j < p; ++j) b[j] = b[j] * st.w(int(j), k);
      for (std::size_t j = 0; j < p; ++j) base[k + j * m] = b[j];
    }
  }
}

template <class Real, int P, int S>
auto pick(Traversal t) -> void (*)(const RadixStage<Real>&, const Cx<Real>*, Cx<Real>*, Cx<Real>*) {
  switch (t) {
    case Traversal::stockham: return &stockham_pass<Real, P, S>;
    case Traversal::dif: return &in_place_pass<Real, P, S, false>;
    default: return &in_place_pass<Real, P, S, true>;
  }
}

template <class Real, int S>
auto pick_part(int p) -> void (*)(const RadixStage<Real>&, const Cx<Real>*, Cx<Real>*, std::size_t, std::size_t,
                                  std::size_t, std::size_t) {
  switch (p) {
    case 2: return &stockham_part<Real, 2, S>;
    case 3: return &stockham_part<Real, 3, S>;
    case 4: return &stockham_part<Real, 4, S>;
    case 5: return &stockham_part<Real, 5, S>;
    case 7: return &stockham_part<Real, 7, S>;
    case 8: return &stockham_part<Real, 8, S>;
    default: return &stockham_part<Real, 0, S>;
  }
}

template <class Real, int S>
auto pick_lanes(int p) -> void (*)(const RadixStage<Real>&, const CxV<Real>*, CxV<Real>*) {
  switch (p) {
    case 2: return &stockham_lanes_pass<Real, 2, S>;
    case 3: return &stockham_lanes_pass<Real, 3, S>;
    case 4: return &stockham_lanes_pass<Real, 4, S>;
    case 5: return &stockham_lanes_pass<Real, 5, S>;
    case 7: return &stockham_lanes_pass<Real, 7, S>;
    case 8: return &stockham_lanes_pass<Real, 8, S>;
    default: return &stockham_lanes_pass<Real, 0, S>;
  }
}

template <class Real, int S>
auto pick_radix(int p, Traversal t) -> void (*)(const RadixStage<Real>&, const Cx<Real>*, Cx<Real>*, Cx<Real>*) {
  switch (p) {
    case 2: return pick<Real, 2, S>(t);
    case 3: return pick<Real, 3, S>(t);
    case 4: return pick<Real, 4, S>(t);
    case 5: return pick<Real, 5, S>(t);
    case 7: return pick<Real, 7, S>(t);
    case 8: return pick<Real, 8, S>(t);
    default: return pick<Real, 0, S>(t);
  }
}

}  // namespace

template <class Real>
RadixStage<Real> make_stage(int p, std::size_t m, std::size_t s, int sign, Traversal traversal, NodePtr<Real> sub) {
  RadixStage<Real> st;
  st.p = p;
  st.m = m;
  st.s = s;
  const std::size_t n = std::size_t(p) * m;
  st.re.resize(std::size_t(p - 1) * 2 * m);
  st.im.resize(st.re.size());
  for (int j = 1; j < p; ++j)
    for (std::size_t k = 0; k < m; ++k) {
      const auto w = unit_root(std::uint64_t(j) * k, n, sign);
      const std::size_t at = std::size_t(j - 1) * 2 * m + 2 * k;
      st.re[at] = st.re[at + 1] = Real(w.real());
      st.im[at] = Real(-w.imag());
      st.im[at + 1] = Real(w.imag());
    }
  if (p % 2 == 1 && p <= max_odd_radix) {
    st.odd.p = p;
    for (int t = 0; t < p; ++t) {
      const auto w = unit_root(std::uint64_t(t), std::uint64_t(p), +1);
      st.odd.cos[t] = Real(w.real());
      st.odd.sin[t] = Real(w.imag());
    }
  }
  if (has_butterfly(std::size_t(p))) {
    st.pass = sign < 0 ? pick_radix<Real, -1>(p, traversal) : pick_radix<Real, +1>(p, traversal);
    if (traversal == Traversal::stockham) {
      st.pass_lanes = sign < 0 ? pick_lanes<Real, -1>(p) : pick_lanes<Real, +1>(p);
      st.pass_part = sign < 0 ? pick_part<Real, -1>(p) : pick_part<Real, +1>(p);
    }
  } else {
    st.sub = std::move(sub);
    st.pass = traversal == Traversal::dit ? &sub_transform_pass<Real, true> : &sub_transform_pass<Real, false>;
  }
  return st;
}

template RadixStage<float> make_stage<float>(int, std::size_t, std::size_t, int, Traversal, NodePtr<float>);
template RadixStage<double> make_stage<double>(int, std::size_t, std::size_t, int, Traversal, NodePtr<double>);

}  // namespace nodal::fft::detail
