// OpenCL spectral convolution (algorithm fft and fft_tiled) against the CPU backend's fft (PoCL in
// CI): conv1d/2d/3d forward, vjp of x, w, b and jvp (all tangents and each alone), float32 and
// float64, contiguous and strided device operands, with and without the forward's kept spectra;
// fft_tiled with tiles that do and do not divide the image, checked against the untiled result.
//
// Tolerance (normwise, as the CPU spectral tests in docs/convolution.md): a product computed
// through transforms of T points errs by ‖ŷ − y‖₂ ≲ c·u·log₂T·‖a‖₂‖b‖₂ (FFT error, Higham §24.1),
// which bounds every element; the channel (or batch) sum of k such products adds at most k·u·‖a‖‖b‖
// (Cauchy–Schwarz over the terms' norms). The device and the CPU each err by that, so
//     max|device − cpu| ≤ 32·ε·(log₂T + k)·‖a‖₂‖b‖₂   (ε = 2u)
// with ‖a‖‖b‖ = ‖x‖‖w‖ (y), ‖ȳ‖‖w‖ (x̄), ‖x‖‖ȳ‖ (w̄), ‖ẋ‖‖w‖ + ‖x‖‖ẇ‖ (ẏ), over the whole tensors
// (an upper bound of the per-sample norms). b̄ is a plain sum: ≤ (m + 2)·ε·Σ|ȳ|.
// Errors are reported in units of ε·‖a‖‖b‖ and the bound printed beside them.
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL spectral conv tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/conv_spectral.hpp"
#include "nodal/backends/opencl/conv_spectral_engine.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/nodes/conv.hpp"
#include "opencl_conv_cases.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using nodal::test::NodeOutcome;
using nodal::test::opencl_present;
using nodal::test::run_node;

namespace {

double norm(const Tensor& t) {
  double s = 0;
  for (double v : t.to(Backend::cpu).astype(DType::float64).to_vector<double>()) s += v * v;
  return std::sqrt(s);
}
double abs_sum(const Tensor& t) {
  double s = 0;
  for (double v : t.to(Backend::cpu).astype(DType::float64).to_vector<double>()) s += std::abs(v);
  return s;
}
double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to(Backend::cpu).astype(DType::float64).to_vector<double>();
  const auto y = b.to(Backend::cpu).astype(DType::float64).to_vector<double>();
  double d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) return INFINITY;
    d = std::max(d, std::abs(x[i] - y[i]));
  }
  return d;
}
using Case = nodal::test::ConvCase;
using nodal::test::conv_node_of;
using nodal::test::describe_case;
using nodal::test::epsilon;
using nodal::test::random;
using nodal::test::with_spatial;

struct Inputs {
  std::vector<Tensor> in, tangents;
  Tensor g;
};
Inputs inputs_of(const Case& c, const Conv& node, DType dtype, std::uint64_t seed) {
  Inputs r;
  r.in = {random(with_spatial(c.batch, c.cin, c.in), seed, dtype),
          random(with_spatial(c.cout, c.cin / c.groups, c.kernel), seed + 1, dtype)};
  if (c.bias) r.in.push_back(random(Shape{c.cout}, seed + 2, dtype));
  for (std::size_t i = 0; i < r.in.size(); ++i) r.tangents.push_back(random(r.in[i].shape(), seed + 3 + i, dtype));
  const ConvGeometry g = node.geometry(r.in[0].shape(), r.in[1].shape());
  r.g = random(g.output_shape(), seed + 9, dtype);
  return r;
}

// The transform size and channel-sum length of the bound for this geometry.
double log_terms(const ConvGeometry& g) {
  double points = 1;
  for (int a = 0; a < 3; ++a) {
    const std::int64_t span = g.dilation[a] * (g.kernel[a] - 1) + 1, z = (g.out[a] - 1) * g.stride[a] + 1;
    points *= double(z + span - 1);
  }
  const double k = double(std::max({g.in_per_group(), g.out_per_group(), g.batch}));
  return std::log2(std::max(points, 2.0)) + k;
}

