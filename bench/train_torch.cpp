// libtorch's LeNet-5 step for bench/train: the same layers, PyTorch's default initialization,
// torch::optim::SGD and cross-entropy, on the same batches.
#include "train_peer.hpp"

#ifdef NODAL_HAVE_TORCH
#include <torch/torch.h>

#include <fmt/format.h>

namespace nodal::bench {
namespace {

struct LeNet : torch::nn::Module {
  torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 6, 5).padding(2)}, conv2{torch::nn::Conv2dOptions(6, 16, 5)};
  torch::nn::Linear fc1{400, 120}, fc2{120, 84}, fc3{84, 10};
  LeNet() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1->forward(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2->forward(x)), 2);
    x = x.flatten(1);
    return fc3->forward(torch::relu(fc2->forward(torch::relu(fc1->forward(x)))));
  }
};

class TorchStep final : public TrainStep {
 public:
  explicit TorchStep(std::int64_t batch)
      : batch_(batch), net_(std::make_shared<LeNet>()), opt_(net_->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9)) {}
  double step(const float* images, const float* labels) override {
    const torch::Tensor x = torch::from_blob(const_cast<float*>(images), {batch_, 1, 28, 28});
    const torch::Tensor y = torch::from_blob(const_cast<float*>(labels), {batch_}).to(torch::kLong);
    opt_.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net_->forward(x), y);
    loss.backward();
    opt_.step();
    return loss.item<double>();
  }

 private:
  std::int64_t batch_;
  std::shared_ptr<LeNet> net_;
  torch::optim::SGD opt_;
};

}  // namespace

bool torch_available() { return true; }
std::string torch_description() {
  return fmt::format("libtorch {}.{}.{} ({} intra-op threads)", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
                     TORCH_VERSION_PATCH, torch::get_num_threads());
}
std::unique_ptr<TrainStep> make_torch_step(std::int64_t batch, int threads) {
  torch::set_num_threads(threads);
  return std::make_unique<TorchStep>(batch);
}

}  // namespace nodal::bench
#else
namespace nodal::bench {
bool torch_available() { return false; }
std::string torch_description() { return "libtorch not found at build time"; }
std::unique_ptr<TrainStep> make_torch_step(std::int64_t, int) { return nullptr; }
}  // namespace nodal::bench
#endif
