// Host side of kernels/gemm.cl: shape checks, broadcasting of batch axes, the tile configuration
// per device, and the launch (one per run of batch axes that merge into one stride; normally one).
#include "nodal/backends/opencl/gemm.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

std::mutex forced_mutex;
GemmTiles forced_tiles;  // tile_m = 0: none forced

std::size_t local_bytes(const GemmTiles& t, DType dtype) {
  return std::size_t(t.tile_k) * std::size_t(t.tile_m + t.tile_n + 2) * dtype_size(dtype);
}

bool fits(const Context& context, const GemmTiles& t, DType dtype) {
  return std::size_t(t.threads()) <= context.device().max_work_group_size &&
         local_bytes(t, dtype) <= context.device().local_memory;
}

cl_kernel gemm_kernel(Context& context, DType dtype, const GemmTiles& t) {
  // The same arithmetic options as every other kernel (launch.cpp: no relaxed math), plus tiles.
  const std::string options = fmt::format(
      "{} -DTILE_M={} -DTILE_N={} -DTILE_K={} -DWORK_M={} -DWORK_N={}{}",
      dtype == DType::float64 ? "-cl-std=CL1.2 -DT=double -DNODAL_FP64"
                              : "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DT=float",
      t.tile_m, t.tile_n, t.tile_k, t.work_m, t.work_n, t.vector_n ? " -DVECTOR_N" : "");
  return context.programs().kernel("gemm.cl", kernel_source("gemm"), options, "gemm");
}

// Batch axes of the three operands after dropping extent-1 axes and merging neighbours that every
// operand steps through as one axis (so a contiguous stack is one axis, however many it had).
struct BatchAxes {
  std::vector<std::int64_t> extents;
  std::vector<std::int64_t> strides[3];
};
BatchAxes merge_batch(const Shape& batch, const Tensor* ops[3]) {
  BatchAxes out;
  for (int d = 0; d < batch.rank(); ++d) {
    if (batch[d] == 1) continue;
    bool merge = !out.extents.empty();
    for (int k = 0; merge && k < 3; ++k) merge = out.strides[k].back() == ops[k]->strides()[d] * batch[d];
    if (merge) {
      out.extents.back() *= batch[d];
      for (int k = 0; k < 3; ++k) out.strides[k].back() = ops[k]->strides()[d];
    } else {
      out.extents.push_back(batch[d]);
      for (int k = 0; k < 3; ++k) out.strides[k].push_back(ops[k]->strides()[d]);
    }
  }
  if (out.extents.empty()) {
    out.extents.push_back(1);
    for (auto& s : out.strides) s.push_back(0);
  }
  return out;
}

}  // namespace

GemmTiles gemm_tiles(const Context& context, DType dtype) {
  // GPUs: 64×64 tiles of C per group of 16×16 work-items, 4×4 results each in registers, K in
  // steps of 16 (8.3 KiB of local memory in float32, 16.6 KiB in float64).
  // CPU devices (PoCL): a work-group is a loop over its work-items and local memory is ordinary
  // cached memory. 64×64 tiles, K steps of 16 (both tiles, 16.6 KiB in float64, stay in L1), 8×4
  // work-items of 8 rows × one 16-wide vector of adjacent columns (VECTOR_N: the SIMD spelled out,
  // since PoCL does not vectorise across work-items around an inner loop). Measured on PoCL 3.1
  // (2-core AVX-512 Xeon, shared): 24 GFLOP/s float32 at 1024³ against 2.9 for the GPU layout.
  const bool cpu = context.device().type.find("cpu") != std::string::npos;
  {
    const std::lock_guard lock(forced_mutex);
    if (forced_tiles.tile_m > 0) return forced_tiles;
  }
  const GemmTiles preferred = cpu ? GemmTiles{64, 64, 16, 8, 16, 1} : GemmTiles{64, 64, 16, 4, 4, 0};
  if (fits(context, preferred, dtype)) return preferred;
  const GemmTiles small{16, 16, 8, 2, 2};  // 64 work-items, ≤ 2.3 KiB: any OpenCL 1.2 device
  if (fits(context, small, dtype)) return small;
  return GemmTiles{4, 4, 4, 1, 1};  // 16 work-items: a device below the OpenCL minimums
}

void force_gemm_tiles(const GemmTiles& tiles) {
  const std::lock_guard lock(forced_mutex);
  forced_tiles = tiles;
}

