// CPU forward, vjp and jvp of the unary elementwise nodes (nodes/unary.hpp).
//
// Forward of the transcendental functions goes through Eigen arrays, whose exp/log/tanh/logistic
// are vectorised (several times faster than a loop of std::exp). Derivative rules are short
// scalar lambdas over contiguous spans, which GCC vectorises.
//
// Complex rules (neg, exp, square) follow PyTorch's conjugate-Wirtinger convention: for a
// holomorphic f the cotangent is x̄ = ȳ · conj(f′(x)) and the tangent is ẏ = f′(x) · ẋ.
#include <cmath>

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics when Eigen's packet
// math is inlined (a false positive in avx512fintrin.h); silence it for this file only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/unary.hpp"

namespace nodal {
namespace {

template <class T> T conj_if_complex(T v) {
  if constexpr (is_complex_v<T>) return std::conj(v);
  else return v;
}

// out = f(x) with f written on Eigen arrays; each thread maps its own contiguous chunk.
template <class T, class F> Tensor map_array(const Tensor& x, F&& f) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(in.shape(), in.dtype(), in.backend());
  const T* src = in.data<T>();
  T* dst = out.data<T>();
  cpu::parallel_for(in.numel(), [&](std::int64_t b, std::int64_t e) {
    Eigen::Map<Array>(dst + b, e - b) = f(Eigen::Map<const Array>(src + b, e - b));
  });
  return out;
}

template <class T> Tensor unary_forward(const Unary& n, const Tensor& x) {
  if constexpr (is_complex_v<T>) {
    switch (n.op) {
      case UnaryOp::neg: return map_array<T>(x, [](const auto& a) { return -a; });
      case UnaryOp::exp: return map_array<T>(x, [](const auto& a) { return a.exp(); });
      case UnaryOp::square: return map_array<T>(x, [](const auto& a) { return a.square(); });
      default: break;  // infer rejected the others
    }
    throw DTypeError(fmt::format("{}: complex input is not supported", n.type()));
  } else {
    const T p = T(n.parameter);
    switch (n.op) {
      case UnaryOp::neg: return map_array<T>(x, [](const auto& a) { return -a; });
      case UnaryOp::abs: return map_array<T>(x, [](const auto& a) { return a.abs(); });
      case UnaryOp::exp: return map_array<T>(x, [](const auto& a) { return a.exp(); });
      case UnaryOp::log: return map_array<T>(x, [](const auto& a) { return a.log(); });
      // std::sqrt, not Eigen's: with EIGEN_FAST_MATH (its default) Eigen's float sqrt on AVX-512 is
      // rsqrt + Newton, which turns +inf into NaN; the compiler still vectorizes this loop.
      case UnaryOp::sqrt: return cpu::map_unary<T, T>(x, [](T v) { return std::sqrt(v); });
      case UnaryOp::square: return map_array<T>(x, [](const auto& a) { return a.square(); });
      case UnaryOp::tanh: return map_array<T>(x, [](const auto& a) { return a.tanh(); });
      case UnaryOp::sigmoid: return map_array<T>(x, [](const auto& a) { return a.logistic(); });
      // written as a select so that NaN gives 0 consistently, as PyTorch's relu does not promise
      case UnaryOp::relu: return cpu::map_unary<T, T>(x, [](T v) { return v > T(0) ? v : T(0); });
      case UnaryOp::leaky_relu: return cpu::map_unary<T, T>(x, [p](T v) { return v > T(0) ? v : p * v; });
      case UnaryOp::elu: return cpu::map_unary<T, T>(x, [p](T v) { return v > T(0) ? v : p * std::expm1(v); });
    }
  }
  throw ValueError(fmt::format("{}: unknown unary operation", n.type()));
}

// The chain rule for one unary node: given the forward input x, output y and an incoming
// (co)tangent g, returns g·f′(x) (tangent, jvp) or g·conj(f′(x)) (cotangent, vjp). For real
// dtypes the two are the same.
template <class T> Tensor unary_chain(const Unary& n, const Tensor& x, const Tensor& y, const Tensor& g, bool cotangent) {
  const Shape& s = x.shape();
  if constexpr (is_complex_v<T>) {
    const auto c = [cotangent](T v) { return cotangent ? std::conj(v) : v; };
    switch (n.op) {
      // x̄ = −ȳ
      case UnaryOp::neg: return cpu::map_unary<T, T>(g, [](T v) { return -v; });
      // x̄ = ȳ · conj(eˣ) = ȳ · conj(y)
      case UnaryOp::exp: return cpu::map_binary<T, T>(y, g, s, [c](T yv, T gv) { return gv * c(yv); });
      // x̄ = ȳ · conj(2x)
      case UnaryOp::square: return cpu::map_binary<T, T>(x, g, s, [c](T xv, T gv) { return gv * c(T(2) * xv); });
      default: break;
    }
    throw DTypeError(fmt::format("{}: complex input is not supported", n.type()));
  } else {
    const T p = T(n.parameter);
    switch (n.op) {
      // x̄ = −ȳ
      case UnaryOp::neg: return cpu::map_unary<T, T>(g, [](T v) { return -v; });
      // x̄ = ȳ · sign(x)   (0 at the kink x = 0)
      case UnaryOp::abs:
        return cpu::map_binary<T, T>(x, g, s, [](T xv, T gv) { return xv > T(0) ? gv : xv < T(0) ? -gv : T(0); });
      // x̄ = ȳ · y
      case UnaryOp::exp: return cpu::map_binary<T, T>(y, g, s, [](T yv, T gv) { return gv * yv; });
      // x̄ = ȳ / x
      case UnaryOp::log: return cpu::map_binary<T, T>(x, g, s, [](T xv, T gv) { return gv / xv; });
      // x̄ = ȳ / (2y)
      case UnaryOp::sqrt: return cpu::map_binary<T, T>(y, g, s, [](T yv, T gv) { return gv / (T(2) * yv); });
      // x̄ = ȳ · 2x
      case UnaryOp::square: return cpu::map_binary<T, T>(x, g, s, [](T xv, T gv) { return gv * (T(2) * xv); });
      // x̄ = ȳ · (1 − y²)
      case UnaryOp::tanh: return cpu::map_binary<T, T>(y, g, s, [](T yv, T gv) { return gv * (T(1) - yv * yv); });
      // x̄ = ȳ · y · (1 − y)
      case UnaryOp::sigmoid: return cpu::map_binary<T, T>(y, g, s, [](T yv, T gv) { return gv * yv * (T(1) - yv); });
      // x̄ = ȳ · [x > 0]
      case UnaryOp::relu: return cpu::map_binary<T, T>(x, g, s, [](T xv, T gv) { return xv > T(0) ? gv : T(0); });
      // x̄ = ȳ · (x > 0 ? 1 : s)
      case UnaryOp::leaky_relu:
        return cpu::map_binary<T, T>(x, g, s, [p](T xv, T gv) { return xv > T(0) ? gv : p * gv; });
      // x̄ = ȳ · (x > 0 ? 1 : α·eˣ)
      case UnaryOp::elu:
        return cpu::map_binary<T, T>(x, g, s, [p](T xv, T gv) { return xv > T(0) ? gv : gv * p * std::exp(xv); });
    }
  }
  throw ValueError(fmt::format("{}: unknown unary operation", n.type()));
}

struct UnaryCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const Unary& n = c.as<Unary>();
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = unary_forward<T>(n, c.inputs[0]);
    });
  }
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const Unary& n = c.as<Unary>();
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.input_cotangents[0] = unary_chain<T>(n, c.inputs[0], c.outputs[0], c.output_cotangents[0], true);
    });
  }
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    const Unary& n = c.as<Unary>();
    visit_dtype(c.inputs[0].dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.output_tangents[0] = unary_chain<T>(n, c.inputs[0], c.outputs[0], c.input_tangents[0], false);
    });
  }
};

NODAL_REGISTER_IMPL("neg", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("abs", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("exp", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("log", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("sqrt", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("square", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("tanh", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("sigmoid", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("relu", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("leaky_relu", Backend::cpu, UnaryCpu);
NODAL_REGISTER_IMPL("elu", Backend::cpu, UnaryCpu);

}  // namespace
}  // namespace nodal
