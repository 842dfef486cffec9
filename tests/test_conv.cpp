// conv1d/2d/3d against the independent float64 reference (conv_reference.hpp): every registered
// CPU algorithm (direct, gemm, and whatever else registers: the fft ones are picked up
// automatically) on a covering grid of 2-D geometries, forward and both backward passes, in
// float64 and float32; then the node itself (bias, flip, reverse and forward mode through a
// graph), conv1d and conv3d, and the errors for bad input.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>

#include "conv_reference.hpp"
#include "conv_test_util.hpp"
#include "winograd_bound.hpp"
#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/nodes/conv.hpp"

using namespace nodal;
using conv_test::compare;
using conv_test::ErrorModel;
using conv_test::Operand;
using conv_test::random_operand;

namespace {

struct Case2d {
  std::int64_t batch, cin, cout, groups;
  std::array<std::int64_t, 2> image, kernel, stride, dilation;
  std::string padding;
  ConvOptions options() const {
    ConvOptions o;
    o.stride = {stride[0], stride[1]};
    o.dilation = {dilation[0], dilation[1]};
    o.groups = groups;
    o.padding = ConvPadding::parse(padding);
    return o;
  }
  Shape x_shape() const { return {batch, cin, image[0], image[1]}; }
  Shape w_shape() const { return {cout, cin / groups, kernel[0], kernel[1]}; }
};

struct Channels {
  std::int64_t cin, cout, groups;
};

// The factors of the grid and their values.
const std::int64_t batches[] = {1, 3};
const Channels channel_sets[] = {{1, 1, 1}, {1, 8, 1}, {3, 3, 1}, {3, 8, 1}, {8, 3, 1},
                                 {8, 8, 1}, {3, 3, 3}, {8, 8, 8}, {8, 4, 2}};  // depthwise: cin = cout = groups
const std::array<std::int64_t, 2> kernels[] = {{1, 1}, {3, 3}, {5, 5}, {7, 7}, {11, 11}, {4, 4}, {3, 7}};
const std::array<std::int64_t, 2> strides[] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}};
const std::array<std::int64_t, 2> dilations[] = {{1, 1}, {2, 2}};
const char* paddings[] = {"0", "same", "1", "1,2,0,3", "2,1"};  // none, same, symmetric, asymmetric, per axis
const std::array<std::int64_t, 2> images[] = {{1, 1}, {2, 3}, {3, 3}, {5, 5}, {8, 8}, {13, 9}, {16, 16}, {28, 28}, {67, 53}};

// Keeps a case's forward multiply-adds ≤ 4e5 (the naive reference runs every pass per dtype):
// first batch 1, then fewer channels with the same kind of grouping.
void shrink(Case2d& c, const ConvGeometry& g) {
  const auto macs = [&] { return double(g.forward_flops()) / 2 * double(c.batch * c.cin * c.cout) / double(g.batch * g.in_channels * g.out_channels); };
  if (macs() > 4e5) c.batch = 1;
  if (macs() > 4e5) {
    if (c.groups == c.cin && c.cin == c.cout) c.cin = c.cout = c.groups = 3;
    else c.cin = std::min<std::int64_t>(c.cin, 3), c.cout = std::min<std::int64_t>(c.cout, 3), c.groups = 1;
  }
  if (macs() > 4e5) c.cin = c.cout = c.groups = 1;
}

