// OpenCL forward, vjp and jvp of softmax and log_softmax (nodes/softmax.hpp) on
// kernels/softmax.cl: one launch per result, one work-group per line along the axis.
//   forward   softmax_forward   y = exp(x − max)/Σ exp(x − max)  or  x − max − log Σ exp(x − max)
//   vjp/jvp   softmax_jacobian  softmax: y ⊙ (g − Σ g⊙y);  log_softmax vjp: g − exp(y)·Σ g;
//                               log_softmax jvp: g − Σ exp(y)⊙g
// Non-contiguous inputs are made contiguous first (one copy launch).
#include <fmt/format.h>

#include "nodal/backends/opencl/nn_common.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/softmax.hpp"

namespace nodal::opencl {
namespace {

// The tensor as [outer, n, inner] lines along `axis`.
struct Lines {
  std::int64_t outer = 1, n = 1, inner = 1;
  Lines(const Shape& shape, std::int64_t axis_attr, std::string_view op) {
    const int axis = normalize_axis(int(axis_attr), shape.rank(), op);
    for (int d = 0; d < axis; ++d) outer *= shape[d];
    n = shape[axis];
    for (int d = axis + 1; d < shape.rank(); ++d) inner *= shape[d];
  }
  std::int64_t count() const { return outer * inner; }
};

template <class N, bool Log> struct SoftmaxOpenCl final : NodeImpl {
  static std::string_view name() { return Log ? "log_softmax" : "softmax"; }

  void forward(const ForwardCall& c) const override {
    const Tensor& x_in = c.inputs[0];
    Context& context = context_of({&x_in}, name());
    check_kernel_dtype(context, x_in.dtype(), name());
    const Lines lines(x_in.shape(), c.as<N>().axis, name());
    Tensor y = device_empty(context, x_in.shape(), x_in.dtype());
    if (y.numel() > 0) {
      const Tensor x = contiguous_on(context, x_in);
      const std::size_t local = row_group_size(context, lines.n);
      Launch launch(context, typed_kernel(context, "softmax", x.dtype(), "softmax_forward"), "softmax_forward");
      launch.arg(cl_long(lines.count())).arg(cl_long(lines.n)).arg(cl_long(lines.inner)).arg(cl_int(Log));
      launch.mem(mem_of(x, name())).arg(cl_long(x.offset())).mem(mem_of(y, name()));
      launch.local_bytes(local * dtype_size(x.dtype())).run(row_groups(lines.count()), local);
    }
    c.outputs[0] = y;
  }

  static Tensor jacobian(const Node& node, std::int64_t axis, const Tensor& y_in, const Tensor& g_in, int mode) {
    Context& context = context_of({&y_in, &g_in}, node.type());
    check_kernel_dtype(context, y_in.dtype(), node.type());
    const Lines lines(y_in.shape(), axis, node.type());
    Tensor r = device_empty(context, y_in.shape(), y_in.dtype());
    if (r.numel() == 0) return r;
    const Tensor y = contiguous_on(context, y_in), g = contiguous_on(context, g_in);
    const std::size_t local = row_group_size(context, lines.n);
    Launch launch(context, typed_kernel(context, "softmax", y.dtype(), "softmax_jacobian"), "softmax_jacobian");
    launch.arg(cl_long(lines.count())).arg(cl_long(lines.n)).arg(cl_long(lines.inner)).arg(cl_int(mode));
    launch.mem(mem_of(y, node.type())).arg(cl_long(y.offset())).mem(mem_of(g, node.type())).arg(cl_long(g.offset()));
    launch.mem(mem_of(r, node.type())).local_bytes(local * dtype_size(y.dtype())).run(row_groups(lines.count()), local);
    return r;
  }
  // softmax: x̄ = y ⊙ (ȳ − Σ ȳ⊙y);  log_softmax: x̄ = ȳ − softmax(x)·Σ ȳ
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    c.input_cotangents[0] = jacobian(c.node, c.as<N>().axis, c.outputs[0], c.output_cotangents[0], Log ? 1 : 0);
  }
  // softmax: ẏ = y ⊙ (ẋ − Σ ẋ⊙y);  log_softmax: ẏ = ẋ − Σ softmax(x)⊙ẋ
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    c.output_tangents[0] = jacobian(c.node, c.as<N>().axis, c.outputs[0], c.input_tangents[0], Log ? 2 : 0);
  }
};

using SoftmaxImpl = SoftmaxOpenCl<Softmax, false>;
using LogSoftmaxImpl = SoftmaxOpenCl<LogSoftmax, true>;
NODAL_REGISTER_IMPL("softmax", Backend::opencl, SoftmaxImpl);
NODAL_REGISTER_IMPL("log_softmax", Backend::opencl, LogSoftmaxImpl);

}  // namespace
}  // namespace nodal::opencl
