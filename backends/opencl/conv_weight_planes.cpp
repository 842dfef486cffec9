// Host side of kernels/conv_weight_planes.cl: the choice of blocking (work-group size, channel and
// tap blocks, output tile, pixel splits) by a small cost model, the pieces of samples, and the
// launch plus the reduce launch that sums the pieces.
#include "nodal/backends/opencl/conv_weight_planes.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

constexpr int wob = 4, wtb = 2;  // WOB and WTB in the kernel: output channels and taps per item
// Local memory per group: a quarter of the 48 KiB a GPU work-group may use, so that several groups
// share a compute unit.
constexpr std::int64_t budget_bytes = 12 * 1024;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

struct Window {
  std::int64_t rows, cols, pitch;  // XR, XQ, XP
};
Window window_of(const ConvGeometry& g, std::int64_t br, std::int64_t bc) {
  const std::int64_t rows = (br - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  const std::int64_t cols = (bc - 1) * g.stride[2] + (g.kernel[2] - 1) * g.dilation[2] + 1;
  return {rows, cols, cols | 1};
}
std::int64_t stage_elements(const ConvGeometry& g, std::int64_t obw, std::int64_t cb, std::int64_t br, std::int64_t bc) {
  const Window w = window_of(g, br, bc);
  return obw * ((br * bc) | 1) + cb * w.rows * w.pitch;
}

// The largest output tile whose stage fits `budget` elements: whole rows when one fits (coalesced
// loads), else the widest band of one row; then the tile evened out over the plane (fewer idle
// pixels in the last tile). False when not even one output fits.
bool fit_tile(const ConvGeometry& g, std::int64_t obw, std::int64_t cb, std::int64_t budget, PlanesPlan& p) {
  const std::int64_t OH = g.out[1], OW = g.out[2];
  std::int64_t bc = OW, br = 0;
  for (;;) {
    std::int64_t lo = 0, hi = OH;  // the largest br in [1, OH] that fits, by bisection (monotone)
    while (lo < hi) {
      const std::int64_t mid = (lo + hi + 1) / 2;
      if (stage_elements(g, obw, cb, mid, bc) <= budget) lo = mid;
      else hi = mid - 1;
    }
    br = lo;
    if (br > 0) break;
    if (bc == 1) return false;
    bc = (bc + 1) / 2;
  }
  p.tiles_x = int(ceil_div(OW, bc));
  p.tiles_y = int(ceil_div(OH, br));
  p.bc = int(ceil_div(OW, p.tiles_x));
  p.br = int(ceil_div(OH, p.tiles_y));
  return true;
}

// Cost per sample in warp instructions (rough): the multiply-add loop, the staging loop (index
// arithmetic and a global load per element) and two barriers, per tile and work-group.
double cost_of(const ConvGeometry& g, const PlanesPlan& p, std::int64_t columns) {
  const std::int64_t P = std::int64_t(p.br) * p.bc;
  const Window w = window_of(g, p.br, p.bc);
  const double warps = double(ceil_div(std::min<std::int64_t>(p.items, std::int64_t(p.s) * columns), 32));
  const double compute = warps * double(ceil_div(P, p.s)) * (wtb * wob + wob + wtb + 4);
  const double staged = double(p.obw * P + p.cb * w.rows * w.cols);
  const double stage = double(p.items / 32) * double(ceil_div(std::int64_t(staged), p.items)) * 24;
  const double barriers = 2.0 * (p.items / 32) * 8;
  return double(p.groups_per_piece) * p.tiles_y * p.tiles_x * (compute + stage + barriers);
}

// Local-memory wavefronts of the multiply-add loop's x reads for the first pixel of every active
// warp: per warp and per read, the most distinct addresses that share one bank (equal addresses
// are a broadcast), summed. Banks are 4 bytes wide, 32 of them (a double spans two: 16 pairs).
int x_read_wavefronts(const ConvGeometry& g, const PlanesPlan& p, std::int64_t columns, int xp, int xplane, int banks) {
  const int pairs = int(ceil_div(p.tb, wtb)), kpix = int(g.kernel[1] * g.kernel[2]);
  const int active = int(std::min<std::int64_t>(p.items, std::int64_t(p.s) * columns));
  int total = 0;
  std::vector<int> seen;  // (bank, address) pairs of one warp's read
  for (int w0 = 0; w0 < active; w0 += 32)
    for (int i = 0; i < wtb; ++i) {
      seen.clear();
      for (int l = w0; l < std::min(w0 + 32, active); ++l) {
        const int split = int(l / columns), col = int(l % columns);
        const int pair = col % pairs, cc = (col / pairs) % p.cb;
        const int t = std::min(std::min(pair + i * pairs, p.tb - 1), kpix - 1);
        const int off = int((t / g.kernel[2]) * g.dilation[1] * xp + (t % g.kernel[2]) * g.dilation[2]);
        const int xo = int((split / p.bc) * g.stride[1] * xp + (split % p.bc) * g.stride[2]);
        seen.push_back(cc * xplane + xo + off);
      }
      std::sort(seen.begin(), seen.end());
      seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
      std::vector<int> per_bank(std::size_t(banks), 0);
      int worst = 0;
      for (int a : seen) worst = std::max(worst, ++per_bank[std::size_t(a % banks)]);
      total += worst;
    }
  return total;
}

// The odd row pitch in [XQ | 1, +30] and window pitch in [XR · XP, +31] with the fewest x-read
// wavefronts whose stage still fits `budget` (ties: the least memory).
void choose_pitches(const ConvGeometry& g, PlanesPlan& p, std::int64_t budget, int banks) {
  const Window w = window_of(g, p.br, p.bc);
  const std::int64_t columns = (p.obw / wob) * std::int64_t(p.cb) * ceil_div(p.tb, wtb);
  const std::int64_t ystage = std::int64_t(p.obw) * ((std::int64_t(p.br) * p.bc) | 1);
  p.xp = int(w.pitch);
  p.xplane = int(w.rows * w.pitch);
  int best = x_read_wavefronts(g, p, columns, p.xp, p.xplane, banks);
  std::int64_t best_size = ystage + p.cb * std::int64_t(p.xplane);
  for (std::int64_t xp = w.pitch; xp <= w.pitch + 30; xp += 2)
    for (std::int64_t xplane = w.rows * xp; xplane <= w.rows * xp + 31; ++xplane) {
      const std::int64_t size = ystage + p.cb * xplane;
      if (size > budget || xplane >= std::numeric_limits<int>::max()) continue;
      const int waves = x_read_wavefronts(g, p, columns, int(xp), int(xplane), banks);
      if (waves < best || (waves == best && size < best_size)) {
        best = waves, best_size = size;
        p.xp = int(xp), p.xplane = int(xplane);
      }
    }
}

}  // namespace