// A covering design: round-robin over every factor with co-prime steps (every value of every
// factor appears many times, in shifting combinations), a fixed-seed random sample for pairwise
// mixing, and a few hand-picked edge cases. Geometries that do not fit (padded input smaller
// than the dilated kernel) are skipped.
std::vector<Case2d> grid() {
  std::vector<Case2d> cases = {
      // kernel larger than the unpadded image; 1×1 image with 'same'; 1×1 kernel on a large image
      {2, 3, 4, 1, {3, 3}, {5, 5}, {1, 1}, {1, 1}, "1"},
      {1, 2, 2, 1, {2, 3}, {7, 7}, {2, 1}, {1, 1}, "same"},
      {1, 1, 1, 1, {1, 1}, {11, 11}, {1, 1}, {2, 2}, "same"},
      {3, 8, 8, 1, {67, 53}, {1, 1}, {1, 1}, {1, 1}, "0"},
      {2, 4, 6, 2, {9, 12}, {3, 7}, {3, 2}, {2, 1}, "1,2,0,3"},
  };
  auto add = [&](Case2d c) {
    try {
      const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, c.x_shape(), c.w_shape(), c.options());
      shrink(c, g);
      cases.push_back(c);
    } catch (const ShapeError&) {  // does not fit: skip
    }
  };
  auto pick = [](const auto& values, std::size_t i) { return values[i % std::size(values)]; };
  for (std::size_t i = 0; i < 160; ++i) {
    const Channels ch = pick(channel_sets, i * 5 + 1);
    add({pick(batches, i), ch.cin, ch.cout, ch.groups, pick(images, i * 7 + 3), pick(kernels, i * 3 + 2),
         pick(strides, i * 11), pick(dilations, i / 3), pick(paddings, i * 13 + 4)});
  }
  std::mt19937 rng(20261124);
  auto any = [&](const auto& values) { return values[rng() % std::size(values)]; };
  for (int i = 0; i < 120; ++i) {
    const Channels ch = any(channel_sets);
    add({any(batches), ch.cin, ch.cout, ch.groups, any(images), any(kernels), any(strides), any(dilations),
         any(paddings)});
  }
  return cases;
}

// One algorithm on one geometry and dtype against the reference: y, dx and dw.
// Returns the worst error / bound ratio of the three results.
double check_algorithm(const cpu::ConvAlgorithm& algorithm, const ConvGeometry& g, DType dtype, std::uint64_t seed) {
  const Operand x = random_operand(g.input_shape(), seed, dtype);
  const Operand w = random_operand(g.weight_shape(), seed + 1, dtype);
  const Operand dy = random_operand(g.output_shape(), seed + 2, dtype);
  std::vector<double> abs_y, abs_dx, abs_dw;
  const std::vector<double> y_ref = conv_reference::forward(g, x.values, w.values, &abs_y);
  const std::vector<double> dx_ref = conv_reference::backward_input(g, dy.values, w.values, &abs_dx);
  const std::vector<double> dw_ref = conv_reference::backward_weight(g, x.values, dy.values, &abs_dw);

  Tensor y = Tensor::empty(g.output_shape(), dtype);
  Tensor dx = Tensor::empty(g.input_shape(), dtype);
  Tensor dw = Tensor::empty(g.weight_shape(), dtype);
  algorithm.forward(g, x.tensor, w.tensor, y, false);
  algorithm.backward(g, x.tensor, w.tensor, dy.tensor, &dx, &dw, nullptr);

  double transform = 1;
  for (std::size_t a = 0; a < 3; ++a) transform *= double(g.in[a] + g.pad_before[a] + g.pad_after[a] + g.kernel[a]);
  const std::string_view name = algorithm.name();
  const auto ns = conv_test::norm_scales(x.values, w.values, dy.values, g.batch);
  std::int64_t terms_y = conv_reference::forward_terms(g), terms_dx = conv_reference::backward_input_terms(g),
               terms_dw = conv_reference::backward_weight_terms(g);
  if (name == "winograd") {  // its own error scale (tests/winograd_bound.hpp)
    abs_y = winograd_bound::forward(g, x.values, w.values);
    abs_dx = winograd_bound::backward_input(g, dy.values, w.values);
    abs_dw = winograd_bound::backward_weight(g, x.values, dy.values);
    terms_y = winograd_bound::forward_chain(g), terms_dx = winograd_bound::backward_input_chain(g),
    terms_dw = winograd_bound::backward_weight_chain(g);
  }
  const auto cy = compare(y.to_vector<double>(), y_ref, abs_y, {name, dtype, terms_y, transform, ns.forward});
  const auto cx = compare(dx.to_vector<double>(), dx_ref, abs_dx, {name, dtype, terms_dx, transform, ns.backward_input});
  const auto cw = compare(dw.to_vector<double>(), dw_ref, abs_dw, {name, dtype, terms_dw, transform, ns.backward_weight});
  INFO(fmt::format("{} {} {}", name, dtype_name(dtype), g.key()));
  INFO("forward: ", cy.worst);
  INFO("backward input: ", cx.worst);
  INFO("backward weight: ", cw.worst);
  CHECK(cy.worst_ratio <= 1.0);
  CHECK(cx.worst_ratio <= 1.0);
  CHECK(cw.worst_ratio <= 1.0);
  return std::max({cy.worst_ratio, cx.worst_ratio, cw.worst_ratio});
}

