#include "nodal/nodes/conv.hpp"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

constexpr std::string_view conv_type_names[] = {"conv1d", "conv2d", "conv3d"};

// One value for every axis, or one per axis, spread onto the last `rank` of 3 axes.
std::array<std::int64_t, 3> per_axis(std::string_view node, std::string_view what, int rank,
                                     const std::vector<std::int64_t>& values, std::int64_t minimum) {
  if (values.size() != 1 && values.size() != std::size_t(rank))
    throw ValueError(fmt::format("{}: {} needs 1 or {} values, got [{}]", node, what, rank, fmt::join(values, ", ")));
  std::array<std::int64_t, 3> axes{1, 1, 1};
  for (int a = 0; a < rank; ++a) {
    const std::int64_t v = values.size() == 1 ? values[0] : values[std::size_t(a)];
    if (v < minimum)
      throw ValueError(fmt::format("{}: {} must be ≥ {} on every axis, got [{}]", node, what, minimum, fmt::join(values, ", ")));
    axes[std::size_t(3 - rank + a)] = v;
  }
  return axes;
}

}  // namespace

std::string ConvPadding::to_string() const {
  switch (kind) {
    case Kind::same: return "same";
    case Kind::valid: return "valid";
    case Kind::explicit_sides: break;
  }
  return fmt::format("{}", fmt::join(sides, ","));
}

ConvPadding ConvPadding::parse(std::string_view text) {
  if (text == "same") return same();
  if (text == "valid") return valid();
  ConvPadding p{Kind::explicit_sides, {}};
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 0)
      throw ValueError(fmt::format(
          "conv: padding '{}' is not 'same', 'valid' or a list of non-negative integers (one, one per axis, or "
          "before,after per axis)",
          text));
    p.sides.push_back(v);
    start = comma + 1;
  }
  return p;
}

double ConvGeometry::forward_flops() const {
  return 2.0 * double(batch) * double(out_channels) * double(in_per_group()) * double(out_pixels()) *
         double(kernel_pixels());
}

static Shape with_spatial(std::int64_t a, std::int64_t b, const std::array<std::int64_t, 3>& s, int rank) {
  Shape shape{a, b};
  for (int i = 3 - rank; i < 3; ++i) shape.push_back(s[std::size_t(i)]);
  return shape;
}
Shape ConvGeometry::input_shape() const { return with_spatial(batch, in_channels, in, rank); }
Shape ConvGeometry::weight_shape() const { return with_spatial(out_channels, in_per_group(), kernel, rank); }
Shape ConvGeometry::output_shape() const { return with_spatial(batch, out_channels, out, rank); }

std::string ConvGeometry::key() const {
  auto axes = [&](const std::array<std::int64_t, 3>& v) {
    return fmt::format("{}", fmt::join(std::vector<std::int64_t>(v.begin() + (3 - rank), v.end()), "x"));
  };
  std::vector<std::int64_t> pads;
  for (int a = 3 - rank; a < 3; ++a) {
    pads.push_back(pad_before[std::size_t(a)]);
    pads.push_back(pad_after[std::size_t(a)]);
  }
  return fmt::format("conv{}d n{} c{}->{} g{} in{} k{} s{} d{} p{}", rank, batch, in_channels, out_channels, groups,
                     axes(in), axes(kernel), axes(stride), axes(dilation), fmt::join(pads, ","));
}

