// gradcheck itself: it passes correct rules, catches wrong ones, and says where.
#include <doctest/doctest.h>

#include <functional>
#include <sstream>

#include "nodal/core/gradcheck.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/operators.hpp"
#include "nodal/nodes/unary.hpp"

using namespace nodal;

namespace {

// An elementwise test node whose rules are given as functions on complex128 (real tensors are
// the special case Im = 0): lets each test write a right or a deliberately wrong rule in a line.
using C = complex128;
struct TestPointwise final : Node {
  std::function<C(C)> f;
  std::function<C(C x, C ybar)> vjp;
  std::function<C(C x, C xdot)> jvp;
  bool real_output = false;  // for complex inputs: the output is the real part of f

  std::string_view type() const override { return "test_pointwise"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override {
    return {{in[0].shape, real_output ? real_dtype(in[0].dtype) : in[0].dtype}};
  }
};

// Applies `rule` elementwise, reading any dtype as complex128 and writing `dtype`.
Tensor map_elements(const Tensor& a, const Tensor& b, DType dtype, const std::function<C(C, C)>& rule) {
  const auto read = [](const Tensor& t) {
    std::vector<C> v;
    if (is_complex(t.dtype())) v = t.contiguous().to_vector<C>();
    else for (double x : t.to_vector<double>()) v.emplace_back(x, 0.0);
    return v;
  };
  const std::vector<C> va = read(a), vb = b.defined() ? read(b) : std::vector<C>(va.size());
  Tensor out = Tensor::empty(a.shape(), dtype);
  for (std::size_t i = 0; i < va.size(); ++i) {
    const C r = rule(va[i], vb[i]);
    if (dtype == DType::complex128) out.data<C>()[i] = r;
    else out.data<double>()[i] = r.real();
  }
  return out;
}

struct TestPointwiseImpl final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const auto& n = c.as<TestPointwise>();
    c.outputs[0] = map_elements(c.inputs[0], Tensor(), n.infer(std::array{spec_of(c.inputs[0])})[0].dtype,
                                [&](C x, C) { return n.f(x); });
  }
  void vjp(const VjpCall& c) const override {
    const auto& n = c.as<TestPointwise>();
    c.input_cotangents[0] = map_elements(c.inputs[0], c.output_cotangents[0], c.inputs[0].dtype(), n.vjp);
  }
  void jvp(const JvpCall& c) const override {
    const auto& n = c.as<TestPointwise>();
    c.output_tangents[0] = map_elements(c.inputs[0], c.input_tangents[0], c.outputs[0].dtype(), n.jvp);
  }
};
NODAL_REGISTER_IMPL("test_pointwise", Backend::cpu, TestPointwiseImpl);

std::shared_ptr<TestPointwise> pointwise(std::function<C(C)> f, std::function<C(C, C)> vjp, std::function<C(C, C)> jvp,
                                         bool real_output = false) {
  auto n = std::make_shared<TestPointwise>();
  n->f = std::move(f);
  n->vjp = std::move(vjp);
  n->jvp = std::move(jvp);
  n->real_output = real_output;
  return n;
}

// y = x², correct rules
std::shared_ptr<TestPointwise> square() {
  return pointwise([](C x) { return x * x; }, [](C x, C g) { return 2.0 * x * g; }, [](C x, C t) { return 2.0 * x * t; });
}

// A built-in node by its registered name (what the command-line tool does too).
std::shared_ptr<const Node> made(std::string_view name) { return Registry::instance().make(name, {}); }

