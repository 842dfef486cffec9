#pragma once
// Number theory behind Good–Thomas (CRT and Ruritanian index maps) and Rader (primitive roots),
// public so tests can check the maps are bijections and the generators have order p−1.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nodal::fft {

bool is_prime(std::uint64_t n);
std::uint64_t primitive_root(std::uint64_t p);  // smallest generator of (Z/pZ)*; ValueError if p is not prime
std::uint64_t multiplicative_order(std::uint64_t g, std::uint64_t p);
std::uint64_t inverse_mod(std::uint64_t a, std::uint64_t m);  // ValueError if gcd(a, m) ≠ 1

// Index maps of an n1×n2 Good–Thomas split (gcd(n1, n2) = 1, else ValueError), both indexed by the
// row-major position i1·n2 + i2: input[i] is the time index read into (i1, i2), output[i] the
// frequency index that (k1 = i1, k2 = i2) lands on.
struct GoodThomasMaps {
  std::vector<std::size_t> input, output;
};
GoodThomasMaps good_thomas_maps(std::size_t n1, std::size_t n2);

}  // namespace nodal::fft