ConvGeometry ConvGeometry::resolve(std::string_view node, int rank, const Shape& x, const Shape& w,
                                   const ConvOptions& o) {
  if (rank < 1 || rank > 3) throw ValueError(fmt::format("conv: spatial rank must be 1, 2 or 3, got {}", rank));
  if (x.rank() != rank + 2)
    throw ShapeError(fmt::format("{}: input must be [N, C{}], got {}", node, rank == 1 ? ", W" : rank == 2 ? ", H, W" : ", D, H, W",
                                 to_string(x)));
  if (w.rank() != rank + 2)
    throw ShapeError(fmt::format("{}: weight must be [Cout, Cin/groups{}], got {}", node,
                                 rank == 1 ? ", kW" : rank == 2 ? ", kH, kW" : ", kD, kH, kW", to_string(w)));
  ConvGeometry g;
  g.rank = rank;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.groups = o.groups;
  if (g.groups < 1) throw ValueError(fmt::format("{}: groups must be ≥ 1, got {}", node, g.groups));
  if (g.in_channels % g.groups != 0 || g.out_channels % g.groups != 0)
    throw ShapeError(fmt::format("{}: groups={} must divide the input channels ({}, input {}) and the output channels "
                                 "({}, weight {})",
                                 node, g.groups, g.in_channels, to_string(x), g.out_channels, to_string(w)));
  if (w[1] != g.in_channels / g.groups)
    throw ShapeError(fmt::format("{}: weight {} must have Cin/groups = {}/{} = {} input channels to match input {}", node,
                                 to_string(w), g.in_channels, g.groups, g.in_channels / g.groups, to_string(x)));
  for (int a = 0; a < rank; ++a) {
    g.in[std::size_t(3 - rank + a)] = x[2 + a];
    g.kernel[std::size_t(3 - rank + a)] = w[2 + a];
  }
  g.stride = per_axis(node, "stride", rank, o.stride, 1);
  g.dilation = per_axis(node, "dilation", rank, o.dilation, 1);
  if (g.kernel_pixels() == 0) throw ShapeError(fmt::format("{}: weight {} has an empty kernel", node, to_string(w)));

  switch (o.padding.kind) {
    case ConvPadding::Kind::valid: break;
    case ConvPadding::Kind::same:
      // Total padding so that O = ⌈S / s⌉; the odd pixel goes after (TensorFlow and PyTorch agree for s = 1).
      for (int a = 3 - rank; a < 3; ++a) {
        const std::size_t i = std::size_t(a);
        const std::int64_t span = g.dilation[i] * (g.kernel[i] - 1) + 1;
        const std::int64_t want = (g.in[i] + g.stride[i] - 1) / g.stride[i];
        const std::int64_t total = std::max<std::int64_t>((want - 1) * g.stride[i] + span - g.in[i], 0);
        g.pad_before[i] = total / 2;
        g.pad_after[i] = total - total / 2;
      }
      break;
    case ConvPadding::Kind::explicit_sides: {
      const auto& s = o.padding.sides;
      if (s.size() != 1 && s.size() != std::size_t(rank) && s.size() != std::size_t(2 * rank))
        throw ValueError(fmt::format("{}: padding needs 1, {} or {} values, got [{}]", node, rank, 2 * rank, fmt::join(s, ", ")));
      for (int a = 0; a < rank; ++a) {
        const std::size_t i = std::size_t(3 - rank + a);
        if (s.size() == 1) g.pad_before[i] = g.pad_after[i] = s[0];
        else if (s.size() == std::size_t(rank)) g.pad_before[i] = g.pad_after[i] = s[std::size_t(a)];
        else {
          g.pad_before[i] = s[std::size_t(2 * a)];
          g.pad_after[i] = s[std::size_t(2 * a + 1)];
        }
        if (g.pad_before[i] < 0 || g.pad_after[i] < 0)
          throw ValueError(fmt::format("{}: padding must be non-negative, got [{}]", node, fmt::join(s, ", ")));
      }
    }
  }
  for (int a = 3 - rank; a < 3; ++a) {
    const std::size_t i = std::size_t(a);
    const std::int64_t padded = g.in[i] + g.pad_before[i] + g.pad_after[i];
    const std::int64_t span = g.dilation[i] * (g.kernel[i] - 1) + 1;
    if (padded < span)
      throw ShapeError(fmt::format("{}: the padded input ({} + {} + {} = {} on spatial axis {}) is smaller than the dilated "
                                   "kernel ({}); input {}, weight {}",
                                   node, g.in[i], g.pad_before[i], g.pad_after[i], padded, a - (3 - rank), span,
                                   to_string(x), to_string(w)));
    g.out[i] = (padded - span) / g.stride[i] + 1;
  }
  return g;
}

Conv::Conv(int rank, ConvOptions options) : rank_(rank), options_(std::move(options)) {
  if (rank < 1 || rank > 3) throw ValueError(fmt::format("conv: spatial rank must be 1, 2 or 3, got {}", rank));
}

std::string_view Conv::type() const { return conv_type_names[rank_ - 1]; }

std::vector<AttrSpec> Conv::attribute_schema() {
  return {
      {"stride", std::vector<std::int64_t>{1}, "one value, or one per spatial axis"},
      {"padding", std::string("0"),
       "zero padding: 'same', 'valid', one value, one per axis, or before,after per axis"},
      {"dilation", std::vector<std::int64_t>{1}, "one value, or one per spatial axis"},
      {"groups", std::int64_t{1}, "channel groups (groups = channels: depthwise)"},
      {"flip", false, "true convolution: reverse the kernel (default: cross-correlation, as PyTorch)"},
      {"algorithm", std::string("auto"), "auto | measure | direct | gemm | fft | fft_tiled | helix"},
  };
}