void gemm(const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta, std::string_view op,
          const Tensor* add) {
  if (a.rank() < 2 || b.rank() < 2 || c.rank() < 2)
    throw ShapeError(fmt::format("{} (opencl gemm): operands need two matrix axes; got a {}, b {}, c {}", op,
                                 to_string(a.shape()), to_string(b.shape()), to_string(c.shape())));
  const std::int64_t M = a.shape()[a.rank() - 2], K = a.shape()[a.rank() - 1], N = b.shape()[b.rank() - 1];
  const Shape batch(std::vector<std::int64_t>(c.shape().begin(), c.shape().end() - 2));
  const auto broadcasts = [&](const Tensor& t) {
    if (t.rank() - 2 > batch.rank()) return false;
    for (int d = 0; d < t.rank() - 2; ++d) {
      const std::int64_t e = t.shape()[d], want = batch[batch.rank() - (t.rank() - 2) + d];
      if (e != 1 && e != want) return false;
    }
    return true;
  };
  if (b.shape()[b.rank() - 2] != K || c.shape()[c.rank() - 2] != M || c.shape()[c.rank() - 1] != N ||
      !broadcasts(a) || !broadcasts(b))
    throw ShapeError(fmt::format("{} (opencl gemm): a {} · b {} does not fit c {} (want a [..., M, K], b [..., K, N], "
                                 "c [..., M, N], batch axes of a and b broadcasting to c's)",
                                 op, to_string(a.shape()), to_string(b.shape()), to_string(c.shape())));
  if (a.dtype() != c.dtype() || b.dtype() != c.dtype())
    throw DTypeError(fmt::format("{} (opencl gemm): dtypes differ: a {}, b {}, c {}", op, dtype_name(a.dtype()),
                                 dtype_name(b.dtype()), dtype_name(c.dtype())));
  Tensor d;  // the epilogue's addend as an [M, N] view (broadcast axes stride 0)
  if (add && add->defined()) {
    if (add->dtype() != c.dtype())
      throw DTypeError(fmt::format("{} (opencl gemm): the addend is {} but c is {}", op, dtype_name(add->dtype()),
                                   dtype_name(c.dtype())));
    if (add->rank() > 2 || (add->rank() >= 1 && add->shape()[add->rank() - 1] != 1 && add->shape()[add->rank() - 1] != N) ||
        (add->rank() == 2 && add->shape()[0] != 1 && add->shape()[0] != M))
      throw ShapeError(fmt::format("{} (opencl gemm): the addend {} does not broadcast to the matrix shape [{}, {}]", op,
                                   to_string(add->shape()), M, N));
    d = add->expand(Shape{M, N});
  }
  Context& context = context_of({&a, &b, &c, &d}, op);
  check_kernel_dtype(context, c.dtype(), op);
  if (c.numel() == 0) return;

  Shape a_full = batch, b_full = batch;
  a_full.push_back(M), a_full.push_back(K);
  b_full.push_back(K), b_full.push_back(N);
  const Tensor ea = a.expand(a_full), eb = b.expand(b_full);
  const Tensor* ops[3] = {&ea, &eb, &c};
  const BatchAxes axes = merge_batch(batch, ops);

  const GemmTiles tiles = gemm_tiles(context, c.dtype());
  const std::int64_t tiles_m = (M + tiles.tile_m - 1) / tiles.tile_m, tiles_n = (N + tiles.tile_n - 1) / tiles.tile_n;
  const cl_kernel kernel = gemm_kernel(context, c.dtype(), tiles);
  const int br = batch.rank();
  const std::int64_t inner = axes.extents.back();
  // One launch per index of the batch axes that did not merge into the innermost one (normally none).
  std::int64_t outer = 1;
  for (std::size_t d = 0; d + 1 < axes.extents.size(); ++d) outer *= axes.extents[d];
  for (std::int64_t o = 0; o < outer; ++o) {
    std::int64_t offset[3] = {ea.offset(), eb.offset(), c.offset()}, rest = o;
    for (int d = int(axes.extents.size()) - 2; d >= 0; --d) {
      const std::int64_t i = rest % axes.extents[d];
      rest /= axes.extents[d];
      for (int k = 0; k < 3; ++k) offset[k] += i * axes.strides[k][d];
    }
    Launch launch(context, kernel, "gemm");
    launch.arg(cl_long(M)).arg(cl_long(N)).arg(cl_long(K)).arg(cl_long(tiles_m)).arg(cl_long(tiles_n));
    launch.real(c.dtype(), alpha);
    launch.real(c.dtype(), beta);
    launch.mem(device_buffer(*ea.buffer(), op).mem()).arg(cl_long(offset[0]));
    launch.arg(cl_long(ea.strides()[br])).arg(cl_long(ea.strides()[br + 1])).arg(cl_long(axes.strides[0].back()));
    launch.mem(device_buffer(*eb.buffer(), op).mem()).arg(cl_long(offset[1]));
    launch.arg(cl_long(eb.strides()[br])).arg(cl_long(eb.strides()[br + 1])).arg(cl_long(axes.strides[1].back()));
    launch.mem(device_buffer(*c.buffer(), op).mem()).arg(cl_long(offset[2]));
    launch.arg(cl_long(c.strides()[br])).arg(cl_long(c.strides()[br + 1])).arg(cl_long(axes.strides[2].back()));
    if (d.defined()) {
      launch.mem(device_buffer(*d.buffer(), op).mem()).arg(cl_long(d.offset()));
      launch.arg(cl_long(d.strides()[0])).arg(cl_long(d.strides()[1]));
    } else {
      launch.mem(nullptr).arg(cl_long(0)).arg(cl_long(0)).arg(cl_long(0));
    }
    launch.run(std::size_t(tiles_m * tiles_n * inner), std::size_t(tiles.threads()));
  }
}

Tensor matmul_batched(const Tensor& a, const Tensor& b, std::string_view op) {
  if (a.rank() < 2 || b.rank() < 2)
    throw ShapeError(fmt::format("{} (opencl gemm): operands need two matrix axes; got a {}, b {}", op,
                                 to_string(a.shape()), to_string(b.shape())));
  const Shape a_batch(std::vector<std::int64_t>(a.shape().begin(), a.shape().end() - 2));
  const Shape b_batch(std::vector<std::int64_t>(b.shape().begin(), b.shape().end() - 2));
  Shape full = broadcast_shapes(a_batch, b_batch, op);
  full.push_back(a.shape()[a.rank() - 2]);
  full.push_back(b.shape()[b.rank() - 1]);
  Context& context = context_of({&a, &b}, op);
  Tensor c = device_empty(context, full, a.dtype());
  gemm(a, b, c, 1.0, 0.0, op);
  return c;
}

}  // namespace nodal::opencl
