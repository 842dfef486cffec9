// A program that uses nodal the way a user's project would: one umbrella header, one library.
// Built three ways by run.sh (add_subdirectory, find_package, pkg-config); each build runs it.
// readme_example() is README.md's example, line for line, so the README cannot drift from the API.
#include <cmath>
#include <cstdio>
#include <vector>

#include <nodal/nodal.hpp>

namespace {

// relu(x + b) on known numbers: forward and backward checked exactly.
bool check_relu_of_sum() {
  using namespace nodal;
  Graph g;
  Value x = g.input("x", Shape{2, 3});
  Value b = g.parameter("b", Tensor::from_vector<float>({1.0f, -2.0f, 0.5f}, Shape{3}));
  Value y = relu(x + b);

  Tensor xv = Tensor::from_vector<float>({1, 2, 3, -4, 5, -6}, Shape{2, 3});
  Execution run = g.forward({y}, {{x, xv}});
  // relu([[2, 0, 3.5], [-3, 3, -5.5]]) sums to 8.5
  float total = 0;
  for (float v : run[y].to_vector<float>()) total += v;

  // d(sum y)/db = number of positive entries per column: [1, 1, 1]
  Gradients grads = run.backward(y, {b}, {.cotangent = Tensor::ones(Shape{2, 3})});
  const std::vector<float> db = grads[b].to_vector<float>();

  std::printf("nodal consumer: sum(relu(x + b)) = %g, db = [%g, %g, %g]\n", total, db[0], db[1], db[2]);
  const bool ok = std::fabs(total - 8.5f) < 1e-6f && db == std::vector<float>{1, 1, 1};
  if (!ok) std::printf("nodal consumer: WRONG (expected 8.5 and [1, 1, 1])\n");
  return ok;
}

// README.md's example (the body of its main).
void readme_example() {
  using namespace nodal;
  Graph g;                                                     // define, then run
  Value x = g.input("x", Shape{4, 3});                         // fed at every step
  Value w = g.parameter("w", Tensor::randn(Shape{3, 2}, /*seed=*/1));
  Value b = g.parameter("b", Tensor::zeros(Shape{2}));
  Value loss = mean(relu(matmul(x, w) + b));                   // shapes are checked here

  Tensor batch = Tensor::randn(Shape{4, 3}, /*seed=*/2);
  Execution run = g.forward({loss}, {{x, batch}});             // only what `loss` needs
  Gradients grads = run.backward(loss);                        // d loss / d every parameter
  std::printf("loss %.4f  dloss/db = [%.4f, %.4f]\n", run[loss].item<float>(),
              grads[b].to_vector<float>()[0], grads[b].to_vector<float>()[1]);
}

}  // namespace

int main() {
  const bool ok = check_relu_of_sum();
  readme_example();
  return ok ? 0 : 1;
}
