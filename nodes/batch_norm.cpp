#include "nodal/nodes/batch_norm.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::shared_ptr<BatchNormState> BatchNormState::make(std::int64_t channels, DType dtype, double momentum, double eps) {
  if (channels < 1) throw ValueError(fmt::format("batch_norm: channels must be ≥ 1, got {}", channels));
  if (!(momentum >= 0 && momentum <= 1)) throw ValueError(fmt::format("batch_norm: momentum must be in [0, 1], got {}", momentum));
  if (!(eps > 0)) throw ValueError(fmt::format("batch_norm: eps must be > 0, got {}", eps));
  auto s = std::make_shared<BatchNormState>();
  s->running_mean = Tensor::zeros(Shape{channels}, dtype);
  s->running_var = Tensor::ones(Shape{channels}, dtype);
  s->momentum = momentum;
  s->eps = eps;
  return s;
}

BatchNorm::BatchNorm(std::shared_ptr<BatchNormState> state) : state_(std::move(state)) {
  if (!state_) throw ValueError("batch_norm: needs a BatchNormState (BatchNormState::make)");
}

Attributes BatchNorm::attributes() const {
  return {{"momentum", state_->momentum}, {"eps", state_->eps}, {"training", state_->training}};
}

std::vector<TensorSpec> BatchNorm::infer(std::span<const TensorSpec> in) const {
  const Shape& x = in[0].shape;
  const DType dt = in[0].dtype;
  if (dt != DType::float32 && dt != DType::float64)
    throw DTypeError(fmt::format("batch_norm: x is {}; takes float32 or float64", dtype_name(dt)));
  if (x.rank() < 2) throw ShapeError(fmt::format("batch_norm: x must be [N, C, ...], got {}", to_string(x)));
  const std::int64_t c = x[1];
  for (std::size_t i = 1; i < in.size(); ++i) {
    if (!(in[i].shape == Shape{c}))
      throw ShapeError(fmt::format("batch_norm: {} must be [{}] for x {}, got {}", i == 1 ? "gamma" : "beta", c,
                                   to_string(x), to_string(in[i].shape)));
    if (in[i].dtype != dt)
      throw DTypeError(fmt::format("batch_norm: {} is {} but x is {}", i == 1 ? "gamma" : "beta",
                                   dtype_name(in[i].dtype), dtype_name(dt)));
  }
  // Statistics made without a channel count (the CLI's node) take their size from the first x.
  if (!state_->running_mean.defined()) {
    state_->running_mean = Tensor::zeros(Shape{c}, dt);
    state_->running_var = Tensor::ones(Shape{c}, dt);
  }
  if (!(state_->running_mean.shape() == Shape{c}) || state_->running_mean.dtype() != dt ||
      !(state_->running_var.shape() == Shape{c}) || state_->running_var.dtype() != dt)
    throw ShapeError(fmt::format("batch_norm: running statistics are {} {} but x {} is {} with {} channels",
                                 to_string(state_->running_mean.shape()), dtype_name(state_->running_mean.dtype()),
                                 to_string(x), dtype_name(dt), c));
  return {{x, dt}};
}

Value batch_norm(const Value& x, const Value& gamma, const Value& beta, std::shared_ptr<BatchNormState> state,
                 std::source_location where) {
  return detail::add_node(BatchNorm(std::move(state)), {x, gamma, beta}, where);
}
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, std::shared_ptr<BatchNormState> state) {
  return detail::run_node(BatchNorm(std::move(state)), {x, gamma, beta});
}

NODAL_REGISTER_NODE_TYPE({.name = "batch_norm",
                          .doc = "per-channel normalization of x [N, C, ...] by batch (training) or running statistics",
                          .min_inputs = 3,
                          .max_inputs = 3,
                          .attributes = {{"momentum", 0.1, "weight of the new batch in the running statistics"},
                                         {"eps", 1e-5, "added to the variance"},
                                         {"training", true, "batch statistics (true) or running statistics (false)"}},
                          .make = [](const Attributes& a) {
                            auto state = std::make_shared<BatchNormState>();
                            state->momentum = a.get<double>("momentum", 0.1);
                            state->eps = a.get<double>("eps", 1e-5);
                            state->training = a.get<bool>("training", true);
                            return std::make_unique<BatchNorm>(std::move(state));
                          }});

}  // namespace nodal
