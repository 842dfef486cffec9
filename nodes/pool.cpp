#include "nodal/nodes/pool.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

// One value for both axes, or one per axis (H, W).
std::array<std::int64_t, 2> two_axes(std::string_view node, std::string_view what, const std::vector<std::int64_t>& v,
                                     std::int64_t minimum) {
  if (v.size() != 1 && v.size() != 2)
    throw ValueError(fmt::format("{}: {} needs 1 or 2 values, got [{}]", node, what, fmt::join(v, ", ")));
  const std::array<std::int64_t, 2> axes{v[0], v.size() == 2 ? v[1] : v[0]};
  for (std::int64_t a : axes)
    if (a < minimum)
      throw ValueError(fmt::format("{}: {} must be ≥ {} on both axes, got [{}]", node, what, minimum, fmt::join(v, ", ")));
  return axes;
}

// PyTorch's pooling_output_shape: floor or ceil division, and with ceil_mode the last window
// must start inside the input or its left padding (else it would see padding only).
std::int64_t pooled_extent(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil) {
  const std::int64_t span = in + 2 * p - d * (k - 1) - 1;
  if (span < 0) return 0;
  std::int64_t out = (span + (ceil ? s - 1 : 0)) / s + 1;
  if (ceil && (out - 1) * s >= in + p) --out;
  return out;
}

void check_float_input(std::string_view node, const TensorSpec& x) {
  if (x.dtype != DType::float32 && x.dtype != DType::float64)
    throw DTypeError(fmt::format("{}: input is {}; pooling takes float32 or float64", node, dtype_name(x.dtype)));
  if (x.shape.rank() != 3 && x.shape.rank() != 4)
    throw ShapeError(fmt::format("{}: input must be [N, C, H, W] or [C, H, W], got {}", node, to_string(x.shape)));
}

Attributes pool_attributes(const Pool2dOptions& o, bool is_max) {
  Attributes a{{"kernel", o.kernel}, {"stride", o.stride}, {"padding", o.padding}, {"ceil_mode", o.ceil_mode}};
  if (is_max) a.set("dilation", o.dilation);
  else a.set("count_include_pad", o.count_include_pad);
  return a;
}

Pool2dOptions options_from(const Attributes& a) {
  Pool2dOptions o;
  o.kernel = a.get<std::vector<std::int64_t>>("kernel", o.kernel);
  o.stride = a.get<std::vector<std::int64_t>>("stride", o.stride);
  o.padding = a.get<std::vector<std::int64_t>>("padding", o.padding);
  o.dilation = a.get<std::vector<std::int64_t>>("dilation", o.dilation);
  o.ceil_mode = a.get<bool>("ceil_mode", o.ceil_mode);
  o.count_include_pad = a.get<bool>("count_include_pad", o.count_include_pad);
  return o;
}

std::vector<AttrSpec> pool_schema(bool is_max) {
  std::vector<AttrSpec> s{
      {"kernel", std::vector<std::int64_t>{2}, "window size: one value, or kH,kW"},
      {"stride", std::vector<std::int64_t>{}, "step: one value, or sH,sW; empty = kernel"},
      {"padding", std::vector<std::int64_t>{0}, "implicit padding per side: one value, or pH,pW"},
      {"ceil_mode", false, "round the output extent up (PyTorch's ceil_mode)"},
  };
  if (is_max) s.push_back({"dilation", std::vector<std::int64_t>{1}, "spacing of window elements: one value, or dH,dW"});
  else s.push_back({"count_include_pad", true, "divide by the window size including padding"});
  return s;
}

}  // namespace

PoolGeometry PoolGeometry::resolve(std::string_view node, const Shape& x, const Pool2dOptions& o, bool is_max) {
  if (x.rank() != 3 && x.rank() != 4)
    throw ShapeError(fmt::format("{}: input must be [N, C, H, W] or [C, H, W], got {}", node, to_string(x)));
  PoolGeometry g;
  g.kernel = two_axes(node, "kernel", o.kernel, 1);
  g.stride = o.stride.empty() ? g.kernel : two_axes(node, "stride", o.stride, 1);
  g.padding = two_axes(node, "padding", o.padding, 0);
  g.dilation = two_axes(node, "dilation", o.dilation, 1);
  if (!is_max && (g.dilation[0] != 1 || g.dilation[1] != 1))
    throw ValueError(fmt::format("{}: dilation is not supported by average pooling, got [{}]", node, fmt::join(o.dilation, ", ")));
  g.in_h = x[x.rank() - 2];
  g.in_w = x[x.rank() - 1];
  g.planes = 1;
  for (int a = 0; a < x.rank() - 2; ++a) g.planes *= x[a];
  for (int a = 0; a < 2; ++a) {
    const std::size_t i = std::size_t(a);
    // PyTorch's bound (for max pooling too it uses the undilated kernel).
    const std::int64_t half = g.kernel[i] / 2;
    if (g.padding[i] > half)
      throw ValueError(fmt::format("{}: padding {} on axis {} exceeds half the kernel ({}), kernel [{}]", node,
                                   g.padding[i], a == 0 ? "H" : "W", half, fmt::join(o.kernel, ", ")));
  }
  g.out_h = pooled_extent(g.in_h, g.kernel[0], g.stride[0], g.padding[0], g.dilation[0], o.ceil_mode);
  g.out_w = pooled_extent(g.in_w, g.kernel[1], g.stride[1], g.padding[1], g.dilation[1], o.ceil_mode);
  if (g.out_h < 1 || g.out_w < 1)
    throw ShapeError(fmt::format("{}: input {} is smaller than the window (kernel [{}], padding [{}], dilation [{}]): "
                                 "the output would be {}×{}",
                                 node, to_string(x), fmt::join(o.kernel, ", "), fmt::join(o.padding, ", "),
                                 fmt::join(o.dilation, ", "), g.out_h, g.out_w));
  // With dilation a window can step over a small input entirely (e.g. S = 2, k = 2, d = 3, p = 1:
  // taps at −1 and 2). PyTorch then returns an index outside the plane; we refuse the geometry.
  for (int a = 0; a < 2; ++a) {
    const std::size_t i = std::size_t(a);
    const std::int64_t in = a == 0 ? g.in_h : g.in_w, out = a == 0 ? g.out_h : g.out_w;
    for (std::int64_t w = 0; w < out && g.dilation[i] > 1; ++w) {
      bool covers = false;
      for (std::int64_t t = 0; t < g.kernel[i] && !covers; ++t) {
        const std::int64_t at = w * g.stride[i] - g.padding[i] + t * g.dilation[i];
        covers = at >= 0 && at < in;
      }
      if (!covers)
        throw ShapeError(fmt::format("{}: window {} on axis {} covers padding only (input {}, kernel [{}], padding [{}], "
                                     "dilation [{}])",
                                     node, w, a == 0 ? "H" : "W", to_string(x), fmt::join(o.kernel, ", "),
                                     fmt::join(o.padding, ", "), fmt::join(o.dilation, ", ")));
    }
  }
  g.output_shape = x;
  g.output_shape[x.rank() - 2] = g.out_h;
  g.output_shape[x.rank() - 1] = g.out_w;
  return g;
}

