#pragma once
// Reference DFTs for the FFT tests, independent of the code under test: the naive O(N²) sum in long
// double with the angle reduced exactly as 2π·((j·k) mod N)/N, and single bins of it for large N.
#include <cmath>
#include <complex>
#include <cstddef>
#include <random>
#include <vector>

namespace fft_reference {

using LC = std::complex<long double>;

inline LC root(std::size_t e, std::size_t n, int sign) {
  const long double angle = sign * 2.0L * 3.141592653589793238462643383279502884L * (long double)(e % n) / n;
  return {std::cos(angle), std::sin(angle)};
}

// One output bin k of the DFT of x (sign −1 forward, +1 inverse), O(N).
template <class T>
LC bin(const std::vector<std::complex<T>>& x, std::size_t k, int sign) {
  const std::size_t n = x.size();
  LC sum = 0;
  std::size_t jk = 0;
  for (std::size_t j = 0; j < n; ++j) {
    sum += LC(x[j].real(), x[j].imag()) * root(jk, n, sign);
    jk += k;
    if (jk >= n) jk -= n;
  }
  return sum;
}

// The n roots exp(sign·2πi·e/n), for repeated single bins of one length.
inline std::vector<LC> roots(std::size_t n, int sign) {
  std::vector<LC> table(n);
  for (std::size_t e = 0; e < n; ++e) table[e] = root(e, n, sign);
  return table;
}

// Bin k of the DFT of x with a precomputed root table (sign is the table's).
template <class T>
LC bin(const std::vector<std::complex<T>>& x, std::size_t k, const std::vector<LC>& table) {
  const std::size_t n = x.size();
  LC sum = 0;
  std::size_t jk = 0;
  for (std::size_t j = 0; j < n; ++j) {
    sum += LC(x[j].real(), x[j].imag()) * table[jk];
    jk += k;
    if (jk >= n) jk -= n;
  }
  return sum;
}

// Full naive DFT with a root table, O(N²).
template <class T>
std::vector<LC> dft(const std::vector<std::complex<T>>& x, int sign) {
  const std::size_t n = x.size();
  std::vector<LC> table(n), out(n);
  for (std::size_t e = 0; e < n; ++e) table[e] = root(e, n, sign);
  for (std::size_t k = 0; k < n; ++k) {
    LC sum = 0;
    std::size_t jk = 0;
    for (std::size_t j = 0; j < n; ++j) {
      sum += LC(x[j].real(), x[j].imag()) * table[jk];
      jk += k;
      if (jk >= n) jk -= n;
    }
    out[k] = sum;
  }
  return out;
}

// Relative L2 error ||y − ref|| / ||ref|| over the given bins (all when bins is empty).
template <class T>
double relative_error(const std::vector<std::complex<T>>& y, const std::vector<LC>& ref,
                      const std::vector<std::size_t>& bins = {}) {
  long double num = 0, den = 0;
  auto add = [&](std::size_t k, const LC& r) {
    const LC d = LC(y[k].real(), y[k].imag()) - r;
    num += std::norm(d);
    den += std::norm(r);
  };
  if (bins.empty())
    for (std::size_t k = 0; k < ref.size(); ++k) add(k, ref[k]);
  else
    for (std::size_t i = 0; i < bins.size(); ++i) add(bins[i], ref[i]);
  return den == 0 ? double(std::sqrt(num)) : double(std::sqrt(num / den));
}

template <class T>
std::vector<std::complex<T>> random_signal(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<std::complex<T>> x(n);
  for (auto& v : x) v = {T(u(rng)), T(u(rng))};
  return x;
}

}  // namespace fft_reference
