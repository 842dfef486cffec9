#include "nodal/nodes/convolve1d.hpp"

#include <fmt/format.h>

#include "nodal/core/registry.hpp"

namespace nodal {

std::string_view to_string(SignalMode mode) {
  switch (mode) {
    case SignalMode::full: return "full";
    case SignalMode::same: return "same";
    case SignalMode::valid: return "valid";
  }
  return "?";
}
std::string_view to_string(SignalBoundary boundary) {
  switch (boundary) {
    case SignalBoundary::zero: return "zero";
    case SignalBoundary::replicate: return "replicate";
    case SignalBoundary::circular: return "circular";
  }
  return "?";
}
SignalMode parse_signal_mode(std::string_view text) {
  for (SignalMode m : {SignalMode::full, SignalMode::same, SignalMode::valid})
    if (text == to_string(m)) return m;
  throw ValueError(fmt::format("convolve: mode '{}' is not one of full, same, valid", text));
}
SignalBoundary parse_signal_boundary(std::string_view text) {
  for (SignalBoundary b : {SignalBoundary::zero, SignalBoundary::replicate, SignalBoundary::circular})
    if (text == to_string(b)) return b;
  throw ValueError(fmt::format("convolve: boundary '{}' is not one of zero, replicate, circular", text));
}

SignalGeometry SignalGeometry::resolve(std::string_view node, const Shape& x, const Shape& h, SignalMode mode,
                                       bool correlate) {
  if (x.rank() < 1) throw ShapeError(fmt::format("{}: x must be [..., n] with at least one axis, got {}", node, to_string(x)));
  if (h.rank() != 1) throw ShapeError(fmt::format("{}: the filter h must be [m], got {}", node, to_string(h)));
  SignalGeometry g;
  g.n = x.back();
  g.m = h[0];
  if (g.n < 1 || g.m < 1)
    throw ShapeError(fmt::format("{}: the signal {} and the filter {} must both be non-empty", node, to_string(x),
                                 to_string(h)));
  g.rows = x.numel() / g.n;
  const std::int64_t s = std::min(g.n, g.m), l = std::max(g.n, g.m);
  std::int64_t k0 = 0;
  switch (mode) {
    case SignalMode::full: g.out = g.n + g.m - 1; k0 = 0; break;
    case SignalMode::same:
      g.out = l;
      // NumPy's correlate with m > n correlates h with x and reverses: its centre is ⌊n/2⌋.
      k0 = correlate && g.m > g.n ? g.n / 2 : (s - 1) / 2;
      break;
    case SignalMode::valid: g.out = l - s + 1; k0 = s - 1; break;
  }
  // y[k] = Σ_i x̃[k + start + i] · g[i] with g the filter as it is read left to right.
  g.start = k0 - (g.m - 1);
  g.padded = g.out + g.m - 1;
  g.output_shape = x;
  g.output_shape[x.rank() - 1] = g.out;
  return g;
}

Attributes Convolve1d::attributes() const {
  return {{"mode", std::string(to_string(mode_))}, {"boundary", std::string(to_string(boundary_))}};
}

std::vector<TensorSpec> Convolve1d::infer(std::span<const TensorSpec> in) const {
  const DType dt = in[0].dtype;
  if (dt != DType::float32 && dt != DType::float64)
    throw DTypeError(fmt::format("{}: x is {}; the signal view takes float32 or float64", type(), dtype_name(dt)));
  if (in[1].dtype != dt)
    throw DTypeError(fmt::format("{}: h is {} but x is {}; convert with astype", type(), dtype_name(in[1].dtype),
                                 dtype_name(dt)));
  return {{geometry(in[0].shape, in[1].shape).output_shape, dt}};
}

Value convolve(const Value& x, const Value& h, SignalMode mode, SignalBoundary boundary, std::source_location where) {
  return detail::add_node(Convolve1d(false, mode, boundary), {x, h}, where);
}
Value correlate(const Value& x, const Value& h, SignalMode mode, SignalBoundary boundary, std::source_location where) {
  return detail::add_node(Convolve1d(true, mode, boundary), {x, h}, where);
}
Tensor convolve(const Tensor& x, const Tensor& h, SignalMode mode, SignalBoundary boundary) {
  return detail::run_node(Convolve1d(false, mode, boundary), {x, h});
}
Tensor correlate(const Tensor& x, const Tensor& h, SignalMode mode, SignalBoundary boundary) {
  return detail::run_node(Convolve1d(true, mode, boundary), {x, h});
}

namespace {
std::vector<AttrSpec> signal_schema(std::string_view default_mode) {
  return {{"mode", std::string(default_mode), "full | same | valid (NumPy's output lengths)"},
          {"boundary", std::string("zero"), "zero | replicate | circular: how x extends beyond its ends"}};
}
std::unique_ptr<Node> make_signal_node(bool correlate, const Attributes& a) {
  return std::make_unique<Convolve1d>(correlate,
                                      parse_signal_mode(a.get<std::string>("mode", correlate ? "valid" : "full")),
                                      parse_signal_boundary(a.get<std::string>("boundary", "zero")));
}
}  // namespace

NODAL_REGISTER_NODE_TYPE({.name = "convolve",
                          .doc = "np.convolve on the last axis of x [..., n] with a filter h [m]; modes and boundaries",
                          .min_inputs = 2,
                          .max_inputs = 2,
                          .attributes = signal_schema("full"),
                          .make = [](const Attributes& a) { return make_signal_node(false, a); }});
NODAL_REGISTER_NODE_TYPE({.name = "correlate",
                          .doc = "np.correlate on the last axis of x [..., n] with a filter h [m]; modes and boundaries",
                          .min_inputs = 2,
                          .max_inputs = 2,
                          .attributes = signal_schema("valid"),
                          .make = [](const Attributes& a) { return make_signal_node(true, a); }});

}  // namespace nodal
