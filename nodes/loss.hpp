#pragma once
// Loss functions: scalar outputs, ready for Execution::backward without a cotangent.
//
// mse(a, b)               = mean((a − b)²)  (reduction "mean") or Σ (a − b)² ("sum");
//                           a and b have one shape.
// cross_entropy(z, labels) = mean over the batch of −Σ_c q_c · log_softmax(z)_c, with
//                           z [N, C] logits, labels [N] holding integer class indices as floats
//                           (nodal has no integer dtype) and q the target distribution:
//                           q = (1 − ε)·onehot(label) + ε/C for label_smoothing ε (0: plain NLL).
//                           The labels get no gradient (their cotangent stays undefined, i.e. 0).
// float32 and float64.
#include <string>

#include "nodal/nodes/node_builder.hpp"

namespace nodal {

struct Mse final : Node {
  std::string reduction = "mean";  // "mean" or "sum"
  Mse() = default;
  explicit Mse(std::string reduction) : reduction(std::move(reduction)) {}
  std::string_view type() const override { return "mse"; }
  Attributes attributes() const override { return {{"reduction", reduction}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

struct CrossEntropy final : Node {
  double label_smoothing = 0.0;
  CrossEntropy() = default;
  explicit CrossEntropy(double label_smoothing) : label_smoothing(label_smoothing) {}
  std::string_view type() const override { return "cross_entropy"; }
  Attributes attributes() const override { return {{"label_smoothing", label_smoothing}}; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override;
};

Value mse(const Value& a, const Value& b, std::string reduction = "mean",
          std::source_location where = std::source_location::current());
Tensor mse(const Tensor& a, const Tensor& b, std::string reduction = "mean");
Value cross_entropy(const Value& logits, const Value& labels, double label_smoothing = 0.0,
                    std::source_location where = std::source_location::current());
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing = 0.0);

}  // namespace nodal
