// Training a small classifier with nodal, start to finish:
//
//   1. make a data set: two interleaved spirals in the plane (seeded, so every run is the same);
//   2. build the model once as a graph:  logits = linear(relu(linear(x, W1, b1)), W2, b2),
//      loss = cross_entropy(logits, labels);
//   3. train with plain stochastic gradient descent written out below: forward, backward, then
//      p ← p − lr·∂loss/∂p on each parameter tensor (graph.tensor(p));
//   4. measure accuracy with the eager (Tensor) form of the same functions.
//
// Exits with status 1 if the final accuracy is below 95 %, so it doubles as an end-to-end test.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/nodes/linear.hpp"
#include "nodal/nodes/loss.hpp"
#include "nodal/nodes/unary.hpp"

using namespace nodal;

namespace {

constexpr std::int64_t points_per_class = 256, batch_size = 32, hidden = 64, epochs = 200;
constexpr float learning_rate = 0.2f;
constexpr double required_accuracy = 0.95;

struct Dataset {
  std::vector<float> x;       // [n, 2], row-major
  std::vector<float> labels;  // [n]: 0 or 1 (class indices stored as floats)
  std::int64_t size() const { return std::int64_t(labels.size()); }
};

// Spiral c turns 1.5 times around the origin, rotated by c·π; radius grows with the angle.
Dataset two_spirals(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.03f);
  Dataset d;
  for (int c = 0; c < 2; ++c)
    for (std::int64_t i = 0; i < points_per_class; ++i) {
      const float t = 0.1f + 0.9f * float(i) / float(points_per_class);
      const float angle = 3.0f * std::numbers::pi_v<float> * t + float(c) * std::numbers::pi_v<float>;
      d.x.push_back(t * std::cos(angle) + noise(rng));
      d.x.push_back(t * std::sin(angle) + noise(rng));
      d.labels.push_back(float(c));
    }
  return d;
}

// The rows `order[first .. first + count)` of the data set as tensors.
std::pair<Tensor, Tensor> batch(const Dataset& d, const std::vector<std::int64_t>& order, std::int64_t first,
                                std::int64_t count) {
  std::vector<float> x, y;
  for (std::int64_t k = first; k < first + count; ++k) {
    const std::int64_t i = order[k];
    x.insert(x.end(), {d.x[2 * i], d.x[2 * i + 1]});
    y.push_back(d.labels[i]);
  }
  return {Tensor::from_vector(x, Shape{count, 2}), Tensor::from_vector(y, Shape{count})};
}

double accuracy(const Dataset& d, Graph& g, Value w1, Value b1, Value w2, Value b2) {
  // Eager evaluation: the same functions on tensors run at once, no graph needed.
  const Tensor x = Tensor::from_vector(d.x, Shape{d.size(), 2});
  const Tensor logits = linear(relu(linear(x, g.tensor(w1), g.tensor(b1))), g.tensor(w2), g.tensor(b2));
  const std::vector<float> z = logits.to_vector<float>();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < d.size(); ++i) correct += float(z[2 * i + 1] > z[2 * i]) == d.labels[i];
  return double(correct) / double(d.size());
}

}  // namespace

int main() {
  const Dataset data = two_spirals(42);

  // The model, built once (PyTorch's layout: W is [out, in]). The first layer starts with large
  // random weights (std 3 on inputs of radius ≤ 1) so that its ReLU kinks cut the plane at many
  // angles and spacings, enough to follow 1.5 turns of spiral; the output layer starts small.
  Graph g;
  const Value x = g.input("x", Shape{batch_size, 2});
  const Value labels = g.input("labels", Shape{batch_size});
  const Value w1 = g.parameter("W1", Tensor::randn(Shape{hidden, 2}, 1, DType::float32, 0.0, 3.0));
  const Value b1 = g.parameter("b1", Tensor::zeros(Shape{hidden}));
  const Value w2 = g.parameter("W2", Tensor::randn(Shape{2, hidden}, 2, DType::float32, 0.0, 1.0 / std::sqrt(hidden)));
  const Value b2 = g.parameter("b2", Tensor::zeros(Shape{2}));
  const Value loss = cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), labels);
  const std::vector<Value> params{w1, b1, w2, b2};

  std::vector<std::int64_t> order(data.size());
  for (std::int64_t i = 0; i < data.size(); ++i) order[i] = i;
  std::mt19937_64 shuffle_rng(7);

  double acc = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    double loss_sum = 0;
    const std::int64_t batches = data.size() / batch_size;
    for (std::int64_t k = 0; k < batches; ++k) {
      const auto [xb, yb] = batch(data, order, k * batch_size, batch_size);
      Execution run = g.forward({loss}, {{x, xb}, {labels, yb}});
      loss_sum += run[loss].item<float>();
      const Gradients grads = run.backward(loss, params);  // loss is a scalar: no cotangent needed
      // Plain SGD: p ← p − lr·∂loss/∂p, written into the parameter tensors in place.
      for (const Value& p : params) {
        Tensor& value = g.tensor(p);
        const Tensor grad = grads[p].contiguous();
        float* v = value.data<float>();
        const float* dv = grad.data<float>();
        for (std::int64_t i = 0; i < value.numel(); ++i) v[i] -= learning_rate * dv[i];
      }
    }
    acc = accuracy(data, g, w1, b1, w2, b2);
    if (epoch % 10 == 0 || epoch == 1)
      fmt::print("epoch {:3}  loss {:.4f}  accuracy {:5.1f} %\n", epoch, loss_sum / double(batches), 100 * acc);
  }
  if (acc < required_accuracy) {
    fmt::print("final accuracy {:.1f} % is below the required {:.0f} %\n", 100 * acc, 100 * required_accuracy);
    return 1;
  }
  fmt::print("final accuracy {:.1f} % (required {:.0f} %)\n", 100 * acc, 100 * required_accuracy);
  return 0;
}
