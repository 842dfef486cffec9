#pragma once
// Running a graph: the values of one forward pass, reverse mode from them, and the no-grad scope.
//
//   forward  : vertices in topological order, only those the requested outputs need
//   backward : cotangents flow from the output back along the same order, reversed; each op's
//              vjp sends ȳ to its inputs, contributions to one value are summed (fan-out), and
//              a vertex's values are released as soon as its vjp has run.
#include <span>
#include <vector>

#include "nodal/core/graph.hpp"

namespace nodal {

struct BackwardOptions {
  Tensor cotangent;     // ȳ for the output; may be omitted only when the output has one element
  bool retain = false;  // keep forward values so backward can run again
};

class Gradients {
 public:
  Gradients() = default;
  Gradients(std::vector<Value> values, std::vector<Tensor> tensors) : values_(std::move(values)), tensors_(std::move(tensors)) {}
  // dE/dv for a value that was asked for; a value the output does not depend on gets zeros.
  const Tensor& operator[](Value v) const;
  std::span<const Value> values() const { return values_; }
  std::span<const Tensor> tensors() const { return tensors_; }

 private:
  std::vector<Value> values_;
  std::vector<Tensor> tensors_;
};

class Execution {
 public:
  Execution(Graph& graph, std::span<const Value> outputs, std::span<const Feed> feeds);

  // The forward value of any output requested (or, unless no-grad freed it, any intermediate).
  const Tensor& operator[](Value v) const;
  // Reverse mode. `wrt` defaults to every parameter with requires_grad.
  Gradients backward(Value output, std::span<const Value> wrt = {}, const BackwardOptions& options = {});
  Gradients backward(Value output, std::initializer_list<Value> wrt, const BackwardOptions& options = {}) {
    return backward(output, std::span<const Value>(wrt.begin(), wrt.size()), options);
  }

 private:
  Tensor& slot(Value v) { return values_[graph_->vertex(v).first_slot + v.port()]; }
  Graph* graph_;
  std::vector<Value> outputs_;
  std::vector<Tensor> values_;  // one slot per vertex output
  bool grad_state_;             // false under NoGradGuard: nothing kept for backward
  bool released_ = false;
};

// Gathers the input tensors of op vertex `v` from a flat slot array.
void gather_inputs(const Graph& graph, std::uint32_t v, const std::vector<Tensor>& slots, std::vector<Tensor>& out);
// Binds inputs, parameters and constants into `slots` (feeds checked against declared specs).
void bind_sources(const Graph& graph, std::span<const std::uint32_t> schedule, std::span<const Feed> feeds,
                  std::vector<Tensor>& slots);
// a + b for two tensors of one shape, on their backend (used to sum cotangents and tangents).
Tensor accumulate(const Tensor& a, const Tensor& b);

bool grad_enabled();
// While alive (per thread), forward keeps no state for backward and frees intermediates early.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace nodal