void check_grid(DType dtype) {
  const std::vector<Case2d> cases = grid();
  REQUIRE(cases.size() >= 150);
  const auto algorithms = cpu::conv_algorithms();
  REQUIRE(algorithms.size() >= 2);
  std::int64_t checked = 0;
  std::map<std::string, double> seconds;  // per algorithm, reference included: shows a slow one
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case2d& c = cases[i];
    const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, c.x_shape(), c.w_shape(), c.options());
    for (std::size_t ai = 0; ai < algorithms.size(); ++ai) {
      const cpu::ConvAlgorithm* a = algorithms[ai];
      if (!a->supports(g)) continue;
      const auto start = std::chrono::steady_clock::now();
      check_algorithm(*a, g, dtype, 1000 + 10 * i);
      seconds[std::string(a->name())] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++checked;
    }
  }
  std::string times;
  for (const auto& [name, s] : seconds) times += fmt::format(" {} {:.2f} s", name, s);
  MESSAGE(fmt::format("{} cases, {} algorithm runs ({}):{}", cases.size(), checked, dtype_name(dtype), times));
}

}  // namespace

TEST_CASE("conv2d grid: every algorithm against the float64 reference in float64") { check_grid(DType::float64); }

TEST_CASE("conv2d grid: every algorithm against the float64 reference in float32") { check_grid(DType::float32); }

TEST_CASE("winograd: F(4,3) and F(4,5) against the reference on every padding, odd sizes, groups and ragged blocks") {
  const cpu::ConvAlgorithm* a = cpu::find_conv_algorithm("winograd");
  REQUIRE(a != nullptr);
  // Channel counts off the 4 × 4 register tiles of the weight product, 1-channel layers, depthwise
  // and grouped; images from 1×1 (the kernel wider than the image) to more tiles than one block
  // holds (64 float, 32 double tiles: 3 × 67×53 is 714 tiles); paddings none, same, asymmetric,
  // larger than the kernel's reach, and per axis.
  const Case2d cases[] = {
      {1, 1, 1, 1, {1, 1}, {3, 3}, {1, 1}, {1, 1}, "1"},       {3, 3, 5, 1, {67, 53}, {3, 3}, {1, 1}, {1, 1}, "same"},
      {2, 5, 7, 1, {13, 9}, {5, 5}, {1, 1}, {1, 1}, "same"},    {1, 8, 8, 1, {16, 16}, {3, 3}, {1, 1}, {1, 1}, "0"},
      {2, 6, 6, 6, {9, 11}, {3, 3}, {1, 1}, {1, 1}, "1,2,0,3"}, {1, 8, 4, 2, {8, 8}, {5, 5}, {1, 1}, {1, 1}, "2,1"},
      {3, 4, 8, 1, {28, 28}, {5, 5}, {1, 1}, {1, 1}, "4"},      {1, 1, 9, 1, {5, 5}, {5, 5}, {1, 1}, {1, 1}, "0"},
      {2, 12, 16, 1, {14, 14}, {5, 5}, {1, 1}, {1, 1}, "2"},    {1, 16, 12, 4, {21, 7}, {3, 3}, {1, 1}, {1, 1}, "3,0,0,2"},
      {3, 7, 3, 1, {2, 3}, {3, 3}, {1, 1}, {1, 1}, "2"},
  };
  for (DType dtype : {DType::float64, DType::float32}) {
    double worst = 0;
    for (std::size_t i = 0; i < std::size(cases); ++i) {
      const Case2d& c = cases[i];
      const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, c.x_shape(), c.w_shape(), c.options());
      REQUIRE(a->supports(g));
      worst = std::max(worst, check_algorithm(*a, g, dtype, 4000 + i));
    }
    MESSAGE(fmt::format("winograd {}: largest error / bound {:.3g}", dtype_name(dtype), worst));
  }
  // what it cannot run, it says
  std::string why;
  const ConvGeometry strided = ConvGeometry::resolve("conv2d", 2, {1, 2, 9, 9}, {2, 2, 3, 3}, cases[0].options());
  CHECK(a->supports(strided));
  Case2d c7 = cases[1];
  c7.kernel = {7, 7};
  CHECK_FALSE(a->supports(ConvGeometry::resolve("conv2d", 2, c7.x_shape(), c7.w_shape(), c7.options()), &why));
  CHECK(why.find("3×3 or 5×5") != std::string::npos);
  Case2d c2 = cases[1];
  c2.stride = {2, 2};
  CHECK_FALSE(a->supports(ConvGeometry::resolve("conv2d", 2, c2.x_shape(), c2.w_shape(), c2.options()), &why));
  CHECK(why.find("stride 1") != std::string::npos);
}

