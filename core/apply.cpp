#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/core/node.hpp"

namespace nodal {

std::vector<Tensor> apply(const Node& node, std::span<const Tensor> inputs) {
  std::vector<TensorSpec> specs;
  specs.reserve(inputs.size());
  Backend backend = Backend::cpu;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) throw ValueError(fmt::format("{}: input {} is undefined", node.type(), i));
    specs.push_back(spec_of(inputs[i]));
    if (i == 0) backend = inputs[i].backend();
    else if (inputs[i].backend() != backend)
      throw BackendError(fmt::format("{}: inputs live on different backends", node.type()));
  }
  std::vector<TensorSpec> out_specs;
  try {
    out_specs = node.infer(specs);
  } catch (const Error& e) {
    std::vector<std::string> shown;
    for (const TensorSpec& s : specs) shown.push_back(to_string(s));
    const std::string detail = fmt::format("{} (inputs: {}): {}", node.type(), fmt::join(shown, ", "), e.what());
    if (dynamic_cast<const ShapeError*>(&e)) throw ShapeError(detail);
    if (dynamic_cast<const DTypeError*>(&e)) throw DTypeError(detail);
    throw ValueError(detail);
  }
  std::vector<Tensor> outputs(out_specs.size());
  node.impl(backend).forward(ForwardCall{node, inputs, outputs});
  return outputs;
}

Tensor apply1(const Node& node, std::span<const Tensor> inputs) {
  auto outs = apply(node, inputs);
  if (outs.size() != 1) throw ValueError(fmt::format("{}: has {} outputs, not 1", node.type(), outs.size()));
  return std::move(outs[0]);
}

}  // namespace nodal
