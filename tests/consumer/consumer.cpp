// A program that uses nodal the way a user's project would: one umbrella header, one library.
// Built three ways by run.sh (add_subdirectory, find_package, pkg-config); each build runs it.
#include <cmath>
#include <cstdio>
#include <vector>

#include <nodal/nodal.hpp>

int main() {
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
  return ok ? 0 : 1;
}
