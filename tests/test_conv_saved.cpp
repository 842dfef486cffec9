// The conv node's saved-state cache (backends/cpu/conv.cpp): what an algorithm keeps from the
// forward pass reaches the matching vjp once, is not kept under NoGradGuard, never reaches a
// vjp of other tensors, and a vjp without it still gets the right gradients. A test algorithm
// registered here wraps "direct" and records what it was given.
#include <doctest/doctest.h>

#include <atomic>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/nodes/conv.hpp"

using namespace nodal;

namespace {

struct Marker final : cpu::ConvSaved {
  explicit Marker(int id) : id(id) {}
  int id;
};

std::atomic<int> forwards_kept{0}, next_id{0}, last_kept_id{-1}, last_seen_id{-1}, backwards{0};

// "direct" with bookkeeping: forward returns a Marker when asked to keep, backward records the
// Marker it got (−1 for nullptr). Its cost estimate is huge so that `auto` never picks it.
class RecordingConv final : public cpu::ConvAlgorithm {
 public:
  std::string_view name() const override { return "test_recording"; }
  double estimated_seconds(const ConvGeometry&, DType) const override { return 1e30; }
  std::unique_ptr<cpu::ConvSaved> forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, Tensor& y,
                                          bool keep) const override {
    cpu::find_conv_algorithm("direct")->forward(g, x, w, y, false);
    if (!keep) return nullptr;
    ++forwards_kept;
    last_kept_id = next_id++;
    return std::make_unique<Marker>(last_kept_id);
  }
  void backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw,
                const cpu::ConvSaved* saved) const override {
    ++backwards;
    last_seen_id = saved ? static_cast<const Marker*>(saved)->id : -1;
    cpu::find_conv_algorithm("direct")->backward(g, x, w, dy, dx, dw, nullptr);
  }
};
NODAL_REGISTER_CONV_ALGORITHM(RecordingConv);

ConvOptions recording() {
  ConvOptions o;
  o.padding = ConvPadding::all(1);
  o.algorithm = "test_recording";
  return o;
}

}  // namespace

TEST_CASE("conv saved state: the forward's state reaches its vjp once") {
  Graph graph;
  const Value x = graph.parameter("x", Tensor::randn({2, 3, 6, 6}, 1, DType::float64));
  const Value w = graph.parameter("w", Tensor::randn({4, 3, 3, 3}, 2, DType::float64));
  const Value y = conv2d(x, w, recording());
  Execution run = graph.forward({y});
  const int kept = last_kept_id;
  CHECK(kept >= 0);
  const Tensor ybar = Tensor::randn({2, 4, 6, 6}, 3, DType::float64);
  const Gradients first = run.backward(y, {x, w}, {.cotangent = ybar, .retain = true});
  CHECK(last_seen_id == kept);
  // The entry was consumed: a second backward recomputes (nullptr) and gives the same bits.
  const Gradients second = run.backward(y, {x, w}, {.cotangent = ybar});
  CHECK(last_seen_id == -1);
  CHECK(first[x].to_vector<double>() == second[x].to_vector<double>());
  CHECK(first[w].to_vector<double>() == second[w].to_vector<double>());
}

TEST_CASE("conv saved state: nothing is kept under NoGradGuard") {
  const int before = forwards_kept;
  {
    NoGradGuard guard;
    Graph graph;
    const Value x = graph.parameter("x", Tensor::randn({1, 3, 5, 5}, 4, DType::float64));
    const Value w = graph.parameter("w", Tensor::randn({2, 3, 3, 3}, 5, DType::float64));
    graph.forward({conv2d(x, w, recording())});
  }
  CHECK(forwards_kept == before);
}

TEST_CASE("conv saved state: a vjp for other tensors never gets another forward's state") {
  Graph graph;
  const Value x = graph.input("x", Shape{1, 2, 5, 5}, DType::float64);
  const Value w = graph.parameter("w", Tensor::randn({2, 2, 3, 3}, 6, DType::float64));
  const Value y = conv2d(x, w, recording());
  const Tensor x1 = Tensor::randn({1, 2, 5, 5}, 7, DType::float64), x2 = Tensor::randn({1, 2, 5, 5}, 8, DType::float64);
  Execution run1 = graph.forward({y}, {{x, x1}});
  const int kept1 = last_kept_id;
  Execution run2 = graph.forward({y}, {{x, x2}});
  const int kept2 = last_kept_id;
  REQUIRE(kept1 != kept2);
  const Tensor ybar = Tensor::randn({1, 2, 5, 5}, 9, DType::float64);
  run2.backward(y, {w}, {.cotangent = ybar});
  CHECK(last_seen_id == kept2);
  run1.backward(y, {w}, {.cotangent = ybar});
  CHECK(last_seen_id == kept1);
}
