#pragma once
// The training step as bench/train measures it, behind one interface so the libtorch peer lives in
// its own file (only train_torch.cpp sees torch's headers; built when CMake finds Torch).
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

namespace nodal::bench {

// One framework's LeNet-5 training step on float32 batches [B, 1, 28, 28] with float class ids.
class TrainStep {
 public:
  virtual ~TrainStep() = default;
  // forward, backward and an SGD step (momentum 0.9, lr 0.01); returns the batch's loss.
  virtual double step(const float* images, const float* labels) = 0;
  // Waits for queued work (a device step returns before its kernels finish) and returns the last
  // step's loss; NaN when step() already returned it.
  virtual double sync() { return std::numeric_limits<double>::quiet_NaN(); }
};

bool torch_available();
std::string torch_description();
std::unique_ptr<TrainStep> make_torch_step(std::int64_t batch, int threads);

}  // namespace nodal::bench
