#pragma once
// Small helpers that every node header uses to offer both forms of an operation:
//   Value  f(Value...)  — adds a node to the values' graph (recorded, differentiable)
//   Tensor f(Tensor...) — runs it at once (eager), on the tensors' backend
#include <memory>
#include <source_location>

#include "nodal/core/error.hpp"
#include "nodal/core/graph.hpp"

namespace nodal::detail {

template <class N> Value add_node(N node, std::initializer_list<Value> inputs, std::source_location where) {
  if (inputs.size() == 0) throw ValueError(fmt::format("{}: needs at least one input", node.type()));
  Graph& g = inputs.begin()->graph();
  for (const Value& v : inputs)
    if (&v.graph() != &g) throw ValueError(fmt::format("{}: inputs belong to different graphs", node.type()));
  return g.add1(std::make_shared<N>(std::move(node)), std::span<const Value>(inputs.begin(), inputs.size()), where);
}

template <class N> Tensor run_node(const N& node, std::initializer_list<Tensor> inputs) { return apply1(node, inputs); }

}  // namespace nodal::detail
