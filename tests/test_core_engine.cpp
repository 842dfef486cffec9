// The engine's guarantees, each checked through behaviour a user can observe.
#include <doctest/doctest.h>

#include <atomic>

#include <nodal/nodal.hpp>

using namespace nodal;

namespace {

// y = 2x, counting its forward runs; registered for the CPU backend only.
std::atomic<int> twice_runs{0};
struct Twice final : Node {
  std::string_view type() const override { return "test_twice"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override { return {in[0]}; }
};
struct TwiceCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    ++twice_runs;
    c.outputs[0] = add(c.inputs[0], c.inputs[0]);
  }
  void vjp(const VjpCall& c) const override {
    c.input_cotangents[0] = add(c.output_cotangents[0], c.output_cotangents[0]);
  }
  void jvp(const JvpCall& c) const override { c.output_tangents[0] = add(c.input_tangents[0], c.input_tangents[0]); }
};
NODAL_REGISTER_NODE_TYPE({.name = "test_twice", .doc = "2x (test node)", .make = [](const Attributes&) {
                            return std::make_unique<Twice>();
                          }});
NODAL_REGISTER_IMPL("test_twice", Backend::cpu, TwiceCpu);
Value twice(const Value& x) { return x.graph().add1(std::make_shared<Twice>(), std::span(&x, 1), std::source_location::current()); }

// A node type with no implementation on any backend.
struct Orphan final : Node {
  std::string_view type() const override { return "test_orphan"; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override { return {in[0]}; }
};

Tensor vec(std::vector<double> v) { return Tensor::from_vector(v, Shape{std::int64_t(v.size())}); }

}  // namespace

TEST_CASE("forward runs only the nodes the requested outputs need") {
  Graph g;
  Value x = g.input("x", Shape{3}, DType::float64);
  Value needed = twice(x);
  Value unused = twice(twice(x));
  (void)unused;
  twice_runs = 0;
  Execution run = g.forward({needed}, {{x, vec({1, 2, 3})}});
  CHECK(twice_runs == 1);
  CHECK(run[needed].to_vector<double>() == std::vector<double>{2, 4, 6});
}

TEST_CASE("a graph is reused across steps with new inputs, without rebuilding") {
  Graph g;
  Value x = g.input("x", Shape{2}, DType::float64);
  Value w = g.parameter("w", vec({1, -1}));
  Value y = relu(x + w);
  const auto version = g.version();
  for (double step = 0; step < 3; ++step) {
    Execution run = g.forward({y}, {{x, vec({step, step})}});
    CHECK(run[y].to_vector<double>() == std::vector<double>{step + 1, std::max(step - 1, 0.0)});
    Gradients grads = run.backward(y, {w}, {.cotangent = vec({1, 1})});
    CHECK(grads[w].to_vector<double>() == std::vector<double>{1, step - 1 > 0 ? 1.0 : 0.0});
  }
  CHECK(g.version() == version);
  // a parameter update is seen by the next step
  g.tensor(w) = vec({10, 10});
  CHECK(g.forward({y}, {{x, vec({0, 0})}})[y].to_vector<double>() == std::vector<double>{10, 10});
}

TEST_CASE("fan-out: cotangents from every use are summed") {
  Graph g;
  Value x = g.parameter("x", vec({1, 2}));
  Value y = twice(x) + x;  // dy/dx = 3
  Execution run = g.forward({y});
  CHECK(run.backward(y, {x}, {.cotangent = vec({1, 1})})[x].to_vector<double>() == std::vector<double>{3, 3});
}

TEST_CASE("backward releases intermediates - retain keeps them and gives identical gradients") {
  Graph g;
  Value x = g.parameter("x", vec({1, -2}));
  Value h = twice(x);
  Value y = relu(h);
  {
    Execution run = g.forward({y});
    run.backward(y, {x}, {.cotangent = vec({1, 1})});
    CHECK_THROWS_AS(run[h], ValueError);
    CHECK_NOTHROW(run[y]);  // requested outputs stay
    CHECK_THROWS_AS(run.backward(y, {x}, {.cotangent = vec({1, 1})}), ValueError);
  }
  {
    Execution run = g.forward({y});
    auto first = run.backward(y, {x}, {.cotangent = vec({1, 1}), .retain = true})[x].to_vector<double>();
    auto second = run.backward(y, {x}, {.cotangent = vec({1, 1}), .retain = true})[x].to_vector<double>();
    CHECK(first == std::vector<double>{2, 0});
    CHECK(first == second);
  }
}

TEST_CASE("gradients of values the output does not depend on are zeros - non-scalar output needs a cotangent") {
  Graph g;
  Value a = g.parameter("a", vec({1, 2}));
  Value b = g.parameter("b", vec({3, 4}));
  Value y = relu(a);
  Execution run = g.forward({y});
  CHECK_THROWS_AS(run.backward(y, {a, b}), ShapeError);
  Gradients grads = run.backward(y, {a, b}, {.cotangent = vec({1, 1})});
  CHECK(grads[b].to_vector<double>() == std::vector<double>{0, 0});
  CHECK_THROWS_AS(grads[y], ValueError);
}

TEST_CASE("no-grad scope keeps no backward state") {
  Graph g;
  Value x = g.parameter("x", vec({1, 2}));
  Value h = twice(x);
  Value y = relu(h);
  NoGradGuard guard;
  CHECK_FALSE(grad_enabled());
  Execution run = g.forward({y});
  CHECK(run[y].to_vector<double>() == std::vector<double>{2, 4});
  CHECK_THROWS_AS(run[h], ValueError);  // freed once its consumer ran
  CHECK_THROWS_AS(run.backward(y, {x}, {.cotangent = vec({1, 1})}), ValueError);
}

