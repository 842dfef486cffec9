#pragma once
// The direct convolution passes on an OpenCL device (kernels/conv_direct.cl), shared by the
// conv, conv_transpose, convolve/correlate and separable_conv2d implementations:
//
//   forward          y (+)= x ⋆ w (+ b)                 general, 2-D tiled or image kernel
//   backward input   dx (+)= dy ⋆ᵀ w (+ b)              a gather: one item per dx element
//   backward weight  dw = Σ_{n,p} dy · x̃ (shifted)      staged planes, serial or tree partial sums, then pieces summed
//   bias gradient    db = Σ_{n,p} dy                    the reduce kernels
//
// Every tensor argument must be a contiguous device tensor (its offset may be non-zero):
// `dense` makes one. Geometry is a ConvGeometry (nodes/conv.hpp) plus flip and a boundary rule
// for the input read (zero for conv; replicate/circular for the signal nodes).
#include <string_view>

#include "nodal/backends/opencl/cl.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/nodes/conv.hpp"

namespace nodal::opencl {

// Which forward kernel runs: automatic (the local-tile kernel wherever it applies, else the
// general one; the image kernel measured slower on PoCL, so only when forced), or one
// forced where it applies (falls back to general where it does not: float64 for image, 3-D or a
// non-zero boundary for tiled and image). Process-wide; NODAL_CONV_KERNEL=general|tiled|image sets
// the initial value.
enum class ConvKernel { automatic, general, tiled, image };
void set_conv_kernel(ConvKernel kernel);
ConvKernel conv_kernel();
// The kernel the forward pass would use for this problem (tests and logs).
ConvKernel chosen_conv_kernel(Context& context, const ConvGeometry& g, DType dtype, int boundary);

// Which weight- and bias-gradient kernels run: automatic (the rows kernels on CPU devices; on
// other devices the planes kernel (conv_weight_planes.hpp) where it applies, i.e. 1-D and 2-D
// problems with a zero boundary, else the tree kernel; b̄ by the reduce kernels) or one family
// forced (planes falls back to tree where it does not apply; tests cover every family on any
// device). Process-wide; NODAL_CONV_WEIGHT_KERNEL=rows|tree|planes sets the initial value.
enum class ConvWeightKernel { automatic, rows, tree, planes };
void set_conv_weight_kernel(ConvWeightKernel kernel);

// Whether forward kernels may read the weights from __constant memory when they fit (default);
// false forces the __global variants everywhere (tests cover both). Process-wide.
void set_conv_constant_weights(bool allowed);

enum class Boundary : int { zero = 0, replicate = 1, circular = 2 };

struct ConvPass {
  ConvGeometry g;
  bool flip = false;
  Boundary boundary = Boundary::zero;
  std::string_view node;  // for messages
  bool gemm = false;      // the `gemm` algorithm (conv_gemm.hpp) instead of the direct kernels
};

// The six int4 geometry arguments of every conv kernel (layout in kernels/conv_direct.cl), and
// setting them on a launch.
struct PackedGeometry {
  cl_int4 in, out, ksize, step, dil, pad;
};
PackedGeometry pack(const ConvPass& pass);
class Launch;
Launch& geometry_args(Launch& launch, const PackedGeometry& k);

// t itself when contiguous, else a contiguous device copy.
Tensor dense(Context& context, const Tensor& t);
// A new zero-filled contiguous tensor in `context` (clEnqueueFillBuffer, no host round trip).
Tensor device_zeros(Context& context, const Shape& shape, DType dtype);
// The node's `algorithm` attribute on OpenCL: auto, measure, direct and gemm pass (the spectral
// ones are checked by conv_spectral.cpp before); any other name raises BackendError naming the
// node, the algorithm and the backend.
void check_conv_algorithm(std::string_view node, std::string_view algorithm);

// y = x ⋆ w (+ b), or y += ... when `accumulate` (y then must be the right shape already).
// b may be undefined. x [N, Cin, *S], w [Cout, Cin/groups, *K] (any rank, read flat).
void conv_forward(Context& context, const ConvPass& pass, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y,
                  bool accumulate);
// dx = dy ⋆ᵀ w (+ b), or dx += ...; zero boundary only.
void conv_backward_input(Context& context, const ConvPass& pass, const Tensor& dy, const Tensor& w, const Tensor& b,
                         Tensor& dx, bool accumulate);
// dw [Cout, Cin/groups, Kpix] flat as a new tensor of `w_shape`.
Tensor conv_backward_weight(Context& context, const ConvPass& pass, const Tensor& x, const Tensor& dy,
                            const Shape& w_shape);
// db[c] = Σ_{n,p} dy[n, c, p] for dy [batch, channels, pixels] (any view of that many elements).
Tensor conv_bias_gradient(Context& context, const Tensor& dy, std::int64_t batch, std::int64_t channels,
                          std::int64_t pixels);
// dx[r, i] = Σ_{t: src(start + t) = i} dxe[r, t]: the adjoint of the signal nodes' boundary gather.
Tensor signal_fold(Context& context, const Tensor& dxe, std::int64_t rows, std::int64_t n, std::int64_t padded,
                   std::int64_t start, Boundary boundary, const Shape& x_shape);

}  // namespace nodal::opencl