// Every result of `device` against `cpu` under the normwise bound; returns the worst ratio
// error / (ε·‖a‖‖b‖) and checks it against 32·(log₂T + k).
double compare(const NodeOutcome& device, const NodeOutcome& cpu, const Inputs& in, const ConvGeometry& g,
               const std::string& what) {
  const DType dtype = in.in[0].dtype();
  const double e = epsilon(dtype), bound = 32.0 * log_terms(g);
  const double nx = norm(in.in[0]), nw = norm(in.in[1]), ng = norm(in.g);
  const double ntx = norm(in.tangents[0]), ntw = norm(in.tangents[1]);
  double worst = 0;
  const auto take = [&](const Tensor& d, const Tensor& c, double scale, const char* which) {
    REQUIRE(d.defined());
    CHECK(d.backend() == Backend::opencl);
    const double r = max_diff(d, c) / (e * std::max(scale, 1e-300));
    INFO(what, " ", which, " ", dtype_name(dtype), ": ", r, " > ", bound);
    CHECK(r <= bound);
    worst = std::max(worst, r);
  };
  take(device.outputs[0], cpu.outputs[0], nx * nw, "forward");
  take(device.cotangents[0], cpu.cotangents[0], ng * nw, "vjp x");
  take(device.cotangents[1], cpu.cotangents[1], nx * ng, "vjp w");
  if (in.in.size() == 3) {
    const double m = double(g.batch * g.out_pixels());
    const double r = max_diff(device.cotangents[2], cpu.cotangents[2]) / (e * std::max(abs_sum(in.g), 1e-300));
    INFO(what, " vjp b ", dtype_name(dtype));
    CHECK(r <= m + 2);
  }
  take(device.tangent, cpu.tangent, ntx * nw + nx * ntw, "jvp");
  take(device.partial_tangents[0], cpu.partial_tangents[0], ntx * nw, "jvp (x only)");
  take(device.partial_tangents[1], cpu.partial_tangents[1], nx * ntw, "jvp (w only)");
  return worst;
}

// Batch 1 and 3; channels 1, 3, 8; groups 1, 2 and depthwise; kernels 1, 3, 4, 5, 7, 11 (and 3×7);
// stride 1–3; dilation 1–2; padding 0, same, asymmetric; images 1×1 to 67×53; 1-D and 3-D.
const std::vector<Case> cases = {
    {2, 1, 1, 1, 1, {1, 1}, {1, 1}, {1}, {1}, ConvPadding::all(0), false, false},
    {2, 3, 3, 8, 1, {17, 13}, {3, 3}, {1}, {1}, ConvPadding::same(), false, true},
    {2, 1, 8, 8, 8, {12, 11}, {5, 5}, {2}, {1}, ConvPadding::all(2), false, true},  // depthwise
    {2, 3, 8, 4, 2, {9, 20}, {3, 7}, {1, 2}, {2}, ConvPadding::per_side({1, 2, 0, 3}), true, false},
    {2, 1, 3, 2, 1, {67, 53}, {11, 11}, {3}, {1}, ConvPadding::all(5), false, true},
    {2, 1, 1, 2, 1, {9, 9}, {7, 7}, {1}, {2}, ConvPadding::all(6), true, false},
    {2, 3, 3, 8, 1, {8, 8}, {4, 4}, {2}, {1}, ConvPadding::all(1), false, false},
    {2, 3, 1, 3, 1, {28, 28}, {5, 5}, {1}, {1}, ConvPadding::all(2), false, true},
    {2, 1, 2, 4, 2, {5, 6}, {1, 1}, {2}, {1}, ConvPadding::per_side({0, 1, 1, 0}), false, true},
    {1, 3, 3, 8, 1, {50}, {5}, {2}, {1}, ConvPadding::all(2), false, true},
    {1, 1, 8, 8, 8, {33}, {11}, {1}, {2}, ConvPadding::same(), true, false},
    {3, 1, 3, 4, 1, {6, 7, 5}, {3, 3, 3}, {1}, {1}, ConvPadding::all(1), false, true},
    {3, 3, 2, 4, 2, {5, 6, 7}, {2, 3, 3}, {1, 2, 1}, {2, 1, 1}, ConvPadding::per_side({0, 1, 1, 0, 2, 1}), true, false},
    // transforms longer than one local FFT (≤ 4096 points; checked below): four-step rows
    // (conv1d), and a four-step column, transposed to rows and back (conv2d)
    {1, 1, 2, 2, 1, {5000}, {7}, {1}, {1}, ConvPadding::same(), false, true},
    {2, 1, 1, 2, 1, {4500, 3}, {5, 3}, {2, 1}, {1}, ConvPadding::all(2), false, true},
};

