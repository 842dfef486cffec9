// OpenCL forward, vjp and jvp of the unary and binary elementwise nodes (nodes/unary.hpp,
// nodes/binary.hpp), on kernels/elementwise.cl; the same rules as backends/cpu/unary.cpp and
// binary.cpp, with one launch per result:
//   unary forward          unary_forward                   1 launch
//   unary vjp / jvp        unary_chain (g · f′ fused)      1 launch
//   binary forward         binary_forward                  1 launch
//   binary vjp, per input  binary_vjp (+ reduce when the input was broadcast; add/sub need no
//                          partial kernel: the cotangent is summed or negated directly)
//   binary jvp             binary_jvp (both tangents, one pass)   1 launch
// Inputs may be any views (permuted, sliced, broadcast): the kernels take strides.
#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/unary.hpp"

namespace nodal::opencl {
namespace {

// kernels/elementwise.cl numbers the operations in enum order
static_assert(int(UnaryOp::neg) == 0 && int(UnaryOp::abs) == 1 && int(UnaryOp::exp) == 2 && int(UnaryOp::log) == 3 &&
              int(UnaryOp::sqrt) == 4 && int(UnaryOp::square) == 5 && int(UnaryOp::tanh) == 6 &&
              int(UnaryOp::sigmoid) == 7 && int(UnaryOp::relu) == 8 && int(UnaryOp::leaky_relu) == 9 &&
              int(UnaryOp::elu) == 10);
static_assert(int(BinaryOp::add) == 0 && int(BinaryOp::sub) == 1 && int(BinaryOp::mul) == 2 && int(BinaryOp::div) == 3 &&
              int(BinaryOp::pow) == 4 && int(BinaryOp::maximum) == 5 && int(BinaryOp::minimum) == 6);

cl_mem mem_of(const Tensor& t) { return device_buffer(*t.buffer(), "opencl elementwise").mem(); }

struct UnaryOpenCl final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const Unary& n = c.as<Unary>();
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x}, n.type());
    check_kernel_dtype(context, x.dtype(), n.type());
    c.outputs[0] = pointwise_launch(context, "elementwise", "unary_forward", int(n.op), n.parameter, std::span(&x, 1));
  }
  // g · f′(x), both modes (real dtypes only, so no conjugation)
  static Tensor chain(const Unary& n, const Tensor& x, const Tensor& y, const Tensor& g) {
    Context& context = context_of({&x, &y, &g}, n.type());
    check_kernel_dtype(context, x.dtype(), n.type());
    const Tensor views[] = {x, y, g};
    return pointwise_launch(context, "elementwise", "unary_chain", int(n.op), n.parameter, views);
  }
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    c.input_cotangents[0] = chain(c.as<Unary>(), c.inputs[0], c.outputs[0], c.output_cotangents[0]);
  }
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    c.output_tangents[0] = chain(c.as<Unary>(), c.inputs[0], c.outputs[0], c.input_tangents[0]);
  }
};

