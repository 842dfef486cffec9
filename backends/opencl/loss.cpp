// OpenCL forward, vjp and jvp of cross_entropy and mse (nodes/loss.hpp) on kernels/loss.cl.
//   cross_entropy forward  cross_entropy_reduce (mode 0)  L = (1/N)·Σ_i loss_i            1 launch
//                 vjp      cross_entropy_vjp              z̄ = ȳ/N·(p − q)                 1 launch
//                 jvp      cross_entropy_reduce (mode 1)  L̇ = (1/N)·Σ (p − q)·ż            1 launch
//   mse           forward  mse_reduce (mode 0)            L = s·Σ (a − b)²                  1 launch
//                 vjp      mse_vjp                        ā = ȳ·2s·(a − b), b̄ = −ā         1 launch
//                 jvp      mse_reduce (mode 1)            L̇ = 2s·Σ (a − b)(ȧ − ḃ)          1 launch
// The cotangent ȳ stays on the device (the kernels read it), so a training step's backward pass
// never waits for the host. Labels live on the device too and cannot be checked without waiting:
// a label that is not a class index gives NaN (see kernels/loss.cl); the CPU backend raises
// ValueError instead.
#include <fmt/format.h>

#include "nodal/backends/opencl/nn_common.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/loss.hpp"

namespace nodal::opencl {
namespace {

// The segment width of the cross-entropy kernels: a power of two ≥ min(C, L), at most L.
int segment_width(std::int64_t classes, std::size_t local) {
  std::size_t w = 1;
  while (w < local && std::int64_t(w) < classes) w *= 2;
  return int(w);
}

std::size_t single_group_size(const Context& context) { return tree_group_size(context, 256); }

struct CrossEntropyOpenCl final : NodeImpl {
  static double eps(const Node& node) { return static_cast<const CrossEntropy&>(node).label_smoothing; }

  // forward (mode 0) and jvp (mode 1): one group over the whole batch
  static Tensor reduce(const Node& node, const Tensor& z_in, const Tensor& labels_in, const Tensor* dz_in, int mode) {
    Context& context = context_of({&z_in, &labels_in, dz_in}, "cross_entropy");
    check_kernel_dtype(context, z_in.dtype(), "cross_entropy");
    const std::int64_t n = z_in.shape()[0], classes = z_in.shape()[1];
    const Tensor z = contiguous_on(context, z_in), labels = contiguous_on(context, labels_in);
    const Tensor dz = dz_in ? contiguous_on(context, *dz_in) : z;  // a placeholder in mode 0
    Tensor out = device_empty(context, Shape{}, z.dtype());
    const std::size_t local = single_group_size(context);
    Launch launch(context, typed_kernel(context, "loss", z.dtype(), "cross_entropy_reduce"), "cross_entropy_reduce");
    launch.arg(cl_long(n)).arg(cl_long(classes)).arg(cl_int(segment_width(classes, local)));
    typed_arg(launch, z.dtype(), eps(node));
    typed_arg(launch, z.dtype(), 1.0 / double(std::max<std::int64_t>(n, 1)));
    launch.arg(cl_int(mode)).mem(mem_of(z, "cross_entropy")).arg(cl_long(z.offset()));
    launch.mem(mem_of(labels, "cross_entropy")).arg(cl_long(labels.offset()));
    launch.mem(mem_of(dz, "cross_entropy")).arg(cl_long(dz.offset())).mem(mem_of(out, "cross_entropy"));
    launch.local_bytes(local * dtype_size(z.dtype())).run(1, local);
    return out;
  }

  // L = (1/N)·Σ_i [logsumexp(z_i) − (1 − ε)·z_i,label − ε·mean(z_i)]
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = reduce(c.node, c.inputs[0], c.inputs[1], nullptr, 0);
  }
  // z̄_i = ȳ/N · (p_i − q_i); the labels get no cotangent
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const Tensor& gy = c.output_cotangents[0];
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &gy}, "cross_entropy");
    check_kernel_dtype(context, c.inputs[0].dtype(), "cross_entropy");
    const std::int64_t n = c.inputs[0].shape()[0], classes = c.inputs[0].shape()[1];
    const Tensor z = contiguous_on(context, c.inputs[0]), labels = contiguous_on(context, c.inputs[1]);
    Tensor dz = device_empty(context, z.shape(), z.dtype());
    if (dz.numel() > 0) {
      const std::size_t local = single_group_size(context);
      const int w = segment_width(classes, local);
      const std::int64_t rows_per_group = std::int64_t(local) / w;
      Launch launch(context, typed_kernel(context, "loss", z.dtype(), "cross_entropy_vjp"), "cross_entropy_vjp");
      launch.arg(cl_long(n)).arg(cl_long(classes)).arg(cl_int(w));
      typed_arg(launch, z.dtype(), eps(c.node));
      typed_arg(launch, z.dtype(), 1.0 / double(std::max<std::int64_t>(n, 1)));
      launch.mem(mem_of(z, "cross_entropy")).arg(cl_long(z.offset()));
      launch.mem(mem_of(labels, "cross_entropy")).arg(cl_long(labels.offset()));
      launch.mem(mem_of(gy, "cross_entropy")).arg(cl_long(gy.offset())).mem(mem_of(dz, "cross_entropy"));
      launch.local_bytes(local * dtype_size(z.dtype()));
      launch.run(row_groups((n + rows_per_group - 1) / rows_per_group), local);
    }
    c.input_cotangents[0] = dz;
  }
  // L̇ = (1/N)·Σ_i Σ_c (p_ic − q_ic)·ż_ic; label tangents are ignored
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) {
      c.output_tangents[0] = Tensor::zeros(Shape{}, c.inputs[0].dtype(), Backend::opencl);
      return;
    }
    c.output_tangents[0] = reduce(c.node, c.inputs[0], c.inputs[1], &c.input_tangents[0], 1);
  }
};

