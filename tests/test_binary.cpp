// Binary elementwise nodes with broadcasting, the scalar variants and the operators: values by
// hand, gradients by gradcheck, tie and complex conventions, error messages.
#include "elementwise_test_util.hpp"

#include <nodal/core/gradcheck.hpp>

using namespace nodal;
using nodal::test::check_close;
using nodal::test::check_throws_naming;
using nodal::test::sample;

namespace {
Tensor t64(std::vector<double> v, Shape s) { return Tensor::from_vector(v, s); }
const Tensor a23 = t64({1, 2, 3, 4, 5, 6}, Shape{2, 3});
}  // namespace

TEST_CASE("binary forward with broadcasting [2,3] op [3]: hand-computed values") {
  const Tensor b = t64({10, 20, 30}, Shape{3});
  check_close(add(a23, b), {11, 22, 33, 14, 25, 36}, 0);
  check_close(sub(a23, b), {-9, -18, -27, -6, -15, -24}, 0);
  check_close(mul(a23, b), {10, 40, 90, 40, 100, 180}, 0);
  check_close(div(a23, b), {0.1, 0.1, 0.1, 0.4, 0.25, 0.2}, 1e-16);
  check_close(div(b, a23), {10, 10, 10, 2.5, 4, 5}, 0);
  check_close(pow(a23, t64({2, 0.5, -1}, Shape{3})), {1, std::sqrt(2.0), 1.0 / 3, 16, std::sqrt(5.0), 1.0 / 6}, 1e-15);
  const Tensor c = t64({2, 5, 0}, Shape{3});
  check_close(maximum(a23, c), {2, 5, 3, 4, 5, 6}, 0);
  check_close(minimum(a23, c), {1, 2, 0, 2, 5, 0}, 0);
  CHECK(add(a23, b).shape() == Shape{2, 3});
}

TEST_CASE("binary forward: [2,1] op [1,4], scalars, and NaN in maximum") {
  const Tensor y = add(t64({1, 2}, Shape{2, 1}), t64({10, 20, 30, 40}, Shape{1, 4}));
  CHECK(y.shape() == Shape{2, 4});
  check_close(y, {11, 21, 31, 41, 12, 22, 32, 42}, 0);
  const Tensor s = mul(Tensor::scalar(3.0, DType::float64), a23);
  CHECK(s.shape() == Shape{2, 3});
  check_close(s, {3, 6, 9, 12, 15, 18}, 0);
  check_close(sub(Tensor::scalar(1.0, DType::float64), Tensor::scalar(0.25, DType::float64)), {0.75}, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  check_close(maximum(t64({nan, 1}, Shape{2}), t64({0, nan}, Shape{2})), {nan, nan});
  check_close(minimum(t64({nan, 1}, Shape{2}), t64({0, nan}, Shape{2})), {nan, nan});
}

TEST_CASE("binary gradcheck: every node, with broadcasting and scalars") {
  struct Pair {
    Tensor a, b;
  };
  // generic pairs, b kept away from 0 for div
  const std::vector<Pair> generic = {
      {sample(Shape{2, 3}, -2, 2, 1), sample(Shape{3}, 0.5, 2, 2)},
      {sample(Shape{2, 1}, -2, 2, 3), sample(Shape{1, 4}, 0.5, 2, 4)},
      {Tensor::scalar(0.7, DType::float64), sample(Shape{2, 3}, 0.5, 2, 5)},
      {sample(Shape{2, 3}, -2, 2, 6), Tensor::scalar(-1.3, DType::float64)},
      {sample(Shape{4}, -2, 2, 7), sample(Shape{4}, 0.5, 2, 8)},
  };
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div})
    for (const Pair& p : generic) {
      const GradcheckResult r = gradcheck(std::make_shared<Binary>(op), {p.a, p.b});
      INFO(binary_op_name(op), " ", to_string(p.a.shape()), " ", to_string(p.b.shape()), "\n", r.report());
      CHECK(r);
    }
  // pow: positive base, any exponent
  const std::vector<Pair> powers = {
      {sample(Shape{2, 3}, 0.5, 2, 9), sample(Shape{3}, -1.5, 1.5, 10)},
      {sample(Shape{2, 1}, 0.5, 2, 11), sample(Shape{1, 4}, -1.5, 1.5, 12)},
      {Tensor::scalar(1.7, DType::float64), sample(Shape{2, 3}, -1.5, 1.5, 13)},
  };
  for (const Pair& p : powers) {
    const GradcheckResult r = gradcheck(std::make_shared<Binary>(BinaryOp::pow), {p.a, p.b});
    INFO("pow ", to_string(p.a.shape()), " ", to_string(p.b.shape()), "\n", r.report());
    CHECK(r);
  }
  // maximum/minimum: no pair of compared elements closer than 0.15 (away from the kink a = b)
  const std::vector<Pair> ordered = {
      {t64({0.3, -1.2, 0.9, 1.7, -0.4, 0.05}, Shape{2, 3}), t64({0.5, -1.0, 0.2}, Shape{3})},
      {t64({0.3, -0.8}, Shape{2, 1}), t64({0.1, -0.5, 0.6, -1.1}, Shape{1, 4})},
      {Tensor::scalar(0.25, DType::float64), t64({0.5, -1.0, 0.9, 1.7, -0.4, 0.05}, Shape{2, 3})},
  };
  for (BinaryOp op : {BinaryOp::maximum, BinaryOp::minimum})
    for (const Pair& p : ordered) {
      const GradcheckResult r = gradcheck(std::make_shared<Binary>(op), {p.a, p.b});
      INFO(binary_op_name(op), " ", to_string(p.a.shape()), " ", to_string(p.b.shape()), "\n", r.report());
      CHECK(r);
    }
}

