#include "nodal/nodes/relu.hpp"

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

struct ReluCpu final : NodeImpl {
  // y = max(x, 0)
  void forward(const ForwardCall& c) const override {
    visit_real_dtype(c.inputs[0].dtype(), "relu", [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = cpu::map_unary<T, T>(c.inputs[0], [](T x) { return x > T(0) ? x : T(0); });
    });
  }
  // x̄ = ȳ · [x > 0]
  void vjp(const VjpCall& c) const override {
    visit_real_dtype(c.inputs[0].dtype(), "relu", [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.input_cotangents[0] = cpu::map_binary<T, T>(c.inputs[0], c.output_cotangents[0], c.inputs[0].shape(),
                                                    [](T x, T g) { return x > T(0) ? g : T(0); });
    });
  }
  // ẏ = ẋ · [x > 0]
  void jvp(const JvpCall& c) const override {
    visit_real_dtype(c.inputs[0].dtype(), "relu", [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.output_tangents[0] = cpu::map_binary<T, T>(c.inputs[0], c.input_tangents[0], c.inputs[0].shape(),
                                                   [](T x, T t) { return x > T(0) ? t : T(0); });
    });
  }
};

NODAL_REGISTER_IMPL("relu", Backend::cpu, ReluCpu);

}  // namespace
}  // namespace nodal
