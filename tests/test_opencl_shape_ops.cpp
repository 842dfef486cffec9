// The OpenCL structural nodes (reshape, flatten, permute, transpose, slice, concat, pad), the
// tensor-and-constant nodes (add/mul/div/rsub/rdiv/pow_scalar) and max over axes, against the CPU
// backend: forward, vjp and jvp, float32 and float64, contiguous inputs and transposed device
// views; plus Tensor::contiguous()/clone() of device views through the copy kernel.
//
// Tolerances. The structural nodes and max only move or select elements: their results must be
// bit-identical to the CPU's (bound 0). The scalar nodes perform the CPU's operations in the CPU's
// order, each correctly rounded in IEEE arithmetic (+, −, ·, / with
// -cl-fp32-correctly-rounded-divide-sqrt), so they agree exactly too, except through pow, which
// OpenCL allows 16 ulp (the CPU's std::pow is within 1): pow_scalar is checked against 32ε
// relative (as pow in test_opencl_parity), everything else against 0.
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL shape-op tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/copy.hpp"
#include "nodal/core/error.hpp"
#include "nodal/nodes/reduce.hpp"
#include "nodal/nodes/scalar_ops.hpp"
#include "nodal/nodes/shape_ops.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using nodal::test::max_error;
using nodal::test::opencl_present;

namespace {

// Every result of `node` on the device against the CPU's; returns the worst max_error.
double compare(const Node& node, const std::vector<Tensor>& inputs, const Tensor& g, const std::vector<Tensor>& tangents,
               bool strided) {
  using nodal::test::run_node;
  const auto cpu = run_node(node, inputs, g, tangents, Backend::cpu);
  const auto cl = run_node(node, inputs, g, tangents, Backend::opencl, strided);
  double worst = 0;
  const auto take = [&](const Tensor& d, const Tensor& c) {
    if (!c.defined()) return;
    REQUIRE(d.defined());
    CHECK(d.backend() == Backend::opencl);
    const double e = max_error(d, c);
    worst = std::isnan(e) ? e : std::max(worst, e);
  };
  take(cl.outputs[0], cpu.outputs[0]);
  for (std::size_t i = 0; i < inputs.size(); ++i) take(cl.cotangents[i], cpu.cotangents[i]);
  take(cl.tangent, cpu.tangent);
  for (std::size_t i = 0; i < cpu.partial_tangents.size(); ++i) take(cl.partial_tangents[i], cpu.partial_tangents[i]);
  return worst;
}

Shape output_shape(const Node& node, const std::vector<Tensor>& inputs) {
  std::vector<TensorSpec> specs;
  for (const Tensor& t : inputs) specs.push_back(spec_of(t));
  return node.infer(specs)[0].shape;
}

// One node on one set of input shapes: random inputs, cotangent and tangents; both layouts.
double check_node(const Node& node, const std::vector<Shape>& shapes, DType dtype, std::uint64_t& seed) {
  std::vector<Tensor> inputs, tangents;
  for (const Shape& s : shapes) {
    inputs.push_back(Tensor::randn(s, seed++, dtype));
    tangents.push_back(Tensor::randn(s, seed++, dtype));
  }
  const Tensor g = Tensor::randn(output_shape(node, inputs), seed++, dtype);
  double worst = 0;
  for (bool strided : {false, true}) {
    INFO(fmt::format("{} {} input {}{}", node.type(), dtype_name(dtype), to_string(shapes[0]),
                     strided ? " (transposed views)" : ""));
    const double e = compare(node, inputs, g, tangents, strided);
    CHECK(e == 0.0);
    worst = std::isnan(e) ? e : std::max(worst, e);
  }
  return worst;
}

}  // namespace

TEST_CASE("opencl shape ops: reshape, flatten, permute, transpose, slice, concat, pad match the CPU exactly") {
  if (!opencl_present()) return;
  for (DType dtype : {DType::float32, DType::float64}) {
    std::uint64_t seed = 1;
    double worst = 0;
    const auto run = [&](const Node& node, const std::vector<Shape>& shapes) {
      worst = std::max(worst, check_node(node, shapes, dtype, seed));
    };
    run(Reshape({-1}), {Shape{3, 5}});
    run(Reshape({5, 3}), {Shape{3, 5}});
    run(Reshape({2, -1, 3}), {Shape{4, 3, 7}});      // transposed views: a device copy
    run(Reshape({4, 3, 7, 1}), {Shape{4, 3, 7}});    // transposed views: still a view
    run(Reshape(std::vector<std::int64_t>{}), {Shape{1, 1}});
    run(Flatten(1, -1), {Shape{2, 3, 4, 5}});
    run(Flatten(0, 1), {Shape{2, 3, 5}});
    run(Permute({2, 0, 1}), {Shape{2, 3, 4}});
    run(Permute({1, 0}), {Shape{7, 1}});
    run(Transpose(0, 2), {Shape{2, 3, 4}});
    run(Slice(1, 1, 6, 2), {Shape{3, 7}});
    run(Slice(0, -3, 100, 1), {Shape{5, 4}});
    run(Slice(2, 0, 5, 3), {Shape{2, 3, 5}});
    run(Slice(1, 4, 2, 1), {Shape{3, 5}});           // empty slice: x̄ all zeros
    run(Concat(0), {Shape{2, 3}, Shape{4, 3}, Shape{1, 3}});
    run(Concat(-1), {Shape{2, 3, 4}, Shape{2, 3, 1}});
    run(Concat(1), {Shape{2, 0, 4}, Shape{2, 3, 4}});
    run(Pad({1, 0}, {2, 3}, {}, 0.5), {Shape{3, 4}});
    run(Pad({}, {}, {1, 2}, -2.0), {Shape{2, 3, 5}});
    run(Pad({0, 1, 0}, {0, 0, 2}, {}, 0.0), {Shape{2, 3, 1}});
    run(Pad({1, 1}, {1, 1}, {}, 7.0), {Shape{0, 2}});
    MESSAGE(fmt::format("shape ops {}: worst error {} ε", dtype_name(dtype), worst));
  }
}