struct MseOpenCl final : NodeImpl {
  static double scale(const Node& node, std::int64_t n) {
    return static_cast<const Mse&>(node).reduction == "sum" ? 1.0 : 1.0 / double(std::max<std::int64_t>(n, 1));
  }
  static Tensor reduce(const Node& node, const Tensor& a_in, const Tensor& b_in, const Tensor& ta_in,
                       const Tensor& tb_in, int mode) {
    Context& context = context_of({&a_in, &b_in, &ta_in, &tb_in}, "mse");
    check_kernel_dtype(context, a_in.dtype(), "mse");
    const Tensor a = contiguous_on(context, a_in), b = contiguous_on(context, b_in);
    const Tensor ta = ta_in.defined() ? contiguous_on(context, ta_in) : a;  // placeholders never read
    const Tensor tb = tb_in.defined() ? contiguous_on(context, tb_in) : a;
    Tensor out = device_empty(context, Shape{}, a.dtype());
    const std::size_t local = single_group_size(context);
    Launch launch(context, typed_kernel(context, "loss", a.dtype(), "mse_reduce"), "mse_reduce");
    launch.arg(cl_long(a.numel()));
    typed_arg(launch, a.dtype(), scale(node, a.numel())).arg(cl_int(mode));
    launch.mem(mem_of(a, "mse")).arg(cl_long(a.offset())).mem(mem_of(b, "mse")).arg(cl_long(b.offset()));
    launch.arg(cl_int(ta_in.defined())).mem(mem_of(ta, "mse")).arg(cl_long(ta.offset()));
    launch.arg(cl_int(tb_in.defined())).mem(mem_of(tb, "mse")).arg(cl_long(tb.offset()));
    launch.mem(mem_of(out, "mse")).local_bytes(local * dtype_size(a.dtype())).run(1, local);
    return out;
  }
  // L = s·Σ (a − b)², s = 1/N (mean) or 1 (sum)
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = reduce(c.node, c.inputs[0], c.inputs[1], Tensor(), Tensor(), 0);
  }
  // ā = ȳ·2s·(a − b),  b̄ = −ā
  void vjp(const VjpCall& c) const override {
    const Tensor& gy = c.output_cotangents[0];
    if (!gy.defined() || (!c.wanted[0] && !c.wanted[1])) return;
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &gy}, "mse");
    check_kernel_dtype(context, gy.dtype(), "mse");
    const Tensor a = contiguous_on(context, c.inputs[0]), b = contiguous_on(context, c.inputs[1]);
    Tensor da = device_empty(context, a.shape(), a.dtype()), db = device_empty(context, a.shape(), a.dtype());
    if (a.numel() > 0) {
      Launch launch(context, typed_kernel(context, "loss", a.dtype(), "mse_vjp"), "mse_vjp");
      launch.arg(cl_long(a.numel()));
      // T(2s) as the CPU rounds it, then multiplied by ȳ in T
      typed_arg(launch, a.dtype(), 2 * scale(c.node, a.numel()));
      launch.mem(mem_of(gy, "mse")).arg(cl_long(gy.offset()));
      launch.mem(mem_of(a, "mse")).arg(cl_long(a.offset())).mem(mem_of(b, "mse")).arg(cl_long(b.offset()));
      launch.arg(cl_int(c.wanted[0])).mem(mem_of(da, "mse")).arg(cl_int(c.wanted[1])).mem(mem_of(db, "mse"));
      launch.run_elements(a.numel());
    }
    if (c.wanted[0]) c.input_cotangents[0] = da;
    if (c.wanted[1]) c.input_cotangents[1] = db;
  }
  // L̇ = 2s·Σ (a − b)(ȧ − ḃ)
  void jvp(const JvpCall& c) const override {
    c.output_tangents[0] = reduce(c.node, c.inputs[0], c.inputs[1], c.input_tangents[0], c.input_tangents[1], 1);
  }
};

NODAL_REGISTER_IMPL("cross_entropy", Backend::opencl, CrossEntropyOpenCl);
NODAL_REGISTER_IMPL("mse", Backend::opencl, MseOpenCl);

}  // namespace
}  // namespace nodal::opencl
