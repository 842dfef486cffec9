// OpenCL max_pool2d, avg_pool2d and global_avg_pool2d (nodes/pool.hpp) on kernels/pool.cl and
// the reduce kernels; the CPU backend's rules (backends/cpu/pool.cpp), one launch per result:
//
//   max_pool2d      forward  y, idx      max_pool_forward (values and float64 indices together)
//                   vjp      x̄[i] = Σ_{o: idx[o] = i} ȳ[o]      max_pool_vjp (gather per input), or a
//                            zero fill + max_pool_vjp_disjoint (one item per output) when windows cannot overlap
//                   jvp      ẏ = ẋ[idx]                          max_pool_jvp
//   avg_pool2d      forward  y = Σ_window x / divisor           avg_pool_forward
//                   vjp      x̄ = Σ_{windows ∋ i} ȳ / divisor     avg_pool_vjp (gather per input)
//                   jvp      ẏ = avg_pool2d(ẋ)                   avg_pool_forward
//   global_avg      forward  y = mean_{h,w} x     vjp x̄ = ȳ / (H·W) broadcast     jvp ẏ = mean ẋ
//                   (the reduce kernels' sum with scale 1/(H·W), and scaled_copy)
#include <atomic>
#include <limits>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/pool.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/pool.hpp"

namespace nodal::opencl {
namespace {

cl_mem mem_of(const Tensor& t) { return device_buffer(*t.buffer(), "pool").mem(); }

std::atomic<MaxPoolVjp> vjp_kernel{MaxPoolVjp::automatic};

struct PoolArgs {
  cl_int planes;
  cl_int4 size, win, pad;
};
PoolArgs pack(const PoolGeometry& g, std::string_view node, const Tensor& x) {
  constexpr std::int64_t limit = std::numeric_limits<cl_int>::max();
  if (x.numel() >= limit || x.offset() >= limit - x.numel() || g.planes * g.out_h * g.out_w >= limit)
    throw BackendError(fmt::format("{} (opencl): input {} has 2^31 elements or more; the pooling kernels index with "
                                   "32-bit integers",
                                   node, to_string(x.shape())));
  PoolArgs a{};
  a.planes = cl_int(g.planes);
  a.size = {{cl_int(g.in_h), cl_int(g.in_w), cl_int(g.out_h), cl_int(g.out_w)}};
  a.win = {{cl_int(g.kernel[0]), cl_int(g.kernel[1]), cl_int(g.stride[0]), cl_int(g.stride[1])}};
  a.pad = {{cl_int(g.padding[0]), cl_int(g.padding[1]), cl_int(g.dilation[0]), cl_int(g.dilation[1])}};
  return a;
}

struct MaxPool2dOpenCl final : NodeImpl {
  // y[o] = max_{window(o)} x, idx[o] = argmax (first on ties, NaN wins)
  void forward(const ForwardCall& c) const override {
    const auto& node = c.as<MaxPool2d>();
    Context& context = context_of({&c.inputs[0]}, node.type());
    check_kernel_dtype(context, c.inputs[0].dtype(), node.type());
    const PoolGeometry g = node.geometry(c.inputs[0].shape());
    const Tensor x = dense(context, c.inputs[0]);
    const PoolArgs a = pack(g, node.type(), x);
    Tensor y = device_empty(context, g.output_shape, x.dtype());
    Tensor idx = device_empty(context, g.output_shape, DType::float64);
    if (y.numel() > 0) {
      Launch launch(context, typed_kernel(context, "pool", x.dtype(), "max_pool_forward"), "max_pool_forward");
      launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(y)).mem(mem_of(idx)).arg(a.planes).arg(a.size);
      launch.arg(a.win).arg(a.pad).run_elements(y.numel());
    }
    c.outputs[0] = y;
    c.outputs[1] = idx;
  }
  // x̄[i] = Σ_{o: idx[o] = i} ȳ[o]; the indices output carries no gradient
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const auto& node = c.as<MaxPool2d>();
    const Tensor& gy = c.output_cotangents[0];
    Context& context = context_of({&c.inputs[0], &gy, &c.outputs[1]}, node.type());
    const PoolGeometry g = node.geometry(c.inputs[0].shape());
    if (!gy.defined()) {
      c.input_cotangents[0] = device_zeros(context, c.inputs[0].shape(), c.inputs[0].dtype());
      return;
    }
    const Tensor grad = dense(context, gy), idx = dense(context, c.outputs[1]);
    const PoolArgs a = pack(g, node.type(), c.inputs[0]);
    // Windows that cannot overlap: a zero fill and one scatter item per output (conflict-free).
    const bool disjoint = g.stride[0] >= (g.kernel[0] - 1) * g.dilation[0] + 1 &&
                          g.stride[1] >= (g.kernel[1] - 1) * g.dilation[1] + 1;
    if (disjoint && max_pool_vjp_kernel() != MaxPoolVjp::gather) {
      Tensor dx = device_zeros(context, c.inputs[0].shape(), c.inputs[0].dtype());
      if (grad.numel() > 0) {
        Launch launch(context, typed_kernel(context, "pool", dx.dtype(), "max_pool_vjp_disjoint"), "max_pool_vjp_disjoint");
        launch.mem(mem_of(grad)).arg(cl_int(grad.offset())).mem(mem_of(idx)).arg(cl_int(idx.offset())).mem(mem_of(dx));
        launch.arg(a.planes).arg(a.size).run_elements(grad.numel());
      }
      c.input_cotangents[0] = dx;
      return;
    }
    Tensor dx = device_empty(context, c.inputs[0].shape(), c.inputs[0].dtype());
    if (dx.numel() > 0) {
      Launch launch(context, typed_kernel(context, "pool", dx.dtype(), "max_pool_vjp"), "max_pool_vjp");
      launch.mem(mem_of(grad)).arg(cl_int(grad.offset())).mem(mem_of(idx)).arg(cl_int(idx.offset())).mem(mem_of(dx));
      launch.arg(a.planes).arg(a.size).arg(a.win).arg(a.pad).run_elements(dx.numel());
    }
    c.input_cotangents[0] = dx;
  }
  // ẏ[o] = ẋ[idx[o]]; the indices' tangent is zero (left undefined)
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<MaxPool2d>();
    const Tensor& t = c.input_tangents[0];
    if (!t.defined()) return;
    Context& context = context_of({&t, &c.outputs[1]}, node.type());
    const PoolGeometry g = node.geometry(c.inputs[0].shape());
    const Tensor xdot = dense(context, t), idx = dense(context, c.outputs[1]);
    const PoolArgs a = pack(g, node.type(), xdot);
    Tensor ydot = device_empty(context, g.output_shape, xdot.dtype());
    if (ydot.numel() > 0) {
      Launch launch(context, typed_kernel(context, "pool", xdot.dtype(), "max_pool_jvp"), "max_pool_jvp");
      launch.mem(mem_of(xdot)).arg(cl_int(xdot.offset())).mem(mem_of(idx)).arg(cl_int(idx.offset())).mem(mem_of(ydot));
      launch.arg(a.planes).arg(a.size).run_elements(ydot.numel());
    }
    c.output_tangents[0] = ydot;
  }
};

