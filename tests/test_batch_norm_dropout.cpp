// batch_norm and dropout: values against naive float64 formulas, running statistics, train vs
// eval, seeded masks, and float64 gradcheck of both in both modes.
#include <doctest/doctest.h>

#include <cmath>

#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/batch_norm.hpp"
#include "nodal/nodes/dropout.hpp"

using namespace nodal;

namespace {

Tensor randn64(const Shape& s, std::uint64_t seed, double mean = 0, double std = 1) {
  return Tensor::randn(s, seed, DType::float64, mean, std);
}

void check_grad(GradcheckResult r) {
  INFO(r.report());
  CHECK(bool(r));
}

}  // namespace

TEST_CASE("batch_norm training normalizes each channel and updates the running statistics") {
  const std::int64_t n = 3, c = 2, h = 2, w = 3;
  const Tensor x = randn64(Shape{n, c, h, w}, 1, 2.0, 3.0);
  const Tensor gamma = Tensor::from_vector<double>({1.5, -0.5}, Shape{c});
  const Tensor beta = Tensor::from_vector<double>({0.25, 1.0}, Shape{c});
  auto state = BatchNormState::make(c, DType::float64, 0.1, 1e-5);
  const Tensor y = batch_norm(x, gamma, beta, state);
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const std::vector<double> g{1.5, -0.5}, b{0.25, 1.0};
  for (std::int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    const double m = double(n * h * w);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t k = 0; k < h * w; ++k) mean += xv[(i * c + ch) * h * w + k] / m;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t k = 0; k < h * w; ++k) var += std::pow(xv[(i * c + ch) * h * w + k] - mean, 2) / m;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t k = 0; k < h * w; ++k) {
        const std::size_t at = std::size_t((i * c + ch) * h * w + k);
        CHECK(yv[at] == doctest::Approx(g[ch] * (xv[at] - mean) / std::sqrt(var + 1e-5) + b[ch]).epsilon(1e-12));
      }
    // running ← 0.9·initial + 0.1·batch, the variance unbiased (M/(M−1) with M = 18)
    CHECK(state->running_mean.to_vector<double>()[ch] == doctest::Approx(0.1 * mean).epsilon(1e-12));
    CHECK(state->running_var.to_vector<double>()[ch] == doctest::Approx(0.9 + 0.1 * var * m / (m - 1)).epsilon(1e-12));
  }
  CHECK(state->running_mean.to_vector<double>()[0] != 0.0);
}

TEST_CASE("batch_norm evaluation uses the running statistics and leaves them alone") {
  auto state = BatchNormState::make(2, DType::float64);
  state->running_mean = Tensor::from_vector<double>({1.0, -2.0}, Shape{2});
  state->running_var = Tensor::from_vector<double>({4.0, 0.25}, Shape{2});
  state->eps = 0;  // exact arithmetic below: (x − 1)/2 and (x + 2)/0.5
  state->training = false;
  const Tensor x = Tensor::from_vector<double>({3.0, 0.0, -1.0, -1.5}, Shape{2, 2});
  const Tensor y = batch_norm(x, Tensor::ones(Shape{2}, DType::float64), Tensor::zeros(Shape{2}, DType::float64), state);
  // channel 0: (3 − 1)/2 = 1, (−1 − 1)/2 = −1;  channel 1: (0 + 2)/0.5 = 4, (−1.5 + 2)/0.5 = 1
  CHECK(y.to_vector<double>() == std::vector<double>{1.0, 4.0, -1.0, 1.0});
  CHECK(state->running_mean.to_vector<double>() == std::vector<double>{1.0, -2.0});
}

TEST_CASE("batch_norm gradcheck in training and evaluation") {
  for (bool training : {true, false}) {
    auto state = BatchNormState::make(3, DType::float64);
    state->training = training;
    state->running_var = Tensor::from_vector<double>({0.5, 2.0, 1.5}, Shape{3});
    check_grad(gradcheck(std::make_shared<BatchNorm>(state),
                         {randn64(Shape{4, 3, 2, 2}, 2), randn64(Shape{3}, 3), randn64(Shape{3}, 4)}));
    check_grad(gradcheck(std::make_shared<BatchNorm>(state),
                         {randn64(Shape{5, 3}, 5), randn64(Shape{3}, 6), randn64(Shape{3}, 7)}));  // BatchNorm1d
  }
}

TEST_CASE("batch_norm errors name the node and the shapes") {
  auto state = BatchNormState::make(3, DType::float64);
  const Tensor g = Tensor::ones(Shape{3}, DType::float64), b = Tensor::zeros(Shape{3}, DType::float64);
  CHECK_THROWS_WITH_AS(batch_norm(randn64(Shape{2, 4, 2}, 1), g, b, state), doctest::Contains("batch_norm"), ShapeError);
  CHECK_THROWS_AS(batch_norm(randn64(Shape{2, 3}, 1), Tensor::ones(Shape{2}, DType::float64), b, state), ShapeError);
  CHECK_THROWS_AS(batch_norm(randn64(Shape{3}, 1), g, b, state), ShapeError);
  CHECK_THROWS_AS(BatchNormState::make(0), ValueError);
}

TEST_CASE("dropout masks are seeded and scaled and evaluation is the identity") {
  auto state = std::make_shared<DropoutState>();
  state->p = 0.25;
  state->seed = 11;
  const Tensor x = Tensor::ones(Shape{4000}, DType::float64);
  const std::vector<double> first = dropout(x, state).to_vector<double>();
  const std::vector<double> second = dropout(x, state).to_vector<double>();
  CHECK(first != second);  // a new mask each pass
  std::int64_t kept = 0;
  for (double v : first) {
    CHECK((v == 0.0 || v == doctest::Approx(1.0 / 0.75).epsilon(1e-15)));
    kept += v != 0.0;
  }
  // 4000 Bernoulli(0.75) draws: mean 3000, standard deviation √(4000·0.75·0.25) ≈ 27; ±5σ.
  CHECK(std::abs(kept - 3000) < 140);
  auto again = std::make_shared<DropoutState>();
  again->p = 0.25;
  again->seed = 11;
  CHECK(dropout(x, again).to_vector<double>() == first);  // same seed, same first mask
  state->training = false;
  CHECK(dropout(x, state).to_vector<double>() == x.to_vector<double>());
  state->p = 1.0;
  CHECK_THROWS_AS(dropout(x, state), ValueError);
}

TEST_CASE("dropout gradcheck with a frozen mask") {
  auto state = std::make_shared<DropoutState>();
  state->p = 0.4;
  state->seed = 3;
  state->advance = false;  // finite differences must see the same mask on every pass
  const GraphFunction f = [&](std::span<const Value> in) { return std::vector<Value>{dropout(in[0], state)}; };
  check_grad(gradcheck(f, {randn64(Shape{3, 5}, 9)}));
}