TEST_CASE("opencl concat with a missing tangent fills its block with zeros") {
  if (!opencl_present()) return;
  const Concat node(1);
  const std::vector<Tensor> inputs = {Tensor::randn(Shape{2, 3}, 1), Tensor::randn(Shape{2, 2}, 2)};
  const std::vector<Tensor> tangents = {Tensor(), Tensor::randn(Shape{2, 2}, 3)};
  const auto cpu = nodal::test::run_node(node, inputs, Tensor::randn(Shape{2, 5}, 4), tangents, Backend::cpu);
  const auto cl = nodal::test::run_node(node, inputs, Tensor::randn(Shape{2, 5}, 4), tangents, Backend::opencl, true);
  CHECK(max_error(cl.tangent, cpu.tangent) == 0.0);
}

TEST_CASE("opencl scalar ops: add, mul, div, rsub, rdiv, pow with a constant") {
  if (!opencl_present()) return;
  constexpr double pow_bound = 32.0;  // ε, see the header
  for (DType dtype : {DType::float32, DType::float64}) {
    std::uint64_t seed = 100;
    double worst = 0, worst_pow = 0;
    for (ScalarOp op : {ScalarOp::add, ScalarOp::mul, ScalarOp::div, ScalarOp::rsub, ScalarOp::rdiv, ScalarOp::pow})
      for (double c : {2.0, -1.5, 0.0, 3.0, 0.5, 1e-3}) {
        if (op == ScalarOp::div && c == 0.0) continue;  // x / 0: inf on both, covered by rdiv's zeros
        const ScalarNode node(op, c);
        for (const Shape& shape : {Shape{5, 7}, Shape{1, 33}, Shape{}, Shape{0, 3}}) {
          // positive and negative values, exact zeros (rdiv: ±inf; pow: 0^c), ties of pow's sign
          Tensor x = Tensor::randn(shape, seed++, dtype);
          if (x.numel() > 2) {
            std::vector<double> v = x.to_vector<double>();
            v[0] = 0.0;
            v[1] = -2.0;
            x = Tensor::from_vector(v, shape).astype(dtype);
          }
          const Tensor g = Tensor::randn(shape, seed++, dtype), t = Tensor::randn(shape, seed++, dtype);
          for (bool strided : {false, true}) {
            INFO(fmt::format("{}({}) {} {}{}", node.type(), c, dtype_name(dtype), to_string(shape),
                             strided ? " (transposed views)" : ""));
            const double e = compare(node, {x}, g, {t}, strided);
            if (op == ScalarOp::pow) {
              CHECK(e <= pow_bound);
              worst_pow = std::isnan(e) ? e : std::max(worst_pow, e);
            } else {
              CHECK(e == 0.0);
              worst = std::isnan(e) ? e : std::max(worst, e);
            }
          }
        }
      }
    MESSAGE(fmt::format("scalar ops {}: add/mul/div/rsub/rdiv worst {} ε, pow worst {:.2f} ε", dtype_name(dtype), worst,
                        worst_pow));
  }
  const Tensor z = Tensor::zeros(Shape{2}, DType::complex64).to(Backend::opencl);
  CHECK_THROWS_WITH_AS(mul_scalar(z, 2.0), doctest::Contains("mul_scalar"), DTypeError);
}

