#pragma once
// Custom nodes in about twenty lines, without editing the library:
//
//   struct Softplus : nodal::CustomNode<Softplus> {
//     static constexpr std::string_view name = "softplus";
//     static constexpr std::string_view doc = "log(1 + exp(x))";          // optional
//     Tensor forward(const Tensor& x) const { ... }
//     Tensor vjp(const Tensor& x, const Tensor& y, const Tensor& ybar) const { ... }
//     Tensor jvp(const Tensor& x, const Tensor& y, const Tensor& xdot) const { ... }  // optional
//   };
//   NODAL_REGISTER_CUSTOM_NODE(Softplus);
//   inline constexpr nodal::CustomOp<Softplus> softplus;   // softplus(value) or softplus(tensor)
//
// Arity follows forward's signature:
//   1 input : forward(x)            vjp(x, y, ȳ) -> x̄                 jvp(x, y, ẋ) -> ẏ
//   2 inputs: forward(a, b)         vjp(a, b, y, ȳ) -> std::array<Tensor, 2> {ā, b̄}
//                                   jvp(a, b, y, ȧ, ḃ) -> ẏ
//   N inputs: forward(span<const Tensor> x)  vjp(x, y, ȳ) -> std::vector<Tensor> (one per input)
//                                   jvp(x, y, span<const Tensor> ẋ) -> ẏ
// One output. Tangents the engine leaves undefined (meaning zero) are passed as zero tensors, so
// rules never see undefined tensors; an undefined cotangent skips the vjp (all gradients zero).
// Without a jvp rule, forward mode throws BackendError saying so (nothing is derived behind
// your back: a jvp built from the vjp would need one backward pass per output element).
//
// The rules are written with tensor operations, so the node is registered for Backend::any and
// runs wherever its inputs live. Shape inference defaults to "the spec of input 0"; define
//   std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override
// to change it. A node with attributes defines `Attributes attributes() const override`, a
// constructor from `const Attributes&` and `static std::vector<AttrSpec> schema()`.
#include <array>
#include <concepts>
#include <memory>
#include <source_location>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {

namespace custom_detail {
template <class D> concept unary = requires(const D& d, const Tensor& t) { { d.forward(t) } -> std::convertible_to<Tensor>; };
template <class D> concept binary = requires(const D& d, const Tensor& t) { { d.forward(t, t) } -> std::convertible_to<Tensor>; };
template <class D> concept variadic = requires(const D& d, std::span<const Tensor> s) { { d.forward(s) } -> std::convertible_to<Tensor>; };
template <class D> concept has_jvp = (unary<D> && requires(const D& d, const Tensor& t) { d.jvp(t, t, t); }) ||
                                     (binary<D> && requires(const D& d, const Tensor& t) { d.jvp(t, t, t, t, t); }) ||
                                     (variadic<D> && requires(const D& d, std::span<const Tensor> s, const Tensor& t) { d.jvp(s, t, s); });
template <class D> concept has_doc = requires { { D::doc } -> std::convertible_to<std::string_view>; };
template <class D> concept has_schema = requires { { D::schema() } -> std::convertible_to<std::vector<AttrSpec>>; };

template <class D> constexpr int arity() {
  if constexpr (unary<D>) return 1;
  else if constexpr (binary<D>) return 2;
  else if constexpr (variadic<D>) return -1;
  else static_assert(variadic<D>, "a custom node needs Tensor forward(x), forward(a, b) or forward(span<const Tensor>) const");
}
}  // namespace custom_detail

template <class Derived> struct CustomNode : Node {
  std::string_view type() const override { return Derived::name; }
  std::vector<TensorSpec> infer(std::span<const TensorSpec> in) const override {
    constexpr int n = custom_detail::arity<Derived>();
    if (in.empty() || (n > 0 && in.size() != std::size_t(n)))
      throw ValueError(fmt::format("{}: takes {} input(s), got {}", Derived::name, n > 0 ? fmt::format("{}", n) : "1 or more", in.size()));
    return {in[0]};
  }
};

