#include "nodal/nodes/conv_transpose.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

constexpr std::string_view type_names[] = {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"};

// One value for every axis, or one per axis, spread onto the last `rank` of 3 axes (the others
// get `fill`).
std::array<std::int64_t, 3> per_axis(std::string_view node, std::string_view what, int rank,
                                     const std::vector<std::int64_t>& values, std::int64_t minimum, std::int64_t fill) {
  if (values.size() != 1 && values.size() != std::size_t(rank))
    throw ValueError(fmt::format("{}: {} needs 1 or {} values, got [{}]", node, what, rank, fmt::join(values, ", ")));
  std::array<std::int64_t, 3> axes{fill, fill, fill};
  for (int a = 0; a < rank; ++a) {
    const std::int64_t v = values.size() == 1 ? values[0] : values[std::size_t(a)];
    if (v < minimum)
      throw ValueError(fmt::format("{}: {} must be ≥ {} on every axis, got [{}]", node, what, minimum, fmt::join(values, ", ")));
    axes[std::size_t(3 - rank + a)] = v;
  }
  return axes;
}

std::string spatial_names(int rank) { return rank == 1 ? "W" : rank == 2 ? "H, W" : "D, H, W"; }

}  // namespace

ConvTranspose::ConvTranspose(int rank, ConvTransposeOptions options) : rank_(rank), options_(std::move(options)) {
  if (rank < 1 || rank > 3) throw ValueError(fmt::format("conv_transpose: spatial rank must be 1, 2 or 3, got {}", rank));
}

std::string_view ConvTranspose::type() const { return type_names[rank_ - 1]; }

ConvGeometry ConvTranspose::conv_geometry(const Shape& x, const Shape& w) const {
  const std::string_view node = type();
  const int rank = rank_;
  if (x.rank() != rank + 2)
    throw ShapeError(fmt::format("{}: input must be [N, Cin, {}], got {}", node, spatial_names(rank), to_string(x)));
  if (w.rank() != rank + 2)
    throw ShapeError(fmt::format("{}: weight must be [Cin, Cout/groups, k{}], got {}", node,
                                 rank == 1 ? "W" : rank == 2 ? "H, kW" : "D, kH, kW", to_string(w)));
  const std::int64_t groups = options_.groups;
  if (groups < 1) throw ValueError(fmt::format("{}: groups must be ≥ 1, got {}", node, groups));
  if (w[0] != x[1])
    throw ShapeError(fmt::format("{}: weight {} must have Cin = {} rows to match input {}", node, to_string(w), x[1],
                                 to_string(x)));
  if (x[1] % groups != 0)
    throw ShapeError(fmt::format("{}: groups={} must divide the input channels ({}, input {})", node, groups, x[1],
                                 to_string(x)));
  const auto stride = per_axis(node, "stride", rank, options_.stride, 1, 1);
  const auto dilation = per_axis(node, "dilation", rank, options_.dilation, 1, 1);
  const auto padding = per_axis(node, "padding", rank, options_.padding, 0, 0);
  const auto output_padding = per_axis(node, "output_padding", rank, options_.output_padding, 0, 0);

  ConvGeometry g;
  g.rank = rank;
  g.batch = x[0];
  g.in_channels = w[1] * groups;  // C's input is y: Cout channels
  g.out_channels = x[1];          // C's output is x
  g.groups = groups;
  for (int a = 0; a < rank; ++a) {
    const std::size_t i = std::size_t(3 - rank + a);
    g.kernel[i] = w[2 + a];
    g.out[i] = x[2 + a];
  }
  if (g.kernel_pixels() == 0) throw ShapeError(fmt::format("{}: weight {} has an empty kernel", node, to_string(w)));
  for (std::size_t i = 0; i < 3; ++i) {
    const std::int64_t s = stride[i], d = dilation[i], p = padding[i], op = output_padding[i];
    if (op >= std::max(s, d) && (op > 0))
      throw ValueError(fmt::format("{}: output_padding ({}) must be smaller than stride ({}) or dilation ({}) on every axis",
                                   node, fmt::join(options_.output_padding, ", "), fmt::join(options_.stride, ", "),
                                   fmt::join(options_.dilation, ", ")));
    const std::int64_t extent = (g.out[i] - 1) * s - 2 * p + d * (g.kernel[i] - 1) + op + 1;
    if (extent < 1 || g.out[i] < 1)
      throw ShapeError(fmt::format("{}: input {} with weight {}, stride [{}], padding [{}] gives an empty output", node,
                                   to_string(x), to_string(w), fmt::join(options_.stride, ", "),
                                   fmt::join(options_.padding, ", ")));
    // C pads its input (y) by p before and pa after, with ⌊(O + p + pa − span)/s⌋ + 1 = S: any
    // pa ∈ [p − op, p − op + s − 1] works; the smallest non-negative one is taken.
    const std::int64_t pad_after = std::max<std::int64_t>(0, p - op);
    if (pad_after > p - op + s - 1)
      throw ValueError(fmt::format("{}: output_padding [{}] larger than padding + stride − 1 is not supported", node,
                                   fmt::join(options_.output_padding, ", ")));
    g.in[i] = extent;
    g.stride[i] = s;
    g.dilation[i] = d;
    g.pad_before[i] = p;
    g.pad_after[i] = pad_after;
  }
  return g;
}

