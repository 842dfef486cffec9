#include "nodal/nodes/add.hpp"

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

struct AddCpu final : NodeImpl {
  // y = a + b
  void forward(const ForwardCall& c) const override {
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), "add");
    visit_dtype(a.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = cpu::map_binary<T, T>(a, b, shape, [](T x, T y) { return x + y; });
    });
  }
  // ā = sum_to(ȳ, shape a),  b̄ = sum_to(ȳ, shape b)
  void vjp(const VjpCall& c) const override {
    for (int i = 0; i < 2; ++i)
      if (c.wanted[i]) c.input_cotangents[i] = cpu::sum_to(c.output_cotangents[0], c.inputs[i].shape());
  }
  // ẏ = ȧ + ḃ
  void jvp(const JvpCall& c) const override {
    const Shape& shape = c.outputs[0].shape();
    Tensor sum;
    for (int i = 0; i < 2; ++i) {
      if (!c.input_tangents[i].defined()) continue;
      Tensor t = c.input_tangents[i].expand(shape);
      sum = sum.defined() ? add(sum, t) : t.contiguous();
    }
    c.output_tangents[0] = sum;
  }
};

NODAL_REGISTER_IMPL("add", Backend::cpu, AddCpu);

}  // namespace
}  // namespace nodal