std::optional<PlanesPlan> plan_weight_planes_for(const ConvGeometry& g, DType dtype, std::size_t max_group_size,
                                                 std::uint64_t local_memory) {
  const std::int64_t esize = std::int64_t(dtype_size(dtype));
  const std::int64_t budget = std::min<std::int64_t>(budget_bytes, std::int64_t(local_memory) / 2) / esize;
  const std::int64_t cin_g = g.in_per_group(), cout_g = g.out_per_group(), kpix = g.kernel[1] * g.kernel[2];
  std::optional<PlanesPlan> best;
  double best_cost = std::numeric_limits<double>::infinity();
  // Three work-group sizes only: PoCL compiles a kernel anew for every local size it meets.
  for (const int items : {64, 128, 256}) {
    if (std::size_t(items) > max_group_size) continue;
    for (const int obw : {4, 8, 12, 16, 24, 32}) {
      if (obw > ceil_div(cout_g, wob) * wob) break;
      for (std::int64_t cb = 1; cb <= std::min<std::int64_t>(cin_g, 32); ++cb)
        for (std::int64_t m = 1, last_tb = 0; m <= std::min<std::int64_t>(kpix, 16); ++m) {
          const std::int64_t tb = ceil_div(kpix, m);
          if (tb == last_tb) continue;
          last_tb = tb;
          const std::int64_t columns = (obw / wob) * cb * ceil_div(tb, wtb);
          if (columns > items) continue;
          PlanesPlan p;
          p.items = items;
          p.obw = obw;
          p.cb = int(cb);
          p.tb = int(tb);
          if (!fit_tile(g, obw, cb, budget, p)) continue;
          const std::int64_t P = std::int64_t(p.br) * p.bc;
          p.s = int(std::min<std::int64_t>(items / columns, P));
          if (p.s > 1 && std::int64_t(items) * wtb * wob > budget) p.s = 1;  // no room to combine splits
          const std::int64_t stage = stage_elements(g, obw, cb, p.br, p.bc);
          p.local_bytes = std::size_t(std::max<std::int64_t>(stage, p.s > 1 ? items * wtb * wob : 0) * esize);
          p.groups_per_piece = g.groups * ceil_div(cout_g, obw) * ceil_div(cin_g, cb) * ceil_div(kpix, tb);
          const double cost = cost_of(g, p, columns);
          if (cost < best_cost) best_cost = cost, best = p;
        }
    }
  }
  if (best) {
    choose_pitches(g, *best, budget, esize == 8 ? 16 : 32);
    const std::int64_t stage = std::int64_t(best->obw) * ((std::int64_t(best->br) * best->bc) | 1) +
                               std::int64_t(best->cb) * best->xplane;
    best->local_bytes =
        std::size_t(std::max<std::int64_t>(stage, best->s > 1 ? std::int64_t(best->items) * wtb * wob : 0) * esize);
  }
  return best;
}

