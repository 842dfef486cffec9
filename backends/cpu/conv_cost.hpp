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
// (single-thread CPU time: robust on a busy machine), the MEDIAN over the benchmark layers of each
// algorithm's measured/estimated ratio, divided by its 2-thread speed-up measured in a quiet run
// (gemm 2.35, direct 2.0, winograd 1.85, fft family 1.7, helix 1.65). The median, not the
// geometric mean: the spectral estimates are pessimistic on large kernels (×0.56 at k11) and close
// on small ones (×0.79–0.84 at k3 and k5 with many channels), and a mean pulled down by the large
// kernels, where the spectral path wins by far anyway, made it look cheaper than winograd on the
// small-kernel layers where it is measured slower. docs/convolution.md has the figures and how
// well `auto` then picks. The two spectral tilings' medians differ by 1 % (0.765, 0.755) and
// their geometric means by 3 % in fft_tiled's favour; the table keeps that order (0.44, 0.45).
// Known limit: one factor per algorithm cannot follow an error that
// depends on the shape (gemm ×0.34–0.59, helix ×0.53–2.95 single-threaded over the layers).
struct Calibration {
  std::string_view algorithm;
  double factor;
};
inline constexpr Calibration calibration_table[] = {
    {"direct", 0.49}, {"gemm", 0.153}, {"fft", 0.42}, {"fft_tiled", 0.44}, {"fft_overlap_save", 0.45}, {"helix", 0.62},
    {"winograd", 1.0},
};
inline double calibration(std::string_view algorithm) {
  for (const Calibration& c : calibration_table)
    if (c.algorithm == algorithm) return c.factor;
  return 1.0;
}

}  // namespace nodal::cpu::conv_cost
