#pragma once
// One radix-p pass of mixed-radix Cooley–Tukey, in three traversals that share the butterflies:
//   Stockham (self-sorting, out of place): n = p·m, stride s (product of the radices before it):
//     y[q + s(p·k + j)] = ω_n^{jk} · Σ_i x[q + s(k + i·m)]·ω_p^{ij}      (k < m, q < s)
//   DIF in place, blocks of n = p·m:  x[k + j·m] ← ω_n^{jk} · Σ_i x[k + i·m]·ω_p^{ij}
//   DIT in place, blocks of n = p·m:  x[k + j·m] ← Σ_i ω_n^{ik}·x[k + i·m]·ω_p^{ij}
// Vectorization: over q when s ≥ lanes, over k otherwise (Stockham with s = 1 scatters the lanes;
// DIF/DIT vectorize over k whenever m ≥ lanes). Twiddles come from a per-stage table of ω_n^{jk}
// computed in double precision, stored lane-ready as (re, re) and (−im, im) pairs.
#include <vector>

#include "nodal/fft/butterflies.hpp"
#include "nodal/fft/node.hpp"

namespace nodal::fft::detail {

template <class Real>
struct RadixStage {
  int p = 1;             // radix
  std::size_t m = 1;     // n / p
  std::size_t s = 1;     // Stockham: stride; in place: number of blocks
  std::vector<Real> re;  // (p−1) rows of 2m: ω_n^{jk}.re twice
  std::vector<Real> im;  // (p−1) rows of 2m: −ω_n^{jk}.im, +ω_n^{jk}.im
  OddConstants<Real> odd{};
  NodePtr<Real> sub;     // radix without a butterfly: a length-p sub-transform
  void (*pass)(const RadixStage&, const Cx<Real>*, Cx<Real>*, Cx<Real>*) = nullptr;
  // Stockham only: the part k ∈ [k0, k1), q ∈ [q0, q1) of the pass (threads split a large pass).
  void (*pass_part)(const RadixStage&, const Cx<Real>*, Cx<Real>*, std::size_t k0, std::size_t k1, std::size_t q0,
                    std::size_t q1) = nullptr;
  // Stockham pass over elements that each hold `lanes` independent transforms (a batch transposed
  // so that element i of every row shares one vector): every operation is a full vector operation.
  void (*pass_lanes)(const RadixStage&, const CxV<Real>*, CxV<Real>*) = nullptr;

  NODAL_FFT_INLINE Cx<Real> w(int j, std::size_t k) const {
    const std::size_t at = std::size_t(j - 1) * 2 * m + 2 * k;
    return {re[at], im[at + 1]};
  }
  NODAL_FFT_INLINE TwV<Real> w_lanes(int j, std::size_t k) const {
    const std::size_t at = std::size_t(j - 1) * 2 * m + 2 * k;
    using U = typename VecTraits<Real>::Unaligned;
    return {*reinterpret_cast<const U*>(re.data() + at), *reinterpret_cast<const U*>(im.data() + at)};
  }
};

enum class Traversal { stockham, dif, dit };

// Builds the stage (twiddles, constants, kernel) for radix p at sub-length n = p·m. `sub` must be given
// when p has no butterfly (p > max_odd_radix, or even p other than 2, 4, 8); only DIF/DIT accept one.
template <class Real>
RadixStage<Real> make_stage(int p, std::size_t m, std::size_t s, int sign, Traversal traversal, NodePtr<Real> sub);

// Radices with a butterfly: 2, 4, 8 and odd p ≤ max_odd_radix.
inline bool has_butterfly(std::size_t p) {
  return p == 2 || p == 4 || p == 8 || (p % 2 == 1 && p >= 3 && p <= std::size_t(max_odd_radix));
}

}  // namespace nodal::fft::detail