struct BinaryOpenCl final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const BinaryOp op = c.as<Binary>().op;
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const std::string_view name = binary_op_name(op);
    Context& context = context_of({&a, &b}, name);
    check_kernel_dtype(context, a.dtype(), name);
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor y = device_empty(context, shape, a.dtype());
    if (shape.numel() > 0) {
      const Tensor views[] = {a, b};
      const StridedLayout l = strided_layout(shape, views);
      Launch launch(context, typed_kernel(context, "elementwise", a.dtype(), "binary_forward"), "binary_forward");
      launch.arg(cl_int(op)).shape(l).operand(l.operands[0]).operand(l.operands[1]).mem(mem_of(y));
      launch.run_elements(l.numel);
    }
    c.outputs[0] = y;
  }

  void vjp(const VjpCall& c) const override {
    const Tensor& g = c.output_cotangents[0];
    if (!g.defined()) return;
    const BinaryOp op = c.as<Binary>().op;
    const std::string_view name = binary_op_name(op);
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const Tensor& y = c.outputs[0];
    Context& context = context_of({&a, &b, &y, &g}, name);
    check_kernel_dtype(context, g.dtype(), name);
    for (int i = 0; i < 2; ++i) {
      if (!c.wanted[i]) continue;
      const Shape& input_shape = c.inputs[i].shape();
      // ā = sum_to(ȳ) for add and for sub's first input: no partial kernel
      if (op == BinaryOp::add || (op == BinaryOp::sub && i == 0)) {
        c.input_cotangents[i] = sum_to(context, g, input_shape);
        continue;
      }
      // b̄ = −sum_to(ȳ) for sub: negate after reducing (the smaller tensor)
      if (op == BinaryOp::sub) {
        const Tensor summed = sum_to(context, g, input_shape);
        c.input_cotangents[i] = scaled_copy(context, summed, input_shape, -1.0);
        continue;
      }
      Tensor partial = device_empty(context, y.shape(), g.dtype());
      if (y.numel() > 0) {
        const Tensor views[] = {g, a, b, y};
        const StridedLayout l = strided_layout(y.shape(), views);
        Launch launch(context, typed_kernel(context, "elementwise", g.dtype(), "binary_vjp"), "binary_vjp");
        launch.arg(cl_int(op)).arg(cl_int(i)).shape(l);
        for (const StridedOperand& o : l.operands) launch.operand(o);
        launch.mem(mem_of(partial)).run_elements(l.numel);
      }
      c.input_cotangents[i] = sum_to(context, partial, input_shape);
    }
  }

  void jvp(const JvpCall& c) const override {
    const Tensor& ta = c.input_tangents[0];
    const Tensor& tb = c.input_tangents[1];
    if (!ta.defined() && !tb.defined()) return;
    const BinaryOp op = c.as<Binary>().op;
    const std::string_view name = binary_op_name(op);
    const Tensor& a = c.inputs[0];
    const Tensor& b = c.inputs[1];
    const Tensor& y = c.outputs[0];
    Context& context = context_of({&a, &b, &y, &ta, &tb}, name);
    check_kernel_dtype(context, y.dtype(), name);
    Tensor out = device_empty(context, y.shape(), y.dtype());
    if (y.numel() > 0) {
      // a missing tangent is replaced by a never-read placeholder (the kernel's has_t flag is 0)
      const Tensor views[] = {ta.defined() ? ta : a, tb.defined() ? tb : b, a, b, y};
      const StridedLayout l = strided_layout(y.shape(), views);
      Launch launch(context, typed_kernel(context, "elementwise", y.dtype(), "binary_jvp"), "binary_jvp");
      launch.arg(cl_int(op)).arg(cl_int(ta.defined())).arg(cl_int(tb.defined())).shape(l);
      for (const StridedOperand& o : l.operands) launch.operand(o);
      launch.mem(mem_of(out)).run_elements(l.numel);
    }
    c.output_tangents[0] = out;
  }
};

NODAL_REGISTER_IMPL("neg", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("abs", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("exp", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("log", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("sqrt", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("square", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("tanh", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("sigmoid", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("relu", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("leaky_relu", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("elu", Backend::opencl, UnaryOpenCl);
NODAL_REGISTER_IMPL("add", Backend::opencl, BinaryOpenCl);
NODAL_REGISTER_IMPL("sub", Backend::opencl, BinaryOpenCl);
NODAL_REGISTER_IMPL("mul", Backend::opencl, BinaryOpenCl);
NODAL_REGISTER_IMPL("div", Backend::opencl, BinaryOpenCl);
NODAL_REGISTER_IMPL("pow", Backend::opencl, BinaryOpenCl);
NODAL_REGISTER_IMPL("maximum", Backend::opencl, BinaryOpenCl);
NODAL_REGISTER_IMPL("minimum", Backend::opencl, BinaryOpenCl);

}  // namespace
}  // namespace nodal::opencl
