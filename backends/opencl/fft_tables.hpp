#pragma once
// Host tables of the OpenCL FFTs, computed in double precision and uploaded as complex values of
// the transform's precision: shared by the generic plans (fft_plan_build.cpp, which defines them)
// and the specialised kernels' plans (fft_stockham_plan.cpp).
#include <complex>
#include <cstdint>
#include <memory>
#include <vector>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl::fft {

// exp(−2πi·x/n) with x reduced exactly first, so large products keep full double accuracy
std::complex<double> root(std::int64_t x, std::int64_t n);
// A device buffer holding `values` as complex numbers of `real` precision.
std::shared_ptr<Buffer> upload_table(Context& context, const std::vector<std::complex<double>>& values, DType real);
// Stockham pass twiddles: per pass of `radices`, ns·(R−1) values w_{ns·R}^(t·k), k < ns, t = 1..R−1,
// k-major (a butterfly's R − 1 twiddles adjacent). t-major, so that a warp's loads of one twiddle
// read consecutive addresses, measured no better on the H100 (geometric mean over 42 lengths within
// 1 %; Rader 65537 6 % and 10369 48 % slower, 2^22 11 % and 5003 8 % faster).
std::vector<std::complex<double>> pass_twiddle_values(const std::vector<int>& radices);
// w_n^x = lo[x % split]·hi[x / split] for x < n (four-step twiddles).
struct TwoLevelTwiddles {
  std::shared_ptr<Buffer> lo, hi;
};
TwoLevelTwiddles two_level_twiddles(Context& context, std::int64_t n, std::int64_t split, DType real);
// Bluestein with convolution length m ≥ 2n − 1: forward, chirp w_j = exp(−iπj²/n) and the spectrum
// FFT_m of the filter conj(w_|j|); inverse, the conjugate chirp and its filter's spectrum.
struct BluesteinTables {
  std::vector<std::complex<double>> chirp, spectrum;
};
BluesteinTables bluestein_tables(std::int64_t n, std::int64_t m, bool inverse);
// The scrambled order of an n1 × n2 four-step (fft_plan.hpp, Order): position k1·n2 + k2 holds
// bin k1 + n1·k2; the identity for n1 = 1.
std::vector<std::int64_t> scrambled_positions(std::int64_t n1, std::int64_t n2);
// `values` (natural bin order) rearranged into that order.
std::vector<std::complex<double>> scrambled(const std::vector<std::complex<double>>& values, std::int64_t n1,
                                            std::int64_t n2);

}  // namespace nodal::opencl::fft