// groups 2 with asymmetric padding, dilation and flip; 67×53 k11 stride 3; depthwise conv1d with
// dilation; grouped conv3d; four-step rows; 'same' with bias
const std::set<std::size_t> float64_cases = {1, 3, 4, 10, 12, 13};

// The worst ratio to the bound per dtype: [float32, float64]; `relative` gets the worst
// max|device − cpu| / (ε·max|cpu|) (test::worst_norm_error) per dtype, for the docs.
std::array<double, 2> run_grid(const std::string& algorithm, std::array<double, 2>& relative) {
  std::array<double, 2> worst{0, 0};
  std::uint64_t seed = 7000;
  int index = 0;
  for (DType dtype : {DType::float32, DType::float64})
    for (std::size_t i = 0; i < cases.size(); ++i) {
      // float64 on a representative subset: each new transform length costs PoCL a kernel
      // specialisation, and a cold run of the whole grid twice took ~50 s of CPU time
      if (dtype == DType::float64 && !float64_cases.contains(i)) continue;
      const Case& c = cases[i];
      const Conv node = conv_node_of(c, algorithm);
      const Conv reference = conv_node_of(c, "fft");
      const Inputs in = inputs_of(c, node, dtype, seed);
      seed += 20;
      const ConvGeometry g = node.geometry(in.in[0].shape(), in.in[1].shape());
      const bool strided = (index++ % 2) == 1;
      const NodeOutcome cpu = run_node(reference, in.in, in.g, in.tangents, Backend::cpu);
      const NodeOutcome cl = run_node(node, in.in, in.g, in.tangents, Backend::opencl, strided);
      const std::string what = fmt::format("{} {}{}", algorithm, describe_case(c), strided ? " (strided views)" : "");
      double& w = worst[dtype == DType::float32 ? 0 : 1];
      double& r = relative[dtype == DType::float32 ? 0 : 1];
      r = std::max(r, nodal::test::worst_norm_error(cl, cpu));
      w = std::max(w, compare(cl, cpu, in, g, what) / (32.0 * log_terms(g)));
    }
  return worst;
}

}  // namespace

TEST_CASE("conv1d/2d/3d algorithm=fft on OpenCL match the CPU backend: forward, vjp of x, w, b and jvp") {
  if (!opencl_present()) return;
  for (DType real : {DType::float32, DType::float64})  // the long cases below really are four-step
    CHECK(opencl::fft::local_limit(opencl::current_context(), real) < 4500);
  std::array<double, 2> relative{0, 0};
  // pack and crop with one value per work-item (the GPU layout) as well as the automatic one
  opencl::spectral::set_value_runs(opencl::spectral::ValueRuns::single);
  const auto single = run_grid("fft", relative);
  opencl::spectral::set_value_runs(opencl::spectral::ValueRuns::automatic);
  const auto worst = run_grid("fft", relative);
  MESSAGE(fmt::format("fft, one value per pack/crop work-item: largest error {:.5f} / {:.5f} of the bound", single[0],
                      single[1]));
  MESSAGE(fmt::format("fft: largest error {:.5f} (float32) / {:.5f} (float64) of the bound 32·ε·(log₂T + k)·‖a‖‖b‖; "
                      "max|Δ| / (ε·max|cpu|) ≤ {:.1f} (float32) / {:.1f} (float64)",
                      worst[0], worst[1], relative[0], relative[1]));
}

