// The optimizers' device updates (nn/device_training.hpp) on kernels/optimizer.cl, registered
// for Backend::opencl when the library loads:
//   sgd              sgd_update                           1 launch per 8 parameter tensors
//   adam / adamw     adam_update                          1 launch per 8 parameter tensors
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

constexpr std::size_t max_fused = 8;  // kernels/optimizer.cl's MAX_FUSED

// The arguments of one fused update (kernels/optimizer.cl): per role (parameter, gradient, state
// slots), up to 8 tensors' buffers and offsets, and the running element counts. Parameters and
// state are updated in place, so they must be contiguous; a non-contiguous gradient is copied.
struct Fused {
  Fused(std::string_view op, int roles) : op(op), roles(roles) {}
  // tensors in role order: parameter, gradient, state...
  void add(std::initializer_list<const Tensor*> role_tensors) {
    const Tensor& param = **role_tensors.begin();
    Context& c = context_of({&param}, op);
    if (!context) {
      context = &c;
      dtype = param.dtype();
      check_kernel_dtype(c, dtype, op);
    }
    std::size_t r = 0;
    for (const Tensor* t : role_tensors) {
      if (r >= std::size_t(roles)) break;
      context_of({t}, op);  // BackendError for a tensor on the host or another device
      if (t->dtype() != dtype || !(t->shape() == param.shape()))
        throw ValueError(fmt::format("{} (opencl): {} does not match the parameter {} of a fused update", op,
                                     describe(*t), describe(param)));
      Tensor view = *t;
      if (!view.is_contiguous()) {
        if (r != 1)
          throw ValueError(fmt::format("{} (opencl): {} must be contiguous: it is updated in place", op, describe(view)));
        view = contiguous_on(*context, view);
      }
      kept.push_back(view);  // alive until the launch is queued
      mems[r].push_back(mem_of(view, op));
      offsets[r].s[count] = view.offset();
      ++r;
    }
    total += param.numel();
    for (std::size_t k = count; k < max_fused; ++k) ends.s[k] = total;  // unused slots end where the last does
    ++count;
  }
  // The 8 buffer arguments of role r; unused slots repeat the first tensor's (never reached).
  void buffers(Launch& launch, int r) {
    for (std::size_t k = 0; k < max_fused; ++k) launch.mem(k < mems[r].size() ? mems[r][k] : mems[r][0]);
  }
  std::string_view op;
  int roles;
  Context* context = nullptr;
  DType dtype = DType::float32;
  std::int64_t total = 0;
  std::size_t count = 0;
  cl_long8 ends{};
  cl_long8 offsets[4]{};
  std::vector<cl_mem> mems[4];
  std::vector<Tensor> kept;
};

class OpenClTrainingKernels final : public nn::DeviceTrainingKernels {
 public:
  void sgd(std::span<const nn::SgdTensors> tensors, const nn::SgdScalars& s) override {
    const bool momentum = !tensors.empty() && tensors[0].momentum_buffer;
    for (std::size_t first = 0; first < tensors.size(); first += max_fused) {
      Fused f("Sgd.step", momentum ? 3 : 2);
      for (std::size_t k = first; k < std::min(tensors.size(), first + max_fused); ++k) {
        const nn::SgdTensors& t = tensors[k];
        if (bool(t.momentum_buffer) != momentum)
          throw ValueError("Sgd.step (opencl): parameters of one fused update must all have a momentum buffer or none");
        f.add({t.param, t.grad, t.momentum_buffer});
      }
      if (f.total == 0) continue;
      Launch launch(*f.context, typed_kernel(*f.context, "optimizer", f.dtype, "sgd_update"), "sgd_update");
      launch.arg(cl_long(f.total)).arg(f.ends).arg(f.offsets[0]).arg(f.offsets[1]).arg(f.offsets[momentum ? 2 : 0]);
      launch.arg(cl_int(momentum));
      f.buffers(launch, 0);
      f.buffers(launch, 1);
      f.buffers(launch, momentum ? 2 : 0);  // a placeholder without momentum: never touched
      for (double v : {s.lr, s.weight_decay, s.momentum, s.one_minus_dampening}) typed_arg(launch, f.dtype, v);
      launch.arg(cl_int(s.first)).arg(cl_int(s.nesterov)).run_elements(f.total);
    }
  }

  void adam(std::span<const nn::AdamTensors> tensors, const nn::AdamScalars& s) override {
    for (std::size_t first = 0; first < tensors.size(); first += max_fused) {
      Fused f("Adam.step", 4);
      for (std::size_t k = first; k < std::min(tensors.size(), first + max_fused); ++k)
        f.add({tensors[k].param, tensors[k].grad, tensors[k].exp_avg, tensors[k].exp_avg_sq});
      if (f.total == 0) continue;
      Launch launch(*f.context, typed_kernel(*f.context, "optimizer", f.dtype, "adam_update"), "adam_update");
      launch.arg(cl_long(f.total)).arg(f.ends);
      for (int r = 0; r < 4; ++r) launch.arg(f.offsets[r]);
      for (int r = 0; r < 4; ++r) f.buffers(launch, r);
      for (double x : {s.l2, s.shrink, s.one_minus_beta1, s.beta2, s.one_minus_beta2, s.step_size, s.bias2_sqrt, s.eps})
        typed_arg(launch, f.dtype, x);
      launch.run_elements(f.total);
    }
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
