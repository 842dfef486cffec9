// Mixed-radix index-digit reversal. For radices (r_0, …, r_{m−1}) a position p has big-endian digits
// p = ((d_0·r_1 + d_1)·r_2 + d_2)… and maps to the natural index k = d_0 + r_0·(d_1 + r_1·(d_2 + …)).
// This is the order in which a DIF with outermost radix r_0 leaves its spectrum, and the order a DIT
// with the same radix vector expects its input.
#include <fmt/format.h>

#include <atomic>

#include "nodal/core/error.hpp"
#include "nodal/fft/node.hpp"
#include "nodal/fft/plan.hpp"

namespace nodal::fft {
namespace {
std::atomic<std::size_t> permutation_passes{0};
}

void detail::note_permutation_pass() { permutation_passes.fetch_add(1, std::memory_order_relaxed); }
std::size_t permutation_pass_count() { return permutation_passes.load(std::memory_order_relaxed); }

std::vector<std::size_t> digit_reversal_permutation(const std::vector<std::size_t>& radices) {
  std::size_t total = 1;
  for (std::size_t r : radices) {
    if (r == 0) throw ValueError("fft::digit_reversal_permutation: a radix of 0 is not allowed");
    if (total > (std::size_t(1) << 40) / r)
      throw ValueError(fmt::format("fft::digit_reversal_permutation: product of {} radices exceeds 2^40",
                                   radices.size()));
    total *= r;
  }
  // Build by levels: after processing radices r_0..r_i, perm covers positions of the leading digits.
  std::vector<std::size_t> perm{0};
  std::size_t weight = 1;  // r_0·…·r_{i−1}: weight of digit i in the natural index
  for (std::size_t r : radices) {
    std::vector<std::size_t> next(perm.size() * r);
    for (std::size_t p = 0; p < perm.size(); ++p)
      for (std::size_t d = 0; d < r; ++d) next[p * r + d] = perm[p] + d * weight;
    perm = std::move(next);
    weight *= r;
  }
  return perm;
}

}  // namespace nodal::fft
