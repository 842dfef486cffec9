// sum, mean and max over axes: values by hand, keepdims / multiple / negative axes, gradients by
// gradcheck, argmax tie rule, large inputs, errors.
#include "elementwise_test_util.hpp"

#include <nodal/core/gradcheck.hpp>

using namespace nodal;
using nodal::test::check_close;
using nodal::test::check_throws_naming;
using nodal::test::sample;

namespace {
const Tensor x23 = Tensor::from_vector<double>({1, 5, 3, 4, 2, 6}, Shape{2, 3});
// 0, 1, ..., 23 as [2, 3, 4]: element (i, j, k) = 12i + 4j + k
Tensor counting234() {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;
  return Tensor::from_vector(v, Shape{2, 3, 4});
}
// 24 distinct values at least 0.25 apart, in scrambled order (7 is coprime with 24)
Tensor distinct234() {
  std::vector<double> v(24);
  for (int k = 0; k < 24; ++k) v[k] = ((k * 7) % 24) * 0.25 - 3.0;
  return Tensor::from_vector(v, Shape{2, 3, 4});
}
}  // namespace

TEST_CASE("sum, mean, max of a [2, 3]: hand-computed values and shapes") {
  check_close(sum(x23), {21}, 0);
  CHECK(sum(x23).shape() == Shape{});
  check_close(sum(x23, {0}), {5, 7, 9}, 0);
  check_close(sum(x23, {1}), {9, 12}, 0);
  check_close(sum(x23, {-1}), {9, 12}, 0);
  CHECK(sum(x23, {1}, true).shape() == Shape{2, 1});
  CHECK(sum(x23, {}, true).shape() == Shape{1, 1});
  check_close(mean(x23), {3.5}, 0);
  check_close(mean(x23, {0}), {2.5, 3.5, 4.5}, 0);
  check_close(mean(x23, {1}), {3, 4}, 0);
  check_close(max(x23), {6}, 0);
  check_close(max(x23, {0}), {4, 5, 6}, 0);
  check_close(max(x23, {1}, true), {5, 6}, 0);
  CHECK(max(x23, {1}, true).shape() == Shape{2, 1});
}

TEST_CASE("reductions over several and negative axes of a [2, 3, 4]") {
  const Tensor x = counting234();
  // Σ over i, k of 12i + 4j + k = 48 + 32j + 12
  check_close(sum(x, {0, 2}), {60, 92, 124}, 0);
  check_close(sum(x, {-1, 0}), {60, 92, 124}, 0);
  CHECK(sum(x, {0, 2}, true).shape() == Shape{1, 3, 1});
  check_close(mean(x, {0, -1}), {7.5, 11.5, 15.5}, 0);
  check_close(max(x, {2, 0}), {15, 19, 23}, 0);
  check_close(max(x, {1}), {8, 9, 10, 11, 20, 21, 22, 23}, 0);
  check_close(sum(x, {0}), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}, 0);
  // a transposed view reduces by its logical layout
  check_close(sum(x23.transpose(0, 1), {1}), {5, 7, 9}, 0);
  // a scalar input reduces to itself
  check_close(sum(Tensor::scalar(2.5, DType::float64)), {2.5}, 0);
  check_close(max(Tensor::scalar(2.5, DType::float64), {}, true), {2.5}, 0);
}

TEST_CASE("max sends the cotangent to the first maximal element - NaN propagates") {
  Graph g;
  Value x = g.input("x", Shape{2, 3}, DType::float64);
  // rows: [3, 1, 3] -> the first 3 gets 10; [2, 7, 2] -> 7 gets 10.  columns (3,2) (1,7) (3,2) -> 3, 7, 3 get 1
  Value z = sum(max(x, {1}) * 10.0) + sum(max(x, {0}));
  Execution run = g.forward({z}, {{x, Tensor::from_vector<double>({3, 1, 3, 2, 7, 2}, Shape{2, 3})}});
  check_close(run.backward(z, {x})[x], {11, 0, 1, 0, 11, 0}, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  check_close(max(Tensor::from_vector<double>({1, nan, 5}, Shape{3})), {nan});
}

TEST_CASE("reduction gradcheck: sum, mean, max with keepdims, several and negative axes") {
  const std::vector<std::vector<std::int64_t>> axis_sets = {{}, {1}, {0, 2}, {-1}, {-3, -1}, {2, 0, 1}};
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean, ReduceOp::max})
    for (const auto& axes : axis_sets)
      for (bool keepdims : {false, true}) {
        const Tensor x = op == ReduceOp::max ? distinct234() : sample(Shape{2, 3, 4}, -2, 2, 4);
        const GradcheckResult r = gradcheck(std::make_shared<Reduce>(op, axes, keepdims), {x});
        INFO(reduce_op_name(op), " axes ", axes.size(), " keepdims ", keepdims, "\n", r.report());
        CHECK(r);
      }
  CHECK(gradcheck([](std::span<const Value> x) { return std::vector<Value>{mean(square(x[0]), {-1}, true)}; },
                  {sample(Shape{3, 5}, -1, 1, 8)}));
}

