#pragma once
#include <cstdint>
#include <vector>
// bench/fft --opencl (bench/fft_opencl.cpp): nodal's OpenCL FFTs against a device copy and VkFFT.
// total_log2 ≤ 0 picks the default (2^26 values on a GPU, 2^22 on a CPU device).
int run_opencl_fft_bench(int total_log2, bool quick, bool markdown, bool peer_wanted = true,
                         const std::vector<std::int64_t>& only = {});
// bench/fft --opencl --convolve: CircularConvolver against two natural-order transforms and VkFFT's pair.
int run_opencl_convolve_bench(int total_log2, bool quick, bool markdown, bool peer_wanted = true,
                              const std::vector<std::int64_t>& only = {});