MaxPool2d::MaxPool2d(Pool2dOptions options) : options_(std::move(options)) {}
Attributes MaxPool2d::attributes() const { return pool_attributes(options_, true); }
std::vector<TensorSpec> MaxPool2d::infer(std::span<const TensorSpec> in) const {
  check_float_input(type(), in[0]);
  const PoolGeometry g = geometry(in[0].shape);
  return {{g.output_shape, in[0].dtype}, {g.output_shape, DType::float64}};
}

AvgPool2d::AvgPool2d(Pool2dOptions options) : options_(std::move(options)) {}
Attributes AvgPool2d::attributes() const { return pool_attributes(options_, false); }
std::vector<TensorSpec> AvgPool2d::infer(std::span<const TensorSpec> in) const {
  check_float_input(type(), in[0]);
  return {{geometry(in[0].shape).output_shape, in[0].dtype}};
}

std::vector<TensorSpec> GlobalAvgPool2d::infer(std::span<const TensorSpec> in) const {
  check_float_input(type(), in[0]);
  Shape s = in[0].shape;
  if (s[s.rank() - 2] * s[s.rank() - 1] == 0)
    throw ShapeError(fmt::format("{}: input {} has an empty H×W plane: its mean is undefined", type(), to_string(s)));
  s[s.rank() - 2] = 1;
  s[s.rank() - 1] = 1;
  return {{s, in[0].dtype}};
}

MaxPoolValues max_pool2d(const Value& x, const Pool2dOptions& options, std::source_location where) {
  const std::vector<Value> outs =
      x.graph().add(std::make_shared<MaxPool2d>(options), std::span<const Value>(&x, 1), where);
  return {outs[0], outs[1]};
}
MaxPoolTensors max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  std::vector<Tensor> outs = nodal::apply(MaxPool2d(options), std::span<const Tensor>(&x, 1));
  return {std::move(outs[0]), std::move(outs[1])};
}
Value max_pool2d_values(const Value& x, const Pool2dOptions& options, std::source_location where) {
  return max_pool2d(x, options, where).values;
}
Tensor max_pool2d_values(const Tensor& x, const Pool2dOptions& options) { return max_pool2d(x, options).values; }

Value avg_pool2d(const Value& x, const Pool2dOptions& options, std::source_location where) {
  return detail::add_node(AvgPool2d(options), {x}, where);
}
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) { return detail::run_node(AvgPool2d(options), {x}); }

Value global_avg_pool2d(const Value& x, std::source_location where) {
  return detail::add_node(GlobalAvgPool2d{}, {x}, where);
}
Tensor global_avg_pool2d(const Tensor& x) { return detail::run_node(GlobalAvgPool2d{}, {x}); }

NODAL_REGISTER_NODE_TYPE({.name = "max_pool2d",
                          .doc = "2-D max pooling of [N, C, H, W]; outputs the values and the argmax indices (float64)",
                          .attributes = pool_schema(true),
                          .make = [](const Attributes& a) { return std::make_unique<MaxPool2d>(options_from(a)); }});
NODAL_REGISTER_NODE_TYPE({.name = "avg_pool2d",
                          .doc = "2-D average pooling of [N, C, H, W] (PyTorch's count_include_pad semantics)",
                          .attributes = pool_schema(false),
                          .make = [](const Attributes& a) { return std::make_unique<AvgPool2d>(options_from(a)); }});
NODAL_REGISTER_NODE_TYPE({.name = "global_avg_pool2d",
                          .doc = "mean over the H×W plane: [N, C, H, W] -> [N, C, 1, 1]",
                          .attributes = {},
                          .make = [](const Attributes&) { return std::make_unique<GlobalAvgPool2d>(); }});

}  // namespace nodal