TEST_CASE("winograd: the Toom-Cook matrices compute the correlation exactly in double") {
  auto check = [](auto t, int m, int r) {
    const int alpha = m + r - 1;
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal;
    double worst = 0;
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<double> d(static_cast<std::size_t>(alpha)), g(static_cast<std::size_t>(r));
      for (double& v : d) v = normal(rng);
      for (double& v : g) v = normal(rng);
      for (int i = 0; i < m; ++i) {
        double y = 0, ref = 0;
        for (int a = 0; a < alpha; ++a) {
          double gg = 0, dd = 0;
          for (int k = 0; k < r; ++k) gg += t.G[a][k] * g[std::size_t(k)];
          for (int j = 0; j < alpha; ++j) dd += t.BT[a][j] * d[std::size_t(j)];
          y += t.AT[i][a] * gg * dd;
        }
        for (int k = 0; k < r; ++k) ref += d[std::size_t(i + k)] * g[std::size_t(k)];
        worst = std::max(worst, std::abs(y - ref));
      }
    }
    MESSAGE(fmt::format("F({}, {}): largest error {:.2g} (float64)", m, r, worst));
    CHECK(worst < 1e-12);
  };
  check(cpu::winograd::toom_cook<4, 3>(), 4, 3);
  check(cpu::winograd::toom_cook<4, 5>(), 4, 5);
  check(cpu::winograd::toom_cook<2, 3>(), 2, 3);
  check(cpu::winograd::toom_cook<6, 3>(), 6, 3);
}

TEST_CASE("the grid covers every value of every factor") {
  const std::vector<Case2d> cases = grid();
  auto count = [&](auto&& predicate) { return std::count_if(cases.begin(), cases.end(), predicate); };
  for (auto k : kernels) CHECK(count([&](const Case2d& c) { return c.kernel == k; }) >= 3);
  for (auto s : strides) CHECK(count([&](const Case2d& c) { return c.stride == s; }) >= 3);
  for (auto d : dilations) CHECK(count([&](const Case2d& c) { return c.dilation == d; }) >= 3);
  for (auto p : paddings) CHECK(count([&](const Case2d& c) { return c.padding == p; }) >= 3);
  for (auto im : images) CHECK(count([&](const Case2d& c) { return c.image == im; }) >= 3);
  CHECK(count([](const Case2d& c) { return c.groups > 1 && c.groups == c.cin; }) >= 10);  // depthwise
  CHECK(count([](const Case2d& c) { return c.batch == 3; }) >= 10);
  CHECK(count([](const Case2d& c) {  // kernel wider than the unpadded image
          return c.kernel[0] > c.image[0] || c.kernel[1] > c.image[1];
        }) >= 5);
}

