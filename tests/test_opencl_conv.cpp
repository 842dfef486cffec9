// OpenCL convolution nodes against the CPU backend (PoCL in CI): conv1d/2d/3d, conv_transpose,
// convolve/correlate, separable_conv2d; forward, vjp of every input and jvp; float32 and float64;
// contiguous and non-contiguous device operands; every forward kernel (general, 2-D tiled,
// image) forced in turn. Tolerance: tests/opencl_conv_util.hpp, (m + 2) · ε · Σ|terms| per
// element with m the largest number of products in one result element (stated per case).
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL conv tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/conv_weight_planes.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/nodes/pool.hpp"
#include "nodal/nodes/reduce.hpp"
#include "nodal/nodes/unary.hpp"
#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/conv_transpose.hpp"
#include "nodal/nodes/convolve1d.hpp"
#include "nodal/nodes/separable_conv.hpp"
#include "opencl_conv_cases.hpp"
#include "opencl_conv_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using namespace nodal::test;

TEST_CASE("conv1d/2d/3d on OpenCL match the CPU backend: forward, vjp of x, w, b and jvp") {
  if (!opencl_present()) return;
  opencl::Context& context = opencl::current_context();
  for (auto kernel : {opencl::ConvKernel::general, opencl::ConvKernel::tiled, opencl::ConvKernel::image}) {
    const char* name = kernel == opencl::ConvKernel::general ? "general" : kernel == opencl::ConvKernel::tiled ? "tiled" : "image";
    if (kernel == opencl::ConvKernel::image && !context.device().image_support) {
      MESSAGE("image kernel skipped: the device has no image support");
      continue;
    }
    opencl::set_conv_kernel(kernel);
    // The forced kernel must really be the one running where it applies.
    ConvGeometry g = ConvGeometry::resolve("conv2d", 2, Shape{1, 3, 9, 9}, Shape{4, 3, 3, 3}, {});
    CHECK(opencl::chosen_conv_kernel(context, g, DType::float32, 0) == kernel);
    // The weight-gradient kernels too: the tree kernel (GPUs) with the general forward kernel,
    // the rows kernel (CPU devices) with the others.
    opencl::set_conv_weight_kernel(kernel == opencl::ConvKernel::general ? opencl::ConvWeightKernel::tree
                                                                         : opencl::ConvWeightKernel::rows);
    // and the __global-weight variant of the general kernel (the others: the LeNet-style test)
    opencl::set_conv_constant_weights(kernel != opencl::ConvKernel::general);
    const double worst = run_conv_grid(kernel != opencl::ConvKernel::general);
    MESSAGE(fmt::format("conv, {} forward kernel: largest error {:.3f} · m · ε · Σ|terms| (bound: (m + 2)/m)", name, worst));
  }
  opencl::set_conv_kernel(opencl::ConvKernel::automatic);
  opencl::set_conv_weight_kernel(opencl::ConvWeightKernel::automatic);
  opencl::set_conv_constant_weights(true);
}

