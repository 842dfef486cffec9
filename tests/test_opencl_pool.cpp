// OpenCL max_pool2d, avg_pool2d and global_avg_pool2d against the CPU backend (PoCL in CI):
// forward, vjp and jvp, float32 and float64, batched and unbatched inputs, contiguous and strided
// device operands, padding, stride, dilation, ceil_mode, count_include_pad.
//
// Tolerance. max_pool2d only selects and adds in the CPU's order, so every result must be
// bit-identical: values, float64 indices (ties resolved to the first position in row-major
// window order, NaN propagating), the vjp (the gather sums each input's cotangents in the CPU's
// scatter order) and the jvp. Average pooling sums at most kH·kW (forward) or kH·kW (vjp:
// windows holding one input) terms and divides; it is checked like the convolutions
// (tests/opencl_conv_util.hpp: (m + 2) · ε · Σ|terms| per element, m = kH·kW + 1 for the
// division), global average pooling likewise with m = H·W.
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL pooling tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/pool.hpp"
#include "nodal/nodes/pool.hpp"
#include "opencl_conv_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using nodal::test::check_parity;
using nodal::test::max_error;
using nodal::test::opencl_present;
using nodal::test::run_node;

namespace {

const DType real_dtypes[] = {DType::float32, DType::float64};

struct PoolCase {
  Shape x;
  Pool2dOptions o;
};

Pool2dOptions options(std::vector<std::int64_t> kernel, std::vector<std::int64_t> stride, std::vector<std::int64_t> padding,
                      std::vector<std::int64_t> dilation, bool ceil_mode, bool include_pad = true) {
  Pool2dOptions o;
  o.kernel = std::move(kernel);
  o.stride = std::move(stride);
  o.padding = std::move(padding);
  o.dilation = std::move(dilation);
  o.ceil_mode = ceil_mode;
  o.count_include_pad = include_pad;
  return o;
}

// Values on a coarse grid (multiples of 1/2 in [−2, 2]), so most windows hold ties.
Tensor tied(const Shape& shape, std::uint64_t seed, DType dtype) {
  std::vector<double> v = Tensor::rand(shape, seed, DType::float64, -2.0, 2.0).to_vector<double>();
  for (double& e : v) e = std::round(e * 2) / 2;
  return Tensor::from_vector(v, shape).astype(dtype);
}

std::string describe(const PoolCase& c) {
  return fmt::format("x {} k [{}] s [{}] p [{}] d [{}] ceil={} include_pad={}", to_string(c.x), fmt::join(c.o.kernel, ","),
                     fmt::join(c.o.stride, ","), fmt::join(c.o.padding, ","), fmt::join(c.o.dilation, ","), c.o.ceil_mode,
                     c.o.count_include_pad);
}

}  // namespace

