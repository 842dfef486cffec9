#pragma once
// Bluestein's chirp w_j = exp(sign·iπ·j²/N), j < N. exact_reduction = true reduces j² mod 2N in
// 128-bit integers before the (long double) sine and cosine; false evaluates πj²/N in double precision
// as a naive implementation would (kept to demonstrate the phase loss at large N).
#include <complex>
#include <cstddef>
#include <vector>

namespace nodal::fft {

template <class Real>
std::vector<std::complex<Real>> bluestein_chirp(std::size_t n, int sign, bool exact_reduction);

}  // namespace nodal::fft
