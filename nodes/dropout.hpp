#pragma once
// dropout(x): in training, y = x·mask with mask_i = 1/(1 − p) with probability 1 − p and 0
// otherwise (inverted dropout: the expected value of y is x, so evaluation is the identity).
//
// Masks are seeded: the mask of the k-th forward pass is a pure function of (seed, k, element
// index) (counter-based, like Tensor::rand), so a run is reproducible on any thread count. The
// node's second output is the mask itself, which the vjp reads — the cotangent flows back through
// exactly the mask the forward pass drew:  x̄ = ȳ·mask,  ẏ = ẋ·mask.
#include <atomic>
#include <memory>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct DropoutState {
  double p = 0.5;
  std::uint64_t seed = 0;
  std::atomic<std::uint64_t> step{0};  // forward passes drawn so far
  bool training = true;
  bool advance = true;  // false: every pass reuses mask `step` (tests, gradcheck)
};

class Dropout final : public Node {
 public:
  explicit Dropout(std::shared_ptr<DropoutState> state);
  std::string_view type() const override { return "dropout"; }
  Attributes attributes() const override;
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;  // y, mask
  DropoutState& state() const { return *state_; }

 private:
  std::shared_ptr<DropoutState> state_;
};

// y (the mask output stays inside the graph for the vjp).
Value dropout(const Value& x, std::shared_ptr<DropoutState> state,
              std::source_location where = std::source_location::current());
Tensor dropout(const Tensor& x, std::shared_ptr<DropoutState> state);

}  // namespace nodal
