// nn modules: names, shapes and parameter counts, seeded initialization with PyTorch's bounds,
// train/eval behaviour, and gradients reaching the module's own tensors through the graph.
#include <doctest/doctest.h>

#include <cmath>

#include "nodal/core/execution.hpp"
#include "nodal/nn/layers.hpp"
#include "nodal/nodes/reduce.hpp"

using namespace nodal;

namespace {

// LeNet-5 as in the training issue, without the pooling layers (parameter counts only).
std::shared_ptr<nn::Sequential> lenet_layers() {
  return nn::sequential({nn::conv2d(1, 6, {5}, {.padding = ConvPadding::all(2)}), nn::relu(), nn::conv2d(6, 16, {5}),
                         nn::relu(), nn::flatten(), nn::linear(400, 120), nn::relu(), nn::linear(120, 84), nn::relu(),
                         nn::linear(84, 10)});
}

}  // namespace

TEST_CASE("module names and parameter counts follow PyTorch's state_dict") {
  nn::manual_seed(1);
  const auto net = lenet_layers();
  std::vector<std::string> names;
  for (const auto& [name, t] : net->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias", "7.weight",
                                          "7.bias", "9.weight", "9.bias"});
  // 6·1·25 + 6 + 16·6·25 + 16 + 400·120 + 120 + 120·84 + 84 + 84·10 + 10 = 61706 (LeNet-5's count)
  CHECK(net->parameter_count() == 61706);
  CHECK(net->named_parameters()[2].second.shape() == Shape{16, 6, 5, 5});
  auto nested = nn::sequential({nn::batch_norm2d(3), net});
  CHECK(nested->named_buffers().size() == 2);
  CHECK(nested->named_buffers()[0].first == "0.running_mean");
  CHECK(nested->named_parameters()[2].first == "1.0.weight");
  CHECK(nested->summary().find("total: 61712 parameters") != std::string::npos);
}

TEST_CASE("LeNet-5 with pooling builds to logits of shape [N, 10]") {
  nn::manual_seed(2);
  auto net = nn::sequential({nn::conv2d(1, 6, {5}, {.padding = ConvPadding::all(2)}), nn::relu(), nn::max_pool2d({.kernel = {2}}),
                             nn::conv2d(6, 16, {5}), nn::relu(), nn::max_pool2d({.kernel = {2}}), nn::flatten(),
                             nn::linear(400, 120), nn::relu(), nn::linear(120, 84), nn::relu(), nn::linear(84, 10)});
  Graph g;
  const Value logits = (*net)(g.input("x", Shape{7, 1, 28, 28}));
  CHECK(logits.shape() == Shape{7, 10});
  CHECK(net->parameter_count() == 61706);
  CHECK(net->summary().find("MaxPool2d(kernel=2, stride=2, padding=0)") != std::string::npos);
}

TEST_CASE("initialization is seeded and within PyTorch's default bounds") {
  nn::manual_seed(7);
  const Tensor a = nn::linear(300, 50)->named_parameters()[0].second;
  nn::manual_seed(7);
  const Tensor b = nn::linear(300, 50)->named_parameters()[0].second;
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  const Tensor c = nn::linear(300, 50)->named_parameters()[0].second;
  CHECK(a.to_vector<float>() != c.to_vector<float>());
  // U(±1/√300): every value inside the bound, variance bound²/3 within 5 % for 15000 draws
  // (the sample variance of a uniform has relative standard deviation ≈ √(0.8/n) ≈ 0.7 %).
  const double bound = 1.0 / std::sqrt(300.0);
  double sum_sq = 0;
  for (float v : a.to_vector<float>()) {
    CHECK(std::abs(v) <= bound);
    sum_sq += double(v) * v;
  }
  CHECK(sum_sq / 15000.0 == doctest::Approx(bound * bound / 3).epsilon(0.05));
  // kaiming_normal: N(0, 2/fan_in)
  const Tensor k = nn::kaiming_normal(Shape{20000}, 50);
  double s2 = 0;
  for (float v : k.to_vector<float>()) s2 += double(v) * v;
  CHECK(s2 / 20000.0 == doctest::Approx(2.0 / 50).epsilon(0.05));
}

TEST_CASE("gradients reach the module tensors and eval switches batch norm and dropout") {
  nn::manual_seed(3);
  auto net = nn::sequential({nn::linear(4, 3), nn::dropout(0.5)});
  auto bn = std::make_shared<nn::BatchNorm2d>(3);
  Graph g;
  const Value x = g.input("x", Shape{2, 4});
  const Value y = (*net)(x);
  const Value x4 = g.input("x4", Shape{2, 3, 1, 2});
  const Value z = (*bn)(x4);
  const std::vector<Value> params = net->parameter_values(g);
  REQUIRE(params.size() == 2);
  CHECK(g.vertex(params[0]).name == "0.weight");
  const Tensor xv = Tensor::ones(Shape{2, 4});
  const Tensor x4v = Tensor::arange(12).reshape(Shape{2, 3, 1, 2});

  const Value total = nodal::sum(y);
  Execution run = g.forward({total}, {{x, xv}});
  const Gradients grads = run.backward(total, params);
  CHECK(grads[params[0]].shape() == Shape{3, 4});

  const Tensor before = bn->named_buffers()[0].second.clone();
  g.forward({z}, {{x4, x4v}});
  CHECK(bn->named_buffers()[0].second.to_vector<float>() != before.to_vector<float>());  // running mean moved
  net->eval();
  bn->eval();
  const Tensor moved = bn->named_buffers()[0].second.clone();
  Execution eval_run = g.forward({y, z}, {{x, xv}, {x4, x4v}});
  CHECK(bn->named_buffers()[0].second.to_vector<float>() == moved.to_vector<float>());  // eval leaves it
  // eval-mode dropout is the identity: y equals the linear layer alone
  const Tensor w = net->named_parameters()[0].second, b = net->named_parameters()[1].second;
  const std::vector<float> yv = eval_run[y].to_vector<float>();
  for (std::int64_t o = 0; o < 3; ++o) {
    float expect = b.to_vector<float>()[o];
    for (std::int64_t i = 0; i < 4; ++i) expect += w.to_vector<float>()[o * 4 + i];
    CHECK(yv[o] == doctest::Approx(expect).epsilon(1e-6));
  }
  CHECK_THROWS_AS(nn::linear(0, 3), ValueError);
  CHECK_THROWS_AS(nn::conv2d(3, 4, {3}, {.groups = 2}), ValueError);
}