TEST_CASE("conv w̄ by the planes kernel (forced) matches the CPU backend") {
  if (!opencl_present()) return;
  opencl::Context& context = opencl::current_context();
  opencl::set_conv_weight_kernel(opencl::ConvWeightKernel::planes);
  // LeNet's layers (conv2 at batch 8: more than one piece of samples on PoCL), strides, dilation,
  // groups and depthwise, flip, asymmetric padding, odd sizes, 1×1 kernels, many channels (several
  // channel blocks), a plane needing row bands (150×140) and a 1-D signal needing column tiles.
  const std::vector<ConvCase> cases = {
      {2, 2, 1, 6, 1, {28, 28}, {5, 5}, {1}, {1}, ConvPadding::all(2), false, true},
      {2, 8, 6, 16, 1, {14, 14}, {5, 5}, {1}, {1}, ConvPadding::all(0), false, true},
      {2, 2, 3, 5, 1, {13, 11}, {3, 3}, {2}, {1}, ConvPadding::all(1), false, false},
      {2, 1, 3, 4, 1, {12, 9}, {3, 3}, {1}, {2}, ConvPadding::same(), false, true},
      {2, 2, 8, 4, 2, {9, 10}, {3, 5}, {1, 2}, {1}, ConvPadding::per_side({1, 2, 0, 3}), true, false},
      {2, 1, 8, 8, 8, {12, 11}, {5, 5}, {2}, {1}, ConvPadding::all(2), false, true},  // depthwise
      {2, 1, 2, 3, 1, {9, 9}, {7, 7}, {1}, {2}, ConvPadding::all(6), true, false},
      {2, 3, 5, 7, 1, {17, 13}, {4, 3}, {3, 1}, {1}, ConvPadding::per_side({2, 1, 0, 1}), true, true},
      {2, 2, 3, 6, 1, {7, 9}, {1, 1}, {1}, {1}, ConvPadding::all(0), false, false},
      {2, 1, 4, 3, 1, {8, 7}, {1, 1}, {2}, {1}, ConvPadding::all(0), true, true},
      {2, 2, 40, 36, 1, {6, 5}, {3, 3}, {1}, {1}, ConvPadding::all(1), false, false},
      {2, 1, 2, 3, 1, {150, 140}, {3, 3}, {1}, {1}, ConvPadding::all(1), false, false},  // row bands
      {1, 1, 2, 2, 1, {5000}, {5}, {1}, {1}, ConvPadding::all(2), true, false},           // column tiles
      {1, 3, 3, 4, 1, {50}, {5}, {2}, {2}, ConvPadding::all(3), false, true},
  };
  double worst = 0;
  std::uint64_t seed = 2000;
  int index = 0;
  for (DType dtype : real_dtypes)
    for (const ConvCase& c : cases) {
      const Conv node = conv_node_of(c, "direct");
      std::vector<Tensor> inputs{random(with_spatial(c.batch, c.cin, c.in), seed, dtype),
                                 random(with_spatial(c.cout, c.cin / c.groups, c.kernel), seed + 1, dtype)};
      if (c.bias) inputs.push_back(random(Shape{c.cout}, seed + 2, dtype));
      seed += 10;
      opencl::ConvPass pass;
      pass.g = node.geometry(inputs[0].shape(), inputs[1].shape());
      pass.flip = c.flip;
      const auto plan = opencl::plan_weight_planes(context, pass, dtype);
      INFO(describe_case(c));
      REQUIRE(plan.has_value());  // the forced kernel really runs
      if (c.in == std::vector<std::int64_t>{150, 140}) CHECK(plan->tiles_y > 1);
      if (c.in == std::vector<std::int64_t>{5000}) CHECK(plan->tiles_x > 1);
      const double e = check_parity(node, inputs, terms_of(pass.g), (index++ % 2) == 1, describe_case(c), seed);
      worst = std::max(worst, e / double(terms_of(pass.g)));
    }
  opencl::set_conv_weight_kernel(opencl::ConvWeightKernel::automatic);
  MESSAGE(fmt::format("conv, planes w̄ kernel: largest error {:.4f} · m · ε · Σ|terms| (bound: (m + 2)/m)", worst));
}

TEST_CASE("conv_transpose1d/2d/3d on OpenCL match the CPU backend, output_padding included") {
  if (!opencl_present()) return;
  MESSAGE(fmt::format("conv_transpose: largest error {:.3f} · m · ε · Σ|terms|", run_transpose_grid("direct")));
}

TEST_CASE("convolve and correlate on OpenCL match the CPU backend in every mode and boundary") {
  if (!opencl_present()) return;
  double worst = 0;
  std::uint64_t seed = 900;
  int index = 0;
  for (DType dtype : real_dtypes)
    for (bool correlate : {false, true})
      for (SignalMode mode : {SignalMode::full, SignalMode::same, SignalMode::valid})
        for (SignalBoundary boundary : {SignalBoundary::zero, SignalBoundary::replicate, SignalBoundary::circular})
          for (auto [n, m] : std::vector<std::pair<std::int64_t, std::int64_t>>{{20, 5}, {4, 7}, {9, 1}}) {
            const Convolve1d node(correlate, mode, boundary);
            const std::vector<Tensor> inputs{random(Shape{3, 2, n}, seed, dtype), random(Shape{m}, seed + 1, dtype)};
            seed += 5;
            const std::string what = fmt::format("{} {} {} n {} m {}", node.type(), to_string(mode), to_string(boundary), n, m);
            // An output sums m products; a filter tap's gradient sums rows · outputs of them, and
            // a replicated end sample collects up to padded positions, each a sum of m products.
            const std::int64_t terms = std::max<std::int64_t>(6 * (n + m), (n + 2 * m) * m);
            worst = std::max(worst, check_parity(node, inputs, terms, (index++ % 3) == 2, what, seed) / double(terms));
          }
  MESSAGE(fmt::format("convolve/correlate: largest error {:.4f} · m · ε · Σ|terms|", worst));
}

TEST_CASE("separable_conv2d on OpenCL matches the CPU backend") {
  if (!opencl_present()) return;
  double worst = 0;
  std::uint64_t seed = 1300;
  for (DType dtype : real_dtypes)
    for (bool flip : {false, true}) {
      SeparableConvOptions o;
      o.flip = flip;
      o.padding = flip ? ConvPadding::same() : ConvPadding::per_side({1, 0, 2, 1});
      o.stride = flip ? std::vector<std::int64_t>{1} : std::vector<std::int64_t>{2, 1};
      o.dilation = flip ? std::vector<std::int64_t>{2} : std::vector<std::int64_t>{1};
      const SeparableConv2d node(o);
      const std::vector<Tensor> inputs{random(Shape{2, 3, 13, 11}, seed, dtype), random(Shape{3, 3}, seed + 1, dtype),
                                       random(Shape{3, 5}, seed + 2, dtype)};
      seed += 10;
      const std::int64_t terms = 2 * 13 * 11 * 15;  // a filter tap's gradient: batch · pixels · the other filter's taps
      worst = std::max(worst, check_parity(node, inputs, terms, flip, fmt::format("separable flip={}", flip), seed) / double(terms));
    }
  MESSAGE(fmt::format("separable_conv2d: largest error {:.4f} · m · ε · Σ|terms|", worst));
}