std::vector<AttrSpec> ConvTranspose::attribute_schema() {
  return {
      {"stride", std::vector<std::int64_t>{1}, "one value, or one per spatial axis"},
      {"padding", std::vector<std::int64_t>{0}, "removed from both sides of each output axis: one value, or one per axis"},
      {"output_padding", std::vector<std::int64_t>{0}, "added at the end of each output axis (< stride or < dilation)"},
      {"dilation", std::vector<std::int64_t>{1}, "one value, or one per spatial axis"},
      {"groups", std::int64_t{1}, "channel groups"},
      {"algorithm", std::string("auto"), "auto | measure | direct | gemm | fft | fft_tiled | helix"},
  };
}

ConvTransposeOptions ConvTranspose::options_from(const Attributes& a) {
  ConvTransposeOptions o;
  o.stride = a.get<std::vector<std::int64_t>>("stride", o.stride);
  o.padding = a.get<std::vector<std::int64_t>>("padding", o.padding);
  o.output_padding = a.get<std::vector<std::int64_t>>("output_padding", o.output_padding);
  o.dilation = a.get<std::vector<std::int64_t>>("dilation", o.dilation);
  o.groups = a.get<std::int64_t>("groups", o.groups);
  o.algorithm = a.get<std::string>("algorithm", o.algorithm);
  return o;
}

Attributes ConvTranspose::attributes() const {
  return {{"stride", options_.stride},     {"padding", options_.padding}, {"output_padding", options_.output_padding},
          {"dilation", options_.dilation}, {"groups", options_.groups},   {"algorithm", options_.algorithm}};
}

std::vector<TensorSpec> ConvTranspose::infer(std::span<const TensorSpec> in) const {
  const DType dt = in[0].dtype;
  if (dt != DType::float32 && dt != DType::float64)
    throw DTypeError(fmt::format("{}: input is {}; convolution takes float32 or float64", type(), dtype_name(dt)));
  for (std::size_t i = 1; i < in.size(); ++i)
    if (in[i].dtype != dt)
      throw DTypeError(fmt::format("{}: input {} is {} but x is {}; convert with astype", type(), i,
                                   dtype_name(in[i].dtype), dtype_name(dt)));
  const ConvGeometry g = conv_geometry(in[0].shape, in[1].shape);
  if (in.size() == 3 && !(in[2].shape == Shape{g.in_channels}))
    throw ShapeError(fmt::format("{}: bias must be [{}] to match weight {}, got {}", type(), g.in_channels,
                                 to_string(in[1].shape), to_string(in[2].shape)));
  return {{g.input_shape(), dt}};
}

#define NODAL_CONV_TRANSPOSE_FUNCTIONS(name, rank)                                                              \
  Value name(const Value& x, const Value& w, const ConvTransposeOptions& o, std::source_location where) {      \
    return detail::add_node(ConvTranspose(rank, o), {x, w}, where);                                             \
  }                                                                                                             \
  Value name(const Value& x, const Value& w, const Value& b, const ConvTransposeOptions& o,                      \
             std::source_location where) {                                                                      \
    return detail::add_node(ConvTranspose(rank, o), {x, w, b}, where);                                          \
  }                                                                                                             \
  Tensor name(const Tensor& x, const Tensor& w, const ConvTransposeOptions& o) {                                \
    return detail::run_node(ConvTranspose(rank, o), {x, w});                                                    \
  }                                                                                                             \
  Tensor name(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTransposeOptions& o) {               \
    return detail::run_node(ConvTranspose(rank, o), {x, w, b});                                                 \
  }
NODAL_CONV_TRANSPOSE_FUNCTIONS(conv_transpose1d, 1)
NODAL_CONV_TRANSPOSE_FUNCTIONS(conv_transpose2d, 2)
NODAL_CONV_TRANSPOSE_FUNCTIONS(conv_transpose3d, 3)
#undef NODAL_CONV_TRANSPOSE_FUNCTIONS

#define NODAL_REGISTER_CONV_TRANSPOSE(rank, description)                                          \
  NODAL_REGISTER_NODE_TYPE({.name = std::string(type_names[rank - 1]),                            \
                            .doc = description,                                                   \
                            .min_inputs = 2,                                                      \
                            .max_inputs = 3,                                                      \
                            .attributes = ConvTranspose::attribute_schema(),                      \
                            .make = [](const Attributes& a) {                                     \
                              return std::make_unique<ConvTranspose>(rank, ConvTranspose::options_from(a)); \
                            }});
NODAL_REGISTER_CONV_TRANSPOSE(1, "1-D transposed convolution: x [N, Cin, W], w [Cin, Cout/groups, kW], optional b [Cout]")
NODAL_REGISTER_CONV_TRANSPOSE(2, "2-D transposed convolution: x [N, Cin, H, W], w [Cin, Cout/groups, kH, kW], optional b [Cout]")
NODAL_REGISTER_CONV_TRANSPOSE(3, "3-D transposed convolution: x [N, Cin, D, H, W], w [Cin, Cout/groups, kD, kH, kW], optional b [Cout]")
#undef NODAL_REGISTER_CONV_TRANSPOSE

}  // namespace nodal
