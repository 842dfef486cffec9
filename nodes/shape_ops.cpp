#include "nodal/nodes/shape_ops.hpp"

#include <algorithm>

#include <fmt/ranges.h>

#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

int axis_of(std::int64_t axis, int rank, std::string_view op) {
  if (axis < -rank || axis >= std::max(rank, 1) || (rank == 0 && axis != 0 && axis != -1))
    throw ValueError(fmt::format("{}: axis {} is out of range for rank {}", op, axis, rank));
  return normalize_axis(int(axis), rank, op);
}

template <class N> Value add_one(N node, const Value& x, std::source_location where) {
  return detail::add_node(std::move(node), {x}, where);
}

}  // namespace

// ---- reshape ----
std::vector<TensorSpec> Reshape::infer(std::span<const TensorSpec> in) const {
  const std::int64_t numel = in[0].shape.numel();
  std::vector<std::int64_t> dims = shape;
  std::int64_t known = 1;
  int inferred = -1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1 && inferred < 0) inferred = int(i);
    else if (dims[i] < 0)
      throw ShapeError(fmt::format("reshape: bad target [{}] (only one -1 allowed, no other negative extent)",
                                   fmt::join(shape, ", ")));
    else known *= dims[i];
  }
  if (inferred >= 0 && known != 0 && numel % known == 0) dims[inferred] = numel / known;
  const bool fits = inferred >= 0 ? known != 0 && numel % known == 0 : known == numel;
  if (!fits || int(dims.size()) > Shape::max_rank)
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into [{}]", to_string(in[0].shape), numel,
                                 fmt::join(shape, ", ")));
  return {{Shape(dims), in[0].dtype}};
}

// ---- permute ----
std::vector<TensorSpec> Permute::infer(std::span<const TensorSpec> in) const {
  const Shape& x = in[0].shape;
  if (int(axes.size()) != x.rank())
    throw ShapeError(fmt::format("permute: axes [{}] do not list the {} axes of {}", fmt::join(axes, ", "), x.rank(),
                                 to_string(x)));
  Shape out = x;
  std::vector<bool> seen(x.rank(), false);
  for (int i = 0; i < x.rank(); ++i) {
    const int a = axis_of(axes[i], x.rank(), "permute");
    if (seen[a]) throw ValueError(fmt::format("permute: axes [{}] name axis {} twice", fmt::join(axes, ", "), a));
    seen[a] = true;
    out[i] = x[a];
  }
  return {{out, in[0].dtype}};
}

// ---- transpose ----
std::vector<TensorSpec> Transpose::infer(std::span<const TensorSpec> in) const {
  Shape out = in[0].shape;
  const int a = axis_of(axis0, out.rank(), "transpose"), b = axis_of(axis1, out.rank(), "transpose");
  std::swap(out[a], out[b]);
  return {{out, in[0].dtype}};
}

// ---- flatten ----
Shape Flatten::output_shape(const Shape& x) const {
  if (x.rank() == 0) return Shape{1};
  const int s = axis_of(start_axis, x.rank(), "flatten"), e = axis_of(end_axis, x.rank(), "flatten");
  if (s > e)
    throw ValueError(fmt::format("flatten: start_axis {} comes after end_axis {} for {}", start_axis, end_axis,
                                 to_string(x)));
  Shape out;
  for (int i = 0; i < s; ++i) out.push_back(x[i]);
  std::int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= x[i];
  out.push_back(merged);
  for (int i = e + 1; i < x.rank(); ++i) out.push_back(x[i]);
  return out;
}
std::vector<TensorSpec> Flatten::infer(std::span<const TensorSpec> in) const {
  return {{output_shape(in[0].shape), in[0].dtype}};
}

// ---- concat ----
std::vector<TensorSpec> Concat::infer(std::span<const TensorSpec> in) const {
  const Shape& first = in[0].shape;
  const int a = axis_of(axis, first.rank(), "concat");
  if (first.rank() == 0) throw ShapeError("concat: scalars cannot be concatenated; reshape them to [1] first");
  Shape out = first;
  out[a] = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Shape& s = in[i].shape;
    if (in[i].dtype != in[0].dtype)
      throw DTypeError(fmt::format("concat: input {} is {} but input 0 is {}", i, dtype_name(in[i].dtype),
                                   dtype_name(in[0].dtype)));
    if (s.rank() != first.rank())
      throw ShapeError(fmt::format("concat: input {} has rank {} ({}) but input 0 has rank {} ({})", i, s.rank(),
                                   to_string(s), first.rank(), to_string(first)));
    for (int d = 0; d < s.rank(); ++d)
      if (d != a && s[d] != first[d])
        throw ShapeError(fmt::format("concat: input {} {} differs from input 0 {} along axis {} (only axis {} may differ)",
                                     i, to_string(s), to_string(first), d, a));
    out[a] += s[a];
  }
  return {{out, in[0].dtype}};
}

