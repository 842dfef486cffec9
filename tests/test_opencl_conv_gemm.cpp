// The OpenCL convolution algorithm `gemm` (im2col + opencl::gemm, backends/opencl/conv_gemm.cpp)
// against the CPU backend (PoCL in CI): conv1d/2d/3d over the whole grid of test_opencl_conv.cpp
// and conv_transpose1d/2d/3d, forward, vjp of every input and jvp, float32 and float64.
// Tolerance: tests/opencl_conv_util.hpp ((m + 2) · ε · Σ|terms| per element). A file of its own
// so that each file's cold-cache run (PoCL compiling the kernels) stays short.
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL conv gemm tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <fmt/format.h>

#include "opencl_conv_cases.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using namespace nodal::test;

TEST_CASE("conv1d/2d/3d with algorithm gemm (im2col + device GEMM) on OpenCL match the CPU backend") {
  if (!opencl_present()) return;
  MESSAGE(fmt::format("conv, algorithm gemm: largest error {:.3f} · m · ε · Σ|terms|", run_conv_grid(false, "gemm")));
}

TEST_CASE("conv_transpose1d/2d/3d with algorithm gemm on OpenCL match the CPU backend") {
  if (!opencl_present()) return;
  MESSAGE(fmt::format("conv_transpose, algorithm gemm: largest error {:.3f} · m · ε · Σ|terms|",
                      run_transpose_grid("gemm")));
}

#endif