TEST_CASE("maximum and minimum split the gradient equally at ties") {
  Graph g;
  Value a = g.input("a", Shape{3}, DType::float64);
  Value b = g.input("b", Shape{3}, DType::float64);
  Value y = maximum(a, b) + minimum(a, b) * 10.0;
  Execution run = g.forward({y}, {{a, t64({1, 2, 5}, Shape{3})}, {b, t64({1, 3, 4}, Shape{3})}});
  const Gradients gr = run.backward(y, {a, b}, {.cotangent = Tensor::ones(Shape{3}, DType::float64)});
  // tie: 0.5 + 10·0.5 each; a < b: a gets min's 10, b max's 1; a > b: a gets 1, b gets 10
  check_close(gr[a], {5.5, 10, 1}, 0);
  check_close(gr[b], {5.5, 1, 10}, 0);
}

TEST_CASE("complex add, sub, mul, div: conjugate-Wirtinger cotangents and gradcheck") {
  const complex128 za{1, 2}, zb{3, -1};
  Graph g;
  Value a = g.input("a", Shape{1}, DType::complex128);
  Value b = g.input("b", Shape{1}, DType::complex128);
  Value y = a * b;
  Execution run = g.forward({y}, {{a, Tensor::from_vector<complex128>({za}, Shape{1})},
                                  {b, Tensor::from_vector<complex128>({zb}, Shape{1})}});
  CHECK(run[y].item<complex128>() == complex128(5, 5));
  // ȳ = i: ā = ȳ·conj(b) = i(3 + i) = −1 + 3i,  b̄ = ȳ·conj(a) = i(1 − 2i) = 2 + i
  const Gradients gr =
      run.backward(y, {a, b}, {.cotangent = Tensor::from_vector<complex128>({complex128(0, 1)}, Shape{1})});
  CHECK(gr[a].item<complex128>() == complex128(-1, 3));
  CHECK(gr[b].item<complex128>() == complex128(2, 1));
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
    const GradcheckResult r =
        gradcheck(std::make_shared<Binary>(op), {test::sample_complex(Shape{2, 3}, 1), test::sample_complex(Shape{3}, 2)});
    INFO(binary_op_name(op), "\n", r.report());
    CHECK(r);
  }
}

TEST_CASE("scalar variants: values, gradcheck, complex") {
  const Tensor x = t64({1, 2, 4}, Shape{3});
  check_close(add_scalar(x, 2), {3, 4, 6}, 0);
  check_close(mul_scalar(x, 3), {3, 6, 12}, 0);
  check_close(div_scalar(x, 4), {0.25, 0.5, 1}, 0);
  check_close(rsub_scalar(x, 2), {1, 0, -2}, 0);
  check_close(rdiv_scalar(x, 4), {4, 2, 1}, 0);
  check_close(pow_scalar(x, 2), {1, 4, 16}, 0);
  check_close(pow(x, 0.5), {1, std::sqrt(2.0), 2}, 1e-16);
  check_close(pow(x, -1.0), {1, 0.5, 0.25}, 0);
  const Tensor xs = sample(Shape{2, 3}, 0.3, 2, 21);
  for (ScalarOp op : {ScalarOp::add, ScalarOp::mul, ScalarOp::div, ScalarOp::rsub, ScalarOp::rdiv, ScalarOp::pow})
    for (double c : {-1.5, 0.5, 3.0}) {
      const GradcheckResult r = gradcheck(std::make_shared<ScalarNode>(op, c), {xs});
      INFO(scalar_op_name(op), " ", c, "\n", r.report());
      CHECK(r);
    }
  // x⁰ is constant: its gradient is exactly zero, not 0·x⁻¹
  CHECK(gradcheck(std::make_shared<ScalarNode>(ScalarOp::pow, 0.0), {xs}, {.allow_zero_jacobian = true}));
  for (ScalarOp op : {ScalarOp::add, ScalarOp::mul, ScalarOp::div, ScalarOp::rsub, ScalarOp::rdiv}) {
    const GradcheckResult r = gradcheck(std::make_shared<ScalarNode>(op, 1.5), {test::sample_complex(Shape{4}, 3)});
    INFO(scalar_op_name(op), " complex\n", r.report());
    CHECK(r);
  }
  check_throws_naming<DTypeError>([] { (void)pow_scalar(Tensor::zeros(Shape{2}, DType::complex64), 2.0); },
                                  {"pow_scalar", "complex64"});
}