struct AvgPool2dOpenCl final : NodeImpl {
  static Tensor pool(Context& context, const AvgPool2d& node, const Tensor& input) {
    check_kernel_dtype(context, input.dtype(), node.type());
    const PoolGeometry g = node.geometry(input.shape());
    const Tensor x = dense(context, input);
    const PoolArgs a = pack(g, node.type(), x);
    Tensor y = device_empty(context, g.output_shape, x.dtype());
    if (y.numel() > 0) {
      Launch launch(context, typed_kernel(context, "pool", x.dtype(), "avg_pool_forward"), "avg_pool_forward");
      launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(y)).arg(a.planes).arg(a.size).arg(a.win).arg(a.pad);
      launch.arg(cl_int(node.options().count_include_pad)).run_elements(y.numel());
    }
    return y;
  }
  // y = Σ_window x / divisor
  void forward(const ForwardCall& c) const override {
    const auto& node = c.as<AvgPool2d>();
    c.outputs[0] = pool(context_of({&c.inputs[0]}, node.type()), node, c.inputs[0]);
  }
  // x̄[i] = Σ_{o: i ∈ window(o)} ȳ[o] / divisor(o)
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const auto& node = c.as<AvgPool2d>();
    const Tensor& gy = c.output_cotangents[0];
    Context& context = context_of({&c.inputs[0], &gy}, node.type());
    if (!gy.defined()) {
      c.input_cotangents[0] = device_zeros(context, c.inputs[0].shape(), c.inputs[0].dtype());
      return;
    }
    const PoolGeometry g = node.geometry(c.inputs[0].shape());
    const Tensor grad = dense(context, gy);
    const PoolArgs a = pack(g, node.type(), c.inputs[0]);
    Tensor dx = device_empty(context, c.inputs[0].shape(), c.inputs[0].dtype());
    if (dx.numel() > 0) {
      Launch launch(context, typed_kernel(context, "pool", dx.dtype(), "avg_pool_vjp"), "avg_pool_vjp");
      launch.mem(mem_of(grad)).arg(cl_int(grad.offset())).mem(mem_of(dx)).arg(a.planes).arg(a.size).arg(a.win);
      launch.arg(a.pad).arg(cl_int(node.options().count_include_pad)).run_elements(dx.numel());
    }
    c.input_cotangents[0] = dx;
  }
  // ẏ = avg_pool2d(ẋ): the pool is linear
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<AvgPool2d>();
    if (!c.input_tangents[0].defined()) return;
    c.output_tangents[0] = pool(context_of({&c.input_tangents[0]}, node.type()), node, c.input_tangents[0]);
  }
};