// ---- slice ----
std::vector<TensorSpec> Slice::infer(std::span<const TensorSpec> in) const {
  Shape out = in[0].shape;
  if (out.rank() == 0) throw ShapeError("slice: a scalar has no axis to slice");
  const int a = axis_of(axis, out.rank(), "slice");
  if (step <= 0) throw ValueError(fmt::format("slice: step must be positive, got {}", step));
  const std::int64_t n = out[a];
  auto clamp = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? std::max(i, -n) + n : i, 0, n); };
  const std::int64_t b = clamp(start), e = clamp(stop);
  out[a] = e > b ? (e - b + step - 1) / step : 0;
  return {{out, in[0].dtype}};
}

// ---- pad ----
void Pad::resolve(int rank, std::vector<std::int64_t>& b, std::vector<std::int64_t>& e) const {
  const bool per_axis = !before.empty() || !after.empty();
  if (per_axis && !pads.empty())
    throw ValueError("pad: give either before/after or pads, not both");
  b.assign(rank, 0);
  e.assign(rank, 0);
  if (per_axis) {
    if (int(before.size()) != rank || int(after.size()) != rank)
      throw ValueError(fmt::format("pad: before [{}] and after [{}] need one entry per axis ({} axes)",
                                   fmt::join(before, ", "), fmt::join(after, ", "), rank));
    b = before;
    e = after;
  } else {
    if (pads.size() % 2 != 0 || int(pads.size()) > 2 * rank)
      throw ValueError(fmt::format("pad: pads [{}] must hold (before, after) pairs for at most {} axes",
                                   fmt::join(pads, ", "), rank));
    for (std::size_t p = 0; p < pads.size() / 2; ++p) {
      b[rank - 1 - p] = pads[2 * p];
      e[rank - 1 - p] = pads[2 * p + 1];
    }
  }
  for (int d = 0; d < rank; ++d)
    if (b[d] < 0 || e[d] < 0)
      throw ValueError(fmt::format("pad: negative padding on axis {} (before {}, after {}); crop with slice instead", d,
                                   b[d], e[d]));
}
std::vector<TensorSpec> Pad::infer(std::span<const TensorSpec> in) const {
  Shape out = in[0].shape;
  std::vector<std::int64_t> b, e;
  resolve(out.rank(), b, e);
  for (int d = 0; d < out.rank(); ++d) out[d] += b[d] + e[d];
  return {{out, in[0].dtype}};
}

// ---- builders ----
Value reshape(const Value& x, std::vector<std::int64_t> shape, std::source_location where) {
  return add_one(Reshape(std::move(shape)), x, where);
}
Tensor reshape(const Tensor& x, std::vector<std::int64_t> shape) { return detail::run_node(Reshape(std::move(shape)), {x}); }
Value permute(const Value& x, std::vector<std::int64_t> axes, std::source_location where) {
  return add_one(Permute(std::move(axes)), x, where);
}
Tensor permute(const Tensor& x, std::vector<std::int64_t> axes) { return detail::run_node(Permute(std::move(axes)), {x}); }
Value transpose(const Value& x, std::int64_t axis0, std::int64_t axis1, std::source_location where) {
  return add_one(Transpose(axis0, axis1), x, where);
}
Tensor transpose(const Tensor& x, std::int64_t axis0, std::int64_t axis1) {
  return detail::run_node(Transpose(axis0, axis1), {x});
}
Value flatten(const Value& x, std::int64_t start_axis, std::int64_t end_axis, std::source_location where) {
  return add_one(Flatten(start_axis, end_axis), x, where);
}
Tensor flatten(const Tensor& x, std::int64_t start_axis, std::int64_t end_axis) {
  return detail::run_node(Flatten(start_axis, end_axis), {x});
}
Value concat(std::span<const Value> xs, std::int64_t axis, std::source_location where) {
  if (xs.empty()) throw ValueError("concat: needs at least one input");
  Graph& g = xs[0].graph();
  for (const Value& v : xs)
    if (&v.graph() != &g) throw ValueError("concat: inputs belong to different graphs");
  return g.add1(std::make_shared<Concat>(axis), xs, where);
}
Value concat(std::initializer_list<Value> xs, std::int64_t axis, std::source_location where) {
  return concat(std::span<const Value>(xs.begin(), xs.size()), axis, where);
}
Tensor concat(std::span<const Tensor> xs, std::int64_t axis) {
  if (xs.empty()) throw ValueError("concat: needs at least one input");
  return apply1(Concat(axis), xs);
}
Tensor concat(std::initializer_list<Tensor> xs, std::int64_t axis) {
  return concat(std::span<const Tensor>(xs.begin(), xs.size()), axis);
}
Value slice(const Value& x, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step,
            std::source_location where) {
  return add_one(Slice(axis, start, stop, step), x, where);
}
Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step) {
  return detail::run_node(Slice(axis, start, stop, step), {x});
}
Value pad(const Value& x, std::vector<std::int64_t> before, std::vector<std::int64_t> after, double value,
          std::source_location where) {
  return add_one(Pad(std::move(before), std::move(after), {}, value), x, where);
}
Tensor pad(const Tensor& x, std::vector<std::int64_t> before, std::vector<std::int64_t> after, double value) {
  return detail::run_node(Pad(std::move(before), std::move(after), {}, value), {x});
}
Value pad_flat(const Value& x, std::vector<std::int64_t> pads, double value, std::source_location where) {
  return add_one(Pad({}, {}, std::move(pads), value), x, where);
}
Tensor pad_flat(const Tensor& x, std::vector<std::int64_t> pads, double value) {
  return detail::run_node(Pad({}, {}, std::move(pads), value), {x});
}

