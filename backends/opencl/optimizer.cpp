// The optimizers' device updates (nn/device_training.hpp) on kernels/optimizer.cl, registered
// for Backend::opencl when the library loads:
//   sgd              sgd_update                           1 launch per parameter tensor
//   adam / adamw     adam_update                          1 launch per parameter tensor
//   sum_of_squares   sum_squares per gradient + sum_partials    (gradients + 1) launches
//   clip             clip_scale                           1 launch per gradient
//   accumulate_classification  classification_metrics (kernels/loss.cl)   1 launch per batch
//   upload           a non-blocking write (async_upload.hpp)
// Nothing is downloaded: the norm stays on the device and clip_scale reads it there.
#include <fmt/format.h>

#include "nodal/backends/opencl/async_upload.hpp"
#include "nodal/backends/opencl/nn_common.hpp"
#include "nodal/nn/device_training.hpp"

namespace nodal::opencl {
namespace {

// Parameters and state are updated in place, so they must be contiguous; gradients may be views.
void check_in_place(const Tensor& t, std::string_view what, std::string_view op) {
  if (!t.is_contiguous())
    throw ValueError(fmt::format("{} (opencl): {} {} must be contiguous: it is updated in place", op, what, describe(t)));
}

class OpenClTrainingKernels final : public nn::DeviceTrainingKernels {
 public:
  void sgd(Tensor& param, const Tensor& grad_in, Tensor* buf, const nn::SgdScalars& s) override {
    Context& context = context_of({&param, &grad_in, buf}, "Sgd.step");
    const DType dt = param.dtype();
    check_kernel_dtype(context, dt, "Sgd.step");
    check_in_place(param, "parameter", "Sgd.step");
    if (buf) check_in_place(*buf, "momentum buffer", "Sgd.step");
    if (param.numel() == 0) return;
    const Tensor grad = contiguous_on(context, grad_in);
    const Tensor& b = buf ? *buf : param;  // a placeholder when there is no momentum
    Launch launch(context, typed_kernel(context, "optimizer", dt, "sgd_update"), "sgd_update");
    launch.arg(cl_long(param.numel())).mem(mem_of(param, "Sgd.step")).arg(cl_long(param.offset()));
    launch.mem(mem_of(grad, "Sgd.step")).arg(cl_long(grad.offset()));
    launch.arg(cl_int(buf != nullptr)).mem(mem_of(b, "Sgd.step")).arg(cl_long(b.offset()));
    for (double v : {s.lr, s.weight_decay, s.momentum, s.one_minus_dampening}) typed_arg(launch, dt, v);
    launch.arg(cl_int(s.first)).arg(cl_int(s.nesterov)).run_elements(param.numel());
  }

  void adam(Tensor& param, const Tensor& grad_in, Tensor& m, Tensor& v, const nn::AdamScalars& s) override {
    Context& context = context_of({&param, &grad_in, &m, &v}, "Adam.step");
    const DType dt = param.dtype();
    check_kernel_dtype(context, dt, "Adam.step");
    for (const Tensor* t : {&param, &m, &v}) check_in_place(*t, "parameter or state", "Adam.step");
    if (param.numel() == 0) return;
    const Tensor grad = contiguous_on(context, grad_in);
    Launch launch(context, typed_kernel(context, "optimizer", dt, "adam_update"), "adam_update");
    launch.arg(cl_long(param.numel())).mem(mem_of(param, "Adam.step")).arg(cl_long(param.offset()));
    launch.mem(mem_of(grad, "Adam.step")).arg(cl_long(grad.offset()));
    launch.mem(mem_of(m, "Adam.step")).arg(cl_long(m.offset())).mem(mem_of(v, "Adam.step")).arg(cl_long(v.offset()));
    for (double x : {s.l2, s.shrink, s.one_minus_beta1, s.beta2, s.one_minus_beta2, s.step_size, s.bias2_sqrt, s.eps})
      typed_arg(launch, dt, x);
    launch.run_elements(param.numel());
  }