struct GlobalAvgPool2dOpenCl final : NodeImpl {
  static Tensor means(Context& context, const Tensor& x) {
    std::vector<std::uint8_t> reduced(std::size_t(x.rank()), 0);
    reduced[std::size_t(x.rank() - 2)] = reduced[std::size_t(x.rank() - 1)] = 1;
    Shape out = x.shape();
    const std::int64_t plane = out[out.rank() - 2] * out[out.rank() - 1];
    out[out.rank() - 2] = out[out.rank() - 1] = 1;
    return sum_axes(context, x, reduced, 1.0 / double(plane)).reshape(out);
  }
  // y = mean_{h,w} x
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = means(context_of({&c.inputs[0]}, "global_avg_pool2d"), c.inputs[0]);
  }
  // x̄ = ȳ / (H·W), broadcast over the plane
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const Tensor& gy = c.output_cotangents[0];
    const Shape& s = c.inputs[0].shape();
    Context& context = context_of({&c.inputs[0], &gy}, "global_avg_pool2d");
    if (!gy.defined()) {
      c.input_cotangents[0] = device_zeros(context, s, c.inputs[0].dtype());
      return;
    }
    const double plane = double(s[s.rank() - 2] * s[s.rank() - 1]);
    c.input_cotangents[0] = scaled_copy(context, gy, s, 1.0 / plane);
  }
  // ẏ = mean_{h,w} ẋ
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    c.output_tangents[0] = means(context_of({&c.input_tangents[0]}, "global_avg_pool2d"), c.input_tangents[0]);
  }
};

NODAL_REGISTER_IMPL("max_pool2d", Backend::opencl, MaxPool2dOpenCl);
NODAL_REGISTER_IMPL("avg_pool2d", Backend::opencl, AvgPool2dOpenCl);
NODAL_REGISTER_IMPL("global_avg_pool2d", Backend::opencl, GlobalAvgPool2dOpenCl);

}  // namespace

void set_max_pool_vjp_kernel(MaxPoolVjp kernel) { vjp_kernel.store(kernel); }
MaxPoolVjp max_pool_vjp_kernel() { return vjp_kernel.load(); }

}  // namespace nodal::opencl
