#include "nodal/nodes/dropout.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

Dropout::Dropout(std::shared_ptr<DropoutState> state) : state_(std::move(state)) {
  if (!state_) throw ValueError("dropout: needs a DropoutState");
  if (!(state_->p >= 0 && state_->p < 1)) throw ValueError(fmt::format("dropout: p must be in [0, 1), got {}", state_->p));
}

Attributes Dropout::attributes() const {
  return {{"p", state_->p}, {"seed", std::int64_t(state_->seed)}, {"training", state_->training}};
}

std::vector<TensorSpec> Dropout::infer(std::span<const TensorSpec> in) const {
  if (in[0].dtype != DType::float32 && in[0].dtype != DType::float64)
    throw DTypeError(fmt::format("dropout: x is {}; takes float32 or float64", dtype_name(in[0].dtype)));
  return {in[0], in[0]};
}

Value dropout(const Value& x, std::shared_ptr<DropoutState> state, std::source_location where) {
  const Value inputs[] = {x};
  return x.graph().add(std::make_shared<Dropout>(std::move(state)), inputs, where)[0];
}
Tensor dropout(const Tensor& x, std::shared_ptr<DropoutState> state) {
  return nodal::apply(Dropout(std::move(state)), std::span<const Tensor>(&x, 1))[0];
}

NODAL_REGISTER_NODE_TYPE({.name = "dropout",
                          .doc = "inverted dropout with seeded masks; outputs y and the mask",
                          .min_inputs = 1,
                          .max_inputs = 1,
                          .attributes = {{"p", 0.5, "probability of zeroing an element"},
                                         {"seed", std::int64_t{0}, "mask stream"},
                                         {"training", true, "false: identity"}},
                          .make = [](const Attributes& a) {
                            auto state = std::make_shared<DropoutState>();
                            state->p = a.get<double>("p", 0.5);
                            state->seed = std::uint64_t(a.get<std::int64_t>("seed", 0));
                            state->training = a.get<bool>("training", true);
                            return std::make_unique<Dropout>(std::move(state));
                          }});

}  // namespace nodal