TEST_CASE("max_pool2d on OpenCL is bit-identical to the CPU backend: values, indices, vjp, jvp, ties, NaN, -inf") {
  if (!opencl_present()) return;
  const std::vector<PoolCase> cases = {
      {Shape{3, 6, 28, 28}, options({2}, {}, {0}, {1}, false)},  // LeNet
      {Shape{2, 3, 9, 11}, options({3}, {2}, {1}, {1}, false)},
      {Shape{1, 2, 10, 7}, options({3, 2}, {1, 2}, {1, 0}, {1}, true)},
      {Shape{2, 2, 12, 13}, options({3}, {2}, {1}, {2}, true)},
      {Shape{3, 5, 5}, options({2}, {1}, {1}, {1}, false)},  // unbatched, overlapping windows
      {Shape{1, 1, 1, 1}, options({1}, {}, {0}, {1}, false)},
      {Shape{2, 4, 17, 9}, options({4, 3}, {3, 2}, {2, 1}, {1, 2}, true)},
      {Shape{0, 3, 6, 6}, options({2}, {}, {0}, {1}, false)},  // empty batch
  };
  int index = 0;
  std::uint64_t seed = 7;
  // Both vjp kernels: the scatter for disjoint windows (automatic) and the gather everywhere.
  for (auto vjp : {opencl::MaxPoolVjp::automatic, opencl::MaxPoolVjp::gather})
  for (DType dtype : real_dtypes)
    for (const PoolCase& c : cases) {
      opencl::set_max_pool_vjp_kernel(vjp);
      const MaxPool2d node(c.o);
      Tensor x = tied(c.x, seed++, dtype);
      if (index % 3 == 0 && x.numel() > 0) {  // a NaN and a plane of −∞ (the first element wins there)
        std::vector<double> v = x.to_vector<double>();
        v[v.size() / 2] = std::numeric_limits<double>::quiet_NaN();
        for (std::int64_t i = 0; i < c.x[c.x.rank() - 1] * c.x[c.x.rank() - 2] && i < std::int64_t(v.size()); ++i)
          v[i] = -std::numeric_limits<double>::infinity();
        x = Tensor::from_vector(v, c.x).astype(dtype);
      }
      const Shape out = node.geometry(c.x).output_shape;
      const Tensor g = Tensor::randn(out, seed++, DType::float64).astype(dtype);
      const Tensor t = Tensor::randn(c.x, seed++, DType::float64).astype(dtype);
      const bool strided = (index++ % 2) == 1;
      const auto cpu = run_node(node, {x}, g, {t}, Backend::cpu, false, 2);
      const auto cl = run_node(node, {x}, g, {t}, Backend::opencl, strided, 2);
      INFO(describe(c), " ", dtype_name(dtype), strided ? " (strided)" : "");
      CHECK(cl.outputs[0].backend() == Backend::opencl);
      CHECK(cl.outputs[1].dtype() == DType::float64);
      CHECK(max_error(cl.outputs[0], cpu.outputs[0]) == 0);
      CHECK(max_error(cl.outputs[1], cpu.outputs[1]) == 0);
      CHECK(max_error(cl.cotangents[0], cpu.cotangents[0]) == 0);
      CHECK(max_error(cl.tangent, cpu.tangent) == 0);
      // bit-identical, signs of zero included
      const auto a = cl.cotangents[0].to(Backend::cpu).to_vector<double>(), b = cpu.cotangents[0].to_vector<double>();
      std::size_t sign_mismatches = 0;
      for (std::size_t i = 0; i < a.size(); ++i) sign_mismatches += std::signbit(a[i]) != std::signbit(b[i]);
      CHECK(sign_mismatches == 0);
    }
  opencl::set_max_pool_vjp_kernel(opencl::MaxPoolVjp::automatic);
}

TEST_CASE("avg_pool2d and global_avg_pool2d on OpenCL match the CPU backend: forward, vjp, jvp") {
  if (!opencl_present()) return;
  const std::vector<PoolCase> cases = {
      {Shape{3, 6, 28, 28}, options({2}, {}, {0}, {1}, false)},
      {Shape{2, 3, 9, 11}, options({3}, {2}, {1}, {1}, false, true)},
      {Shape{2, 3, 9, 11}, options({3}, {2}, {1}, {1}, true, false)},
      {Shape{1, 2, 10, 7}, options({3, 2}, {1, 2}, {1, 0}, {1}, true, true)},
      {Shape{3, 5, 5}, options({2}, {1}, {1}, {1}, false, false)},
      {Shape{2, 4, 17, 9}, options({5, 3}, {3, 2}, {2, 1}, {1}, true, false)},
      {Shape{0, 3, 6, 6}, options({3}, {1}, {1}, {1}, false)},  // empty batch
  };
  double worst = 0, worst_global = 0;
  int index = 0;
  std::uint64_t seed = 70;
  for (DType dtype : real_dtypes) {
    for (const PoolCase& c : cases) {
      const AvgPool2d node(c.o);
      const Tensor x = Tensor::randn(c.x, seed++, DType::float64).astype(dtype);
      const std::int64_t m = node.geometry(c.x).kernel[0] * node.geometry(c.x).kernel[1] + 1;
      worst = std::max(worst, check_parity(node, {x}, m, (index++ % 2) == 1, describe(c), seed++) / double(m));
    }
    for (const Shape& shape : {Shape{3, 6, 7, 7}, Shape{2, 5, 1, 1}, Shape{4, 33, 30}}) {
      const GlobalAvgPool2d node;
      const Tensor x = Tensor::randn(shape, seed++, DType::float64).astype(dtype);
      const std::int64_t m = shape[shape.rank() - 1] * shape[shape.rank() - 2] + 1;
      const double e = check_parity(node, {x}, m, (index++ % 2) == 1, "global " + to_string(shape), seed++);
      worst_global = std::max(worst_global, e / double(m));
    }
  }
  MESSAGE(fmt::format("avg_pool2d: largest error {:.4f} · m · ε · Σ|terms|; global_avg_pool2d {:.4f}", worst, worst_global));
}

#endif
