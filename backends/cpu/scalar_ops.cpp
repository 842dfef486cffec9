// CPU forward, vjp and jvp of the tensor-and-constant nodes (nodes/scalar_ops.hpp).
// c is real, so conj(c) = c; only rdiv's rule involves a complex conjugate:
// for y = c / x, x̄ = ȳ · conj(−c / x²) = −ȳ · conj(y / x)  (PyTorch's convention).
#include <cmath>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/scalar_ops.hpp"

namespace nodal {
namespace {

template <class T> Tensor scalar_forward(const ScalarNode& n, const Tensor& x) {
  using R = decltype(std::abs(T{}));  // the real type: c is stored in it
  const R c = R(n.value);
  switch (n.op) {
    case ScalarOp::add: return cpu::map_unary<T, T>(x, [c](T v) { return v + c; });
    case ScalarOp::mul: return cpu::map_unary<T, T>(x, [c](T v) { return c * v; });
    case ScalarOp::div: return cpu::map_unary<T, T>(x, [c](T v) { return v / c; });
    case ScalarOp::rsub: return cpu::map_unary<T, T>(x, [c](T v) { return c - v; });
    case ScalarOp::rdiv: return cpu::map_unary<T, T>(x, [c](T v) { return c / v; });
    case ScalarOp::pow:
      if constexpr (!is_complex_v<T>) {
        if (n.value == 2.0) return cpu::map_unary<T, T>(x, [](T v) { return v * v; });
        return cpu::map_unary<T, T>(x, [c](T v) { return std::pow(v, c); });
      }
      break;
  }
  throw DTypeError(fmt::format("{}: unsupported dtype {}", n.type(), dtype_name(x.dtype())));
}

// g · f′(x) (tangent) or g · conj(f′(x)) (cotangent); g has x's shape.
template <class T> Tensor scalar_chain(const ScalarNode& n, const Tensor& x, const Tensor& y, const Tensor& g, bool cotangent) {
  using R = decltype(std::abs(T{}));
  const R c = R(n.value);
  const Shape& s = x.shape();
  switch (n.op) {
    // x̄ = ȳ
    case ScalarOp::add: return g;
    // x̄ = c · ȳ
    case ScalarOp::mul: return cpu::map_unary<T, T>(g, [c](T v) { return c * v; });
    // x̄ = ȳ / c
    case ScalarOp::div: return cpu::map_unary<T, T>(g, [c](T v) { return v / c; });
    // x̄ = −ȳ
    case ScalarOp::rsub: return cpu::map_unary<T, T>(g, [](T v) { return -v; });
    // x̄ = −ȳ · conj(y / x)
    case ScalarOp::rdiv:
      return cpu::map_ternary<T, T>(g, y, x, s, [cotangent](T gv, T yv, T xv) {
        if constexpr (is_complex_v<T>) return cotangent ? -gv * std::conj(yv / xv) : -gv * (yv / xv);
        else return -gv * (yv / xv);
      });
    // x̄ = ȳ · c · x^(c−1)  (0 when c = 0: y is constant)
    case ScalarOp::pow:
      if constexpr (!is_complex_v<T>) {
        if (n.value == 0.0) return Tensor::zeros(s, x.dtype(), x.backend());
        if (n.value == 2.0) return cpu::map_binary<T, T>(x, g, s, [](T xv, T gv) { return gv * (T(2) * xv); });
        return cpu::map_binary<T, T>(x, g, s, [c](T xv, T gv) { return gv * c * std::pow(xv, c - T(1)); });
      }
      break;
  }
  throw DTypeError(fmt::format("{}: unsupported dtype {}", n.type(), dtype_name(x.dtype())));
}

struct ScalarCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const ScalarNode& n = c.as<ScalarNode>();
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = scalar_forward<T>(n, c.inputs[0]);
    });
  }
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const ScalarNode& n = c.as<ScalarNode>();
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.input_cotangents[0] = scalar_chain<T>(n, c.inputs[0], c.outputs[0], c.output_cotangents[0], true);
    });
  }
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    const ScalarNode& n = c.as<ScalarNode>();
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.output_tangents[0] = scalar_chain<T>(n, c.inputs[0], c.outputs[0], c.input_tangents[0], false);
    });
  }
};

NODAL_REGISTER_IMPL("add_scalar", Backend::cpu, ScalarCpu);
NODAL_REGISTER_IMPL("mul_scalar", Backend::cpu, ScalarCpu);
NODAL_REGISTER_IMPL("div_scalar", Backend::cpu, ScalarCpu);
NODAL_REGISTER_IMPL("rsub_scalar", Backend::cpu, ScalarCpu);
NODAL_REGISTER_IMPL("rdiv_scalar", Backend::cpu, ScalarCpu);
NODAL_REGISTER_IMPL("pow_scalar", Backend::cpu, ScalarCpu);

}  // namespace
}  // namespace nodal