ConvOptions Conv::options_from(const Attributes& a) {
  ConvOptions o;
  o.stride = a.get<std::vector<std::int64_t>>("stride", o.stride);
  o.padding = ConvPadding::parse(a.get<std::string>("padding", "0"));
  o.dilation = a.get<std::vector<std::int64_t>>("dilation", o.dilation);
  o.groups = a.get<std::int64_t>("groups", o.groups);
  o.flip = a.get<bool>("flip", o.flip);
  o.algorithm = a.get<std::string>("algorithm", o.algorithm);
  return o;
}

Attributes Conv::attributes() const {
  return {{"stride", options_.stride},   {"padding", options_.padding.to_string()},
          {"dilation", options_.dilation}, {"groups", options_.groups},
          {"flip", options_.flip},       {"algorithm", options_.algorithm}};
}

ConvGeometry Conv::geometry(const Shape& x, const Shape& w) const {
  return ConvGeometry::resolve(type(), rank_, x, w, options_);
}

std::vector<TensorSpec> Conv::infer(std::span<const TensorSpec> in) const {
  const DType dt = in[0].dtype;
  if (dt != DType::float32 && dt != DType::float64)
    throw DTypeError(fmt::format("{}: input is {}; convolution takes float32 or float64", type(), dtype_name(dt)));
  for (std::size_t i = 1; i < in.size(); ++i)
    if (in[i].dtype != dt)
      throw DTypeError(fmt::format("{}: input {} is {} but x is {}; convert with astype", type(), i, dtype_name(in[i].dtype),
                                   dtype_name(dt)));
  const ConvGeometry g = geometry(in[0].shape, in[1].shape);
  if (in.size() == 3 && !(in[2].shape == Shape{g.out_channels}))
    throw ShapeError(fmt::format("{}: bias must be [{}] to match weight {}, got {}", type(), g.out_channels,
                                 to_string(in[1].shape), to_string(in[2].shape)));
  return {{g.output_shape(), dt}};
}

#define NODAL_CONV_FUNCTIONS(name, rank)                                                                           \
  Value name(const Value& x, const Value& w, const ConvOptions& o, std::source_location where) {                 \
    return detail::add_node(Conv(rank, o), {x, w}, where);                                                       \
  }                                                                                                              \
  Value name(const Value& x, const Value& w, const Value& b, const ConvOptions& o, std::source_location where) { \
    return detail::add_node(Conv(rank, o), {x, w, b}, where);                                                    \
  }                                                                                                              \
  Tensor name(const Tensor& x, const Tensor& w, const ConvOptions& o) { return detail::run_node(Conv(rank, o), {x, w}); } \
  Tensor name(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& o) {                         \
    return detail::run_node(Conv(rank, o), {x, w, b});                                                           \
  }
NODAL_CONV_FUNCTIONS(conv1d, 1)
NODAL_CONV_FUNCTIONS(conv2d, 2)
NODAL_CONV_FUNCTIONS(conv3d, 3)
#undef NODAL_CONV_FUNCTIONS

#define NODAL_REGISTER_CONV(rank, description)                                                     \
  NODAL_REGISTER_NODE_TYPE({.name = std::string(conv_type_names[rank - 1]),                        \
                            .doc = description,                                                    \
                            .min_inputs = 2,                                                       \
                            .max_inputs = 3,                                                       \
                            .attributes = Conv::attribute_schema(),                                \
                            .make = [](const Attributes& a) {                                      \
                              return std::make_unique<Conv>(rank, Conv::options_from(a));          \
                            }});
NODAL_REGISTER_CONV(1, "1-D convolution layer: x [N, Cin, W], w [Cout, Cin/groups, kW], optional b [Cout]")
NODAL_REGISTER_CONV(2, "2-D convolution layer: x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW], optional b [Cout]")
NODAL_REGISTER_CONV(3, "3-D convolution layer: x [N, Cin, D, H, W], w [Cout, Cin/groups, kD, kH, kW], optional b [Cout]")
#undef NODAL_REGISTER_CONV

}  // namespace nodal
