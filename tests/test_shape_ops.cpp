// Structural nodes: values by hand, views where promised, gradcheck of every node (including
// views fed as inputs), and the shape errors.
#include <doctest/doctest.h>

#include "nodal/core/gradcheck.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/shape_ops.hpp"

using namespace nodal;

namespace {
Tensor randn64(const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::float64); }
Tensor iota(const Shape& s) { return Tensor::arange(s.numel(), DType::float64).reshape(s); }
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
void check_grad(GradcheckResult r) {
  INFO(r.report());
  CHECK(bool(r));
}
template <class N> std::shared_ptr<const Node> node(N n) { return std::make_shared<N>(std::move(n)); }
}  // namespace

TEST_CASE("reshape, flatten, permute, transpose: values and views") {
  const Tensor x = iota(Shape{2, 3, 4});
  const Tensor r = reshape(x, {4, -1});
  CHECK(r.shape() == Shape{4, 6});
  CHECK(r.buffer() == x.buffer());  // a view, no copy
  CHECK(values(r) == values(x));
  CHECK(flatten(x).shape() == Shape{2, 12});
  CHECK(flatten(x, 0, 1).shape() == Shape{6, 4});
  CHECK(flatten(x, 0, -1).shape() == Shape{24});
  CHECK(flatten(Tensor::scalar(3.0, DType::float64)).shape() == Shape{1});
  const Tensor p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.buffer() == x.buffer());
  // p[k][i][j] = x[i][j][k] = 12i + 4j + k: p[1][0][2] = 9, p[3][1][0] = 15
  const std::vector<double> pv = values(p);
  CHECK(pv[1 * 6 + 0 * 3 + 2] == 9);
  CHECK(pv[3 * 6 + 1 * 3 + 0] == 15);
  const Tensor t = transpose(iota(Shape{2, 3}), 0, 1);
  CHECK(values(t) == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("concat of three inputs along axis 1, slice with step, asymmetric pad: values") {
  const Tensor a = iota(Shape{2, 1});
  const Tensor b = Tensor::full(Shape{2, 2}, 7.0, DType::float64);
  const Tensor c = Tensor::full(Shape{2, 1}, -1.0, DType::float64);
  const Tensor y = concat({a, b, c}, 1);
  CHECK(y.shape() == Shape{2, 4});
  CHECK(values(y) == std::vector<double>{0, 7, 7, -1, 1, 7, 7, -1});

  const Tensor v = iota(Shape{10});
  CHECK(values(slice(v, 0, 1, 8, 3)) == std::vector<double>{1, 4, 7});
  CHECK(values(slice(v, 0, -3, 100)) == std::vector<double>{7, 8, 9});  // Python: v[-3:100]
  CHECK(slice(v, 0, 5, 2).numel() == 0);
  CHECK(slice(v, 0, 1, 8, 3).buffer() == v.buffer());

  const Tensor m = iota(Shape{2, 2});  // [[0, 1], [2, 3]]
  const Tensor padded = pad(m, {1, 0}, {0, 2}, 9.0);
  CHECK(padded.shape() == Shape{3, 4});
  CHECK(values(padded) == std::vector<double>{9, 9, 9, 9, 0, 1, 9, 9, 2, 3, 9, 9});
  // PyTorch F.pad order: (left, right) of the last axis first, then the axis before it.
  const Tensor flat = pad_flat(m, {0, 2, 1, 0}, 9.0);
  CHECK(values(flat) == values(padded));
}

TEST_CASE("gradcheck: reshape, flatten, permute, transpose") {
  check_grad(gradcheck(node(Reshape({3, -1})), {randn64(Shape{2, 3, 2}, 1)}));
  check_grad(gradcheck(node(Flatten(1, 2)), {randn64(Shape{2, 3, 2, 2}, 2)}));
  check_grad(gradcheck(node(Permute({1, 2, 0})), {randn64(Shape{2, 3, 4}, 3)}));
  check_grad(gradcheck(node(Transpose(0, 2)), {randn64(Shape{2, 3, 4}, 4)}));
  // Non-contiguous inputs: reshape of a permuted tensor must copy and still be right.
  check_grad(gradcheck(node(Reshape({-1})), {randn64(Shape{3, 4}, 5).transpose(0, 1)}));
  check_grad(gradcheck(node(Flatten(0, -1)), {randn64(Shape{3, 4, 2}, 6).permute({2, 0, 1})}));
  // A chain of views: each rule must handle view cotangents.
  check_grad(gradcheck(
      [](std::span<const Value> in) {
        return std::vector<Value>{reshape(transpose(permute(in[0], {2, 0, 1}), 0, 1), {6, -1})};
      },
      {randn64(Shape{2, 3, 4}, 7)}));
}

TEST_CASE("gradcheck: concat of 3 inputs, slice with step, asymmetric pad, complex") {
  check_grad(gradcheck(node(Concat(1)), {randn64(Shape{2, 1, 3}, 10), randn64(Shape{2, 3, 3}, 11), randn64(Shape{2, 2, 3}, 12)}));
  check_grad(gradcheck(node(Concat(-1)), {randn64(Shape{2, 2}, 13), randn64(Shape{3, 2}, 14).transpose(0, 1)}));
  check_grad(gradcheck(node(Slice(1, 1, 7, 2)), {randn64(Shape{3, 8}, 15)}));
  check_grad(gradcheck(node(Slice(0, -2, 100, 1)), {randn64(Shape{5, 2}, 16)}));
  check_grad(gradcheck(node(Pad({1, 0}, {0, 2}, {}, 3.5)), {randn64(Shape{2, 3}, 17)}));
  check_grad(gradcheck(node(Pad({}, {}, {2, 1}, 0.0)), {randn64(Shape{2, 3}, 18).transpose(0, 1)}));
  check_grad(gradcheck(node(Concat(0)), {Tensor::randn(Shape{1, 2}, 19, DType::complex128),
                                         Tensor::randn(Shape{2, 2}, 20, DType::complex128)}));
  check_grad(gradcheck(node(Permute({1, 0})), {Tensor::randn(Shape{2, 3}, 21, DType::complex128)}));
}

TEST_CASE("shape errors name the node and the shapes") {
  CHECK_THROWS_WITH_AS(reshape(Tensor::zeros(Shape{2, 3}), {4, 2}), doctest::Contains("[2, 3]"), ShapeError);
  CHECK_THROWS_AS(reshape(Tensor::zeros(Shape{2, 3}), {4, -1}), ShapeError);
  CHECK_THROWS_AS(reshape(Tensor::zeros(Shape{2, 3}), {-1, -1}), ShapeError);
  CHECK_THROWS_WITH_AS(concat({Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{2, 3, 1})}, 0),
                       doctest::Contains("rank"), ShapeError);
  CHECK_THROWS_WITH_AS(concat({Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{2, 4})}, 0),
                       doctest::Contains("[2, 4]"), ShapeError);
  CHECK_THROWS_AS(permute(Tensor::zeros(Shape{2, 3}), {0, 0}), ValueError);
  CHECK_THROWS_AS(permute(Tensor::zeros(Shape{2, 3}), {0}), ShapeError);
  CHECK_THROWS_AS(slice(Tensor::zeros(Shape{4}), 0, 0, 4, 0), ValueError);
  CHECK_THROWS_AS(slice(Tensor::zeros(Shape{4}), 1, 0, 4), ValueError);
  CHECK_THROWS_AS(pad(Tensor::zeros(Shape{2, 2}), {1}, {1}), ValueError);
  CHECK_THROWS_AS(pad(Tensor::zeros(Shape{2, 2}), {-1, 0}, {0, 0}), ValueError);
  CHECK_THROWS_AS(flatten(Tensor::zeros(Shape{2, 3, 4}), 2, 1), ValueError);
  Graph g;
  Value a = g.input("a", Shape{2, 3});
  Value b = g.input("b", Shape{3});
  try {
    (void)concat({a, b}, 0);
    FAIL("expected ShapeError");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("concat#") != std::string::npos);
    CHECK(msg.find("[2, 3]") != std::string::npos);
    CHECK(msg.find("[3]") != std::string::npos);
  }
}

TEST_CASE("structural nodes build from the registry with their defaults") {
  const auto f = Registry::instance().make("flatten", {});
  CHECK(apply1(*f, {Tensor::zeros(Shape{2, 3, 4})}).shape() == Shape{2, 12});
  const auto s = Registry::instance().make("slice", {{"axis", std::int64_t(0)}, {"start", std::int64_t(1)}});
  CHECK(apply1(*s, {iota(Shape{4})}).to_vector<double>() == std::vector<double>{1, 2, 3});
  const auto p = Registry::instance().make("pad", {{"pads", std::vector<std::int64_t>{1, 1}}});
  CHECK(apply1(*p, {Tensor::ones(Shape{2})}).to_vector<float>() == std::vector<float>{0, 1, 1, 0});
}
