// Custom nodes: the example's softplus, nodes of two and N inputs, and gradcheck catching a
// wrong rule and a vacuous (zero) Jacobian.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/examples/custom_node.hpp"

using namespace nodal;

namespace {

Tensor f64(std::vector<double> v, Shape s) { return Tensor::from_vector<double>(v, s); }

// y = a·b with both rules
struct Product : CustomNode<Product> {
  static constexpr std::string_view name = "test_custom_product";
  Tensor forward(const Tensor& a, const Tensor& b) const { return a * b; }
  std::array<Tensor, 2> vjp(const Tensor& a, const Tensor& b, const Tensor&, const Tensor& g) const { return {g * b, g * a}; }
  Tensor jvp(const Tensor& a, const Tensor& b, const Tensor&, const Tensor& da, const Tensor& db) const { return da * b + a * db; }
};
NODAL_REGISTER_CUSTOM_NODE(Product);

// y = x₀ + 2·x₁ + 3·x₂ + ... for any number of inputs of one shape
struct WeightedSum : CustomNode<WeightedSum> {
  static constexpr std::string_view name = "test_custom_weighted_sum";
  Tensor forward(std::span<const Tensor> x) const {
    Tensor y = x[0];
    for (std::size_t i = 1; i < x.size(); ++i) y = y + double(i + 1) * x[i];
    return y;
  }
  std::vector<Tensor> vjp(std::span<const Tensor> x, const Tensor&, const Tensor& g) const {
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < x.size(); ++i) out.push_back(double(i + 1) * g);
    return out;
  }
  Tensor jvp(std::span<const Tensor> x, const Tensor&, std::span<const Tensor> t) const { return forward(t); }
};
NODAL_REGISTER_CUSTOM_NODE(WeightedSum);

// y = x³ with a deliberately wrong vjp (2x² instead of 3x²) and no jvp rule
struct WrongCube : CustomNode<WrongCube> {
  static constexpr std::string_view name = "test_custom_wrong_cube";
  Tensor forward(const Tensor& x) const { return x * x * x; }
  Tensor vjp(const Tensor& x, const Tensor&, const Tensor& g) const { return 2.0 * g * x * x; }
};
NODAL_REGISTER_CUSTOM_NODE(WrongCube);

// y = 0·x + 1: a correct node whose Jacobian is zero
struct Constant : CustomNode<Constant> {
  static constexpr std::string_view name = "test_custom_constant";
  Tensor forward(const Tensor& x) const { return 0.0 * x + 1.0; }
  Tensor vjp(const Tensor&, const Tensor&, const Tensor& g) const { return 0.0 * g; }
  Tensor jvp(const Tensor&, const Tensor&, const Tensor& t) const { return 0.0 * t; }
};
NODAL_REGISTER_CUSTOM_NODE(Constant);

// y = factor·x, with an attribute settable by name (Registry::make, nodal op --set)
struct Scale : CustomNode<Scale> {
  static constexpr std::string_view name = "test_custom_scale";
  double factor = 1.0;
  Scale() = default;
  explicit Scale(const Attributes& a) : factor(a.get<double>("factor")) {}
  static std::vector<AttrSpec> schema() { return {{"factor", 1.0, "the multiplier"}}; }
  Attributes attributes() const override { return {{"factor", factor}}; }
  Tensor forward(const Tensor& x) const { return factor * x; }
  Tensor vjp(const Tensor&, const Tensor&, const Tensor& g) const { return factor * g; }
  Tensor jvp(const Tensor&, const Tensor&, const Tensor& t) const { return factor * t; }
};
NODAL_REGISTER_CUSTOM_NODE(Scale);

}  // namespace

TEST_CASE("a custom node with an attribute is built by name with its schema") {
  const NodeTypeInfo& info = Registry::instance().type("test_custom_scale");
  REQUIRE(info.attributes.size() == 1);
  CHECK(info.attributes[0].name == "factor");
  std::shared_ptr<const Node> node = Registry::instance().make("test_custom_scale", {{"factor", 2.5}});
  CHECK(apply1(*node, {f64({1, -2}, Shape{2})}).to_vector<double>() == std::vector<double>{2.5, -5});
  CHECK(node->attributes().get<double>("factor") == 2.5);
  CHECK(gradcheck(node, {f64({1, -2}, Shape{2})}));
  CHECK(CustomOp<Scale>{}(Scale(Attributes{{"factor", -1.0}}), f64({3}, Shape{1})).to_vector<double>() == std::vector<double>{-3});
}

