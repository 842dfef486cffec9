// Integer helpers of the prime-factor, Rader and Bluestein algorithms. Products go through 128-bit
// integers, so every n up to 2^40 (and beyond) is handled without overflow.
#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/number_theory.hpp"

namespace nodal::fft {
namespace detail {

std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, std::uint64_t m) {
  return std::uint64_t((unsigned __int128)a * b % m);
}

std::uint64_t pow_mod(std::uint64_t a, std::uint64_t e, std::uint64_t m) {
  std::uint64_t r = 1 % m;
  a %= m;
  while (e) {
    if (e & 1) r = mul_mod(r, a, m);
    a = mul_mod(a, a, m);
    e >>= 1;
  }
  return r;
}

std::vector<std::uint64_t> prime_factors(std::uint64_t n) {
  std::vector<std::uint64_t> f;
  for (std::uint64_t d = 2; d * d <= n; d += (d == 2 ? 1 : 2))
    while (n % d == 0) {
      f.push_back(d);
      n /= d;
    }
  if (n > 1) f.push_back(n);
  return f;
}

std::uint64_t gcd(std::uint64_t a, std::uint64_t b) {
  while (b) {
    const std::uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace detail

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  for (std::uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

std::uint64_t multiplicative_order(std::uint64_t g, std::uint64_t p) {
  if (p < 2 || detail::gcd(g % p, p) != 1)
    throw ValueError(fmt::format("fft::multiplicative_order: {} is not invertible modulo {}", g, p));
  std::uint64_t x = g % p, order = 1;
  while (x != 1) {
    x = detail::mul_mod(x, g, p);
    ++order;
  }
  return order;
}

// g generates (Z/pZ)* iff g^((p−1)/q) ≠ 1 for every prime q dividing p−1 (then its order is p−1).
std::uint64_t primitive_root(std::uint64_t p) {
  if (!is_prime(p)) throw ValueError(fmt::format("fft::primitive_root: {} is not a prime", p));
  if (p == 2) return 1;
  auto factors = detail::prime_factors(p - 1);
  for (std::uint64_t g = 2; g < p; ++g) {
    bool generator = true;
    for (std::uint64_t q : factors)
      if (detail::pow_mod(g, (p - 1) / q, p) == 1) {
        generator = false;
        break;
      }
    if (generator) return g;
  }
  throw ValueError(fmt::format("fft::primitive_root: no generator found modulo {}", p));
}

std::uint64_t inverse_mod(std::uint64_t a, std::uint64_t m) {
  // Extended Euclid on signed 128-bit values.
  __int128 t = 0, new_t = 1, r = m, new_r = a % m;
  while (new_r != 0) {
    const __int128 q = r / new_r;
    const __int128 tt = t - q * new_t;
    t = new_t;
    new_t = tt;
    const __int128 rr = r - q * new_r;
    r = new_r;
    new_r = rr;
  }
  if (r != 1) throw ValueError(fmt::format("fft::inverse_mod: {} has no inverse modulo {}", a, m));
  if (t < 0) t += m;
  return std::uint64_t(t);
}

GoodThomasMaps good_thomas_maps(std::size_t n1, std::size_t n2) {
  if (n1 < 1 || n2 < 1 || detail::gcd(n1, n2) != 1)
    throw ValueError(fmt::format("fft::good_thomas_maps: Good–Thomas needs coprime factors, got {} and {} (gcd {})",
                                 n1, n2, detail::gcd(n1, n2)));
  const std::size_t n = n1 * n2;
  GoodThomasMaps maps;
  maps.input.resize(n);
  maps.output.resize(n);
  // Input (Ruritanian): n = (i1·n2 + i2·n1) mod N. Output (CRT): k ≡ k1 (mod n1), k ≡ k2 (mod n2),
  // k = (k1·n2·(n2⁻¹ mod n1) + k2·n1·(n1⁻¹ mod n2)) mod N. Both indexed by i1·n2 + i2 (row-major n1×n2).
  const std::uint64_t e1 = detail::mul_mod(n2, n1 == 1 ? 0 : inverse_mod(n2 % n1, n1), n);
  const std::uint64_t e2 = detail::mul_mod(n1, n2 == 1 ? 0 : inverse_mod(n1 % n2, n2), n);
  for (std::size_t i1 = 0; i1 < n1; ++i1)
    for (std::size_t i2 = 0; i2 < n2; ++i2) {
      maps.input[i1 * n2 + i2] = (detail::mul_mod(i1, n2, n) + detail::mul_mod(i2, n1, n)) % n;
      maps.output[i1 * n2 + i2] = (detail::mul_mod(i1, e1, n) + detail::mul_mod(i2, e2, n)) % n;
    }
  return maps;
}

}  // namespace nodal::fft
