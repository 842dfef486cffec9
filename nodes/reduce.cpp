#include "nodal/nodes/reduce.hpp"

#include "nodal/core/registry.hpp"

namespace nodal {

std::string_view reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::max: return "max";
  }
  return "reduce?";
}

std::vector<std::uint8_t> reduced_axes(std::span<const std::int64_t> axes, int rank, std::string_view op) {
  std::vector<std::uint8_t> reduced(rank, axes.empty() ? 1 : 0);
  for (std::int64_t axis : axes) {
    if (axis < -rank || axis >= rank)
      throw ValueError(fmt::format("{}: axis {} is out of range for a rank-{} input", op, axis, rank));
    const int a = int(axis < 0 ? axis + rank : axis);
    if (reduced[a]) throw ValueError(fmt::format("{}: axis {} is listed twice", op, axis));
    reduced[a] = 1;
  }
  return reduced;
}

Shape reduced_shape(const Shape& shape, std::span<const std::uint8_t> reduced, bool keepdims) {
  Shape out;
  for (int a = 0; a < shape.rank(); ++a) {
    if (!reduced[a]) out.push_back(shape[a]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

std::vector<TensorSpec> Reduce::infer(std::span<const TensorSpec> in) const {
  const Shape& shape = in[0].shape;
  if (op == ReduceOp::max && is_complex(in[0].dtype))
    throw DTypeError(fmt::format("max: complex numbers have no order; got {} (input shape {})",
                                 dtype_name(in[0].dtype), to_string(shape)));
  const std::vector<std::uint8_t> reduced = reduced_axes(axes, shape.rank(), type());
  if (op == ReduceOp::max)
    for (int a = 0; a < shape.rank(); ++a)
      if (reduced[a] && shape[a] == 0)
        throw ValueError(fmt::format("max: axis {} of input shape {} is empty; the maximum of nothing is undefined",
                                     a, to_string(shape)));
  return {{reduced_shape(shape, reduced, keepdims), in[0].dtype}};
}

#define NODAL_DEFINE_REDUCE(fn)                                                                            \
  Value fn(const Value& x, std::vector<std::int64_t> axes, bool keepdims, std::source_location where) {    \
    return detail::add_node(Reduce(ReduceOp::fn, std::move(axes), keepdims), {x}, where);                \
  }                                                                                                        \
  Tensor fn(const Tensor& x, std::vector<std::int64_t> axes, bool keepdims) {                              \
    return detail::run_node(Reduce(ReduceOp::fn, std::move(axes), keepdims), {x});                        \
  }
NODAL_DEFINE_REDUCE(sum)
NODAL_DEFINE_REDUCE(mean)
NODAL_DEFINE_REDUCE(max)
#undef NODAL_DEFINE_REDUCE

namespace {

NodeTypeInfo reduce_type(ReduceOp op, std::string doc) {
  return {.name = std::string(reduce_op_name(op)),
          .doc = std::move(doc),
          .attributes = {{"axes", std::vector<std::int64_t>{}, "axes to reduce (negative from the end; empty = all)"},
                         {"keepdims", false, "keep reduced axes as extent 1"}},
          .make = [op](const Attributes& a) {
            return std::make_unique<Reduce>(op, a.get<std::vector<std::int64_t>>("axes"), a.get<bool>("keepdims"));
          }};
}

}  // namespace

NODAL_REGISTER_NODE_TYPE(reduce_type(ReduceOp::sum, "sum over axes (real and complex)"));
NODAL_REGISTER_NODE_TYPE(reduce_type(ReduceOp::mean, "mean over axes (real and complex)"));
NODAL_REGISTER_NODE_TYPE(reduce_type(ReduceOp::max, "maximum over axes; gradient to the first argmax"));

}  // namespace nodal
