// A custom node used in an expression and gradchecked: see examples/custom_node.hpp for the
// twenty lines that define it, and docs/custom-nodes.md for the contract.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/examples/custom_node.hpp"

int main() {
  using namespace nodal;
  // In an expression: y = softplus(x + b), differentiated with respect to b.
  Graph g;
  Value x = g.input("x", Shape{2, 3}, DType::float64);
  Value b = g.parameter("b", Tensor::from_vector<double>({0.5, -1.0, 2.0}, Shape{3}));
  Value y = example::softplus(x + b);
  Execution run = g.forward({y}, {{x, Tensor::from_vector<double>({1, -2, 0.25, -0.5, 3, -4}, Shape{2, 3})}});
  Gradients grads = run.backward(y, {b}, {.cotangent = Tensor::ones(Shape{2, 3}, DType::float64)});
  fmt::print("softplus(x + b) = {}\nd sum / d b = {}\n", run[y].to_vector<double>(), grads[b].to_vector<double>());

  // Gradchecked: the rules against central differences, forward mode against reverse mode.
  const GradcheckResult check = gradcheck(std::make_shared<example::Softplus>(),
                                          {Tensor::from_vector<double>({-3, -0.5, 0.1, 0.7, 2, 5}, Shape{2, 3})});
  fmt::print("{}\n", check.report());
  return check ? 0 : 1;
}
