#include "nodal/nodes/loss.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::vector<TensorSpec> Mse::infer(std::span<const TensorSpec> in) const {
  if (reduction != "mean" && reduction != "sum")
    throw ValueError(fmt::format("mse: reduction must be \"mean\" or \"sum\", got \"{}\"", reduction));
  if (in[0].dtype != in[1].dtype || is_complex(in[0].dtype))
    throw DTypeError(fmt::format("mse: needs two float32 or two float64 inputs, got {} and {}", dtype_name(in[0].dtype),
                                 dtype_name(in[1].dtype)));
  if (!(in[0].shape == in[1].shape))
    throw ShapeError(fmt::format("mse: prediction {} and target {} must have one shape", to_string(in[0].shape),
                                 to_string(in[1].shape)));
  return {{Shape{}, in[0].dtype}};
}

std::vector<TensorSpec> CrossEntropy::infer(std::span<const TensorSpec> in) const {
  const Shape& z = in[0].shape;
  const Shape& labels = in[1].shape;
  if (is_complex(in[0].dtype) || is_complex(in[1].dtype))
    throw DTypeError(fmt::format("cross_entropy: logits and labels must be real, got {} and {}",
                                 dtype_name(in[0].dtype), dtype_name(in[1].dtype)));
  if (z.rank() != 2 || z[1] == 0)
    throw ShapeError(fmt::format("cross_entropy: logits must be [N, C] with C > 0, got {}", to_string(z)));
  if (!(labels == Shape{z[0]}))
    throw ShapeError(fmt::format("cross_entropy: labels must be [{}] (one class index per row of logits {}), got {}",
                                 z[0], to_string(z), to_string(labels)));
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw ValueError(fmt::format("cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing));
  return {{Shape{}, in[0].dtype}};
}

Value mse(const Value& a, const Value& b, std::string reduction, std::source_location where) {
  return detail::add_node(Mse(std::move(reduction)), {a, b}, where);
}
Tensor mse(const Tensor& a, const Tensor& b, std::string reduction) {
  return detail::run_node(Mse(std::move(reduction)), {a, b});
}
Value cross_entropy(const Value& logits, const Value& labels, double label_smoothing, std::source_location where) {
  return detail::add_node(CrossEntropy(label_smoothing), {logits, labels}, where);
}
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing) {
  return detail::run_node(CrossEntropy(label_smoothing), {logits, labels});
}

NODAL_REGISTER_NODE_TYPE({.name = "mse",
                          .doc = "mean (or sum) of squared differences of two tensors of one shape; a scalar",
                          .min_inputs = 2,
                          .max_inputs = 2,
                          .attributes = {{"reduction", std::string("mean"), "mean or sum"}},
                          .make = [](const Attributes& a) { return std::make_unique<Mse>(a.get<std::string>("reduction")); }});
NODAL_REGISTER_NODE_TYPE({.name = "cross_entropy",
                          .doc = "log-softmax + NLL of logits [N, C] against labels [N] (class indices), batch mean",
                          .min_inputs = 2,
                          .max_inputs = 2,
                          .attributes = {{"label_smoothing", 0.0, "ε: target = (1 − ε)·onehot + ε/C"}},
                          .make = [](const Attributes& a) {
                            return std::make_unique<CrossEntropy>(a.get<double>("label_smoothing"));
                          }});

}  // namespace nodal
