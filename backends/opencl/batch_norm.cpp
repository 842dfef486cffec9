// OpenCL forward, vjp and jvp of batch_norm (nodes/batch_norm.hpp) on kernels/batch_norm.cl: one
// launch per node call, one work-group per channel.
//   forward  batch_norm_forward  statistics (batch or running), y = γ·x̂ + β, running-stat update
//   vjp      batch_norm_vjp      β̄ = Σȳ, γ̄ = Σȳ·x̂, x̄ = γ·inv_std·(ȳ − β̄/M − x̂·γ̄/M) (train) or γ·inv_std·ȳ
//   jvp      batch_norm_jvp      ẏ = γ̇·x̂ + β̇ + γ·inv_std·ẋ_c
// The running statistics (BatchNormState) must live on the same device as x: they are updated
// there in place, as the CPU updates them in host memory. Module::to(Backend::opencl) moves them
// with the model.
#include <fmt/format.h>

#include "nodal/backends/opencl/nn_common.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/batch_norm.hpp"

namespace nodal::opencl {
namespace {

struct Channels {
  std::int64_t n, c, s;
  explicit Channels(const Shape& x) : n(x[0]), c(x[1]), s(x.numel() / std::max<std::int64_t>(x[0] * x[1], 1)) {}
};

// The running statistics, checked to be on x's device and contiguous (they are written in place).
void check_state(const BatchNormState& st, const Tensor& x) {
  for (const Tensor* t : {&st.running_mean, &st.running_var})
    if (t->backend() != Backend::opencl || !t->is_contiguous())
      throw BackendError(fmt::format("batch_norm (opencl): x {} is on the device but the running statistics are {}; "
                                     "move the model with Module::to(Backend::opencl) (or create the BatchNormState "
                                     "with device tensors)",
                                     describe(x), describe(*t)));
}

std::size_t channel_group_size(const Context& context, const Channels& l) {
  return tree_group_size(context, l.n * l.s);
}

struct BatchNormOpenCl final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    BatchNormState& st = c.as<BatchNorm>().state();
    const Tensor& x_in = c.inputs[0];
    check_state(st, x_in);
    Context& context = context_of({&x_in, &c.inputs[1], &c.inputs[2], &st.running_mean, &st.running_var}, "batch_norm");
    check_kernel_dtype(context, x_in.dtype(), "batch_norm");
    const Channels l(x_in.shape());
    if (st.training && l.n * l.s == 0) throw ShapeError("batch_norm: training needs at least one element per channel");
    Tensor y = device_empty(context, x_in.shape(), x_in.dtype());
    if (y.numel() > 0) {
      const Tensor x = contiguous_on(context, x_in), g = contiguous_on(context, c.inputs[1]),
                   b = contiguous_on(context, c.inputs[2]);
      const std::int64_t m = l.n * l.s;
      const DType dt = x.dtype();
      const std::size_t local = channel_group_size(context, l);
      Launch launch(context, typed_kernel(context, "batch_norm", dt, "batch_norm_forward"), "batch_norm_forward");
      launch.arg(cl_long(l.n)).arg(cl_long(l.c)).arg(cl_long(l.s)).arg(cl_int(st.training)).arg(cl_int(1));
      typed_arg(launch, dt, st.eps);
      typed_arg(launch, dt, st.momentum);
      typed_arg(launch, dt, m > 1 ? double(m) / double(m - 1) : 1.0);
      launch.mem(mem_of(x, "batch_norm")).arg(cl_long(x.offset()));
      launch.mem(mem_of(g, "batch_norm")).arg(cl_long(g.offset())).mem(mem_of(b, "batch_norm")).arg(cl_long(b.offset()));
      launch.mem(mem_of(st.running_mean, "batch_norm")).arg(cl_long(st.running_mean.offset()));
      launch.mem(mem_of(st.running_var, "batch_norm")).arg(cl_long(st.running_var.offset()));
      launch.mem(mem_of(y, "batch_norm")).local_bytes(local * dtype_size(dt)).run(row_groups(l.c), local);
    }
    c.outputs[0] = y;
  }