TEST_CASE("complex sum and mean") {
  const Tensor z = Tensor::from_vector<complex128>({{1, 1}, {2, -3}}, Shape{2});
  CHECK(sum(z).item<complex128>() == complex128(3, -2));
  CHECK(mean(z).item<complex128>() == complex128(1.5, -1));
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::mean}) {
    const GradcheckResult r =
        gradcheck(std::make_shared<Reduce>(op, std::vector<std::int64_t>{1}, false), {test::sample_complex(Shape{2, 3}, 3)});
    INFO(reduce_op_name(op), "\n", r.report());
    CHECK(r);
  }
}

TEST_CASE("large reductions: one long row over threads, many short rows") {
  // integers are exact in float32 below 2^24, so the sum of ones is exact in any order
  CHECK(sum(Tensor::ones(Shape{300001}, DType::float32)).item<float>() == 300001.0f);
  CHECK(std::abs(mean(Tensor::ones(Shape{300001}, DType::float32)).item<float>() - 1.0f) <= 1e-6f);
  const Tensor x = sample(Shape{70001, 3}, -1, 1, 5);
  const std::vector<double> v = x.to_vector<double>();
  const std::vector<double> rows = sum(x, {1}).to_vector<double>();
  double total = 0;
  for (std::size_t r = 0; r < 70001; ++r) {
    const double expect = v[3 * r] + v[3 * r + 1] + v[3 * r + 2];
    total += expect;
    REQUIRE(std::abs(rows[r] - expect) <= 1e-15);
  }
  CHECK(std::abs(sum(x).item<double>() - total) <= 1e-9);
  const std::vector<double> cols = max(x, {0}).to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    double m = -1e300;
    for (std::size_t r = 0; r < 70001; ++r) m = std::max(m, v[3 * r + c]);
    CHECK(cols[c] == m);
  }
}

TEST_CASE("reduction errors: bad or repeated axes, complex max, max of nothing") {
  check_throws_naming<ValueError>([] { (void)sum(x23, {2}); }, {"sum", "axis 2", "rank-2"});
  check_throws_naming<ValueError>([] { (void)mean(x23, {-3}); }, {"mean", "axis -3"});
  check_throws_naming<ValueError>([] { (void)sum(x23, {1, -1}); }, {"sum", "twice"});
  check_throws_naming<DTypeError>([] { (void)max(Tensor::zeros(Shape{2}, DType::complex64)); }, {"max", "complex64"});
  check_throws_naming<ValueError>([] { (void)max(Tensor::zeros(Shape{0, 3}), {0}); }, {"max", "[0, 3]"});
  CHECK(sum(Tensor::zeros(Shape{0, 3}, DType::float64), {0}).to_vector<double>() == std::vector<double>{0, 0, 0});
  Graph g;
  Value x = g.input("x", Shape{2, 3});
  check_throws_naming<ValueError>([&] { (void)max(x, {5}); }, {"max", "axis 5", "test_reduce.cpp"});
}

TEST_CASE("reduction nodes are registered with axes and keepdims attributes") {
  const Registry& reg = Registry::instance();
  auto node = reg.make("sum", {{"axes", std::vector<std::int64_t>{0}}, {"keepdims", true}});
  const Tensor y = apply1(*node, {x23});
  CHECK(y.shape() == Shape{1, 3});
  check_close(y, {5, 7, 9}, 0);
  CHECK(reg.find_impl("mean", Backend::cpu) != nullptr);
  CHECK(reg.find_impl("max", Backend::cpu) != nullptr);
}