std::optional<PlanesPlan> plan_weight_planes(const Context& context, const ConvPass& pass, const DType dtype) {
  const ConvGeometry& g = pass.g;
  if (pass.boundary != Boundary::zero || g.in[0] != 1 || g.kernel[0] != 1 || g.out[0] != 1) return std::nullopt;
  if (g.in_per_group() == 0 || g.out_per_group() == 0 || g.out_pixels() == 0) return std::nullopt;
  static std::mutex mutex;
  static std::map<std::tuple<cl_device_id, std::string, DType>, std::optional<PlanesPlan>> cache;
  const auto key = std::make_tuple(context.device().id, g.key(), dtype);
  std::lock_guard lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end())
    it = cache.emplace(key, plan_weight_planes_for(g, dtype, context.device().max_work_group_size,
                                                   context.device().local_memory))
             .first;
  return it->second;
}

Tensor weight_gradient_planes(Context& context, const ConvPass& pass, const PlanesPlan& plan, const Tensor& x,
                              const Tensor& dy, const Shape& w_shape) {
  const ConvGeometry& g = pass.g;
  const std::int64_t weights = w_shape.numel();
  // Pieces of samples: enough work-groups to occupy the device (4 per compute unit; down to one
  // sample per piece for small batches), and a partial buffer no larger than the data it sums
  // (its reduction then costs less than the staging reads).
  const std::int64_t target = 4 * std::int64_t(std::max(1u, context.device().compute_units));
  const std::int64_t data = x.numel() + dy.numel();
  std::int64_t pieces = ceil_div(target, plan.groups_per_piece);
  pieces = std::min({pieces, g.batch, std::max<std::int64_t>(1, data / weights)});
  pieces = std::max<std::int64_t>(1, pieces);
  const std::int64_t chunk = ceil_div(g.batch, pieces);
  pieces = ceil_div(g.batch, chunk);  // no empty piece
  if (weights * pieces >= std::numeric_limits<cl_int>::max() ||
      plan.groups_per_piece * pieces >= std::numeric_limits<cl_int>::max())
    throw BackendError(fmt::format("{} (opencl): {} weights × {} pieces exceed the kernels' 32-bit indices ({})",
                                   pass.node, weights, pieces, g.key()));
  Tensor partial = device_empty(context, Shape{weights, pieces}, x.dtype());
  const char* name = "conv_weight_planes";
  Launch launch(context, typed_kernel(context, "conv_weight_planes", x.dtype(), name), name);
  launch.mem(device_buffer(*x.buffer(), "conv").mem()).arg(cl_int(x.offset()));
  launch.mem(device_buffer(*dy.buffer(), "conv").mem()).arg(cl_int(dy.offset()));
  launch.mem(device_buffer(*partial.buffer(), "conv").mem()).arg(cl_int(chunk)).arg(cl_int(pieces));
  geometry_args(launch, pack(pass)).local_bytes(plan.local_bytes);
  launch.arg(cl_int4{{plan.obw, plan.cb, plan.tb, plan.s}}).arg(cl_int4{{plan.br, plan.bc, plan.tiles_y, plan.tiles_x}});
  launch.arg(cl_int2{{plan.xp, plan.xplane}});
  launch.run(std::size_t(plan.groups_per_piece * pieces), std::size_t(plan.items));
  if (pieces == 1) return partial.reshape(w_shape);
  const std::uint8_t reduced[] = {0, 1};
  return sum_axes(context, partial, reduced, 1.0).reshape(w_shape);
}

}  // namespace nodal::opencl
