#pragma once
// batch_norm(x, γ, β): per-channel normalization of x [N, C, *] (BatchNorm1d/2d/3d).
//
//   training:  μ_c = mean_{n,s} x,  σ²_c = mean_{n,s} (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
//              running_mean ← (1 − m)·running_mean + m·μ
//              running_var  ← (1 − m)·running_var  + m·σ²·M/(M − 1)      (M = N·|s|, unbiased, as PyTorch)
//   evaluation: the same with μ, σ² replaced by the running statistics (an affine map of x).
//
// The running statistics and the train/eval switch live in a BatchNormState shared between the
// node and the nn::BatchNorm2d module, so one graph serves both modes.
#include <memory>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct BatchNormState {
  Tensor running_mean;  // [C]
  Tensor running_var;   // [C]
  double momentum = 0.1;
  double eps = 1e-5;
  bool training = true;
  std::int64_t batches_tracked = 0;

  // Fresh statistics (mean 0, variance 1) for `channels` channels of `dtype`.
  static std::shared_ptr<BatchNormState> make(std::int64_t channels, DType dtype = DType::float32,
                                              double momentum = 0.1, double eps = 1e-5);
};

class BatchNorm final : public Node {
 public:
  explicit BatchNorm(std::shared_ptr<BatchNormState> state);
  std::string_view type() const override { return "batch_norm"; }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
  BatchNormState& state() const { return *state_; }

 private:
  std::shared_ptr<BatchNormState> state_;
};

Value batch_norm(const Value& x, const Value& gamma, const Value& beta, std::shared_ptr<BatchNormState> state,
                 std::source_location where = std::source_location::current());
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, std::shared_ptr<BatchNormState> state);

}  // namespace nodal
