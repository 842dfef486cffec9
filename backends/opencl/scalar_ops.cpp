// OpenCL forward, vjp and jvp of the tensor-and-constant nodes (nodes/scalar_ops.hpp) on
// kernels/scalar_ops.cl, with the rules of backends/cpu/scalar_ops.cpp:
//   forward                                   scalar_forward          1 launch
//   vjp / jvp (g · f′(x), real dtypes)        scalar_chain            1 launch
//   add: x̄ = ȳ, pow with c = 0: x̄ = 0         no kernel / one fill
#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/copy.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/scalar_ops.hpp"

namespace nodal::opencl {
namespace {

// kernels/scalar_ops.cl numbers the operations in enum order
static_assert(int(ScalarOp::add) == 0 && int(ScalarOp::mul) == 1 && int(ScalarOp::div) == 2 &&
              int(ScalarOp::rsub) == 3 && int(ScalarOp::rdiv) == 4 && int(ScalarOp::pow) == 5);

// g · f′(x) for both modes (real dtypes: no conjugation)
Tensor chain(const ScalarNode& n, const Tensor& x, const Tensor& y, const Tensor& g) {
  Context& context = context_of({&x, &y, &g}, n.type());
  check_kernel_dtype(context, x.dtype(), n.type());
  if (n.op == ScalarOp::add) return g;
  if (n.op == ScalarOp::pow && n.value == 0.0) return device_full(context, x.shape(), x.dtype(), 0.0, n.type());
  const Tensor views[] = {x, y, g};
  return pointwise_launch(context, "scalar_ops", "scalar_chain", int(n.op), n.value, views);
}

struct ScalarOpenCl final : NodeImpl {
  // y = x ∘ c
  void forward(const ForwardCall& c) const override {
    const ScalarNode& n = c.as<ScalarNode>();
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x}, n.type());
    check_kernel_dtype(context, x.dtype(), n.type());
    c.outputs[0] = pointwise_launch(context, "scalar_ops", "scalar_forward", int(n.op), n.value, std::span(&x, 1));
  }
  // x̄ = ȳ · f′(x)
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    c.input_cotangents[0] = chain(c.as<ScalarNode>(), c.inputs[0], c.outputs[0], c.output_cotangents[0]);
  }
  // ẏ = f′(x) · ẋ
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    c.output_tangents[0] = chain(c.as<ScalarNode>(), c.inputs[0], c.outputs[0], c.input_tangents[0]);
  }
};

NODAL_REGISTER_IMPL("add_scalar", Backend::opencl, ScalarOpenCl);
NODAL_REGISTER_IMPL("mul_scalar", Backend::opencl, ScalarOpenCl);
NODAL_REGISTER_IMPL("div_scalar", Backend::opencl, ScalarOpenCl);
NODAL_REGISTER_IMPL("rsub_scalar", Backend::opencl, ScalarOpenCl);
NODAL_REGISTER_IMPL("rdiv_scalar", Backend::opencl, ScalarOpenCl);
NODAL_REGISTER_IMPL("pow_scalar", Backend::opencl, ScalarOpenCl);

}  // namespace
}  // namespace nodal::opencl
