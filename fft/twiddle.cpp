// Exact-symmetry twiddles. exp(2πi e/N): write 4e = qN + r (integers, 0 ≤ r < N), so the angle is
// (q + r/N)·π/2. The quadrant q is applied by exact swaps and negations, and the residual angle
// φ = (r/N)·π/2 is folded to [0, π/4] via cos(φ) = sin(π/2 − φ), where long double sin/cos are accurate
// to ~1e-19, far below double's half ulp. Multiples of N/4 therefore give exactly ±1 and ±i.
#include "nodal/fft/twiddle.hpp"

#include <cmath>

namespace nodal::fft::detail {
namespace {

std::complex<long double> octant_root(std::uint64_t e, std::uint64_t N) {
  using u128 = unsigned __int128;
  e %= N;
  const u128 four_e = u128(e) * 4u;
  const unsigned q = unsigned(four_e / N);
  const std::uint64_t r = std::uint64_t(four_e % N);
  constexpr long double half_pi = 1.570796326794896619231321691639751442L;
  long double c, s;
  if (r == 0) {
    c = 1.0L;
    s = 0.0L;
  } else if (u128(r) * 2u <= N) {
    const long double phi = half_pi * (static_cast<long double>(r) / static_cast<long double>(N));
    c = std::cos(phi);
    s = std::sin(phi);
  } else {
    const long double phi = half_pi * (static_cast<long double>(N - r) / static_cast<long double>(N));
    c = std::sin(phi);
    s = std::cos(phi);
  }
  switch (q & 3u) {
    case 0: return {c, s};
    case 1: return {-s, c};
    case 2: return {-c, -s};
    default: return {s, -c};
  }
}

}  // namespace

std::complex<long double> unit_root_ld(std::uint64_t e, std::uint64_t N, int sign) {
  // exp(sign·πi·e/N) = exp(sign·2πi·e/(2N)).
  const auto z = octant_root(e % (2 * N), 2 * N);
  return sign < 0 ? std::conj(z) : z;
}

std::complex<double> unit_root(std::uint64_t e, std::uint64_t N, int sign) {
  const auto z = octant_root(e, N);
  const std::complex<double> d(double(z.real()), double(z.imag()));
  return sign < 0 ? std::conj(d) : d;
}

}  // namespace nodal::fft::detail