TEST_CASE("a LeNet-style block trains on OpenCL: conv2d, relu, max_pool2d, conv2d in a graph, backward to every parameter") {
  if (!opencl_present()) return;
  for (DType dtype : real_dtypes) {
    // float64 with the weights in __global memory (the 8-wide tiled kernel's other variant)
    opencl::set_conv_constant_weights(dtype == DType::float32);
    Graph graph;
    const Value x = graph.input("x", Shape{3, 1, 12, 12}, dtype);
    const Value w1 = graph.input("w1", Shape{4, 1, 5, 5}, dtype);
    const Value b1 = graph.input("b1", Shape{4}, dtype);
    const Value w2 = graph.input("w2", Shape{6, 4, 3, 3}, dtype);
    ConvOptions same;
    same.padding = ConvPadding::all(2);
    Pool2dOptions pool;
    pool.kernel = {2};
    const Value h = max_pool2d_values(relu(conv2d(x, w1, b1, same)), pool);
    const Value loss = sum(square(conv2d(h, w2)));
    const std::vector<Tensor> values{random(Shape{3, 1, 12, 12}, 1, dtype), random(Shape{4, 1, 5, 5}, 2, dtype),
                                     random(Shape{4}, 3, dtype), random(Shape{6, 4, 3, 3}, 4, dtype)};
    const auto feeds = [&](Backend b) {
      return std::vector<Feed>{{x, values[0].to(b)}, {w1, values[1].to(b)}, {b1, values[2].to(b)}, {w2, values[3].to(b)}};
    };
    const Value outputs[] = {loss};
    Execution cpu_run = graph.forward(outputs, feeds(Backend::cpu));
    const Gradients cpu = cpu_run.backward(loss, {x, w1, b1, w2});
    Execution cl_run = graph.forward(outputs, feeds(Backend::opencl));
    const Gradients cl = cl_run.backward(loss, {x, w1, b1, w2});
    // A composition of the checked nodes: each result chains sums of at most 36 · 25 = 900
    // products (the second conv's taps over the first's), and with continuous random data no
    // pooling window is near a tie, so device and CPU differ only by rounding: within 10³ ε of
    // each result's largest element (the m ε of the longest chain; measured about 2 ε). A
    // routing or indexing error is off by O(1) of it, i.e. ~10⁷ ε in float32.
    INFO(dtype_name(dtype));
    CHECK(cl_run[loss].backend() == Backend::opencl);
    double worst = nodal::test::max_norm_error(cl_run[loss], cpu_run[loss]);
    for (const Value& v : {x, w1, b1, w2}) {
      CHECK(cl[v].backend() == Backend::opencl);
      worst = std::max(worst, nodal::test::max_norm_error(cl[v], cpu[v]));
    }
    CHECK(worst <= 1e3);
    MESSAGE(fmt::format("LeNet-style block {}: largest normwise difference {:.1f} ε", dtype_name(dtype), worst));
  }
  opencl::set_conv_constant_weights(true);
}

TEST_CASE("conv on OpenCL: other algorithms and bad inputs raise clear errors") {
  if (!opencl_present()) return;
  const Tensor x = random(Shape{1, 2, 6, 6}, 1, DType::float32).to(Backend::opencl);
  const Tensor w = random(Shape{3, 2, 3, 3}, 2, DType::float32).to(Backend::opencl);
  for (const char* algorithm : {"helix", "winograd"}) {  // fft, fft_tiled: test_opencl_conv_spectral.cpp
    ConvOptions o;
    o.algorithm = algorithm;
    try {
      (void)conv2d(x, w, o);
      FAIL("no error for algorithm ", algorithm);
    } catch (const BackendError& e) {
      const std::string what = e.what();
      CHECK(what.find("conv2d") != std::string::npos);
      CHECK(what.find(algorithm) != std::string::npos);
      CHECK(what.find("opencl") != std::string::npos);
    }
  }
  ConvOptions o;
  o.algorithm = "direct";
  CHECK_THROWS_AS((void)conv2d(x, w.to(Backend::cpu), o), BackendError);  // one operand on the host
  CHECK_THROWS_AS((void)conv2d(x, random(Shape{3, 5, 3, 3}, 2, DType::float32).to(Backend::opencl), o), ShapeError);
}

#endif