TEST_CASE("algorithm=fft without the kept spectra (forward under NoGradGuard) gives the same gradients") {
  if (!opencl_present()) return;
  const Case c{2, 3, 3, 4, 1, {15, 12}, {5, 3}, {1, 2}, {1}, ConvPadding::same(), false, true};
  for (DType dtype : {DType::float32, DType::float64}) {
    const Conv node = conv_node_of(c, "fft");
    const Inputs in = inputs_of(c, node, dtype, 42);
    std::vector<Tensor> dev;
    for (const Tensor& t : in.in) dev.push_back(t.to(Backend::opencl));
    const NodeImpl& impl = node.impl(Backend::opencl);
    std::vector<Tensor> out(1), kept(in.in.size()), fresh(in.in.size());
    const std::vector<std::uint8_t> wanted(in.in.size(), 1);
    std::vector<Tensor> cot{in.g.to(Backend::opencl)};
    impl.forward(ForwardCall{node, dev, out});  // grad mode on: keeps X̂ and Ŵ
    const opencl::Activity before_kept = opencl::activity();
    impl.vjp(VjpCall{node, dev, out, cot, kept, wanted});
    const std::uint64_t kept_launches = opencl::activity_since(before_kept).launches;
    {
      NoGradGuard guard;
      impl.forward(ForwardCall{node, dev, out});  // keeps nothing
    }
    const opencl::Activity before_fresh = opencl::activity();
    impl.vjp(VjpCall{node, dev, out, cot, fresh, wanted});
    const std::uint64_t fresh_launches = opencl::activity_since(before_fresh).launches;
    // the kept spectra spare the vjp the transforms of x and w (pack, row and column passes each)
    CHECK(kept_launches + 6 <= fresh_launches);
    MESSAGE(fmt::format("{} vjp launches: {} with the kept spectra, {} without", dtype_name(dtype), kept_launches,
                        fresh_launches));
    for (std::size_t i = 0; i < kept.size(); ++i) {
      // the same kernels on the same spectra: equal up to the transforms of x and w being redone
      const double scale = norm(kept[i]) + 1e-300;
      CHECK(max_diff(kept[i], fresh[i]) <= 64 * epsilon(dtype) * scale);
    }
  }
}

TEST_CASE("algorithm=fft_tiled on OpenCL: tiles dividing the image or not equal the untiled fft and the CPU") {
  if (!opencl_present()) return;
  struct TiledCase {
    Case c;
    std::array<std::int64_t, 3> tile;
  };
  const std::vector<TiledCase> tiled = {
      {{2, 3, 3, 4, 1, {16, 16}, {5, 5}, {1}, {1}, ConvPadding::all(2), false, true}, {1, 8, 8}},  // divides
      {{2, 1, 2, 2, 2, {23, 19}, {7, 7}, {2}, {1}, ConvPadding::all(3), true, false}, {1, 5, 7}},  // does not
      {{2, 3, 1, 3, 1, {21, 17}, {3, 5}, {1, 2}, {2}, ConvPadding::per_side({0, 2, 1, 3}), false, true}, {1, 6, 4}},
      {{1, 3, 3, 2, 1, {40}, {11}, {1}, {1}, ConvPadding::same(), false, true}, {1, 1, 9}},
      {{3, 1, 2, 2, 1, {7, 6, 9}, {3, 3, 3}, {1}, {1}, ConvPadding::all(1), false, false}, {4, 3, 5}},
  };
  double worst = 0, worst_vs_fft = 0;
  std::uint64_t seed = 9000;
  using opencl::spectral::ValueRuns;
  for (ValueRuns runs : {ValueRuns::single, ValueRuns::whole_rows})  // both pack/crop layouts
  for (DType dtype : {DType::float32, DType::float64})
    for (std::size_t i = 0; i < tiled.size(); ++i) {
      if (dtype == DType::float64 && (runs == ValueRuns::single || i >= 2)) continue;  // (PoCL compile time)
      const TiledCase& t = tiled[i];
      opencl::spectral::set_value_runs(runs);
      opencl::set_spectral_tile(t.tile);
      const Conv node = conv_node_of(t.c, "fft_tiled");
      const Inputs in = inputs_of(t.c, node, dtype, seed);
      seed += 20;
      const ConvGeometry g = node.geometry(in.in[0].shape(), in.in[1].shape());
      const std::uint64_t launches = opencl::spectral_colour_launches();
      const NodeOutcome cl = run_node(node, in.in, in.g, in.tangents, Backend::opencl, (seed / 20) % 2 == 1);
      CHECK(opencl::spectral_colour_launches() > launches);  // the overlap-add schedule ran
      const NodeOutcome whole = run_node(conv_node_of(t.c, "fft"), in.in, in.g, in.tangents, Backend::opencl);
      const NodeOutcome cpu = run_node(conv_node_of(t.c, "fft"), in.in, in.g, in.tangents, Backend::cpu);
      const std::string what = fmt::format("fft_tiled tile {} {}", fmt::join(t.tile, "x"), describe_case(t.c));
      worst = std::max(worst, compare(cl, cpu, in, g, what) / (32.0 * log_terms(g)));
      worst_vs_fft = std::max(worst_vs_fft, compare(cl, whole, in, g, what + " vs untiled") / (32.0 * log_terms(g)));
    }
  opencl::set_spectral_tile({0, 0, 0});
  opencl::spectral::set_value_runs(ValueRuns::automatic);
  MESSAGE(fmt::format("fft_tiled: largest error {:.4f} of the bound vs the CPU, {:.4f} vs the untiled OpenCL fft", worst,
                      worst_vs_fft));
}