Tensor f64(std::vector<double> v, Shape s) { return Tensor::from_vector<double>(v, s); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("correct rules pass: relu away from its kink, add with broadcasting, a custom square") {
  CHECK(gradcheck(made("relu"), {f64({0.5, -1.0, 2.0, -0.3, 1.5, 0.7}, Shape{2, 3})}));
  CHECK(gradcheck(made("add"), {f64({0.5, -1.0, 2.0, -0.3, 1.5, 0.7}, Shape{2, 3}), f64({1, 2, 3}, Shape{3})}));
  CHECK(gradcheck(square(), {f64({0.5, -1.0, 2.0, 1.5}, Shape{2, 2})}));
}

TEST_CASE("a wrong vjp fails, and the report names the worst entry with both values") {
  // vjp says 3x where the derivative is 2x: the error |x| is largest at x = 2, element [1, 0]
  auto wrong = pointwise([](C x) { return x * x; }, [](C x, C g) { return 3.0 * x * g; }, [](C x, C t) { return 2.0 * x * t; });
  const GradcheckResult r = gradcheck(wrong, {f64({0.5, -1.0, 2.0, 1.5}, Shape{2, 2})});
  CHECK_FALSE(r);
  REQUIRE(r.first_failure() != nullptr);
  CHECK(r.first_failure()->name == "jacobian_vjp");
  const GradcheckCheck* rows = r.find("jacobian_vjp");
  REQUIRE(rows != nullptr);
  REQUIRE(rows->worst.has_value());
  CHECK(rows->worst->output_index == std::vector<std::int64_t>{1, 0});
  CHECK(rows->worst->input_index == std::vector<std::int64_t>{1, 0});
  CHECK(rows->worst->analytic == doctest::Approx(6.0));
  CHECK(rows->worst->numeric == doctest::Approx(4.0).epsilon(1e-8));
  // 4 diagonal entries wrong (x = 0 nowhere), the 12 off-diagonal zeros right
  CHECK(rows->failures == 4);
  CHECK(rows->compared == 16);
  CHECK(r.find("jacobian_jvp")->passed);  // the jvp is right
  CHECK_FALSE(r.find("jvp_vs_vjp")->passed);
  const std::string& text = r.report();
  CHECK(contains(text, "gradcheck FAILED"));
  CHECK(contains(text, "[FAIL] jacobian_vjp"));
  CHECK(contains(text, "d output0[1, 0] / d input0[1, 0]"));
  CHECK(contains(text, "analytic 6"));
  CHECK(contains(text, "numeric 4"));
  std::ostringstream streamed;
  streamed << r;
  CHECK(streamed.str() == text);
  // what CHECK(gradcheck(...)) shows on failure is this report
  CHECK(std::string(doctest::toString(r).c_str()) == text);
}

TEST_CASE("a wrong jvp is caught by the jvp column check and by jvp against vjp") {
  auto wrong = pointwise([](C x) { return x * x; }, [](C x, C g) { return 2.0 * x * g; }, [](C x, C t) { return x * t; });
  const GradcheckResult r = gradcheck(wrong, {f64({0.5, -1.0, 2.0}, Shape{3})});
  CHECK_FALSE(r);
  CHECK(r.find("jacobian_vjp")->passed);
  CHECK_FALSE(r.find("jacobian_jvp")->passed);
  CHECK_FALSE(r.find("jvp_vs_vjp")->passed);
}

TEST_CASE("tolerances: a relative error of 1e-4 passes rtol 1e-3 and fails rtol 1e-6") {
  auto slightly = pointwise([](C x) { return x * x; }, [](C x, C g) { return 2.0 * (1 + 1e-4) * x * g; },
                            [](C x, C t) { return 2.0 * (1 + 1e-4) * x * t; });
  const Tensor x = f64({0.5, -1.0, 2.0}, Shape{3});
  CHECK(gradcheck(slightly, {x}));
  GradcheckOptions strict;
  strict.atol = 0;
  strict.rtol = 1e-6;
  CHECK_FALSE(gradcheck(slightly, {x}, strict));
  CHECK(gradcheck(square(), {x}, strict));  // the exact rule stays within 1e-6 at eps 1e-6
}

TEST_CASE("fast mode: passes a right rule on a larger input, fails a wrong one") {
  std::vector<double> values(300);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.01 * double(i) - 1.5 + (i % 2 ? 0.003 : 0.0);
  GradcheckOptions fast;
  fast.fast = true;
  const GradcheckResult good = gradcheck(square(), {f64(values, Shape{10, 30})}, fast);
  CHECK(good);
  CHECK(good.find("projection") != nullptr);
  CHECK(good.find("jacobian_vjp") == nullptr);
  auto wrong = pointwise([](C x) { return x * x; }, [](C x, C g) { return 2.0 * x * g + 0.1 * g; },
                         [](C x, C t) { return 2.0 * x * t + 0.1 * t; });
  const GradcheckResult bad = gradcheck(wrong, {f64(values, Shape{10, 30})}, fast);
  CHECK_FALSE(bad);
  CHECK_FALSE(bad.find("projection")->passed);
}

TEST_CASE("a zero Jacobian fails unless allowed - a constant block for an unused input is fine") {
  auto constant = pointwise([](C) { return C(1.0); }, [](C, C) { return C(0.0); }, [](C, C) { return C(0.0); });
  const Tensor x = f64({0.5, -1.0}, Shape{2});
  const GradcheckResult r = gradcheck(constant, {x});
  CHECK_FALSE(r);
  CHECK_FALSE(r.find("nonzero_jacobian")->passed);
  GradcheckOptions allow;
  allow.allow_zero_jacobian = true;
  CHECK(gradcheck(constant, {x}, allow));
  // output = relu(a), b unused: its block of the Jacobian is zero, the whole is not
  CHECK(gradcheck([](std::span<const Value> in) { return std::vector<Value>{relu(in[0])}; }, {x, f64({3.0}, Shape{1})}));
}

TEST_CASE("no_grad_inputs are fed but not differentiated - several outputs are all checked") {
  const Tensor a = f64({0.5, -1.0, 2.0}, Shape{3}), b = f64({1.0, 2.0, 3.0}, Shape{3});
  GradcheckOptions options;
  options.no_grad_inputs = {1};
  const GradcheckResult r = gradcheck([](std::span<const Value> in) { return std::vector<Value>{in[0] + in[1], relu(in[0])}; },
                                      {a, b}, options);
  CHECK(r);
  CHECK(contains(r.report(), "input1 [3] float64 (no grad)"));
  CHECK(contains(r.report(), "Jacobian 6 x 3"));
  options.no_grad_inputs = {5};
  CHECK_THROWS_AS((void)gradcheck(made("add"), {a, b}, options), ValueError);
}

TEST_CASE("complex: Re and Im are separate coordinates - cotangents are dL/dRe + i dL/dIm") {
  const Tensor z = Tensor::from_vector<C>({C(0.5, -1.0), C(2.0, 0.25), C(-1.5, 1.0)}, Shape{3});
  const C c(0.3, -2.0);
  // y = c·z (holomorphic): ẏ = c·ż and, under the convention, z̄ = conj(c)·ȳ
  CHECK(gradcheck(pointwise([c](C x) { return c * x; }, [c](C, C g) { return std::conj(c) * g; },
                            [c](C, C t) { return c * t; }),
                  {z}));
  // the other convention (z̄ = c·ȳ, no conjugate) must fail
  const GradcheckResult wrong = gradcheck(
      pointwise([c](C x) { return c * x; }, [c](C, C g) { return c * g; }, [c](C, C t) { return c * t; }), {z});
  CHECK_FALSE(wrong);
  CHECK(contains(wrong.report(), ".im"));
  // y = conj(z) (not holomorphic): ẏ = conj(ż), z̄ = conj(ȳ)
  CHECK(gradcheck(pointwise([](C x) { return std::conj(x); }, [](C, C g) { return std::conj(g); },
                            [](C, C t) { return std::conj(t); }),
                  {z}));
  // y = |z|² (real output): ẏ = 2 Re(conj(z)·ż), z̄ = 2·ȳ·z
  CHECK(gradcheck(pointwise([](C x) { return C(std::norm(x)); }, [](C x, C g) { return 2.0 * g.real() * x; },
                            [](C x, C t) { return C(2.0 * (std::conj(x) * t).real()); }, true),
                  {z}));
}

TEST_CASE("float32 with its documented options") {
  const Tensor x = Tensor::from_vector<float>({0.5f, -1.0f, 2.0f, 1.5f}, Shape{4});
  CHECK(gradcheck(made("relu"), {x}, gradcheck_float32_options()));
  const GradcheckOptions o = gradcheck_float32_options();
  CHECK(o.eps == 1e-3);
  CHECK(o.atol == 1e-3);
  CHECK(o.rtol == 1e-2);
}

TEST_CASE("bad arguments are clear errors") {
  CHECK_THROWS_AS((void)gradcheck(made("relu"), {}), ValueError);
  CHECK_THROWS_AS((void)gradcheck(made("relu"), {Tensor()}), ValueError);
  GradcheckOptions bad;
  bad.eps = 0;
  CHECK_THROWS_AS((void)gradcheck(made("relu"), {f64({1.0}, Shape{1})}, bad), ValueError);
  // a shape error in the function itself propagates
  CHECK_THROWS_AS((void)gradcheck(made("add"), {f64({1, 2}, Shape{2}), f64({1, 2, 3}, Shape{3})}), ShapeError);
}