TEST_CASE("the example's softplus: values, registration, gradcheck") {
  const Tensor y = example::softplus(f64({0.0, 1.0, -1.0, 40.0}, Shape{4}));
  const std::vector<double> v = y.to_vector<double>();
  CHECK(v[0] == doctest::Approx(std::log(2.0)));
  CHECK(v[1] == doctest::Approx(1.3132616875182228));  // log(1 + e)
  CHECK(v[2] == doctest::Approx(0.31326168751822286)); // log(1 + 1/e)
  CHECK(v[3] == doctest::Approx(40.0));                // no overflow
  const NodeTypeInfo* info = Registry::instance().find_type("example_softplus");
  REQUIRE(info != nullptr);
  CHECK(info->doc.find("log(1 + exp(x))") != std::string::npos);
  const std::vector<Backend> backends = Registry::instance().backends("example_softplus");
  CHECK(std::find(backends.begin(), backends.end(), Backend::any) != backends.end());
  CHECK(gradcheck(std::shared_ptr<const Node>(Registry::instance().make("example_softplus", {})),
                  {f64({-3, -0.5, 0.1, 0.7, 2, 5}, Shape{2, 3})}));
}

TEST_CASE("a custom node in an expression: the gradient flows through it") {
  Graph g;
  Value x = g.input("x", Shape{2}, DType::float64);
  Value y = example::softplus(x) * x;  // y = x·softplus(x)
  Execution run = g.forward({y}, {{x, f64({0.0, 2.0}, Shape{2})}});
  Gradients grads = run.backward(y, {x}, {.cotangent = Tensor::ones(Shape{2}, DType::float64)});
  // dy/dx = softplus(x) + x·sigmoid(x): ln 2 at 0; ln(1 + e²) + 2/(1 + e⁻²) at 2
  const std::vector<double> d = grads[x].to_vector<double>();
  CHECK(d[0] == doctest::Approx(std::log(2.0)));
  CHECK(d[1] == doctest::Approx(std::log(1 + std::exp(2.0)) + 2.0 / (1 + std::exp(-2.0))));
}

TEST_CASE("two-input and N-input custom nodes pass gradcheck") {
  CHECK(gradcheck(std::make_shared<Product>(), {f64({1, -2, 0.5}, Shape{3}), f64({3, 0.25, -1}, Shape{3})}));
  CHECK(gradcheck(std::make_shared<WeightedSum>(),
                  {f64({1, 2}, Shape{2}), f64({-1, 0.5}, Shape{2}), f64({4, -3}, Shape{2})}));
  // y = a + 2b + 3c at known values
  const Tensor y = CustomOp<WeightedSum>{}(f64({1, 2}, Shape{2}), f64({10, 20}, Shape{2}), f64({100, 200}, Shape{2}));
  CHECK(y.to_vector<double>() == std::vector<double>{321, 642});
}

TEST_CASE("gradcheck catches a wrong vjp and reports a missing jvp rule") {
  const GradcheckResult r = gradcheck(std::make_shared<WrongCube>(), {f64({0.5, -1.0, 2.0}, Shape{3})});
  CHECK_FALSE(r);
  CHECK_FALSE(r.find("jacobian_vjp")->passed);
  const GradcheckCheck* jvp = r.find("jacobian_jvp");
  REQUIRE(jvp != nullptr);
  CHECK_FALSE(jvp->passed);
  CHECK(jvp->detail.find("no jvp rule") != std::string::npos);
  // worst at x = 2: analytic 2·4 = 8, numeric 3·4 = 12
  CHECK(r.find("jacobian_vjp")->worst->analytic == doctest::Approx(8.0));
  CHECK(r.find("jacobian_vjp")->worst->numeric == doctest::Approx(12.0).epsilon(1e-6));
}

TEST_CASE("a zero Jacobian fails unless allow_zero_jacobian") {
  const Tensor x = f64({0.5, -1.0}, Shape{2});
  const GradcheckResult r = gradcheck(std::make_shared<Constant>(), {x});
  CHECK_FALSE(r);
  CHECK_FALSE(r.find("nonzero_jacobian")->passed);
  GradcheckOptions allow;
  allow.allow_zero_jacobian = true;
  CHECK(gradcheck(std::make_shared<Constant>(), {x}, allow));
}

TEST_CASE("a custom node called with the wrong number of inputs is a clear error") {
  Graph g;
  Value a = g.input("a", Shape{2}, DType::float64);
  CHECK_THROWS_AS((void)CustomOp<Product>{}(a), ValueError);
  CHECK_THROWS_AS((void)CustomOp<Product>{}(f64({1, 2}, Shape{2})), ValueError);
}