TEST_CASE("fft_tiled in chunks of one tile (no kept spectra): forward, vjp and jvp still match the CPU") {
  if (!opencl_present()) return;
  // A tiny budget makes every tile its own chunk: y accumulates colour by colour across chunks,
  // dw sums the chunks' products in the frequency domain, the vjp recomputes X̂ per chunk.
  opencl::set_spectral_chunk_budget(1);
  opencl::set_spectral_tile({1, 6, 5});
  const Case c{2, 3, 2, 3, 1, {19, 14}, {5, 4}, {2, 1}, {1, 2}, ConvPadding::per_side({2, 1, 3, 0}), true, true};
  double worst = 0;
  for (DType dtype : {DType::float32, DType::float64}) {
    const Conv node = conv_node_of(c, "fft_tiled");
    const Inputs in = inputs_of(c, node, dtype, 4242);
    const ConvGeometry g = node.geometry(in.in[0].shape(), in.in[1].shape());
    NodeOutcome cl;
    {
      NoGradGuard guard;  // the forward keeps nothing, so every pass runs chunk by chunk
      cl = run_node(node, in.in, in.g, in.tangents, Backend::opencl);
    }
    const NodeOutcome cpu = run_node(conv_node_of(c, "fft"), in.in, in.g, in.tangents, Backend::cpu);
    worst = std::max(worst, compare(cl, cpu, in, g, "fft_tiled, one tile per chunk " + describe_case(c)) / (32.0 * log_terms(g)));
  }
  opencl::set_spectral_tile({0, 0, 0});
  opencl::set_spectral_chunk_budget(0);
  MESSAGE(fmt::format("fft_tiled in chunks: largest error {:.4f} of the bound", worst));
}

TEST_CASE("auto on OpenCL picks fft for large kernels on large images and direct for small kernels") {
  ConvGeometry big = ConvGeometry::resolve("conv2d", 2, Shape{8, 16, 64, 64}, Shape{16, 16, 11, 11},
                                           {.padding = ConvPadding::all(5)});
  ConvGeometry small = ConvGeometry::resolve("conv2d", 2, Shape{8, 16, 64, 64}, Shape{16, 16, 3, 3}, {});
  ConvGeometry lenet = ConvGeometry::resolve("conv2d", 2, Shape{64, 1, 28, 28}, Shape{32, 1, 5, 5}, {});
  std::string why;
  CHECK(opencl::auto_prefers_fft(big, &why));
  MESSAGE(why);
  CHECK_FALSE(opencl::auto_prefers_fft(small));
  CHECK_FALSE(opencl::auto_prefers_fft(lenet));
  // large images go to fft_tiled
  ConvGeometry large = ConvGeometry::resolve("conv2d", 2, Shape{1, 1, 256, 256}, Shape{1, 1, 31, 31},
                                             {.padding = ConvPadding::all(15)});
  CHECK(opencl::auto_prefers_fft(large));
  CHECK(opencl::auto_prefers_tiles(large));
  CHECK_FALSE(opencl::auto_prefers_tiles(big));
  if (!opencl_present()) return;
  // through the node: auto runs the spectral path here and matches the CPU
  const Case c{2, 2, 8, 8, 1, {48, 48}, {9, 9}, {1}, {1}, ConvPadding::all(4), false, true};
  const Conv node = conv_node_of(c, "auto");
  const Inputs in = inputs_of(c, node, DType::float32, 77);
  const ConvGeometry g = node.geometry(in.in[0].shape(), in.in[1].shape());
  REQUIRE(opencl::auto_prefers_fft(g));
  const NodeOutcome cl = run_node(node, in.in, in.g, in.tangents, Backend::opencl);
  const NodeOutcome cpu = run_node(conv_node_of(c, "fft"), in.in, in.g, in.tangents, Backend::cpu);
  const double e = compare(cl, cpu, in, g, "auto " + describe_case(c)) / (32.0 * log_terms(g));
  MESSAGE(fmt::format("auto (fft): largest error {:.5f} of the bound", e));
}

#endif
