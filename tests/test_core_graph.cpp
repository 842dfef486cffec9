#include <doctest/doctest.h>

#include <nodal/nodal.hpp>

using namespace nodal;

TEST_CASE("forward and backward through relu(x + b) with broadcasting") {
  Graph g;
  Value x = g.input("x", Shape{2, 3}, DType::float64);
  Value b = g.parameter("b", Tensor::from_vector<double>({1.0, -2.0, 0.5}, Shape{3}));
  Value y = relu(x + b);
  CHECK(y.shape() == Shape{2, 3});
  Tensor xv = Tensor::from_vector<double>({1, 2, 3, -4, 5, -6}, Shape{2, 3});
  Execution run = g.forward({y}, {{x, xv}});
  // relu([2, 0, 3.5, -3, 3, -5.5])
  CHECK(run[y].to_vector<double>() == std::vector<double>{2, 0, 3.5, 0, 3, 0});
  Tensor ones = Tensor::ones(Shape{2, 3}, DType::float64);
  Gradients grads = run.backward(y, {b}, {.cotangent = ones});
  // db = column sums of [x + b > 0]
  CHECK(grads[b].to_vector<double>() == std::vector<double>{1, 1, 1});
}

TEST_CASE("a shape mismatch fails at construction and names the node and the shapes") {
  Graph g;
  Value a = g.input("a", Shape{2, 3});
  Value c = g.input("c", Shape{4});
  try {
    (void)(a + c);
    FAIL("expected ShapeError");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("add#") != std::string::npos);
    CHECK(msg.find("[2, 3]") != std::string::npos);
    CHECK(msg.find("[4]") != std::string::npos);
    CHECK(msg.find("test_core_graph.cpp") != std::string::npos);
  }
}