namespace {

// The node through a graph, with bias and the chosen options: y, x̄, w̄, b̄ by reverse mode and ẏ
// by forward mode, against the reference (flip = true: the reference runs on the reversed
// kernel and w̄ is reversed back).
void check_node(int rank, const Shape& x_shape, const Shape& w_shape, const ConvOptions& options, DType dtype,
                std::uint64_t seed) {
  const ConvGeometry g = ConvGeometry::resolve(rank == 1 ? "conv1d" : rank == 2 ? "conv2d" : "conv3d", rank, x_shape,
                                               w_shape, options);
  const Operand x = random_operand(x_shape, seed, dtype);
  const Operand w = random_operand(w_shape, seed + 1, dtype);
  const Operand b = random_operand(Shape{g.out_channels}, seed + 2, dtype);
  const Operand dy = random_operand(g.output_shape(), seed + 3, dtype);
  const Operand xdot = random_operand(x_shape, seed + 4, dtype);
  const Operand wdot = random_operand(w_shape, seed + 5, dtype);
  const Operand bdot = random_operand(Shape{g.out_channels}, seed + 6, dtype);

  const std::int64_t K = g.kernel_pixels();
  const std::vector<double> wk = options.flip ? conv_test::flip_kernels(w.values, K) : w.values;
  const std::vector<double> wdotk = options.flip ? conv_test::flip_kernels(wdot.values, K) : wdot.values;
  std::vector<double> abs_y, abs_dx, abs_dw, abs_t1, abs_t2;
  std::vector<double> y_ref = conv_reference::forward(g, x.values, wk, &abs_y);
  const std::vector<double> dx_ref = conv_reference::backward_input(g, dy.values, wk, &abs_dx);
  std::vector<double> dw_ref = conv_reference::backward_weight(g, x.values, dy.values, &abs_dw);
  if (options.flip) dw_ref = conv_test::flip_kernels(dw_ref, K), abs_dw = conv_test::flip_kernels(abs_dw, K);
  std::vector<double> db_ref(std::size_t(g.out_channels), 0.0), abs_db(db_ref.size(), 0.0);
  std::vector<double> t1 = conv_reference::forward(g, xdot.values, wk, &abs_t1);
  const std::vector<double> t2 = conv_reference::forward(g, x.values, wdotk, &abs_t2);
  const std::int64_t P = g.out_pixels();
  for (std::size_t i = 0; i < y_ref.size(); ++i) {
    const std::size_t o = (i / std::size_t(P)) % std::size_t(g.out_channels);
    y_ref[i] += b.values[o];
    abs_y[i] += std::abs(b.values[o]);
    t1[i] += t2[i] + bdot.values[o];
    abs_t1[i] += abs_t2[i] + std::abs(bdot.values[o]);
    db_ref[o] += dy.values[i];
    abs_db[o] += std::abs(dy.values[i]);
  }

  Graph graph;
  const Value xv = graph.parameter("x", x.tensor), wv = graph.parameter("w", w.tensor), bv = graph.parameter("b", b.tensor);
  const Value y = rank == 1 ? conv1d(xv, wv, bv, options) : rank == 2 ? conv2d(xv, wv, bv, options) : conv3d(xv, wv, bv, options);
  Execution run = graph.forward({y});
  const Gradients grads = run.backward(y, {xv, wv, bv}, {.cotangent = dy.tensor});
  const Feed tangents[] = {{xv, xdot.tensor}, {wv, wdot.tensor}, {bv, bdot.tensor}};
  const JvpResult jvp = graph.jvp(std::span<const Value>(&y, 1), {}, tangents);

  const std::string_view name = options.algorithm;
  const std::int64_t m = conv_reference::forward_terms(g) + 1;
  double transform = 1;
  for (std::size_t a = 0; a < 3; ++a) transform *= double(g.in[a] + g.pad_before[a] + g.pad_after[a] + g.kernel[a]);
  const auto ns = conv_test::norm_scales(x.values, w.values, dy.values, g.batch);
  const auto nt = conv_test::norm_scales(xdot.values, wdot.values, dy.values, g.batch);
  const double b_norm = conv_test::block_norms(b.values, 1)[0] + conv_test::block_norms(bdot.values, 1)[0];
  const double jvp_scale = nt.forward + conv_test::norm_scales(x.values, wdot.values, dy.values, g.batch).forward;
  INFO(fmt::format("{} {} flip={} {}", name, dtype_name(dtype), options.flip, g.key()));
  std::int64_t terms_y = m, terms_dx = conv_reference::backward_input_terms(g),
               terms_dw = conv_reference::backward_weight_terms(g), terms_t = 2 * m + 1;
  if (name == "winograd") {  // its own error scale (tests/winograd_bound.hpp), bias terms added
    const std::vector<double> wy = winograd_bound::forward(g, x.values, wk);
    const std::vector<double> wt1 = winograd_bound::forward(g, xdot.values, wk);
    const std::vector<double> wt2 = winograd_bound::forward(g, x.values, wdotk);
    for (std::size_t i = 0; i < y_ref.size(); ++i) {
      const std::size_t o = (i / std::size_t(P)) % std::size_t(g.out_channels);
      abs_y[i] = wy[i] + std::abs(b.values[o]);
      abs_t1[i] = wt1[i] + wt2[i] + std::abs(bdot.values[o]);
    }
    abs_dx = winograd_bound::backward_input(g, dy.values, wk);
    abs_dw = winograd_bound::backward_weight(g, x.values, dy.values);
    if (options.flip) abs_dw = conv_test::flip_kernels(abs_dw, K);
    terms_y = winograd_bound::forward_chain(g) + 1, terms_t = 2 * terms_y + 1;
    terms_dx = winograd_bound::backward_input_chain(g), terms_dw = winograd_bound::backward_weight_chain(g);
  }
  const auto cy = compare(run[y].to_vector<double>(), y_ref, abs_y, {name, dtype, terms_y, transform, ns.forward + b_norm});
  const auto cx = compare(grads[xv].to_vector<double>(), dx_ref, abs_dx, {name, dtype, terms_dx, transform, ns.backward_input});
  const auto cw = compare(grads[wv].to_vector<double>(), dw_ref, abs_dw, {name, dtype, terms_dw, transform, ns.backward_weight});
  const auto cb = compare(grads[bv].to_vector<double>(), db_ref, abs_db, {name, dtype, g.batch * P});
  const auto ct = compare(jvp.tangents[0].to_vector<double>(), t1, abs_t1, {name, dtype, terms_t, transform, jvp_scale + b_norm});
  INFO("y: ", cy.worst, " | dx: ", cx.worst, " | dw: ", cw.worst, " | db: ", cb.worst, " | jvp: ", ct.worst);
  CHECK(cy.worst_ratio <= 1.0);
  CHECK(cx.worst_ratio <= 1.0);
  CHECK(cw.worst_ratio <= 1.0);
  CHECK(cb.worst_ratio <= 1.0);
  CHECK(ct.worst_ratio <= 1.0);
}

// check_node for an algorithm named in `options`, when it can run that geometry (an algorithm
// with limits, e.g. winograd's 3×3/5×5 stride 1, is checked where it applies).
void check_node_if_supported(const cpu::ConvAlgorithm& a, int rank, const Shape& x_shape, const Shape& w_shape,
                             const ConvOptions& options, DType dtype, std::uint64_t seed) {
  const ConvGeometry g = ConvGeometry::resolve(rank == 1 ? "conv1d" : rank == 2 ? "conv2d" : "conv3d", rank, x_shape,
                                               w_shape, options);
  if (a.supports(g)) check_node(rank, x_shape, w_shape, options, dtype, seed);
}

ConvOptions options_of(std::vector<std::int64_t> stride, std::string padding, std::vector<std::int64_t> dilation,
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

}  // namespace

TEST_CASE("conv2d node: bias and flip through reverse and forward mode for every algorithm") {
  for (const cpu::ConvAlgorithm* a : cpu::conv_algorithms()) {
    const std::string name(a->name());
    for (DType dtype : {DType::float64, DType::float32}) {
      for (bool flip : {false, true}) {
        check_node_if_supported(*a, 2, {2, 4, 9, 11}, {6, 2, 3, 4}, options_of({2, 1}, "1,0,2,1", {1, 2}, 2, flip, name), dtype, 50);
        check_node_if_supported(*a, 2, {3, 3, 12, 10}, {5, 3, 5, 5}, options_of({1}, "same", {1}, 1, flip, name), dtype, 60);
        check_node_if_supported(*a, 2, {1, 6, 7, 7}, {6, 1, 3, 3}, options_of({1}, "1", {1}, 6, flip, name), dtype, 70);
        check_node_if_supported(*a, 2, {2, 5, 13, 6}, {7, 5, 3, 3}, options_of({1}, "2,0,1,2", {1}, 1, flip, name), dtype, 75);
      }
    }
  }
  // the default 'auto' choice
  check_node(2, {2, 3, 16, 16}, {4, 3, 3, 3}, options_of({1}, "1", {1}, 1, false, "auto"), DType::float32, 80);
}

TEST_CASE("conv1d and conv3d node: every algorithm against the reference") {
  for (const cpu::ConvAlgorithm* a : cpu::conv_algorithms()) {
    const std::string name(a->name());
    if (name == "winograd") continue;  // 2-D only (its supports() says so; the grid checks it)
    for (DType dtype : {DType::float64, DType::float32}) {
      check_node(1, {2, 3, 40}, {4, 3, 5}, options_of({2}, "2,1", {1}, 1, false, name), dtype, 90);
      check_node(1, {1, 4, 17}, {4, 2, 7}, options_of({1}, "same", {2}, 2, true, name), dtype, 91);
      check_node(1, {3, 1, 1}, {2, 1, 3}, options_of({1}, "1", {1}, 1, false, name), dtype, 92);
      check_node(3, {2, 2, 5, 6, 7}, {3, 2, 3, 3, 3}, options_of({1}, "1", {1}, 1, false, name), dtype, 93);
      check_node(3, {1, 4, 6, 5, 9}, {4, 1, 2, 3, 4}, options_of({2, 1, 3}, "0,1,1,0,2,1", {1, 2, 1}, 4, true, name),
                 dtype, 94);
      check_node(3, {1, 2, 4, 4, 4}, {2, 2, 5, 1, 3}, options_of({1}, "same", {1}, 1, false, name), dtype, 95);
    }
  }
}

TEST_CASE("conv nodes: bad input throws the right error naming the node") {
  const Tensor x = Tensor::zeros({1, 4, 8, 8});
  const Tensor w = Tensor::zeros({6, 4, 3, 3});
  auto throws = [](auto&& f, auto type_tag, std::string_view node) {
    using E = typename decltype(type_tag)::type;
    bool thrown = false;
    try {
      f();
    } catch (const E& e) {
      thrown = true;
      INFO(e.what());
      CHECK(std::string_view(e.what()).find(node) != std::string_view::npos);
    }
    CHECK(thrown);
  };
  throws([&] { conv2d(Tensor::zeros({4, 8, 8}), w); }, TypeTag<ShapeError>{}, "conv2d");  // rank of x
  throws([&] { conv2d(x, Tensor::zeros({6, 4, 3})); }, TypeTag<ShapeError>{}, "conv2d");  // rank of w
  throws([&] { conv2d(x, Tensor::zeros({6, 3, 3, 3})); }, TypeTag<ShapeError>{}, "conv2d");  // channel mismatch
  {
    ConvOptions o;
    o.groups = 3;  // divides neither 4 nor 6... (4 % 3 ≠ 0)
    throws([&] { conv2d(x, Tensor::zeros({6, 1, 3, 3}), o); }, TypeTag<ShapeError>{}, "conv2d");
  }
  throws([&] { conv2d(x, Tensor::zeros({6, 4, 9, 3})); }, TypeTag<ShapeError>{}, "conv2d");  // kernel > padded input
  {
    ConvOptions o;
    o.algorithm = "winograd_f63";
    throws([&] { conv2d(x, w, o); }, TypeTag<ValueError>{}, "conv2d");  // unknown algorithm
    o.algorithm = "winograd";
    o.stride = {2};
    throws([&] { conv2d(x, w, o); }, TypeTag<ValueError>{}, "stride 1");  // known, but not for this geometry
  }
  throws([&] { conv2d(x, w, Tensor::zeros({5})); }, TypeTag<ShapeError>{}, "conv2d");  // bias length
  throws([&] { conv2d(x.astype(DType::float64), w); }, TypeTag<DTypeError>{}, "conv2d");  // mixed dtypes
  throws([&] { conv1d(Tensor::zeros({1, 2, 3, 3}), Tensor::zeros({1, 2, 3})); }, TypeTag<ShapeError>{}, "conv1d");
  throws([&] { conv3d(Tensor::zeros({1, 2, 3, 3}), Tensor::zeros({1, 2, 1, 1, 1})); }, TypeTag<ShapeError>{}, "conv3d");
  {
    ConvOptions o;
    o.stride = {0};
    throws([&] { conv2d(x, w, o); }, TypeTag<ValueError>{}, "conv2d");
  }
}

TEST_CASE("conv2d under no-grad runs and gives the same values") {
  const Tensor x = Tensor::randn({2, 3, 10, 10}, 7);
  const Tensor w = Tensor::randn({4, 3, 3, 3}, 8);
  const Tensor y1 = conv2d(x, w);
  NoGradGuard guard;
  const Tensor y2 = conv2d(x, w);
  CHECK(y1.to_vector<float>() == y2.to_vector<float>());
}

TEST_CASE("conv2d gemm: many input channels split the im2col matrix into blocks of output rows") {
  // Cin·K = 64·49 = 3136 rows of 40 pixels: 490 KiB per output row in float32, so the gemm
  // algorithm's 1.5 MiB blocks hold 3 rows and the 40 rows take 14 blocks (7 in float64).
  ConvOptions o;
  o.padding = ConvPadding::all(3);
  o.stride = {1, 2};
  const ConvGeometry g = ConvGeometry::resolve("conv2d", 2, Shape{2, 64, 40, 79}, Shape{2, 64, 7, 7}, o);
  for (const char* name : {"gemm", "direct"})
    for (DType dtype : {DType::float64, DType::float32}) check_algorithm(*cpu::find_conv_algorithm(name), g, dtype, 77);
}
