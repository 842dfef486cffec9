#pragma once
// The plane-staged weight gradient of a 2-D convolution on a GPU (kernels/conv_weight_planes.cl):
// every tap of a block of weights from one local-memory copy of the ȳ planes and x windows.
// conv_backward_weight (conv_direct.cpp) calls it where it applies and falls back to the tree
// kernel elsewhere.
#include <cstdint>
#include <optional>

#include "nodal/backends/opencl/conv_direct.hpp"

namespace nodal::opencl {

// The kernel's blocking for one problem (see the kernel's comment).
struct PlanesPlan {
  int items = 0;                      // work-group size L
  int obw = 0, cb = 0, tb = 0, s = 0;  // output channels, input channels, taps per group; pixel splits
  int br = 0, bc = 0, tiles_y = 0, tiles_x = 0;  // output tile and tile counts
  int xp = 0, xplane = 0;             // x window row and window pitches in local memory
  std::int64_t groups_per_piece = 0;  // work-groups per piece of samples
  std::size_t local_bytes = 0;
};

// The plan, or nothing where the kernel does not apply: 3-D problems, a non-zero boundary, or a
// kernel window too large for the local-memory budget even with one output per tile.
std::optional<PlanesPlan> plan_weight_planes(const Context& context, const ConvPass& pass, DType dtype);

// The search behind it for a device with these limits (any geometry with D = KD = 1; tests and
// tools): the blocking of least estimated cost whose stage fits min(12 KiB, local_memory / 2).
std::optional<PlanesPlan> plan_weight_planes_for(const ConvGeometry& g, DType dtype, std::size_t max_group_size,
                                                 std::uint64_t local_memory);

// dw [Cout, Cin/groups, Kpix] as a new tensor of w_shape, by the planes kernel with `plan`.
Tensor weight_gradient_planes(Context& context, const ConvPass& pass, const PlanesPlan& plan, const Tensor& x,
                              const Tensor& dy, const Shape& w_shape);

}  // namespace nodal::opencl
