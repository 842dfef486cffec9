#pragma once
// The cost model behind `algorithm = auto`: each algorithm estimates its forward + backward time as
// flops at the rate its inner loop sustains plus bytes at memory bandwidth. The rates are this
// project's 2-core AVX-512 machine's, measured by bench/conv (docs/convolution.md); only their
// ratios matter for the choice.
#include <cstdint>

#include "nodal/core/dtype.hpp"

namespace nodal::cpu::conv_cost {

// Sustained rates, float32 (float64 halves the flop rates).
inline constexpr double gemm_flops_per_s = 150e9;       // Eigen GEMM, large well-shaped products
inline constexpr double direct_flops_per_s = 60e9;      // vectorized direct loops
inline constexpr double fft_flops_per_s = 25e9;         // our real/complex FFT passes (5·n·log2 n convention)
inline constexpr double spectral_mac_flops_per_s = 80e9;  // complex multiply-accumulate over channels
inline constexpr double bytes_per_s = 8e9;              // memory traffic beyond the caches

inline double rate_scale(DType dtype) { return dtype == DType::float64 ? 0.5 : 1.0; }
inline double element_bytes(DType dtype) { return dtype == DType::float64 ? 8.0 : 4.0; }

}  // namespace nodal::cpu::conv_cost
