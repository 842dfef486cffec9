// The passes of kernels/fft_stockham.cl's transforms: which radices a length takes (radices_of),
// and which lengths have any (smooth). fft_stockham_plan.cpp plans with them, fft_stockham.cpp
// shapes the work-groups and writes the pass list from them.
#include "nodal/backends/opencl/fft_stockham_detail.hpp"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <string_view>
#include <vector>

namespace nodal::opencl::fft::stockham {

// The passes of a length-n transform. Each pass but the last is a round trip through local memory
// with two barriers (four in a split tile), so the fewest passes win, then the least arithmetic (real
// flops per value of our DFT_R, kernels/fft_radix.cl). The odd factors go to radices 3, 5, 7 or to
// the composite radices 6, 9, 10 (12, 14, 15 where radix 16 is allowed: radix16 in
// fft_stockham_plan.cpp), which take a factor 2 or 4 or a second odd factor into the same pass; the
// power of two left over takes radix 16 (where allowed) or 8 first, as before composites, so powers
// of two keep their passes. The primes 11, 13 and 19 are radices too, for the one-launch Rader
// (n − 1 with one of them); smooth() below, which the other plans go by, leaves them out.
// Powers of two come first, then the rest, each in decreasing order. NODAL_FFT_COMPOSITE=0 restores
// the radices before composites (2, 3, 4, 5, 7, 8, 16), for measuring.
namespace {
bool composite_radices() {
  static const bool on = [] {
    const char* v = std::getenv("NODAL_FFT_COMPOSITE");
    return !(v && std::string_view(v) == "0");
  }();
  return on;
}
}  // namespace

std::vector<int> radices_of(std::int64_t n, bool with16) {
  if (n < 2) return {};
  const auto greedy = [with16](std::int64_t c, std::initializer_list<int> order) {
    std::vector<int> radices;
    for (int r : order) {
      if (r == 16 && !with16) continue;
      while (c % r == 0) {
        radices.push_back(r);
        c /= r;
      }
    }
    return c == 1 ? radices : std::vector<int>{};
  };
  if (!composite_radices()) return greedy(n, {16, 8, 4, 2, 7, 5, 3, 11, 13, 19});
  const auto flops = [](int r) {  // per value
    switch (r) {
      case 16: return 11.4;
      case 15: return 15.7;
      case 14: return 16.6;
      case 12: return 9.3;
      case 10: return 12.4;
      case 9: return 13.3;
      case 8: return 7.0;
      case 7: return 14.6;
      case 6: return 7.3;
      case 5: return 10.4;
      case 4: return 4.0;
      case 3: return 5.3;
      case 11: return 23.6;  // DFT_ODD: 8h² + 12h real flops for h = (R − 1)/2, per value
      case 13: return 27.7;
      case 19: return 39.8;
      default: return 2.0;
    }
  };
  struct Choice {
    std::vector<int> radices;  // empty: none
    double flops = 0;
  };
  const auto better = [](const Choice& a, const Choice& b) {  // is a better than b?
    if (b.radices.empty()) return !a.radices.empty();
    if (a.radices.empty()) return false;
    if (a.radices.size() != b.radices.size()) return a.radices.size() < b.radices.size();
    return a.flops < b.flops - 1e-9;
  };
  // best[d] for every divisor d of n, smallest first: a power of two splits greedily, anything else
  // ends in one of the radices with an odd factor
  std::vector<std::int64_t> divisors;
  for (std::int64_t d = 1; d * d <= n; ++d)
    if (n % d == 0) {
      divisors.push_back(d);
      if (d * d != n) divisors.push_back(n / d);
    }
  std::sort(divisors.begin(), divisors.end());
  std::map<std::int64_t, Choice> best;
  for (std::int64_t d : divisors) {
    Choice c;
    if ((d & (d - 1)) == 0) {
      c.radices = greedy(d, {16, 8, 4, 2});
      for (int r : c.radices) c.flops += flops(r);
    } else {
      for (int r : {19, 15, 14, 13, 12, 11, 10, 9, 7, 6, 5, 3}) {
        if (d % r || (!with16 && (r == 12 || r == 14 || r == 15))) continue;  // composites above 10 need 16
        const Choice& rest = best[d / r];
        if (rest.radices.empty() && d != r) continue;
        Choice candidate = rest;
        candidate.radices.push_back(r);
        candidate.flops += flops(r);
        if (better(candidate, c)) c = std::move(candidate);
      }
    }
    best[d] = std::move(c);
  }
  std::vector<int> radices = best[n].radices;
  const auto power_of_two = [](int r) { return (r & (r - 1)) == 0; };
  std::stable_sort(radices.begin(), radices.end(), [&](int x, int y) {
    return power_of_two(x) != power_of_two(y) ? power_of_two(x) : x > y;
  });
  return radices;
}
bool smooth(std::int64_t n) {
  if (n < 2) return false;
  for (int f : {2, 3, 5, 7})
    while (n % f == 0) n /= f;
  return n == 1;
}

}  // namespace nodal::opencl::fft::stockham
