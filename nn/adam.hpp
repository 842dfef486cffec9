#pragma once
// Adam and AdamW, PyTorch's torch.optim.Adam / AdamW updates (amsgrad off), per element, with
// t the parameter's step count (1 on the first step):
//
//   Adam:   g ← ∇ + wd·p                  (L2 weight decay added to the gradient)
//   AdamW:  p ← p − lr·wd·p, g ← ∇        (decoupled weight decay, applied before the step)
//   m ← m + (1 − β1)·(g − m)              (= β1·m + (1 − β1)·g, PyTorch's lerp)
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)      (ε outside the square root)
//
// State slots: exp_avg (m) and exp_avg_sq (v). PyTorch's defaults: Adam weight_decay 0, AdamW
// weight_decay 0.01.
#include "nodal/nn/device_training.hpp"
#include "nodal/nn/optimizer.hpp"

namespace nodal::nn {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(NamedTensors parameters, AdamOptions options);
  Adam(std::vector<ParameterGroup> groups, AdamOptions options);
  std::string_view type() const override { return decoupled_ ? "adamw" : "adam"; }
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::vector<ParameterGroup> groups, AdamOptions options, bool decoupled_weight_decay);

 private:
  void update(Tensor& param, const Tensor& grad, std::span<Tensor> slots, std::int64_t step,
              const Group& group) override;
  void update_many(std::span<const Update> updates) override;
  AdamScalars scalars(const Group& group, std::int64_t step) const;
  void save_hyper(Metadata& out, std::string_view prefix) const override;
  void load_hyper(const Metadata& in, std::string_view prefix, std::string_view source) override;
  AdamOptions options_;
  bool decoupled_;
};

// AdamW's default weight decay is 0.01 (PyTorch's); pass the options to change it.
inline constexpr AdamOptions adamw_defaults{.weight_decay = 0.01};

class AdamW final : public Adam {
 public:
  AdamW(NamedTensors parameters, AdamOptions options = adamw_defaults);
  AdamW(std::vector<ParameterGroup> groups, AdamOptions options = adamw_defaults);
};

}  // namespace nodal::nn
