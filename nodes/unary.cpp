#include "nodal/nodes/unary.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::string_view unary_op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: return "neg";
    case UnaryOp::abs: return "abs";
    case UnaryOp::exp: return "exp";
    case UnaryOp::log: return "log";
    case UnaryOp::sqrt: return "sqrt";
    case UnaryOp::square: return "square";
    case UnaryOp::tanh: return "tanh";
    case UnaryOp::sigmoid: return "sigmoid";
    case UnaryOp::relu: return "relu";
    case UnaryOp::leaky_relu: return "leaky_relu";
    case UnaryOp::elu: return "elu";
  }
  return "unary?";
}

// The holomorphic ones (and neg), whose conjugate-Wirtinger rules are x̄ = ȳ · conj(f′(x)).
bool unary_op_supports_complex(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::exp || op == UnaryOp::square;
}

Attributes Unary::attributes() const {
  if (op == UnaryOp::leaky_relu) return {{"negative_slope", parameter}};
  if (op == UnaryOp::elu) return {{"alpha", parameter}};
  return {};
}

std::vector<TensorSpec> Unary::infer(std::span<const TensorSpec> in) const {
  if (is_complex(in[0].dtype) && !unary_op_supports_complex(op))
    throw DTypeError(fmt::format("{}: supports float32 and float64 only, got {} (input shape {})", type(),
                                 dtype_name(in[0].dtype), to_string(in[0].shape)));
  return {in[0]};
}

#define NODAL_DEFINE_UNARY(fn)                                                                                   \
  Value fn(const Value& x, std::source_location where) { return detail::add_node(Unary(UnaryOp::fn), {x}, where); } \
  Tensor fn(const Tensor& x) { return detail::run_node(Unary(UnaryOp::fn), {x}); }
NODAL_DEFINE_UNARY(neg)
NODAL_DEFINE_UNARY(abs)
NODAL_DEFINE_UNARY(exp)
NODAL_DEFINE_UNARY(log)
NODAL_DEFINE_UNARY(sqrt)
NODAL_DEFINE_UNARY(square)
NODAL_DEFINE_UNARY(tanh)
NODAL_DEFINE_UNARY(sigmoid)
NODAL_DEFINE_UNARY(relu)
#undef NODAL_DEFINE_UNARY

Value leaky_relu(const Value& x, double negative_slope, std::source_location where) {
  return detail::add_node(Unary(UnaryOp::leaky_relu, negative_slope), {x}, where);
}
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return detail::run_node(Unary(UnaryOp::leaky_relu, negative_slope), {x});
}
Value elu(const Value& x, double alpha, std::source_location where) {
  return detail::add_node(Unary(UnaryOp::elu, alpha), {x}, where);
}
Tensor elu(const Tensor& x, double alpha) { return detail::run_node(Unary(UnaryOp::elu, alpha), {x}); }

namespace {

NodeTypeInfo unary_type(UnaryOp op, std::string doc, std::vector<AttrSpec> attributes = {}) {
  NodeTypeInfo info{.name = std::string(unary_op_name(op)), .doc = std::move(doc), .attributes = std::move(attributes), .make = {}};
  if (op == UnaryOp::leaky_relu)
    info.make = [](const Attributes& a) { return std::make_unique<Unary>(UnaryOp::leaky_relu, a.get<double>("negative_slope")); };
  else if (op == UnaryOp::elu)
    info.make = [](const Attributes& a) { return std::make_unique<Unary>(UnaryOp::elu, a.get<double>("alpha")); };
  else
    info.make = [op](const Attributes&) { return std::make_unique<Unary>(op); };
  return info;
}

}  // namespace

NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::neg, "-x, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::abs, "|x|, elementwise (gradient 0 at x = 0)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::exp, "e^x, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::log, "natural logarithm, elementwise (NaN for x < 0, as NumPy)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::sqrt, "square root, elementwise (NaN for x < 0, as NumPy)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::square, "x^2, elementwise (real and complex)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::tanh, "hyperbolic tangent, elementwise"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::sigmoid, "1 / (1 + e^-x), elementwise"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::relu, "max(x, 0), elementwise (gradient 0 at x = 0)"));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::leaky_relu, "x > 0 ? x : negative_slope * x, elementwise",
                                    {{"negative_slope", 0.01, "slope for x <= 0"}}));
NODAL_REGISTER_NODE_TYPE(unary_type(UnaryOp::elu, "x > 0 ? x : alpha * (e^x - 1), elementwise",
                                    {{"alpha", 1.0, "scale of the negative part"}}));

}  // namespace nodal