// ---- registration ----
using I64s = std::vector<std::int64_t>;
NODAL_REGISTER_NODE_TYPE({.name = "reshape",
                          .doc = "same elements, new shape (one extent may be -1); a view when possible",
                          .attributes = {{"shape", I64s{-1}, "target shape; one -1 is inferred"}},
                          .make = [](const Attributes& a) { return std::make_unique<Reshape>(Reshape(a.get<I64s>("shape"))); }});
NODAL_REGISTER_NODE_TYPE({.name = "permute",
                          .doc = "reorders axes: output axis i is input axis axes[i] (a view)",
                          .attributes = {{"axes", I64s{}, "a permutation of the input's axes"}},
                          .make = [](const Attributes& a) { return std::make_unique<Permute>(Permute(a.get<I64s>("axes"))); }});
NODAL_REGISTER_NODE_TYPE({.name = "transpose",
                          .doc = "swaps two axes (a view)",
                          .attributes = {{"axis0", std::int64_t(-2), "first axis"}, {"axis1", std::int64_t(-1), "second axis"}},
                          .make = [](const Attributes& a) {
                            return std::make_unique<Transpose>(
                                Transpose(a.get<std::int64_t>("axis0"), a.get<std::int64_t>("axis1")));
                          }});
NODAL_REGISTER_NODE_TYPE({.name = "flatten",
                          .doc = "merges axes start_axis..end_axis into one (torch.flatten)",
                          .attributes = {{"start_axis", std::int64_t(1), "first merged axis"},
                                         {"end_axis", std::int64_t(-1), "last merged axis (inclusive)"}},
                          .make = [](const Attributes& a) {
                            return std::make_unique<Flatten>(Flatten(a.get<std::int64_t>("start_axis"), a.get<std::int64_t>("end_axis")));
                          }});
NODAL_REGISTER_NODE_TYPE({.name = "concat",
                          .doc = "joins any number of tensors along an axis",
                          .min_inputs = 1,
                          .max_inputs = -1,
                          .attributes = {{"axis", std::int64_t(0), "the axis to join along"}},
                          .make = [](const Attributes& a) { return std::make_unique<Concat>(Concat(a.get<std::int64_t>("axis"))); }});
NODAL_REGISTER_NODE_TYPE({.name = "slice",
                          .doc = "x[start:stop:step] along an axis, Python rules (a view)",
                          .attributes = {{"axis", std::int64_t(0), "the sliced axis"},
                                         {"start", std::int64_t(0), "first index (negative: from the end)"},
                                         {"stop", std::numeric_limits<std::int64_t>::max(), "end index, exclusive"},
                                         {"step", std::int64_t(1), "positive step"}},
                          .make = [](const Attributes& a) {
                            return std::make_unique<Slice>(Slice(a.get<std::int64_t>("axis"), a.get<std::int64_t>("start"), a.get<std::int64_t>("stop"), a.get<std::int64_t>("step")));
                          }});
NODAL_REGISTER_NODE_TYPE({.name = "pad",
                          .doc = "constant padding, per axis (before/after) or PyTorch-style flat pads (last axis first)",
                          .attributes = {{"before", I64s{}, "per-axis amounts added before (one per axis)"},
                                         {"after", I64s{}, "per-axis amounts added after (one per axis)"},
                                         {"pads", I64s{}, "F.pad order: before_last, after_last, before_prev, ..."},
                                         {"value", 0.0, "the fill value"}},
                          .make = [](const Attributes& a) {
                            return std::make_unique<Pad>(Pad(a.get<I64s>("before"), a.get<I64s>("after"), a.get<I64s>("pads"), a.get<double>("value")));
                          }});

}  // namespace nodal
