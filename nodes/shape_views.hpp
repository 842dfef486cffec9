#pragma once
// The rules of permute and transpose, which are views on every backend (a tensor is a strided
// view of a buffer wherever the buffer lives): written once here, registered by each backend
// (backends/cpu/shape_ops.cpp, backends/opencl/shape_ops.cpp). Undefined cotangents and tangents
// stay undefined.
#include <vector>

#include "nodal/core/node.hpp"
#include "nodal/nodes/shape_ops.hpp"

namespace nodal {

// Permute's axes, negative ones counted from the end, as the int list Tensor::permute takes.
inline std::vector<int> permutation_axes(const std::vector<std::int64_t>& axes, int rank) {
  std::vector<int> out;
  for (std::int64_t a : axes) out.push_back(normalize_axis(int(a), rank, "permute"));
  return out;
}

struct PermuteView final : NodeImpl {
  // y = x with axes reordered
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = c.inputs[0].permute(permutation_axes(c.as<Permute>().axes, c.inputs[0].rank()));
  }
  // x̄ = ȳ permuted by the inverse permutation: x̄ axis axes[i] is ȳ axis i
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const std::vector<int> axes = permutation_axes(c.as<Permute>().axes, c.inputs[0].rank());
    std::vector<int> inverse(axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i) inverse[axes[i]] = int(i);
    c.input_cotangents[0] = c.output_cotangents[0].permute(inverse);
  }
  // ẏ = ẋ permuted like x
  void jvp(const JvpCall& c) const override {
    if (c.input_tangents[0].defined())
      c.output_tangents[0] = c.input_tangents[0].permute(permutation_axes(c.as<Permute>().axes, c.inputs[0].rank()));
  }
};

struct TransposeView final : NodeImpl {
  // y = x with two axes swapped
  void forward(const ForwardCall& c) const override {
    const Transpose& n = c.as<Transpose>();
    c.outputs[0] = c.inputs[0].transpose(int(n.axis0), int(n.axis1));
  }
  // x̄ = ȳ with the same two axes swapped back
  void vjp(const VjpCall& c) const override {
    const Transpose& n = c.as<Transpose>();
    if (c.wanted[0] && c.output_cotangents[0].defined())
      c.input_cotangents[0] = c.output_cotangents[0].transpose(int(n.axis0), int(n.axis1));
  }
  // ẏ = ẋ with the two axes swapped
  void jvp(const JvpCall& c) const override {
    const Transpose& n = c.as<Transpose>();
    if (c.input_tangents[0].defined()) c.output_tangents[0] = c.input_tangents[0].transpose(int(n.axis0), int(n.axis1));
  }
};

}  // namespace nodal
