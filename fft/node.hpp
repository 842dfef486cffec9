#pragma once
// Internal interface of the FFT algorithm tree. Every algorithm (codelet stages, Good–Thomas, Rader,
// Bluestein, four-step, naive) is a Node that transforms one contiguous vector of length n. Nodes are
// immutable after construction, so one tree can be executed by many threads at once; all temporary
// storage comes from the caller's `work` array, which keeps execution allocation-free.
#include <complex>
#include <cstddef>
#include <memory>
#include <string>

#include "nodal/fft/plan.hpp"

namespace nodal::fft::detail {

// Layout-compatible with std::complex<Real> (an array of two Real), but with plain inline arithmetic:
// std::complex's operator* carries NaN-recovery branches that block vectorization.
template <class Real>
struct Cx {
  Real re, im;
};
template <class Real>
inline __attribute__((always_inline)) Cx<Real> operator+(Cx<Real> a, Cx<Real> b) { return {a.re + b.re, a.im + b.im}; }
template <class Real>
inline __attribute__((always_inline)) Cx<Real> operator-(Cx<Real> a, Cx<Real> b) { return {a.re - b.re, a.im - b.im}; }
template <class Real>
inline __attribute__((always_inline)) Cx<Real> operator*(Cx<Real> a, Cx<Real> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <class Real>
inline __attribute__((always_inline)) Cx<Real> scale(Cx<Real> a, Real s) { return {a.re * s, a.im * s}; }

template <class Real>
struct CxV;  // a vector of interleaved complex values (fft/simd.hpp)

template <class Real>
struct Node {
  Node(std::size_t length, int direction_sign) : n(length), sign(direction_sign) {}
  virtual ~Node() = default;
  const std::size_t n;
  const int sign;  // -1 forward (exp(-2πi nk/N)), +1 inverse

  // One transform: in → out, both contiguous, in != out, in left unchanged. `work` holds at least
  // work_size() elements.
  virtual void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const = 0;
  // `count` transforms of contiguous rows spaced n apart; nodes that can share passes override it.
  virtual void run_batch(const Cx<Real>* in, Cx<Real>* out, std::size_t count, Cx<Real>* work) const {
    for (std::size_t b = 0; b < count; ++b) run(in + b * n, out + b * n, work);
  }
  virtual std::size_t work_size() const = 0;
  virtual std::string describe() const = 0;

  // Optional lane engine: `a` holds n vectors, element i of `lanes` independent transforms in vector
  // i (64-byte aligned); `b` is a second such buffer. Returns the buffer holding the result, or
  // nullptr when the node has no lane engine (the caller then falls back to run_batch).
  virtual CxV<Real>* run_lanes(CxV<Real>* a, CxV<Real>* b) const { return nullptr; }
};

template <class Real>
using NodePtr = std::shared_ptr<const Node<Real>>;

// Builds the tree for a length-n transform (the planner, fft/planner.cpp).
template <class Real>
NodePtr<Real> plan_node(std::size_t n, int sign, Algorithm forced, Planning planning, Order order);

// Leaf and algorithm constructors, one per file.
template <class Real>
NodePtr<Real> make_naive(std::size_t n, int sign);

// Counts digit-reversal passes (instrumentation for the permutation-free tests).
void note_permutation_pass();

}  // namespace nodal::fft::detail
