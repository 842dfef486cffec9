#pragma once
// The `gemm` convolution algorithm on OpenCL: im2col (kernels/conv_direct.cl) + opencl::gemm
// (backends/opencl/gemm.hpp). Called by the conv_direct.hpp passes when ConvPass::gemm is set;
// same contracts (contiguous device operands, bias fused where the direct pass fuses it).
//
//   cols [Cin·K, N·|O|]  (row (c, j): the input each output reads through tap j)
//   forward  y[n, g] = w_g · cols_g[n]              one batched GEMM (batch: groups × samples)
//   dx       dcols_g = w_gᵀ · dy_g, dx = col2im     one GEMM + a gather
//   dw       dw_g = dy_g · cols_gᵀ                  one GEMM over N·|O| (dy regrouped by one copy)
#include "nodal/backends/opencl/conv_direct.hpp"

namespace nodal::opencl {

void gemm_conv_forward(Context& context, const ConvPass& pass, const Tensor& x, const Tensor& w, const Tensor& b,
                       Tensor& y, bool accumulate);
void gemm_conv_backward_input(Context& context, const ConvPass& pass, const Tensor& dy, const Tensor& w,
                              const Tensor& b, Tensor& dx, bool accumulate);
Tensor gemm_conv_backward_weight(Context& context, const ConvPass& pass, const Tensor& x, const Tensor& dy,
                                 const Shape& w_shape);

}  // namespace nodal::opencl