// The Backend::any implementation: calls the node's rules with the engine's tensors.
template <class D> struct CustomNodeImpl final : NodeImpl {
  static void check_arity(std::size_t given) {
    constexpr int n = custom_detail::arity<D>();
    if ((n > 0 && given != std::size_t(n)) || given == 0)
      throw ValueError(fmt::format("{}: takes {} input(s), got {}", D::name, n > 0 ? fmt::format("{}", n) : "1 or more", given));
  }
  static std::vector<Tensor> zero_filled(std::span<const Tensor> given, std::span<const Tensor> like) {
    std::vector<Tensor> out(given.begin(), given.end());
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!out[i].defined()) out[i] = Tensor::zeros(like[i].shape(), like[i].dtype(), like[i].backend());
    return out;
  }
  void forward(const ForwardCall& c) const override {
    const D& n = c.as<D>();
    check_arity(c.inputs.size());
    if constexpr (custom_detail::unary<D>) c.outputs[0] = n.forward(c.inputs[0]);
    else if constexpr (custom_detail::binary<D>) c.outputs[0] = n.forward(c.inputs[0], c.inputs[1]);
    else c.outputs[0] = n.forward(c.inputs);
  }
  void vjp(const VjpCall& c) const override {
    const D& n = c.as<D>();
    const Tensor& ybar = c.output_cotangents[0];
    if (!ybar.defined()) return;  // zero cotangent: the gradients stay undefined (zero)
    if constexpr (custom_detail::unary<D>) {
      c.input_cotangents[0] = n.vjp(c.inputs[0], c.outputs[0], ybar);
    } else if constexpr (custom_detail::binary<D>) {
      std::array<Tensor, 2> g = n.vjp(c.inputs[0], c.inputs[1], c.outputs[0], ybar);
      for (std::size_t i = 0; i < 2; ++i)
        if (c.wanted[i]) c.input_cotangents[i] = std::move(g[i]);
    } else {
      std::vector<Tensor> g = n.vjp(c.inputs, c.outputs[0], ybar);
      if (g.size() != c.inputs.size())
        throw BackendError(fmt::format("{}: vjp returned {} gradients for {} inputs", D::name, g.size(), c.inputs.size()));
      for (std::size_t i = 0; i < g.size(); ++i)
        if (c.wanted[i]) c.input_cotangents[i] = std::move(g[i]);
    }
  }
  void jvp(const JvpCall& c) const override {
    if constexpr (!custom_detail::has_jvp<D>) {
      throw BackendError(fmt::format("{}: this custom node has no jvp rule, so forward mode (Graph::jvp) cannot run "
                                     "through it; define Tensor jvp(...) const in the node", D::name));
    } else {
      const D& n = c.as<D>();
      const std::vector<Tensor> t = zero_filled(c.input_tangents, c.inputs);
      if constexpr (custom_detail::unary<D>) c.output_tangents[0] = n.jvp(c.inputs[0], c.outputs[0], t[0]);
      else if constexpr (custom_detail::binary<D>) c.output_tangents[0] = n.jvp(c.inputs[0], c.inputs[1], c.outputs[0], t[0], t[1]);
      else c.output_tangents[0] = n.jvp(c.inputs, c.outputs[0], std::span<const Tensor>(t));
    }
  }
};

// Registers the node type (visible to `nodal nodes`, `nodal op`, Registry::make) and its rules.
// Idempotent per type: a header holding NODAL_REGISTER_CUSTOM_NODE may be included by several
// files of one program (the function-local static is shared by all of them).
template <class D> bool register_custom_node() {
  static const bool registered = [] {
  constexpr int n = custom_detail::arity<D>();
  NodeTypeInfo info;
  info.name = std::string(D::name);
  if constexpr (custom_detail::has_doc<D>) info.doc = std::string(D::doc);
  else info.doc = "custom node";
  info.min_inputs = n < 0 ? 1 : n;
  info.max_inputs = n;
  if constexpr (custom_detail::has_schema<D>) info.attributes = D::schema();
  info.make = [](const Attributes& a) -> std::unique_ptr<Node> {
    if constexpr (std::constructible_from<D, const Attributes&>) return std::make_unique<D>(a);
    else return std::make_unique<D>();
  };
  Registry::instance().add_type(std::move(info));
  return Registry::instance().add_impl(D::name, Backend::any, std::make_unique<CustomNodeImpl<D>>());
  }();
  return registered;
}

#define NODAL_REGISTER_CUSTOM_NODE(Type) \
  [[maybe_unused]] static const bool NODAL_CONCAT(nodal_custom_node_, __LINE__) = ::nodal::register_custom_node<Type>()

// Calls a custom node: on Values it adds the node to their graph (recording the caller's line),
// on Tensors it runs at once. `inline constexpr CustomOp<Softplus> softplus;` then softplus(x).
template <class D> struct CustomOp {
  template <std::same_as<Value>... Rest> Value operator()(ValueAt first, const Rest&... rest) const {
    return (*this)(D{}, first, rest...);
  }
  template <std::same_as<Value>... Rest> Value operator()(const D& node, ValueAt first, const Rest&... rest) const {
    const std::array<Value, 1 + sizeof...(Rest)> inputs{first.value, rest...};
    for (const Value& v : inputs)
      if (!v.valid() || &v.graph() != &first.value.graph())
        throw ValueError(fmt::format("{}: inputs belong to different graphs", D::name));
    return first.value.graph().add1(std::make_shared<D>(node), inputs, first.where);
  }
  template <std::same_as<Tensor>... Rest> Tensor operator()(const Tensor& first, const Rest&... rest) const {
    return (*this)(D{}, first, rest...);
  }
  template <std::same_as<Tensor>... Rest> Tensor operator()(const D& node, const Tensor& first, const Rest&... rest) const {
    const std::array<Tensor, 1 + sizeof...(Rest)> inputs{first, rest...};
    return apply1(node, std::span<const Tensor>(inputs));
  }
};

}  // namespace nodal