TEST_CASE("opencl max over axes: forward, vjp to the first argmax, jvp, ties and NaN") {
  if (!opencl_present()) return;
  for (DType dtype : {DType::float32, DType::float64}) {
    std::uint64_t seed = 900;
    double worst = 0;
    struct Case { Shape shape; std::vector<std::int64_t> axes; };
    for (const Case& k : {Case{Shape{4, 7}, {1}}, Case{Shape{4, 7}, {0}}, Case{Shape{3, 4, 5}, {0, 2}},
                          Case{Shape{3, 4, 5}, {}}, Case{Shape{2, 3, 4, 5}, {1, -1}}, Case{Shape{6}, {0}},
                          Case{Shape{0, 3}, {1}}, Case{Shape{33, 40}, {1}}})
      for (bool keepdims : {false, true}) {
        const Reduce node(ReduceOp::max, k.axes, keepdims);
        // small integers: many ties, so "first argmax" is exercised; one NaN in some rows
        std::vector<double> v = Tensor::rand(k.shape, seed++, DType::float64, 0.0, 4.0).to_vector<double>();
        for (double& e : v) e = std::floor(e);
        if (v.size() > 5) v[5] = std::numeric_limits<double>::quiet_NaN();
        const Tensor x = Tensor::from_vector(v, k.shape).astype(dtype);
        const Tensor t = Tensor::randn(k.shape, seed++, dtype);
        const Tensor g = Tensor::randn(output_shape(node, {x}), seed++, dtype);
        for (bool strided : {false, true}) {
          INFO(fmt::format("max {} {} axes {} keepdims {}{}", dtype_name(dtype), to_string(k.shape), k.axes.size(),
                           keepdims, strided ? " (transposed views)" : ""));
          const double e = compare(node, {x}, g, {t}, strided);
          CHECK(e == 0.0);
          worst = std::isnan(e) ? e : std::max(worst, e);
        }
      }
    MESSAGE(fmt::format("max {}: worst error {} ε", dtype_name(dtype), worst));
  }
  const Tensor empty = Tensor::zeros(Shape{2, 0}, DType::float32, Backend::opencl);
  CHECK_THROWS_AS(max(empty, {1}), ValueError);
}

TEST_CASE("opencl device copies: contiguous()/clone() of views, reshape as a view where strides allow") {
  if (!opencl_present()) return;
  for (DType dtype : {DType::float32, DType::float64, DType::complex64, DType::complex128}) {
    const Tensor host = Tensor::randn(Shape{4, 6, 5}, 3, DType::float64).astype(dtype);
    const Tensor device = host.to(Backend::opencl);
    const Tensor view = device.permute(std::vector<int>{2, 0, 1}).slice(1, 1, 4, 2);
    const Tensor copy = view.contiguous();
    CHECK(copy.is_contiguous());
    CHECK(copy.backend() == Backend::opencl);
    CHECK(max_error(copy, host.permute(std::vector<int>{2, 0, 1}).slice(1, 1, 4, 2).contiguous()) == 0.0);
    CHECK(max_error(device.clone(), host) == 0.0);
  }
  const Tensor t = Tensor::randn(Shape{6, 4}, 1).to(Backend::opencl).transpose(0, 1);  // [4, 6], strides (1, 4)
  const Tensor split = opencl::reshape_on_device(t, Shape{2, 2, 3, 2});                 // splits both axes: a view
  CHECK(split.buffer() == t.buffer());
  CHECK(max_error(split, t.to(Backend::cpu).reshape(Shape{2, 2, 3, 2})) == 0.0);
  const Tensor merged = opencl::reshape_on_device(t, Shape{24});                        // needs a copy
  CHECK(merged.buffer() != t.buffer());
  CHECK(max_error(merged, t.to(Backend::cpu).reshape(Shape{24})) == 0.0);
  // reshape_on_device over many views (permuted, sliced, with extent-1 axes) and target shapes:
  // always the host's row-major values, whether it returns a view or copies
  const Tensor base = Tensor::randn(Shape{4, 6, 1, 10}, 5, DType::float32);
  const Tensor base_device = base.to(Backend::opencl);
  const std::vector<std::vector<int>> perms = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 2, 3}, {0, 2, 3, 1}, {2, 0, 1, 3}};
  int views_kept = 0, copies = 0;
  for (const auto& perm : perms)
    for (int cut = 0; cut < 3; ++cut) {
      const auto make = [&](const Tensor& t) {
        const Tensor p = t.permute(perm);
        const int axis = int(std::find(perm.begin(), perm.end(), 3) - perm.begin());  // the extent-10 axis
        return cut == 0 ? p : cut == 1 ? p.slice(axis, 0, 5) : p.slice(axis, 1, 10, 2);
      };
      const Tensor h = make(base), d = make(base_device);
      const std::int64_t n = h.numel();
      for (const Shape& shape : {Shape{n}, Shape{n / 2, 2}, Shape{2, n / 2}, Shape{1, n, 1}, Shape{4, n / 4},
                                 Shape{n / 4, 2, 2}, Shape{2, 2, 1, n / 4}, Shape{6, n / 6}}) {
        if (shape.numel() != n) continue;
        INFO(fmt::format("view {} (perm {}, cut {}) to {}", to_string(h.shape()), perm[0], cut, to_string(shape)));
        const Tensor r = opencl::reshape_on_device(d, shape);
        CHECK(max_error(r, h.contiguous().reshape(shape)) == 0.0);
        (r.buffer() == d.buffer() ? views_kept : copies) += 1;
      }
    }
  MESSAGE(fmt::format("reshape_on_device: {} views, {} copies", views_kept, copies));
  CHECK(views_kept > 0);
  CHECK(copies > 0);

  Tensor filled = Tensor::empty(Shape{3, 5}, DType::float64, Backend::opencl);
  opencl::fill(filled, -1.25);
  CHECK(filled.to(Backend::cpu).to_vector<double>() == std::vector<double>(15, -1.25));
}

#endif