TEST_CASE("operators on Values build the right nodes and record the user's line") {
  Graph g;
  Value a = g.input("a", Shape{3}, DType::float64);
  Value b = g.input("b", Shape{3}, DType::float64);
  Value y = a * b - a / b + 2.0 * a - 1.0 / b + (a - 0.5) * 3.0 + (4.0 - b) / 2.0 + -a; const auto line = __LINE__;
  CHECK(g.vertex(y).where.line() == line);
  CHECK(g.vertex(y).node->type() == "add");
  Value n = -a; const auto neg_line = __LINE__;
  CHECK(g.vertex(n).node->type() == "neg");
  CHECK(g.vertex(n).where.line() == neg_line);
  CHECK(g.vertex(2.0 - a).node->type() == "rsub_scalar");
  CHECK(g.vertex(a / 2.0).node->type() == "div_scalar");
  CHECK(g.vertex(2.0 / a).node->type() == "rdiv_scalar");
  Execution run = g.forward({y}, {{a, t64({1, 2, 4}, Shape{3})}, {b, t64({2, 4, 1}, Shape{3})}});
  // a=1,b=2: 2 − 0.5 + 2 − 0.5 + 1.5 + 1 − 1 = 4.5;  a=2,b=4: 8 − 0.5 + 4 − 0.25 + 4.5 + 0 − 2 = 13.75;
  // a=4,b=1: 4 − 4 + 8 − 1 + 10.5 + 1.5 − 4 = 15
  check_close(run[y], {4.5, 13.75, 15}, 1e-15);
}

TEST_CASE("operators on Tensors run at once") {
  const Tensor a = t64({1, 2, 4}, Shape{3}), b = t64({2, 4, 1}, Shape{3});
  check_close(a * b - a / b + 2.0 * a - 1.0 / b + (a - 0.5) * 3.0 + (4.0 - b) / 2.0 + -a, {4.5, 13.75, 15}, 1e-15);
  check_close(a + b, {3, 6, 5}, 0);
  check_close(a + 1.0, {2, 3, 5}, 0);
  check_close(1.0 + a, {2, 3, 5}, 0);
}

TEST_CASE("binary errors name the node, the shapes and the dtypes") {
  check_throws_naming<ShapeError>([] { (void)add(Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{4})); },
                                  {"add", "[2, 3]", "[4]"});
  check_throws_naming<ShapeError>([] { (void)maximum(Tensor::zeros(Shape{2, 3}), Tensor::zeros(Shape{2})); },
                                  {"maximum", "[2, 3]", "[2]"});
  check_throws_naming<DTypeError>(
      [] { (void)mul(Tensor::zeros(Shape{2}, DType::float32), Tensor::zeros(Shape{2}, DType::float64)); },
      {"mul", "float32", "float64"});
  check_throws_naming<DTypeError>(
      [] { (void)pow(Tensor::zeros(Shape{2}, DType::complex64), Tensor::zeros(Shape{2}, DType::complex64)); },
      {"pow", "complex64"});
  Graph g;
  Value a = g.input("a", Shape{2, 3});
  Value c = g.input("c", Shape{3, 2});
  check_throws_naming<ShapeError>([&] { (void)(a / c); }, {"div", "[2, 3]", "[3, 2]", "test_binary.cpp"});
}

TEST_CASE("binary nodes are registered under their own names") {
  const Registry& reg = Registry::instance();
  for (const char* name : {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "add_scalar", "mul_scalar",
                           "div_scalar", "rsub_scalar", "rdiv_scalar", "pow_scalar"}) {
    INFO(name);
    CHECK(reg.find_type(name) != nullptr);
    CHECK(reg.find_impl(name, Backend::cpu) != nullptr);
  }
  check_close(apply1(*reg.make("mul_scalar", {{"value", 2.5}}), {a23}), {2.5, 5, 7.5, 10, 12.5, 15}, 0);
}
