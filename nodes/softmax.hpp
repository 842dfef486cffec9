#pragma once
// softmax(x, axis)     = exp(x − max) / Σ exp(x − max)       along `axis`
// log_softmax(x, axis) = x − max − log Σ exp(x − max)         along `axis`
// Subtracting the maximum keeps exp from overflowing; it cancels in the result. float32/float64.
#include <cstdint>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct Softmax final : Node {
  std::int64_t axis = -1;
  Softmax() = default;
  explicit Softmax(std::int64_t axis) : axis(axis) {}
  std::string_view type() const override { return "softmax"; }
  Attributes attributes() const override { return {{"axis", axis}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

struct LogSoftmax final : Node {
  std::int64_t axis = -1;
  LogSoftmax() = default;
  explicit LogSoftmax(std::int64_t axis) : axis(axis) {}
  std::string_view type() const override { return "log_softmax"; }
  Attributes attributes() const override { return {{"axis", axis}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

Value softmax(const Value& x, std::int64_t axis = -1, std::source_location where = std::source_location::current());
Tensor softmax(const Tensor& x, std::int64_t axis = -1);
Value log_softmax(const Value& x, std::int64_t axis = -1, std::source_location where = std::source_location::current());
Tensor log_softmax(const Tensor& x, std::int64_t axis = -1);

}  // namespace nodal
