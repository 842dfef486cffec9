#pragma once
// Stochastic gradient descent with momentum, PyTorch's torch.optim.SGD update, per element:
//
//   g ← ∇ + wd·p                                  (weight_decay, L2 added to the gradient)
//   b ← g                          on the first step,
//   b ← μ·b + (1 − dampening)·g    afterwards     (momentum μ ≠ 0 only)
//   g ← g + μ·b  (nesterov)  or  g ← b  (plain momentum)
//   p ← p − lr·g
//
// Nesterov needs momentum > 0 and dampening = 0 (as PyTorch requires).
#include "nodal/nn/device_training.hpp"
#include "nodal/nn/optimizer.hpp"

namespace nodal::nn {

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class Sgd final : public Optimizer {
 public:
  Sgd(NamedTensors parameters, SgdOptions options);
  Sgd(std::vector<ParameterGroup> groups, SgdOptions options);
  std::string_view type() const override { return "sgd"; }
  const SgdOptions& options() const { return options_; }

 private:
  void update(Tensor& param, const Tensor& grad, std::span<Tensor> slots, std::int64_t step,
              const Group& group) override;
  void update_many(std::span<const Update> updates) override;
  SgdScalars scalars(const Group& group, std::int64_t step) const;
  void save_hyper(Metadata& out, std::string_view prefix) const override;
  void load_hyper(const Metadata& in, std::string_view prefix, std::string_view source) override;
  SgdOptions options_;
};

}  // namespace nodal::nn