  Tensor sum_of_squares(std::span<const Tensor> grads) override {
    std::vector<const Tensor*> defined;
    for (const Tensor& g : grads)
      if (g.defined()) defined.push_back(&g);
    Context& context = defined.empty() ? current_context() : context_of({defined[0]}, "grad_norm");
    // one dtype for the partial sums: float64 when any gradient is float64, else float32
    DType dt = DType::float32;
    for (const Tensor* g : defined) {
      context_of({g}, "grad_norm");
      check_kernel_dtype(context, g->dtype(), "grad_norm");
      if (g->dtype() == DType::float64) dt = DType::float64;
    }
    Tensor partial = Tensor::zeros(Shape{std::int64_t(std::max<std::size_t>(defined.size(), 1))}, dt, Backend::opencl);
    const std::size_t local = tree_group_size(context, 256);
    for (std::size_t k = 0; k < defined.size(); ++k) {
      const Tensor g = contiguous_on(context, defined[k]->astype(dt));
      Launch launch(context, typed_kernel(context, "optimizer", dt, "sum_squares"), "sum_squares");
      launch.arg(cl_long(g.numel())).mem(mem_of(g, "grad_norm")).arg(cl_long(g.offset()));
      launch.mem(mem_of(partial, "grad_norm")).arg(cl_int(k)).local_bytes(local * dtype_size(dt)).run(1, local);
    }
    Tensor total = device_empty(context, Shape{}, dt);
    Launch launch(context, typed_kernel(context, "optimizer", dt, "sum_partials"), "sum_partials");
    launch.arg(cl_int(defined.size())).mem(mem_of(partial, "grad_norm")).mem(mem_of(total, "grad_norm")).run(1, 1);
    return total;
  }

  void clip(std::span<Tensor> grads, const Tensor& total_in, double max_norm) override {
    for (Tensor& g : grads) {
      if (!g.defined()) continue;
      Context& context = context_of({&g, &total_in}, "clip_grad_norm");
      if (!g.is_contiguous()) g = contiguous_on(context, g);
      if (g.numel() == 0) continue;
      const Tensor total = total_in.astype(g.dtype());  // the same dtype in one launch (a no-op normally)
      Launch launch(context, typed_kernel(context, "optimizer", g.dtype(), "clip_scale"), "clip_scale");
      launch.arg(cl_long(g.numel())).mem(mem_of(g, "clip_grad_norm")).arg(cl_long(g.offset()));
      launch.mem(mem_of(total, "clip_grad_norm"));
      typed_arg(launch, g.dtype(), max_norm).run_elements(g.numel());
    }
  }

  void accumulate_classification(const Tensor& logits_in, const Tensor& labels_in, const Tensor& loss,
                                 Tensor& sums) override {
    Context& context = context_of({&logits_in, &labels_in, &loss, &sums}, "accumulate_classification");
    const DType dt = logits_in.dtype();
    check_kernel_dtype(context, dt, "accumulate_classification");
    if (logits_in.rank() != 2 || !(labels_in.shape() == Shape{logits_in.dim(0)}) || loss.numel() != 1 ||
        !(sums.shape() == Shape{2}) || labels_in.dtype() != dt || loss.dtype() != dt || sums.dtype() != dt ||
        !sums.is_contiguous() || sums.offset() != 0)
      throw ShapeError(fmt::format("accumulate_classification (opencl): needs logits [N, C], labels [N], a scalar "
                                   "loss and contiguous sums [2] of one dtype; got {}, {}, {}, {}",
                                   describe(logits_in), describe(labels_in), describe(loss), describe(sums)));
    const Tensor logits = contiguous_on(context, logits_in), labels = contiguous_on(context, labels_in);
    const std::size_t local = tree_group_size(context, 256);
    Launch launch(context, typed_kernel(context, "loss", dt, "classification_metrics"), "classification_metrics");
    launch.arg(cl_long(logits.dim(0))).arg(cl_long(logits.dim(1)));
    launch.mem(mem_of(logits, "metrics")).arg(cl_long(logits.offset()));
    launch.mem(mem_of(labels, "metrics")).arg(cl_long(labels.offset()));
    launch.mem(mem_of(loss, "metrics")).arg(cl_long(loss.offset())).mem(mem_of(sums, "metrics"));
    launch.local_bytes(local * dtype_size(dt)).run(1, local);
  }

  Tensor upload(const Tensor& host) override { return upload_async(current_context(), host); }
};

OpenClTrainingKernels kernels;
[[maybe_unused]] const bool registered = nn::register_device_training_kernels(Backend::opencl, &kernels);

}  // namespace
}  // namespace nodal::opencl
