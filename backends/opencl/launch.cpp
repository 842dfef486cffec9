#include "nodal/backends/opencl/launch.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_profile.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {

Context& context_of(std::initializer_list<const Tensor*> tensors, std::string_view op) {
  Context* found = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    if (t->backend() != Backend::opencl)
      throw BackendError(fmt::format("{} (opencl): input {} lives on backend '{}'; move it with .to(Backend::opencl)", op,
                                     describe(*t), backend_name(t->backend())));
    Context& c = device_buffer(*t->buffer(), op).context();
    if (found && found != &c)
      throw BackendError(fmt::format("{} (opencl): inputs live on two devices ({} and {}); move them to one", op,
                                     found->device().spec(), c.device().spec()));
    found = &c;
  }
  return found ? *found : current_context();
}

Tensor device_empty(Context& context, const Shape& shape, DType dtype) {
  return Tensor(context.pool().allocate(std::size_t(shape.numel()) * dtype_size(dtype)), shape,
                contiguous_strides(shape), 0, dtype);
}

void check_kernel_dtype(const Context& context, DType dtype, std::string_view op) {
  if (is_complex(dtype))
    throw DTypeError(fmt::format("{} (opencl): {} is not supported by the OpenCL kernels yet (float32, float64)", op,
                                 dtype_name(dtype)));
  if (dtype == DType::float64 && !context.device().fp64)
    throw DTypeError(fmt::format("{} (opencl): device {} ({}) has no cl_khr_fp64, so no float64 kernels", op,
                                 context.device().spec(), context.device().name));
}

void check_complex_kernel_dtype(const Context& context, DType dtype, std::string_view op) {
  check_kernel_dtype(context, real_dtype(dtype), op);
}

cl_kernel typed_kernel(Context& context, std::string_view program, DType dtype, std::string_view kernel) {
  // No -cl-fast-relaxed-math / -cl-mad-enable: results must stay within a few ulp of the CPU
  // backend, and these kernels are memory-bound, so fused or relaxed arithmetic buys nothing.
  // -cl-fp32-correctly-rounded-divide-sqrt: float32 x / y and sqrt rounded as IEEE (and the CPU)
  // round them; OpenCL allows 2.5 and 3 ulp otherwise, and NVIDIA's driver uses that freedom.
  const std::string_view options = dtype == DType::float64
                                       ? "-cl-std=CL1.2 -DT=double -DNODAL_FP64"
                                       : "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DT=float";
  return context.programs().kernel(fmt::format("{}.cl", program), kernel_source(program), options, kernel);
}

namespace {

StridedLayout collapse(std::vector<std::int64_t> extents, std::vector<std::vector<std::int64_t>> strides,
                       std::span<const Tensor> views) {
  // drop extent-1 axes (their strides never matter)
  std::vector<std::int64_t> e;
  std::vector<std::vector<std::int64_t>> s(strides.size());
  for (std::size_t d = 0; d < extents.size(); ++d) {
    if (extents[d] == 1) continue;
    e.push_back(extents[d]);
    for (std::size_t k = 0; k < strides.size(); ++k) s[k].push_back(strides[k][d]);
  }
  // merge axis d into d-1 where every operand steps through both as one axis
  std::vector<std::int64_t> ce;
  std::vector<std::vector<std::int64_t>> cs(strides.size());
  for (std::size_t d = 0; d < e.size(); ++d) {
    bool merge = !ce.empty();
    for (std::size_t k = 0; merge && k < s.size(); ++k) merge = cs[k].back() == s[k][d] * e[d];
    if (merge) {
      ce.back() *= e[d];
      for (std::size_t k = 0; k < s.size(); ++k) cs[k].back() = s[k][d];
    } else {
      ce.push_back(e[d]);
      for (std::size_t k = 0; k < s.size(); ++k) cs[k].push_back(s[k][d]);
    }
  }
  if (ce.empty()) {  // a scalar or all-ones shape: one element
    ce.push_back(1);
    for (auto& v : cs) v.push_back(0);
  }
  if (ce.size() > std::size_t(max_kernel_rank))
    throw BackendError(fmt::format("opencl: a view needs {} axes after merging; the kernels take at most {}", ce.size(),
                                   max_kernel_rank));
  StridedLayout layout;
  layout.rank = cl_int(ce.size());
  layout.numel = 1;
  for (std::size_t d = 0; d < ce.size(); ++d) {
    layout.shape.s[d] = ce[d];
    layout.numel *= ce[d];
  }
  for (std::size_t d = ce.size(); d < 8; ++d) layout.shape.s[d] = 1;
  for (std::size_t k = 0; k < views.size(); ++k) {
    StridedOperand o;
    o.mem = device_buffer(*views[k].buffer(), "opencl kernel").mem();
    o.offset = views[k].offset();
    for (std::size_t d = 0; d < 8; ++d) o.strides.s[d] = d < cs[k].size() ? cs[k][d] : 0;
    layout.operands.push_back(o);
  }
  return layout;
}

}  // namespace

