// Unary elementwise nodes: values against hand-computed numbers or float64 std:: references,
// gradients by gradcheck (Jacobian from vjp and jvp vs central differences), error messages.
#include <bit>
#include <limits>

#include "elementwise_test_util.hpp"

#include <nodal/core/gradcheck.hpp>

using namespace nodal;
using nodal::test::check_close;
using nodal::test::check_throws_naming;
using nodal::test::sample;

namespace {
const std::vector<double> xs = {-2.0, -0.5, 0.25, 1.5};
Tensor x4() { return Tensor::from_vector(xs, Shape{4}); }

std::vector<double> reference(double (*f)(double), const std::vector<double>& x) {
  std::vector<double> y;
  for (double v : x) y.push_back(f(v));
  return y;
}
}  // namespace

TEST_CASE("unary forward: hand-computed values") {
  check_close(neg(x4()), {2.0, 0.5, -0.25, -1.5}, 0);
  check_close(-x4(), {2.0, 0.5, -0.25, -1.5}, 0);
  check_close(abs(x4()), {2.0, 0.5, 0.25, 1.5}, 0);
  check_close(square(x4()), {4.0, 0.25, 0.0625, 2.25}, 0);
  check_close(relu(x4()), {0.0, 0.0, 0.25, 1.5}, 0);
  check_close(leaky_relu(x4()), {-0.02, -0.005, 0.25, 1.5}, 1e-15);
  check_close(leaky_relu(x4(), 0.2), {-0.4, -0.1, 0.25, 1.5}, 1e-15);
  const Tensor pos = Tensor::from_vector<double>({0.25, 1.0, 4.0, 9.0}, Shape{2, 2});
  check_close(sqrt(pos), {0.5, 1.0, 2.0, 3.0}, 0);
  check_close(log(Tensor::from_vector<double>({1.0, 1.0}, Shape{2})), {0.0, 0.0}, 0);
}

TEST_CASE("unary forward: transcendental functions against float64 std:: references") {
  check_close(exp(x4()), reference([](double v) { return std::exp(v); }, xs), 1e-14);
  check_close(tanh(x4()), reference([](double v) { return std::tanh(v); }, xs), 1e-14);
  check_close(sigmoid(x4()), reference([](double v) { return 1.0 / (1.0 + std::exp(-v)); }, xs), 1e-14);
  check_close(elu(x4()), reference([](double v) { return v > 0 ? v : std::expm1(v); }, xs), 1e-14);
  check_close(elu(x4(), 0.5), reference([](double v) { return v > 0 ? v : 0.5 * std::expm1(v); }, xs), 1e-14);
  const std::vector<double> pos = {0.1, 0.7, 2.0, 30.0};
  check_close(log(Tensor::from_vector(pos, Shape{4})), reference([](double v) { return std::log(v); }, pos), 1e-14);
}

TEST_CASE("unary forward: float32 and large tensors agree with the float64 reference") {
  // 100003 elements: several threads' worth, plus a ragged tail for the vector loops
  const Tensor x = sample(Shape{100003}, -4.0, 4.0, 7);
  const std::vector<double> xd = x.to_vector<double>();
  const Tensor x32 = x.astype(DType::float32);
  const std::vector<double> e = exp(x32).to_vector<double>(), t = tanh(x32).to_vector<double>(),
                            s = sigmoid(x32).to_vector<double>(), e64 = exp(x).to_vector<double>();
  for (std::size_t i = 0; i < xd.size(); ++i) {
    const double xv = double(float(xd[i]));  // the float32 input, exactly
    REQUIRE(std::abs(e[i] - std::exp(xv)) <= 1e-6 * std::exp(xv));
    REQUIRE(std::abs(t[i] - std::tanh(xv)) <= 1e-6);
    REQUIRE(std::abs(s[i] - 1.0 / (1.0 + std::exp(-xv))) <= 1e-6);
    REQUIRE(std::abs(e64[i] - std::exp(xd[i])) <= 1e-14 * std::exp(xd[i]));
  }
}

TEST_CASE("unary forward: strided (transposed) inputs") {
  const Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3}).transpose(0, 1);  // [[1,4],[2,5],[3,6]]
  const Tensor y = square(x);
  CHECK(y.shape() == Shape{3, 2});
  check_close(y, {1, 16, 4, 25, 9, 36}, 0);
}

TEST_CASE("unary domain errors give NaN and infinities as NumPy, not exceptions") {
  const std::vector<double> v = log(Tensor::from_vector<double>({-1.0, 0.0}, Shape{2})).to_vector<double>();
  CHECK(std::isnan(v[0]));
  CHECK(v[1] == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(sqrt(Tensor::scalar(-1.0, DType::float64)).item<double>()));
}

TEST_CASE("unary gradients at the kinks are 0 (relu, abs) and the slope (leaky_relu)") {
  Graph g;
  Value x = g.input("x", Shape{3}, DType::float64);
  Value y = relu(x) + abs(x) + leaky_relu(x, 0.25);
  Execution run = g.forward({y}, {{x, Tensor::from_vector<double>({0.0, -1.0, 2.0}, Shape{3})}});
  const Tensor gx = run.backward(y, {x}, {.cotangent = Tensor::ones(Shape{3}, DType::float64)})[x];
  // at 0: 0 + 0 + 0.25;  at −1: 0 − 1 + 0.25;  at 2: 1 + 1 + 1
  check_close(gx, {0.25, -0.75, 3.0}, 0);
}

