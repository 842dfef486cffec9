#pragma once
// Batched matrix products on the device (kernels/gemm.cl), for the matmul and linear nodes and
// for any kernel family that lowers to GEMM (convolution via im2col):
//
//   c[..., m, n] = alpha · Σ_k a[..., m, k] · b[..., k, n] + beta · c[..., m, n]
//
// Operands are tensors of one device and one real dtype, given as views: any strides, so a
// transposed operand is `t.transpose(-2, -1)` (no copy), and batch axes broadcast (a and b are
// expanded to c's batch shape: an extent-1 or missing batch axis is stride 0). c is written in
// place (it may itself be a strided view; it must not overlap a or b). beta = 0 never reads c.
#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl {

// a [..., M, K], b [..., K, N], c [..., M, N] (rank ≥ 2 each; a's and b's batch axes broadcast
// to c's). ShapeError / DTypeError naming `op` when they do not fit; BackendError when they live
// on the host or on two devices.
// `add`, when given, is a tensor broadcastable to the matrix shape [M, N] (a bias [N] along the
// columns, [M, 1] along the rows, or a full [M, N]; the same for every batch) added last, in the
// same launch: c = alpha·a·b + beta·c + add.
void gemm(const Tensor& a, const Tensor& b, Tensor& c, double alpha = 1.0, double beta = 0.0,
          std::string_view op = "gemm", const Tensor* add = nullptr);

// a·b as a new contiguous tensor [batch..., M, N], batch = broadcast of a's and b's batch axes.
Tensor matmul_batched(const Tensor& a, const Tensor& b, std::string_view op = "gemm");

// The tile configuration gemm uses on `context`'s device for `dtype` (for docs, tests, benches).
struct GemmTiles {
  int tile_m = 0, tile_n = 0, tile_k = 0, work_m = 0, work_n = 0;
  int vector_n = 0;  // 1: each work-item's WORK_N columns are adjacent and one vector (CPU devices)
  int threads() const { return (tile_m / work_m) * (tile_n / work_n); }
};
GemmTiles gemm_tiles(const Context& context, DType dtype);
// Forces one configuration on every device from now on (tests: run the GPU layout on PoCL);
// GemmTiles{} (all zero) returns to the per-device choice. Process-wide. Tile sizes must be
// powers of two with WORK_* dividing TILE_*, and fit the device (not checked).
void force_gemm_tiles(const GemmTiles& tiles);

}  // namespace nodal::opencl