StridedLayout strided_layout(const Shape& shape, std::span<const Tensor> views) {
  std::vector<std::int64_t> extents(shape.begin(), shape.end());
  std::vector<std::vector<std::int64_t>> strides;
  std::vector<Tensor> expanded;
  for (const Tensor& v : views) {
    expanded.push_back(v.shape() == shape ? v : v.expand(shape));
    const Strides& st = expanded.back().strides();
    strides.emplace_back(st.begin(), st.end());
  }
  return collapse(std::move(extents), std::move(strides), expanded);
}

StridedLayout permuted_layout(const Tensor& view, std::span<const int> axes) {
  std::vector<std::int64_t> extents, strides;
  for (int a : axes) {
    extents.push_back(view.shape()[a]);
    strides.push_back(view.strides()[a]);
  }
  return collapse(std::move(extents), {std::move(strides)}, std::span<const Tensor>(&view, 1));
}

Tensor pointwise_launch(Context& context, std::string_view program, std::string_view kernel, int op, double constant,
                        std::span<const Tensor> views) {
  const Tensor& x = views[0];
  Tensor out = device_empty(context, x.shape(), x.dtype());
  if (x.numel() == 0) return out;
  const StridedLayout l = strided_layout(x.shape(), views);
  Launch launch(context, typed_kernel(context, program, x.dtype(), kernel), kernel);
  launch.arg(cl_int(op)).real(x.dtype(), constant).shape(l);
  for (const StridedOperand& o : l.operands) launch.operand(o);
  launch.mem(device_buffer(*out.buffer(), kernel).mem()).run_elements(l.numel);
  return out;
}

std::size_t elementwise_group_size(const Context& context) {
  return std::min<std::size_t>(256, std::max<std::size_t>(1, context.device().max_work_group_size));
}

Launch::Launch(Context& context, cl_kernel kernel, std::string_view name)
    : context_(context), kernel_(kernel), name_(name), lock_(context.launch_mutex()) {}

Launch& Launch::raw(std::size_t size, const void* value) {
  check(clSetKernelArg(kernel_, index_, size, value), "clSetKernelArg", fmt::format("{} argument {}", name_, index_));
  ++index_;
  return *this;
}

void Launch::run(std::size_t groups, std::size_t local) {
  const std::size_t global = groups * local;
  cl_event event = nullptr;
  const bool profile = kernel_profiling();
  check(clEnqueueNDRangeKernel(context_.queue(), kernel_, 1, nullptr, &global, &local, 0, nullptr,
                               profile ? &event : nullptr),
        "clEnqueueNDRangeKernel", fmt::format("{} with {} groups of {}", name_, groups, local));
  detail::note_launch();
  if (profile) detail::record_kernel(name_, event);
  lock_.unlock();
}

void Launch::run_elements(std::int64_t n) {
  const std::size_t local = elementwise_group_size(context_);
  // One element per work-item up to 2^20 groups (beyond, the kernels' grid-stride loop takes
  // over): PoCL vectorises across work-items only when each runs its loop once; capping at 4096
  // groups made a 16M-element add 2.5x slower there.
  const std::size_t groups = std::clamp<std::size_t>((std::size_t(n) + local - 1) / local, 1, 1 << 20);
  run(groups, local);
}

}  // namespace nodal::opencl