TEST_CASE("unary gradcheck: every node in float64") {
  const Tensor any = sample(Shape{3, 4}, -2.0, 2.0, 1);
  const Tensor positive = sample(Shape{3, 4}, 0.2, 3.0, 2);
  const Tensor off_kink = sample(Shape{3, 4}, -2.0, 2.0, 3, 0.0, 0.1);
  struct Case {
    UnaryOp op;
    double parameter;
    Tensor x;
  };
  const std::vector<Case> cases = {
      {UnaryOp::neg, 0, any},        {UnaryOp::abs, 0, off_kink},          {UnaryOp::exp, 0, any},
      {UnaryOp::log, 0, positive},   {UnaryOp::sqrt, 0, positive},         {UnaryOp::square, 0, any},
      {UnaryOp::tanh, 0, any},       {UnaryOp::sigmoid, 0, any},           {UnaryOp::relu, 0, off_kink},
      {UnaryOp::leaky_relu, 0.1, off_kink}, {UnaryOp::elu, 1.0, off_kink}, {UnaryOp::elu, 0.3, off_kink},
  };
  for (const Case& c : cases) {
    const GradcheckResult r = gradcheck(std::make_shared<Unary>(c.op, c.parameter), {c.x});
    INFO(unary_op_name(c.op), "\n", r.report());
    CHECK(r);
  }
  // a scalar input, through the Value functions
  CHECK(gradcheck([](std::span<const Value> x) { return std::vector<Value>{tanh(exp(x[0]))}; },
                  {Tensor::scalar(0.3, DType::float64)}));
}

TEST_CASE("unary complex: values and conjugate-Wirtinger gradients of neg, exp, square") {
  const complex128 z{0.5, -1.25};
  const Tensor t = Tensor::from_vector<complex128>({z}, Shape{1});
  CHECK(std::abs(exp(t).item<complex128>() - std::exp(z)) < 1e-15);
  CHECK(square(t).item<complex128>() == z * z);
  CHECK(neg(t).item<complex128>() == -z);
  // y = z², ȳ = 1: z̄ = ȳ · conj(2z)
  Graph g;
  Value x = g.input("z", Shape{1}, DType::complex128);
  Value y = square(x);
  Execution run = g.forward({y}, {{x, t}});
  const Tensor gz = run.backward(y, {x}, {.cotangent = Tensor::ones(Shape{1}, DType::complex128)})[x];
  CHECK(gz.item<complex128>() == std::conj(2.0 * z));
  for (UnaryOp op : {UnaryOp::neg, UnaryOp::exp, UnaryOp::square}) {
    const GradcheckResult r = gradcheck(std::make_shared<Unary>(op), {test::sample_complex(Shape{2, 3}, 5)});
    INFO(unary_op_name(op), "\n", r.report());
    CHECK(r);
  }
}

TEST_CASE("unary errors: complex input into real-only nodes is a DTypeError naming the node") {
  const Tensor z = Tensor::zeros(Shape{2, 2}, DType::complex64);
  check_throws_naming<DTypeError>([&] { (void)relu(z); }, {"relu", "complex64"});
  check_throws_naming<DTypeError>([&] { (void)tanh(z); }, {"tanh", "complex64"});
  Graph g;
  Value x = g.input("x", Shape{2}, DType::complex128);
  check_throws_naming<DTypeError>([&] { (void)log(x); }, {"log", "complex128", "test_unary.cpp"});
}

TEST_CASE("unary nodes are registered under their own names with their attributes") {
  const Registry& reg = Registry::instance();
  for (const char* name :
       {"neg", "abs", "exp", "log", "sqrt", "square", "tanh", "sigmoid", "relu", "leaky_relu", "elu"}) {
    INFO(name);
    CHECK(reg.find_type(name) != nullptr);
    CHECK(reg.find_impl(name, Backend::cpu) != nullptr);
  }
  auto node = reg.make("leaky_relu", {{"negative_slope", 0.5}});
  check_close(apply1(*node, {x4()}), {-1.0, -0.25, 0.25, 1.5}, 0);
  CHECK(std::get<double>(*reg.make("elu", {})->attributes().find("alpha")) == 1.0);
}

TEST_CASE("sqrt is correctly rounded in float32 and keeps +inf and zeros") {
  // IEEE 754 requires sqrt to be correctly rounded, so every element must equal std::sqrt bit for
  // bit; 4099 elements take the vectorized loop and its remainder.
  std::vector<float> v(4099);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.37f + float(i % 7) * 1e-3f;
  v[0] = 0.0f;
  v[1] = std::numeric_limits<float>::infinity();
  v[2] = std::numeric_limits<float>::denorm_min();
  v[3] = std::numeric_limits<float>::max();
  v[4] = -0.0f;
  const std::vector<float> got = nodal::sqrt(Tensor::from_vector(v, Shape{std::int64_t(v.size())})).to_vector<float>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO("element ", i, " = ", v[i]);
    CHECK(std::bit_cast<std::uint32_t>(got[i]) == std::bit_cast<std::uint32_t>(std::sqrt(v[i])));
  }
}
