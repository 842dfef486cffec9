#include "nodal/nodes/softmax.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {
namespace {
std::vector<TensorSpec> infer_softmax(std::string_view op, std::int64_t axis, std::span<const TensorSpec> in) {
  if (is_complex(in[0].dtype))
    throw DTypeError(fmt::format("{}: needs float32 or float64, got {}", op, dtype_name(in[0].dtype)));
  const int rank = in[0].shape.rank();
  if (rank == 0) throw ShapeError(fmt::format("{}: a scalar has no axis to normalise over", op));
  if (axis < -rank || axis >= rank)
    throw ValueError(fmt::format("{}: axis {} is out of range for {}", op, axis, to_string(in[0].shape)));
  return {in[0]};
}
}  // namespace

std::vector<TensorSpec> Softmax::infer(std::span<const TensorSpec> in) const { return infer_softmax("softmax", axis, in); }
std::vector<TensorSpec> LogSoftmax::infer(std::span<const TensorSpec> in) const {
  return infer_softmax("log_softmax", axis, in);
}

Value softmax(const Value& x, std::int64_t axis, std::source_location where) {
  return detail::add_node(Softmax(axis), {x}, where);
}
Tensor softmax(const Tensor& x, std::int64_t axis) { return detail::run_node(Softmax(axis), {x}); }
Value log_softmax(const Value& x, std::int64_t axis, std::source_location where) {
  return detail::add_node(LogSoftmax(axis), {x}, where);
}
Tensor log_softmax(const Tensor& x, std::int64_t axis) { return detail::run_node(LogSoftmax(axis), {x}); }

NODAL_REGISTER_NODE_TYPE({.name = "softmax",
                          .doc = "exp(x) / Σ exp(x) along an axis (numerically stable)",
                          .attributes = {{"axis", std::int64_t(-1), "the normalised axis"}},
                          .make = [](const Attributes& a) { return std::make_unique<Softmax>(a.get<std::int64_t>("axis")); }});
NODAL_REGISTER_NODE_TYPE({.name = "log_softmax",
                          .doc = "x − log Σ exp(x) along an axis (numerically stable)",
                          .attributes = {{"axis", std::int64_t(-1), "the normalised axis"}},
                          .make = [](const Attributes& a) { return std::make_unique<LogSoftmax>(a.get<std::int64_t>("axis")); }});

}  // namespace nodal
