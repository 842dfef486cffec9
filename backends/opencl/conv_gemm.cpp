// The `gemm` convolution algorithm on OpenCL (conv_gemm.hpp): im2col / col2im in
// kernels/conv_direct.cl, the products through opencl::gemm with groups and samples as its
// broadcast batch axes, so each pass is one GEMM launch (per gemm's batch rules) plus the
// lowering kernels. Memory: the column matrix, Cin·K·N·|O| elements.
#include "nodal/backends/opencl/conv_gemm.hpp"

#include <limits>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/gemm.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

cl_mem mem_of(const Tensor& t) { return device_buffer(*t.buffer(), "conv gemm").mem(); }

struct Sizes {
  std::int64_t groups, cin_g, cout_g, K, N, O;
};
Sizes sizes_of(const ConvPass& p) {
  return {p.g.groups, p.g.in_per_group(), p.g.out_per_group(), p.g.kernel_pixels(), p.g.batch, p.g.out_pixels()};
}

void check_columns(const ConvPass& p) {
  const double elements = double(p.g.in_channels) * double(p.g.kernel_pixels()) * double(p.g.batch) *
                          double(p.g.out_pixels());
  if (elements >= double(std::numeric_limits<cl_int>::max()))
    throw BackendError(fmt::format("{} (opencl): algorithm 'gemm' needs a column matrix of {:.0f} elements, beyond the "
                                   "kernels' 32-bit indices; use algorithm=direct ({})",
                                   p.node, elements, p.g.key()));
}

// cols [groups, cin_g·K, N·|O|] of x (the taps every output reads, flip and boundary applied).
Tensor im2col(Context& context, const ConvPass& p, const Tensor& x) {
  check_columns(p);
  const Sizes s = sizes_of(p);
  Tensor cols = device_empty(context, Shape{s.groups, s.cin_g * s.K, s.N * s.O}, x.dtype());
  if (cols.numel() == 0) return cols;
  Launch launch(context, typed_kernel(context, "conv_direct", x.dtype(), "conv_im2col"), "conv_im2col");
  launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(cols));
  geometry_args(launch, pack(p)).run_elements(cols.numel());
  return cols;
}

// dy [N, groups·cout_g, |O|] regrouped as [groups, cout_g, N·|O|] (one copy launch).
Tensor grouped(Context& context, const Sizes& s, const Tensor& dy) {
  const Tensor view = dy.reshape(Shape{s.N, s.groups, s.cout_g, s.O}).transpose(0, 1).transpose(1, 2);
  return scaled_copy(context, view, view.shape(), 1.0).reshape(Shape{s.groups, s.cout_g, s.N * s.O});
}

}  // namespace

// y[n, g] (+)= w_g · cols_g[n] (+ b): batch axes (groups, samples), w broadcast over samples.
void gemm_conv_forward(Context& context, const ConvPass& p, const Tensor& x, const Tensor& w, const Tensor& b,
                       Tensor& y, bool accumulate) {
  check_kernel_dtype(context, x.dtype(), p.node);
  const Sizes s = sizes_of(p);
  if (y.numel() == 0) return;
  if (accumulate && b.defined())
    throw BackendError(fmt::format("{} (opencl): internal error: bias with an accumulating gemm pass", p.node));
  double beta = accumulate ? 1.0 : 0.0;
  if (b.defined()) {  // y starts as the broadcast bias, the product is added to it
    const Tensor bias = b.reshape(Shape{1, s.groups * s.cout_g, 1});
    const Tensor filled = scaled_copy(context, bias, Shape{s.N, s.groups * s.cout_g, s.O}, 1.0);
    y = filled.reshape(y.shape());
    beta = 1.0;
  }
  if (s.cin_g * s.K == 0) {
    if (beta == 0.0) y = device_zeros(context, y.shape(), y.dtype());
    return;
  }
  const Tensor cols = im2col(context, p, x);
  const Tensor a = w.reshape(Shape{s.groups, 1, s.cout_g, s.cin_g * s.K});
  const Tensor bmat = cols.reshape(Shape{s.groups, s.cin_g * s.K, s.N, s.O}).transpose(1, 2);
  Tensor c = y.reshape(Shape{s.N, s.groups, s.cout_g, s.O}).transpose(0, 1);
  gemm(a, bmat, c, 1.0, beta, p.node);
}

// dcols_g = w_gᵀ · dy_g, then dx (+)= col2im(dcols) (+ b).
void gemm_conv_backward_input(Context& context, const ConvPass& p, const Tensor& dy, const Tensor& w, const Tensor& b,
                              Tensor& dx, bool accumulate) {
  check_kernel_dtype(context, dy.dtype(), p.node);
  check_columns(p);
  const Sizes s = sizes_of(p);
  if (dx.numel() == 0) return;
  Tensor dcols = device_empty(context, Shape{s.groups, s.cin_g * s.K, s.N * s.O}, dy.dtype());
  if (dcols.numel() > 0) {
    if (s.cout_g == 0) dcols = device_zeros(context, dcols.shape(), dy.dtype());
    else gemm(w.reshape(Shape{s.groups, s.cout_g, s.cin_g * s.K}).transpose(1, 2), grouped(context, s, dy), dcols, 1.0,
              0.0, p.node);
  }
  const Tensor& bias = b.defined() ? b : dy;
  Launch launch(context, typed_kernel(context, "conv_direct", dy.dtype(), "conv_col2im"), "conv_col2im");
  launch.mem(mem_of(dcols)).mem(mem_of(bias)).arg(cl_int(bias.offset())).mem(mem_of(dx)).arg(cl_int(b.defined()));
  launch.arg(cl_int(accumulate));
  geometry_args(launch, pack(p)).run_elements(dx.numel());
}

// dw_g = dy_g · cols_gᵀ, summed over samples and pixels by the GEMM's k axis.
Tensor gemm_conv_backward_weight(Context& context, const ConvPass& p, const Tensor& x, const Tensor& dy,
                                 const Shape& w_shape) {
  check_kernel_dtype(context, x.dtype(), p.node);
  const Sizes s = sizes_of(p);
  if (w_shape.numel() == 0) return device_empty(context, w_shape, x.dtype());
  if (s.N * s.O == 0) return device_zeros(context, w_shape, x.dtype());
  Tensor dw = device_empty(context, w_shape, x.dtype());
  Tensor c = dw.reshape(Shape{s.groups, s.cout_g, s.cin_g * s.K});
  const Tensor cols = im2col(context, p, x);
  gemm(grouped(context, s, dy), cols.transpose(1, 2), c, 1.0, 0.0, p.node);
  return dw;
}

}  // namespace nodal::opencl
