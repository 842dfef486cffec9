#pragma once
// The node contract. A node is a differentiable function with attributes:
//
//   infer    : input specs  -> output specs         (shapes/dtypes, checked when the node is added)
//   forward  : inputs x     -> outputs y = f(x)
//   vjp      : cotangent ȳ  -> x̄ = ȳ·∂f/∂x         (reverse mode; one rule per input)
//   jvp      : tangent ẋ    -> ẏ = ∂f/∂x·ẋ         (forward mode)
//
// A Node object carries the attributes and shape inference; forward/vjp/jvp live in a NodeImpl
// registered per (node type, backend) in the Registry (core/registry.hpp).
#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "nodal/core/attributes.hpp"
#include "nodal/core/backend.hpp"
#include "nodal/core/dtype.hpp"
#include "nodal/core/shape.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal {

struct TensorSpec {
  Shape shape;
  DType dtype = DType::float32;
  friend bool operator==(const TensorSpec&, const TensorSpec&) = default;
};
inline TensorSpec spec_of(const Tensor& t) { return {t.shape(), t.dtype()}; }
std::string to_string(const TensorSpec& spec);  // "[2, 3] float32"

class NodeImpl;

class Node {
 public:
  Node() = default;
  Node(const Node&) {}  // the implementation cache is not copied
  Node& operator=(const Node&) { return *this; }
  virtual ~Node() = default;
  virtual std::string_view type() const = 0;          // registry key, e.g. "conv2d"
  virtual Attributes attributes() const { return {}; }
  // Output specs from input specs; throws ShapeError/DTypeError naming the node and the inputs.
  virtual std::vector<TensorSpec> infer(std::span<const TensorSpec> inputs) const = 0;

  // The implementation for `backend` (exact match, else a Backend::any composite); cached.
  const NodeImpl& impl(Backend backend) const;

 private:
  mutable std::array<std::atomic<const NodeImpl*>, 3> impl_cache_{};
};

// What an implementation receives. Undefined tensors in output_cotangents / input_tangents mean
// zero. `wanted[i]` says whether input i's cotangent is needed; leave the others undefined.
struct ForwardCall {
  const Node& node;
  std::span<const Tensor> inputs;
  std::span<Tensor> outputs;  // to be assigned (a kernel may return a view of an input)
  template <class N> const N& as() const { return static_cast<const N&>(node); }
};
struct VjpCall {
  const Node& node;
  std::span<const Tensor> inputs;
  std::span<const Tensor> outputs;
  std::span<const Tensor> output_cotangents;
  std::span<Tensor> input_cotangents;  // to be assigned, shaped like the inputs
  std::span<const std::uint8_t> wanted;
  template <class N> const N& as() const { return static_cast<const N&>(node); }
};
struct JvpCall {
  const Node& node;
  std::span<const Tensor> inputs;
  std::span<const Tensor> outputs;
  std::span<const Tensor> input_tangents;
  std::span<Tensor> output_tangents;  // to be assigned, shaped like the outputs
  template <class N> const N& as() const { return static_cast<const N&>(node); }
};

class NodeImpl {
 public:
  virtual ~NodeImpl() = default;
  virtual void forward(const ForwardCall& call) const = 0;
  virtual void vjp(const VjpCall& call) const = 0;
  virtual void jvp(const JvpCall& call) const = 0;
};

// Runs a node eagerly on tensors (no graph): infer, then the backend's forward. Used by
// composite rules, by the command-line tool and by users who want immediate results.
std::vector<Tensor> apply(const Node& node, std::span<const Tensor> inputs);
Tensor apply1(const Node& node, std::span<const Tensor> inputs);  // single-output nodes
inline Tensor apply1(const Node& node, std::initializer_list<Tensor> inputs) {
  return apply1(node, std::span<const Tensor>(inputs.begin(), inputs.size()));
}

}  // namespace nodal
