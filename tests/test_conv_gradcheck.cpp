// float64 gradcheck (central differences, full Jacobians from vjp and jvp, their consistency,
// retain, zero cotangent; core/gradcheck.hpp) of conv1d/2d/3d for every registered algorithm,
// and of conv_transpose2d, on small shapes with stride, dilation, groups, bias and flip. A
// second graph-level check composes conv with a nonlinearity so that saved state from the
// forward pass (the fft algorithms' spectra) is used by the backward pass inside a graph.
#include <doctest/doctest.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/conv_transpose.hpp"
#include "nodal/nodes/unary.hpp"

using namespace nodal;

namespace {

Tensor randn64(const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::float64); }

// Random-projection mode (vᵀJu against directional differences, several random u, v) for the
// secondary variants: the full Jacobians cost one backward per output and two forwards per
// input element, for each of the algorithms.
GradcheckOptions fast() {
  GradcheckOptions o;
  o.fast = true;
  return o;
}

void check_grad(const GradcheckResult& r, std::string_view what) {
  INFO(what);
  INFO(r.report());
  CHECK(r.passed());
}

ConvOptions conv_options(std::vector<std::int64_t> stride, std::string padding, std::vector<std::int64_t> dilation,
                         std::int64_t groups, bool flip, std::string algorithm) {
  ConvOptions o;
  o.stride = std::move(stride);
  o.padding = ConvPadding::parse(padding);
  o.dilation = std::move(dilation);
  o.groups = groups;
  o.flip = flip;
  o.algorithm = std::move(algorithm);
  return o;
}

// The algorithms that run every geometry; winograd (3×3 and 5×5, stride 1) has its own cases.
std::vector<std::string> algorithm_names() {
  std::vector<std::string> names;
  for (const cpu::ConvAlgorithm* a : cpu::conv_algorithms())
    if (a->name() != "winograd") names.emplace_back(a->name());
  return names;
}

}  // namespace

TEST_CASE("gradcheck conv2d: every algorithm with stride dilation groups bias and flip") {
  for (const std::string& name : algorithm_names()) {
    for (bool flip : {false, true}) {
      auto node = std::make_shared<Conv>(2, conv_options({2, 1}, "1,0,1,2", {1, 2}, 2, flip, name));
      check_grad(gradcheck(node, {randn64({2, 4, 3, 5}, 1), randn64({4, 2, 3, 2}, 2), randn64({4}, 3)},
                           flip ? fast() : GradcheckOptions{}),
                 fmt::format("conv2d {} flip={} strided grouped", name, flip));
    }
    auto depthwise = std::make_shared<Conv>(2, conv_options({1}, "same", {1}, 3, false, name));
    check_grad(gradcheck(depthwise, {randn64({1, 3, 5, 4}, 4), randn64({3, 1, 3, 3}, 5)}, fast()),
               fmt::format("conv2d {} depthwise same", name));
  }
}

TEST_CASE("gradcheck conv2d winograd: 3x3 and 5x5, padding, groups, bias and flip") {
  for (bool flip : {false, true}) {
    auto k3 = std::make_shared<Conv>(2, conv_options({1}, "1,0,2,1", {1}, 2, flip, "winograd"));
    check_grad(gradcheck(k3, {randn64({2, 4, 6, 5}, 31), randn64({4, 2, 3, 3}, 32), randn64({4}, 33)},
                         flip ? fast() : GradcheckOptions{}),
               fmt::format("conv2d winograd 3x3 flip={}", flip));
    auto k5 = std::make_shared<Conv>(2, conv_options({1}, "same", {1}, 1, flip, "winograd"));
    check_grad(gradcheck(k5, {randn64({1, 3, 7, 9}, 34), randn64({2, 3, 5, 5}, 35), randn64({2}, 36)}, fast()),
               fmt::format("conv2d winograd 5x5 flip={}", flip));
  }
  ConvTransposeOptions o;
  o.padding = {1, 0};
  o.algorithm = "winograd";
  auto transpose = std::make_shared<ConvTranspose>(2, o);
  check_grad(gradcheck(transpose, {randn64({2, 3, 4, 5}, 37), randn64({3, 2, 3, 3}, 38), randn64({2}, 39)}, fast()),
             "conv_transpose2d winograd 3x3");
}

TEST_CASE("gradcheck conv1d and conv3d: every algorithm") {
  for (const std::string& name : algorithm_names()) {
    auto c1 = std::make_shared<Conv>(1, conv_options({2}, "2,1", {1}, 1, true, name));
    check_grad(gradcheck(c1, {randn64({2, 2, 9}, 6), randn64({3, 2, 4}, 7), randn64({3}, 8)}),
               fmt::format("conv1d {}", name));
    auto c3 = std::make_shared<Conv>(3, conv_options({1, 2, 1}, "1", {1}, 1, false, name));
    check_grad(gradcheck(c3, {randn64({1, 2, 3, 4, 3}, 9), randn64({2, 2, 2, 3, 2}, 10), randn64({2}, 11)}, fast()),
               fmt::format("conv3d {}", name));
  }
}

TEST_CASE("gradcheck conv_transpose2d: every algorithm with output_padding and groups") {
  for (const std::string& name : algorithm_names()) {
    ConvTransposeOptions o;
    o.stride = {2, 1};
    o.padding = {1, 0};
    o.output_padding = {1, 0};
    o.dilation = {1, 2};
    o.groups = 2;
    o.algorithm = name;
    auto node = std::make_shared<ConvTranspose>(2, o);
    check_grad(gradcheck(node, {randn64({2, 4, 3, 4}, 12), randn64({4, 1, 3, 2}, 13), randn64({2}, 14)}),
               fmt::format("conv_transpose2d {}", name));
  }
}

TEST_CASE("gradcheck of conv inside a graph: tanh of conv2d of tanh") {
  for (const std::string& name : algorithm_names()) {
    const ConvOptions o = conv_options({1}, "1", {1}, 1, false, name);
    const GraphFunction f = [o](std::span<const Value> in) {
      return std::vector<Value>{tanh(conv2d(tanh(in[0]), in[1], in[2], o))};
    };
    check_grad(gradcheck(f, {randn64({2, 2, 5, 5}, 15), randn64({3, 2, 3, 3}, 16), randn64({3}, 17)}, fast()),
               fmt::format("tanh(conv2d(tanh(x))) {}", name));
  }
}
