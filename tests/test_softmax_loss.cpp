// softmax, log_softmax, mse and cross_entropy: values from hand-written float64 formulas,
// stability at large logits, gradcheck, and the label validation.
#include <doctest/doctest.h>

#include <cmath>

#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/loss.hpp"
#include "nodal/nodes/softmax.hpp"

using namespace nodal;

namespace {
Tensor randn64(const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::float64); }
void check_grad(GradcheckResult r) {
  INFO(r.report());
  CHECK(bool(r));
}
}  // namespace

TEST_CASE("softmax and log_softmax: values on both axes") {
  const Tensor x = Tensor::from_vector<double>({1, 2, 3, 1, 1, 1}, Shape{2, 3});
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0);
  const std::vector<double> s = softmax(x).to_vector<double>();  // axis -1
  const std::vector<double> want{e1 / (e1 + e2 + e3), e2 / (e1 + e2 + e3), e3 / (e1 + e2 + e3), 1. / 3, 1. / 3, 1. / 3};
  for (int i = 0; i < 6; ++i) CHECK(s[i] == doctest::Approx(want[i]).epsilon(1e-14));
  const std::vector<double> ls = log_softmax(x).to_vector<double>();
  for (int i = 0; i < 6; ++i) CHECK(ls[i] == doctest::Approx(std::log(want[i])).epsilon(1e-14));
  // axis 0: columns [1, 1], [2, 1], [3, 1]
  const std::vector<double> s0 = softmax(x, 0).to_vector<double>();
  CHECK(s0[0] == doctest::Approx(0.5));
  CHECK(s0[3] == doctest::Approx(0.5));
  CHECK(s0[1] == doctest::Approx(e2 / (e2 + e1)));
  CHECK(s0[4] == doctest::Approx(e1 / (e2 + e1)));
}

TEST_CASE("softmax is stable for large logits (float32)") {
  const Tensor x = Tensor::from_vector<float>({1000.f, 1001.f, -1000.f}, Shape{3});
  const std::vector<float> s = softmax(x).to_vector<float>();
  const double e = std::exp(1.0);
  CHECK(s[0] == doctest::Approx(1 / (1 + e)).epsilon(1e-6));
  CHECK(s[1] == doctest::Approx(e / (1 + e)).epsilon(1e-6));
  CHECK(s[2] == 0.0f);
  const std::vector<float> ls = log_softmax(x).to_vector<float>();
  CHECK(std::isfinite(ls[2]));
  CHECK(ls[2] == doctest::Approx(-2001.0 - std::log1p(std::exp(-1.0))).epsilon(1e-6));
}

TEST_CASE("softmax / log_softmax gradcheck on axis 0, -1 and a middle axis") {
  check_grad(gradcheck(std::make_shared<Softmax>(0), {randn64(Shape{3, 4}, 1)}));
  check_grad(gradcheck(std::make_shared<Softmax>(-1), {randn64(Shape{3, 4}, 2)}));
  check_grad(gradcheck(std::make_shared<Softmax>(1), {randn64(Shape{2, 3, 2}, 3)}));
  check_grad(gradcheck(std::make_shared<LogSoftmax>(0), {randn64(Shape{3, 4}, 4)}));
  check_grad(gradcheck(std::make_shared<LogSoftmax>(-1), {randn64(Shape{4, 3}, 5).transpose(0, 1)}));
}

TEST_CASE("softmax, log_softmax and cross_entropy gradcheck in float32") {
  const GradcheckOptions f32 = gradcheck_float32_options();
  check_grad(gradcheck(std::make_shared<Softmax>(-1), {Tensor::randn(Shape{3, 4}, 6, DType::float32)}, f32));
  check_grad(gradcheck(std::make_shared<LogSoftmax>(0), {Tensor::randn(Shape{3, 4}, 7, DType::float32)}, f32));
  GradcheckOptions ce = f32;
  ce.no_grad_inputs = {1};
  check_grad(gradcheck(std::make_shared<CrossEntropy>(0.0),
                       {Tensor::randn(Shape{3, 4}, 8, DType::float32), Tensor::from_vector<float>({3, 0, 1}, Shape{3})}, ce));
}

