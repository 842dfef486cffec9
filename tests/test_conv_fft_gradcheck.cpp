// float64 gradcheck of the conv nodes computed by the spectral algorithms (fft, fft_tiled,
// fft_overlap_save, helix): full Jacobians from vjp and jvp against central differences, through
// the conv node's CPU implementation (which keeps the forward's spectra for the backward pass).
#include <doctest/doctest.h>

#include <memory>

#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/conv.hpp"

using namespace nodal;

namespace {

void check_grad(GradcheckResult r) {
  INFO(r.report());
  CHECK(bool(r));
}

ConvOptions options(std::vector<std::int64_t> stride, std::string padding, std::vector<std::int64_t> dilation,
                    std::int64_t groups, std::string algorithm) {
  ConvOptions o;
  o.stride = std::move(stride);
  o.padding = ConvPadding::parse(padding);
  o.dilation = std::move(dilation);
  o.groups = groups;
  o.algorithm = std::move(algorithm);
  return o;
}

Tensor randn64(const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::float64); }

}  // namespace

TEST_CASE("conv2d gradcheck with the spectral algorithms: stride groups dilation asymmetric padding bias") {
  for (const char* algorithm : {"fft", "fft_tiled", "fft_overlap_save", "helix"}) {
    INFO("algorithm " << algorithm);
    // Odd batch (the last pair has one sample), two groups, stride 2×1, dilation 1×2, asymmetric padding.
    auto a = std::make_shared<Conv>(2, options({2, 1}, "1,0,2,1", {1, 2}, 2, algorithm));
    check_grad(gradcheck(a, {randn64({3, 2, 6, 7}, 1), randn64({4, 1, 3, 2}, 2), randn64({4}, 3)}));
    // Depthwise, 'same' padding with an even kernel.
    auto b = std::make_shared<Conv>(2, options({1}, "same", {1}, 3, algorithm));
    check_grad(gradcheck(b, {randn64({2, 3, 5, 6}, 4), randn64({3, 1, 2, 4}, 5)}));
  }
}

TEST_CASE("conv1d and conv3d gradcheck with fft and fft_tiled") {
  for (const char* algorithm : {"fft", "fft_tiled"}) {
    INFO("algorithm " << algorithm);
    auto a = std::make_shared<Conv>(1, options({2}, "2,1", {2}, 1, algorithm));
    check_grad(gradcheck(a, {randn64({3, 2, 11}, 6), randn64({2, 2, 3}, 7)}));
    auto b = std::make_shared<Conv>(3, options({1, 2, 1}, "1", {1}, 1, algorithm));
    check_grad(gradcheck(b, {randn64({1, 2, 4, 5, 3}, 8), randn64({2, 2, 2, 3, 2}, 9)}));
  }
}