  void vjp(const VjpCall& c) const override {
    const Tensor& dy_in = c.output_cotangents[0];
    if (!dy_in.defined() || (!c.wanted[0] && !c.wanted[1] && !c.wanted[2])) return;
    const BatchNormState& st = c.as<BatchNorm>().state();
    check_state(st, c.inputs[0]);
    Context& context = context_of({&c.inputs[0], &c.inputs[1], &dy_in, &st.running_mean, &st.running_var}, "batch_norm");
    check_kernel_dtype(context, c.inputs[0].dtype(), "batch_norm");
    const Tensor x = contiguous_on(context, c.inputs[0]), g = contiguous_on(context, c.inputs[1]),
                 dy = contiguous_on(context, dy_in);
    const Channels l(x.shape());
    const DType dt = x.dtype();
    Tensor dx = device_empty(context, x.shape(), dt);
    Tensor dgamma = device_empty(context, Shape{l.c}, dt), dbeta = device_empty(context, Shape{l.c}, dt);
    if (l.n * l.s == 0) {  // nothing to sum: zero parameter gradients (x̄ is empty too)
      dgamma = Tensor::zeros(Shape{l.c}, dt, Backend::opencl);
      dbeta = Tensor::zeros(Shape{l.c}, dt, Backend::opencl);
    } else {
      const std::size_t local = channel_group_size(context, l);
      Launch launch(context, typed_kernel(context, "batch_norm", dt, "batch_norm_vjp"), "batch_norm_vjp");
      launch.arg(cl_long(l.n)).arg(cl_long(l.c)).arg(cl_long(l.s)).arg(cl_int(st.training));
      typed_arg(launch, dt, st.eps);
      launch.mem(mem_of(x, "batch_norm")).arg(cl_long(x.offset())).mem(mem_of(g, "batch_norm")).arg(cl_long(g.offset()));
      launch.mem(mem_of(st.running_mean, "batch_norm")).arg(cl_long(st.running_mean.offset()));
      launch.mem(mem_of(st.running_var, "batch_norm")).arg(cl_long(st.running_var.offset()));
      launch.mem(mem_of(dy, "batch_norm")).arg(cl_long(dy.offset())).arg(cl_int(c.wanted[0]));
      launch.mem(mem_of(dx, "batch_norm")).mem(mem_of(dgamma, "batch_norm")).mem(mem_of(dbeta, "batch_norm"));
      launch.local_bytes(local * dtype_size(dt)).run(row_groups(l.c), local);
    }
    if (c.wanted[0]) c.input_cotangents[0] = dx;
    if (c.wanted[1]) c.input_cotangents[1] = dgamma;
    if (c.wanted[2]) c.input_cotangents[2] = dbeta;
  }

  void jvp(const JvpCall& c) const override {
    const BatchNormState& st = c.as<BatchNorm>().state();
    const Tensor &tx = c.input_tangents[0], &tg = c.input_tangents[1], &tb = c.input_tangents[2];
    check_state(st, c.inputs[0]);
    Context& context =
        context_of({&c.inputs[0], &c.inputs[1], &tx, &tg, &tb, &st.running_mean, &st.running_var}, "batch_norm");
    check_kernel_dtype(context, c.inputs[0].dtype(), "batch_norm");
    const Tensor x = contiguous_on(context, c.inputs[0]), g = contiguous_on(context, c.inputs[1]);
    const Channels l(x.shape());
    const DType dt = x.dtype();
    Tensor out = device_empty(context, x.shape(), dt);
    if (out.numel() > 0) {
      // missing tangents: never-read placeholders (the kernel's has_* flag is 0)
      const Tensor dxt = tx.defined() ? contiguous_on(context, tx) : x;
      const Tensor dgt = tg.defined() ? contiguous_on(context, tg) : g;
      const Tensor dbt = tb.defined() ? contiguous_on(context, tb) : g;
      const std::size_t local = channel_group_size(context, l);
      Launch launch(context, typed_kernel(context, "batch_norm", dt, "batch_norm_jvp"), "batch_norm_jvp");
      launch.arg(cl_long(l.n)).arg(cl_long(l.c)).arg(cl_long(l.s)).arg(cl_int(st.training));
      typed_arg(launch, dt, st.eps);
      launch.mem(mem_of(x, "batch_norm")).arg(cl_long(x.offset())).mem(mem_of(g, "batch_norm")).arg(cl_long(g.offset()));
      launch.mem(mem_of(st.running_mean, "batch_norm")).arg(cl_long(st.running_mean.offset()));
      launch.mem(mem_of(st.running_var, "batch_norm")).arg(cl_long(st.running_var.offset()));
      launch.arg(cl_int(tx.defined())).mem(mem_of(dxt, "batch_norm")).arg(cl_long(dxt.offset()));
      launch.arg(cl_int(tg.defined())).mem(mem_of(dgt, "batch_norm")).arg(cl_long(dgt.offset()));
      launch.arg(cl_int(tb.defined())).mem(mem_of(dbt, "batch_norm")).arg(cl_long(dbt.offset()));
      launch.mem(mem_of(out, "batch_norm")).local_bytes(local * dtype_size(dt)).run(row_groups(l.c), local);
    }
    c.output_tangents[0] = out;
  }
};

NODAL_REGISTER_IMPL("batch_norm", Backend::opencl, BatchNormOpenCl);

}  // namespace
}  // namespace nodal::opencl