TEST_CASE("forward mode: one sweep gives the directional derivative") {
  Graph g;
  Value x = g.input("x", Shape{3}, DType::float64);
  Value w = g.parameter("w", vec({1, 1, 1}));
  Value y = relu(twice(x) + w);
  const Feed feeds[] = {{x, vec({1, -5, 2})}};
  const Feed tangents[] = {{x, vec({1, 1, 1})}, {w, vec({0.5, 0.5, 0.5})}};
  const Value outs[] = {y};
  JvpResult r = g.jvp(outs, feeds, tangents);
  CHECK(r.values[0].to_vector<double>() == std::vector<double>{3, 0, 5});
  CHECK(r.tangents[0].to_vector<double>() == std::vector<double>{2.5, 0, 2.5});
}

TEST_CASE("a cycle is an error that names the nodes on it") {
  Graph g;
  Value x = g.input("x", Shape{2});
  Value a = twice(x);
  Value b = twice(a);
  g.connect(b, a, 0);  // a now reads b: a -> b -> a
  try {
    g.forward({b}, {{x, Tensor::zeros(Shape{2})}});
    FAIL("expected a cycle error");
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("cycle") != std::string::npos);
    CHECK(msg.find(a.name()) != std::string::npos);
    CHECK(msg.find(b.name()) != std::string::npos);
  }
}

TEST_CASE("a missing backend implementation names the node and the backend") {
  Graph g;
  Value x = g.input("x", Shape{2});
  Value y = g.add1(std::make_shared<Orphan>(), std::span(&x, 1), std::source_location::current());
  try {
    g.forward({y}, {{x, Tensor::zeros(Shape{2})}});
    FAIL("expected BackendError");
  } catch (const BackendError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("test_orphan") != std::string::npos);
    CHECK(msg.find("cpu") != std::string::npos);
  }
}

TEST_CASE("feeds are checked: missing, wrong shape, not an input") {
  Graph g;
  Value x = g.input("x", Shape{2, 2});
  Value w = g.parameter("w", Tensor::zeros(Shape{2}));
  Value y = relu(x + w);
  CHECK_THROWS_AS(g.forward({y}), ValueError);
  CHECK_THROWS_AS(g.forward({y}, {{x, Tensor::zeros(Shape{3, 2})}}), ShapeError);
  CHECK_THROWS_AS(g.forward({y}, {{x, Tensor::zeros(Shape{2, 2}, DType::float64)}}), ShapeError);
  CHECK_THROWS_AS(g.forward({y}, {{w, Tensor::zeros(Shape{2})}}), ValueError);
  // a resize that no longer fits is rejected and leaves the graph as it was
  CHECK_THROWS_AS(g.resize_input(x, Shape{5, 3}), ShapeError);
  CHECK(y.shape() == Shape{2, 2});
  // resize_input re-infers shapes downstream, after which a new size is accepted
  g.resize_input(x, Shape{5, 2});
  CHECK(y.shape() == Shape{5, 2});
  CHECK(g.forward({y}, {{x, Tensor::ones(Shape{5, 2})}})[y].shape() == Shape{5, 2});
}

TEST_CASE("Graphviz export names nodes with shapes and dtypes") {
  Graph g;
  Value x = g.input("pixels", Shape{4, 3}, DType::float64);
  Value y = relu(x);
  const std::string dot = g.to_dot();
  CHECK(dot.find("digraph") != std::string::npos);
  CHECK(dot.find("pixels") != std::string::npos);
  CHECK(dot.find(y.name()) != std::string::npos);
  CHECK(dot.find("[4, 3] float64") != std::string::npos);
  CHECK(dot.find("->") != std::string::npos);
}

TEST_CASE("steady-state steps reuse pooled CPU memory") {
  Graph g;
  Value x = g.parameter("x", Tensor::ones(Shape{64}));
  Value y = relu(relu(x) + x);
  for (int i = 0; i < 2; ++i) g.forward({y}).backward(y, {x}, {.cotangent = Tensor::ones(Shape{64})});
  const auto before = cpu_pool_stats().system_allocations;
  for (int i = 0; i < 10; ++i) g.forward({y}).backward(y, {x}, {.cotangent = Tensor::ones(Shape{64})});
  CHECK(cpu_pool_stats().system_allocations == before);
}

TEST_CASE("resize_inputs changes several inputs together and all or nothing") {
  Graph g;
  const Value x = g.input("x", Shape{4, 3});
  const Value y = g.input("y", Shape{4, 3});
  const Value z = x + y;
  // One at a time, each intermediate state would not fit (x [2, 3] + y [4, 3] does not broadcast).
  CHECK_THROWS_AS(g.resize_input(x, Shape{2, 3}), ShapeError);
  g.resize_inputs({{x, Shape{2, 3}}, {y, Shape{2, 3}}});
  CHECK(z.shape() == Shape{2, 3});
  CHECK_THROWS_WITH_AS(g.resize_inputs({{x, Shape{5, 3}}, {y, Shape{6, 3}}}), doctest::Contains("x to [5, 3], y to [6, 3]"),
                       ShapeError);
  CHECK(x.shape() == Shape{2, 3});  // unchanged after the failure
}
