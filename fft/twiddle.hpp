#pragma once
// Twiddle factors exp(sign·2πi·e/N) computed exactly enough to round correctly to double: the exponent
// is reduced in integers to the first octant, the sine and cosine are taken in long double, and the
// symmetries (±1, ±i at multiples of N/4, conjugate pairs) are exact by construction. No recurrences.
#include <complex>
#include <cstdint>

namespace nodal::fft::detail {

// exp(sign·2πi·e/N) for any e (reduced mod N), N ≥ 1.
std::complex<double> unit_root(std::uint64_t e, std::uint64_t N, int sign);
// Same but with a numerator over 2N given exactly: exp(sign·πi·e/N) (Bluestein's chirp, e = k² mod 2N).
std::complex<long double> unit_root_ld(std::uint64_t e, std::uint64_t N, int sign);

}  // namespace nodal::fft::detail
