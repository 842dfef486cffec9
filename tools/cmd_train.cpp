// nodal train: the Fashion-MNIST trainer of examples/train_fashion_mnist.cpp (compiled into this
// tool), so the main job and the tutorial are one piece of code.
#include <fmt/format.h>

#include "nodal/examples/train_fashion_mnist.hpp"
#include "nodal/tools/cli.hpp"

namespace nodal::cli {

int run_train(const std::vector<std::string>& words) {
  for (const std::string& w : words)
    if (w == "--help" || w == "-h") {
      fmt::print("nodal train: LeNet-5 on Fashion-MNIST\n{}", examples::train_usage());
      return 0;
    }
  examples::TrainOptions options;
  try {
    options = examples::parse_train_options(words);
  } catch (const ValueError& e) {
    throw UsageError(e.what());
  }
  return examples::train_fashion_mnist(options).interrupted ? 130 : 0;
}

}  // namespace nodal::cli
