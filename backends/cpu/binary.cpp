// CPU forward, vjp and jvp of the binary elementwise nodes (nodes/binary.hpp).
//
// Both modes use the partial derivatives of y = f(a, b):
//   vjp: ā = sum_to(ȳ · conj(∂y/∂a), shape a),  b̄ = sum_to(ȳ · conj(∂y/∂b), shape b)
//   jvp: ẏ = ∂y/∂a · ȧ + ∂y/∂b · ḃ   (ȧ, ḃ broadcast to y's shape)
// where sum_to undoes broadcasting. conj matters for complex mul/div only (PyTorch's
// conjugate-Wirtinger convention: for y = a·b, ā = ȳ·conj(b)).
#include <cmath>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/binary.hpp"

namespace nodal {
namespace {

template <class T> Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& s) {
  if constexpr (is_complex_v<T>) {
    switch (op) {
      case BinaryOp::add: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x + y; });
      case BinaryOp::sub: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x - y; });
      case BinaryOp::mul: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x * y; });
      case BinaryOp::div: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x / y; });
      default: break;  // infer rejected the others
    }
    throw DTypeError(fmt::format("{}: complex inputs are not supported", binary_op_name(op)));
  } else {
    switch (op) {
      case BinaryOp::add: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x + y; });
      case BinaryOp::sub: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x - y; });
      case BinaryOp::mul: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x * y; });
      case BinaryOp::div: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return x / y; });
      case BinaryOp::pow: return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return std::pow(x, y); });
      // NaN in either input propagates (x != x is true only for NaN)
      case BinaryOp::maximum:
        return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return (x > y || x != x) ? x : y; });
      case BinaryOp::minimum:
        return cpu::map_binary<T, T>(a, b, s, [](T x, T y) { return (x < y || x != x) ? x : y; });
    }
  }
  throw ValueError(fmt::format("{}: unknown binary operation", binary_op_name(op)));
}

// g · ∂y/∂x_i (tangent) or g · conj(∂y/∂x_i) (cotangent), in y's shape; g is ȳ (y's shape) or
// the tangent of input i (input i's shape, broadcast here).
template <class T>
Tensor binary_partial(BinaryOp op, int i, const Tensor& a, const Tensor& b, const Tensor& y, const Tensor& g,
                      bool cotangent) {
  const Shape& s = y.shape();
  // d/da (a ± b) = 1,  d/db (a ± b) = ±1
  if (op == BinaryOp::add || (op == BinaryOp::sub && i == 0))
    return g.shape() == s ? g : g.expand(s).contiguous();
  if (op == BinaryOp::sub) return cpu::map_binary<T, T>(g, g, s, [](T v, T) { return -v; });
  const auto c = [cotangent](T v) {
    if constexpr (is_complex_v<T>) return cotangent ? std::conj(v) : v;
    else return v;
  };
  const Tensor& other = i == 0 ? b : a;
  if (op == BinaryOp::mul)  // ā = ȳ · conj(b),  b̄ = ȳ · conj(a)
    return cpu::map_binary<T, T>(g, other, s, [c](T gv, T o) { return gv * c(o); });
  if (op == BinaryOp::div) {
    if (i == 0)  // ā = ȳ / conj(b)
      return cpu::map_binary<T, T>(g, b, s, [c](T gv, T bv) { return gv / c(bv); });
    // b̄ = −ȳ · conj(a / b²) = −ȳ · conj(y / b)
    return cpu::map_ternary<T, T>(g, y, b, s, [c](T gv, T yv, T bv) { return -gv * c(yv / bv); });
  }
  if constexpr (!is_complex_v<T>) {
    switch (op) {
      case BinaryOp::pow:
        // ā = ȳ · b · a^(b−1)  (0 where b = 0, so that 0⁰ does not give 0·∞)
        if (i == 0)
          return cpu::map_ternary<T, T>(g, a, b, s, [](T gv, T av, T bv) {
            return bv == T(0) ? T(0) : gv * bv * std::pow(av, bv - T(1));
          });
        // b̄ = ȳ · y · ln a  (0 where a = 0, the limit for b > 0, as PyTorch; NaN for a < 0)
        return cpu::map_ternary<T, T>(g, y, a, s, [](T gv, T yv, T av) {
          return av == T(0) ? T(0) : gv * yv * std::log(av);
        });
      // ā = ȳ · (a > b ? 1 : a = b ? ½ : 0), b̄ mirrored: ties split the gradient equally
      case BinaryOp::maximum:
      case BinaryOp::minimum: {
        const bool first = i == 0, is_max = op == BinaryOp::maximum;
        return cpu::map_ternary<T, T>(g, a, b, s, [first, is_max](T gv, T av, T bv) {
          if (av == bv) return gv * T(0.5);
          const bool a_wins = is_max ? av > bv : av < bv;
          return a_wins == first ? gv : T(0);
        });
      }
      default: break;
    }
  }
  throw DTypeError(fmt::format("{}: complex inputs are not supported", binary_op_name(op)));
}

struct BinaryCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const BinaryOp op = c.as<Binary>().op;
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), binary_op_name(op));
    visit_dtype(a.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = binary_forward<T>(op, a, b, shape);
    });
  }
  void vjp(const VjpCall& c) const override {
    const Tensor& g = c.output_cotangents[0];
    if (!g.defined()) return;
    const BinaryOp op = c.as<Binary>().op;
    visit_dtype(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (int i = 0; i < 2; ++i)
        if (c.wanted[i])
          c.input_cotangents[i] = cpu::sum_to(
              binary_partial<T>(op, i, c.inputs[0], c.inputs[1], c.outputs[0], g, true), c.inputs[i].shape());
    });
  }
  void jvp(const JvpCall& c) const override {
    const BinaryOp op = c.as<Binary>().op;
    visit_dtype(c.outputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor total;
      for (int i = 0; i < 2; ++i) {
        const Tensor& t = c.input_tangents[i];
        if (!t.defined()) continue;
        Tensor term = binary_partial<T>(op, i, c.inputs[0], c.inputs[1], c.outputs[0], t, false);
        total = total.defined() ? cpu::map_binary<T, T>(total, term, term.shape(), [](T x, T y) { return x + y; })
                                : term;
      }
      c.output_tangents[0] = total;
    });
  }
};

NODAL_REGISTER_IMPL("add", Backend::cpu, BinaryCpu);
NODAL_REGISTER_IMPL("sub", Backend::cpu, BinaryCpu);
NODAL_REGISTER_IMPL("mul", Backend::cpu, BinaryCpu);
NODAL_REGISTER_IMPL("div", Backend::cpu, BinaryCpu);
NODAL_REGISTER_IMPL("pow", Backend::cpu, BinaryCpu);
NODAL_REGISTER_IMPL("maximum", Backend::cpu, BinaryCpu);
NODAL_REGISTER_IMPL("minimum", Backend::cpu, BinaryCpu);

}  // namespace
}  // namespace nodal
