#pragma once
// The convolution case grid shared by test_opencl_conv.cpp (direct kernels) and
// test_opencl_conv_gemm.cpp (algorithm gemm): batch 1 and 3; channels 1, 3, 8; groups and
// depthwise; kernels 1, 3, 4, 5, 7, 11, 3×7; stride 1–3; dilation 1–2; padding 0, same,
// asymmetric; images 1×1 to 67×53; 1-D and 3-D; flip; bias; empty batch; no input channels; and
// the conv_transpose cases. Each case runs forward, vjp and jvp on both backends in float32 and
// float64 and is checked by check_parity (opencl_conv_util.hpp).
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/conv_transpose.hpp"
#include "opencl_conv_util.hpp"

namespace nodal::test {

inline const DType real_dtypes[] = {DType::float32, DType::float64};

inline Tensor random(const Shape& shape, std::uint64_t seed, DType dtype) {
  return Tensor::randn(shape, seed, DType::float64).astype(dtype);
}

struct ConvCase {
  int rank;
  std::int64_t batch, cin, cout, groups;
  std::vector<std::int64_t> in, kernel, stride, dilation;
  ConvPadding padding;
  bool flip, bias;
};

// Batch 1 and 3; channels 1, 3, 8; groups and depthwise; kernels 1, 3, 4, 5, 7, 11, 3×7; stride
// 1–3; dilation 1–2; padding 0, same, asymmetric; images 1×1 to 67×53; 1-D and 3-D.
inline const std::vector<ConvCase> conv_cases = {
    {2, 1, 1, 1, 1, {5, 5}, {3, 3}, {1}, {1}, ConvPadding::all(0), false, false},
    {2, 3, 3, 8, 1, {17, 13}, {3, 3}, {1}, {1}, ConvPadding::same(), false, true},
    {2, 1, 8, 8, 8, {12, 11}, {5, 5}, {2}, {1}, ConvPadding::all(2), false, true},  // depthwise
    {2, 3, 8, 4, 2, {9, 20}, {3, 7}, {1, 2}, {2}, ConvPadding::per_side({1, 2, 0, 3}), true, false},
    {2, 1, 3, 3, 1, {1, 1}, {1, 1}, {1}, {1}, ConvPadding::all(0), false, true},
    {2, 3, 1, 6, 1, {28, 28}, {5, 5}, {1}, {1}, ConvPadding::all(2), false, true},  // LeNet's first layer
    {2, 3, 6, 16, 1, {14, 14}, {5, 5}, {1}, {1}, ConvPadding::all(0), false, true},
    {2, 1, 3, 2, 1, {67, 53}, {11, 11}, {3}, {1}, ConvPadding::all(5), false, true},
    {2, 1, 1, 2, 1, {9, 9}, {7, 7}, {1}, {2}, ConvPadding::all(6), true, false},
    {2, 3, 3, 8, 1, {8, 8}, {4, 4}, {2}, {1}, ConvPadding::all(1), false, false},
    {2, 1, 3, 6, 3, {7, 10}, {3, 7}, {3}, {1}, ConvPadding::same(), true, true},
    {1, 3, 3, 8, 1, {50}, {5}, {2}, {1}, ConvPadding::all(2), false, true},
    {1, 1, 8, 8, 8, {33}, {11}, {1}, {2}, ConvPadding::same(), true, false},
    {3, 1, 3, 4, 1, {6, 7, 5}, {3, 3, 3}, {1}, {1}, ConvPadding::all(1), false, true},
    {3, 3, 2, 4, 2, {5, 6, 7}, {2, 3, 3}, {1, 2, 1}, {2, 1, 1}, ConvPadding::per_side({0, 1, 1, 0, 2, 1}), true, false},
    {2, 0, 3, 4, 1, {5, 5}, {3, 3}, {1}, {1}, ConvPadding::all(1), false, true},  // empty batch
    // No input channels: y = b, so b̄ = Σ ȳ on both backends
    {2, 2, 0, 4, 1, {5, 5}, {3, 3}, {1}, {1}, ConvPadding::all(1), false, true},
};

inline Shape with_spatial(std::int64_t a, std::int64_t b, const std::vector<std::int64_t>& s) {
  Shape shape{a, b};
  for (std::int64_t v : s) shape.push_back(v);
  return shape;
}

inline std::string describe_case(const ConvCase& c) {
  return fmt::format("conv{}d n{} c{}->{} g{} in {} k {} s {} d {} p {} flip={} bias={}", c.rank, c.batch, c.cin, c.cout,
                     c.groups, fmt::join(c.in, "x"), fmt::join(c.kernel, "x"), fmt::join(c.stride, ","),
                     fmt::join(c.dilation, ","), c.padding.to_string(), c.flip, c.bias);
}

// The conv node of a case, with the algorithm given.
inline Conv conv_node_of(const ConvCase& c, const std::string& algorithm) {
  ConvOptions o;
  o.stride = c.stride;
  o.dilation = c.dilation;
  o.padding = c.padding;
  o.groups = c.groups;
  o.flip = c.flip;
  o.algorithm = algorithm;
  return Conv(c.rank, o);
}

// The largest number of products in one element of any result (see opencl_conv_util.hpp).
inline std::int64_t terms_of(const ConvGeometry& g) {
  const std::int64_t taps = g.kernel_pixels();
  return std::max({2 * g.in_per_group() * taps + 1, g.out_per_group() * taps, g.batch * g.out_pixels(),
                   g.batch * g.in_pixels()});
}

// Every case in both dtypes under the kernel given, alternating contiguous and strided operands.
inline double run_conv_grid(bool only_2d, const char* algorithm = "direct") {
  double worst = 0;
  std::uint64_t seed = 100;
  int index = 0;
  for (DType dtype : real_dtypes)
    for (const ConvCase& c : conv_cases) {
      if (only_2d && c.rank != 2) continue;
      const Conv node = conv_node_of(c, algorithm);
      std::vector<Tensor> inputs{random(with_spatial(c.batch, c.cin, c.in), seed, dtype),
                                 random(with_spatial(c.cout, c.cin / c.groups, c.kernel), seed + 1, dtype)};
      if (c.bias) inputs.push_back(random(Shape{c.cout}, seed + 2, dtype));
      seed += 10;
      const ConvGeometry g = node.geometry(inputs[0].shape(), inputs[1].shape());
      const bool strided = (index++ % 2) == 1;
      const double e = check_parity(node, inputs, terms_of(g), strided, describe_case(c), seed);
      worst = std::max(worst, e / double(terms_of(g)));
    }
  return worst;
}

// The conv_transpose cases (output_padding, groups, dilation, 1-D to 3-D) in both dtypes.
inline double run_transpose_grid(const char* algorithm) {
  struct Case {
    int rank;
    std::int64_t batch, cin, cout, groups;
    std::vector<std::int64_t> in, kernel, stride, padding, output_padding, dilation;
    bool bias;
  };
  const std::vector<Case> cases = {
      {2, 2, 4, 6, 2, {7, 5}, {3, 3}, {2}, {1}, {1}, {1}, true},
      {1, 3, 3, 2, 1, {11}, {4}, {3}, {2}, {2}, {1}, false},
      {3, 1, 2, 3, 1, {4, 3, 5}, {3, 3, 3}, {2}, {0}, {1}, {1}, true},
      {2, 1, 3, 3, 3, {6, 8}, {3, 5}, {1}, {2}, {1}, {2}, false},
      {2, 3, 1, 8, 1, {5, 5}, {4, 4}, {2}, {1}, {0}, {1}, true},
  };
  double worst = 0;
  std::uint64_t seed = 500;
  int index = 0;
  for (DType dtype : real_dtypes)
    for (const Case& c : cases) {
      ConvTransposeOptions o;
      o.algorithm = algorithm;
      o.stride = c.stride;
      o.padding = c.padding;
      o.output_padding = c.output_padding;
      o.dilation = c.dilation;
      o.groups = c.groups;
      const ConvTranspose node(c.rank, o);
      std::vector<Tensor> inputs{random(with_spatial(c.batch, c.cin, c.in), seed, dtype),
                                 random(with_spatial(c.cin, c.cout / c.groups, c.kernel), seed + 1, dtype)};
      if (c.bias) inputs.push_back(random(Shape{c.cout}, seed + 2, dtype));
      seed += 10;
      const ConvGeometry g = node.conv_geometry(inputs[0].shape(), inputs[1].shape());
      const std::string what = fmt::format("conv_transpose{}d in {} k {} s {} p {} op {} d {}", c.rank, fmt::join(c.in, "x"),
                                           fmt::join(c.kernel, "x"), fmt::join(c.stride, ","), fmt::join(c.padding, ","),
                                           fmt::join(c.output_padding, ","), fmt::join(c.dilation, ","));
      const double e = check_parity(node, inputs, terms_of(g), (index++ % 2) == 1, what, seed);
      worst = std::max(worst, e / double(terms_of(g)));
    }
  return worst;
}

}  // namespace nodal::test
