#pragma once
// The cost model behind `algorithm = auto`: each algorithm estimates its forward + backward time as
// flops at the rate its inner loop sustains plus bytes at memory bandwidth. The rates are this
// project's 2-core AVX-512 machine's, measured by bench/conv (docs/convolution.md); only their
// ratios matter for the choice.
//
// The selector (conv_select.cpp) multiplies each algorithm's estimate by calibration(name): the
// ratio measured / estimated on the benchmark shapes, so that an estimate that is systematically
// off is corrected here, in one table, without editing the algorithm's file.
#include <cstdint>
#include <string_view>

#include "nodal/core/dtype.hpp"

namespace nodal::cpu::conv_cost {

// Sustained rates, float32 (float64 halves the flop rates).
inline constexpr double gemm_flops_per_s = 150e9;       // Eigen GEMM, large well-shaped products
inline constexpr double direct_flops_per_s = 60e9;      // vectorized direct loops
inline constexpr double fft_flops_per_s = 25e9;         // our real/complex FFT passes (5·n·log2 n convention)
inline constexpr double spectral_mac_flops_per_s = 80e9;  // complex multiply-accumulate over channels
// Winograd: its channel products and its tile transforms (with gathers and scatters), fitted by
// least squares on single-thread CPU time over 11 layers (1–128 channels, 7²–64² images, 3×3
// and 5×5; within 20 % on each) and scaled by a 2-thread speed-up of 1.85.
inline constexpr double winograd_flops_per_s = 184e9;
inline constexpr double winograd_transform_flops_per_s = 103e9;
inline constexpr double bytes_per_s = 8e9;              // memory traffic beyond the caches

inline double rate_scale(DType dtype) { return dtype == DType::float64 ? 0.5 : 1.0; }
inline double element_bytes(DType dtype) { return dtype == DType::float64 ? 8.0 : 4.0; }

// Per-algorithm calibration: measured / estimated forward+backward seconds on this machine, so
// that an estimate that is systematically off is corrected here, in one table, without editing
// the algorithm's file. Derived from `bench/conv --direct-calls --calibrate --threads 1 --cpu-time`
// (single-thread CPU time, geometric mean over the 6 benchmark layers: robust on a busy machine)
// divided by each algorithm's 2-thread speed-up measured in a quiet run (gemm 2.35, direct 2.0,
// fft family 1.7, helix 1.65). docs/convolution.md has the figures and how well `auto` then picks. Known limit: gemm's error depends on the
// shape (×0.36 to ×0.61 single-threaded over the layers; worse than estimated on 1-channel images,
// where its products are matrix-vector), which one factor cannot follow.
struct Calibration {
  std::string_view algorithm;
  double factor;
};
inline constexpr Calibration calibration_table[] = {
    {"direct", 1.1}, {"gemm", 0.2}, {"fft", 0.63}, {"fft_tiled", 0.64}, {"fft_overlap_save", 0.65}, {"helix", 0.88},
};
inline double calibration(std::string_view algorithm) {
  for (const Calibration& c : calibration_table)
    if (c.algorithm == algorithm) return c.factor;
  return 1.0;
}

}  // namespace nodal::cpu::conv_cost