TEST_CASE("mse: values by hand and gradcheck for both reductions") {
  const Tensor a = Tensor::from_vector<double>({1, 2, 3, 4}, Shape{2, 2});
  const Tensor b = Tensor::from_vector<double>({1, 0, 5, 1}, Shape{2, 2});
  // differences 0, 2, -2, 3: squares 0, 4, 4, 9
  CHECK(mse(a, b).item<double>() == doctest::Approx(17.0 / 4));
  CHECK(mse(a, b, "sum").item<double>() == doctest::Approx(17.0));
  check_grad(gradcheck(std::make_shared<Mse>("mean"), {randn64(Shape{3, 2}, 10), randn64(Shape{3, 2}, 11)}));
  check_grad(gradcheck(std::make_shared<Mse>("sum"), {randn64(Shape{5}, 12), randn64(Shape{5}, 13)}));
  CHECK_THROWS_AS(mse(a, Tensor::zeros(Shape{4}, DType::float64)), ShapeError);
  CHECK_THROWS_AS(mse(a, b, "max"), ValueError);
}

TEST_CASE("cross_entropy: value against −mean log softmax[label], with and without smoothing") {
  const std::vector<double> z{2, 1, 0, 0, 0, 3};
  const Tensor logits = Tensor::from_vector<double>(z, Shape{2, 3});
  const Tensor labels = Tensor::from_vector<double>({0, 2}, Shape{2});
  auto lse = [&](int r) { return std::log(std::exp(z[3 * r]) + std::exp(z[3 * r + 1]) + std::exp(z[3 * r + 2])); };
  const double nll = ((lse(0) - 2) + (lse(1) - 3)) / 2;
  CHECK(cross_entropy(logits, labels).item<double>() == doctest::Approx(nll).epsilon(1e-14));
  // smoothing ε: −Σ q log p with q = (1 − ε)·onehot + ε/3
  const double eps = 0.3;
  double smooth = 0;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) {
      const double q = (c == (r == 0 ? 0 : 2) ? 1 - eps : 0) + eps / 3;
      smooth -= q * (z[3 * r + c] - lse(r));
    }
  CHECK(cross_entropy(logits, labels, eps).item<double>() == doctest::Approx(smooth / 2).epsilon(1e-14));
  // float32 logits with float64 labels
  CHECK(cross_entropy(logits.astype(DType::float32), labels).item<float>() == doctest::Approx(nll).epsilon(1e-6));
}

TEST_CASE("cross_entropy gradcheck with labels as a no-grad input") {
  const Tensor labels = Tensor::from_vector<double>({1, 0, 3, 3, 2}, Shape{5});
  GradcheckOptions opts;
  opts.no_grad_inputs = {1};
  check_grad(gradcheck(std::make_shared<CrossEntropy>(0.0), {randn64(Shape{5, 4}, 20), labels}, opts));
  check_grad(gradcheck(std::make_shared<CrossEntropy>(0.1), {randn64(Shape{5, 4}, 21), labels}, opts));
  // The labels receive no gradient through the graph.
  Graph g;
  Value z = g.parameter("z", randn64(Shape{5, 4}, 22));
  Value y = g.parameter("y", labels);
  Value loss = cross_entropy(z, y);
  Execution run = g.forward({loss});
  Gradients grads = run.backward(loss, {z, y});
  CHECK(grads[y].to_vector<double>() == std::vector<double>(5, 0.0));
  // and the logit gradients of each row sum to zero (softmax − onehot)
  const std::vector<double> dz = grads[z].to_vector<double>();
  for (int r = 0; r < 5; ++r) CHECK(dz[4 * r] + dz[4 * r + 1] + dz[4 * r + 2] + dz[4 * r + 3] == doctest::Approx(0).epsilon(1e-12));
}

TEST_CASE("cross_entropy rejects bad labels and shapes with clear errors") {
  const Tensor logits = Tensor::zeros(Shape{3, 4}, DType::float64);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector<double>({0, 4, 1}, Shape{3})),
                       doctest::Contains("label 4 at index 1"), ValueError);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::from_vector<double>({0, 1, 1.5}, Shape{3})),
                       doctest::Contains("label 1.5 at index 2"), ValueError);
  CHECK_THROWS_AS(cross_entropy(logits, Tensor::from_vector<double>({-1, 1, 1}, Shape{3})), ValueError);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor::zeros(Shape{4}, DType::float64)), doctest::Contains("[3, 4]"),
                       ShapeError);
  CHECK_THROWS_AS(cross_entropy(Tensor::zeros(Shape{4}, DType::float64), Tensor::zeros(Shape{4})), ShapeError);
  CHECK_THROWS_AS(cross_entropy(logits, Tensor::zeros(Shape{3}), 1.5), ValueError);
}
