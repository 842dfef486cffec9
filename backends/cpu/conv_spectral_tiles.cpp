// Tiles and transform sizes of the spectral convolutions, and their cost model.
//
// Notation per axis: P = S + pad_before + pad_after (padded input), span = d·(K−1) + 1 (dilated
// kernel), Z = (O−1)·s + 1 (the stride-1 output grid z whose every s-th point is y), and the x data
// that any output reads lies in [a, b) = [pad_before, pad_before + S) ∩ [0, Z + span − 1).
//
// Why a transform of L ≥ tile + span − 1 points gives the linear result (no wrap-around reaches a
// point that is read), for the three passes of one tile: every method places the tile so that its z
// lies on local [0, U) and its x data on local [x0, x1), with x1 ≤ L and U + span − 1 ≤ L + x0
// (whole and overlap-save: U = tile ≤ L − span + 1, x0 ≥ 0; overlap-add: x0 = span − 1, U ≤ L):
//   forward  z_u = Σ_k x_{u + k·d} w_k: for a read u and 0 ≤ k·d < span, u + k·d lies in
//            [0, L + x0); below L the residue mod L is the index itself, and the points of
//            [L, L + x0) wrap onto [0, x0), outside x's support, where the linear x is zero too.
//   dx       dx_v = Σ_k dz_{v − k·d} w_k for v in [x0, x1): v − k·d ≥ x0 − span + 1, and a negative
//            index wraps to ≥ L + x0 − span + 1 ≥ U, outside dz's support [0, U) as well.
//   dw       dw_m = Σ_u x_{u+m} dz_u, m = k·d < span: u + m in [0, L + x0) as for the forward.
// For "whole" (one tile) L = next_smooth(Z + span − 1) ≤ next_smooth(P), the smallest 2·3·5·7-
// smooth size at least the padded extent actually read (= H + K − 1 for 'same' padding).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_cost.hpp"
#include "nodal/backends/cpu/conv_spectral.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/convolve.hpp"

namespace nodal::cpu::spectral {
namespace {

struct Axis {
  std::int64_t span, z, a, b;  // dilated kernel, stride-1 output extent, x data range [a, b)
};
Axis axis_of(const ConvGeometry& g, int ax) {
  const std::size_t i = std::size_t(ax);
  Axis r;
  r.span = g.dilation[i] * (g.kernel[i] - 1) + 1;
  r.z = (g.out[i] - 1) * g.stride[i] + 1;
  r.a = g.pad_before[i];
  r.b = std::min(g.pad_before[i] + g.in[i], r.z + r.span - 1);
  return r;
}

std::int64_t smooth(std::int64_t n) { return std::int64_t(fft::next_smooth_size(std::size_t(std::max<std::int64_t>(n, 1)))); }

// Transform sizes, steps and tile counts; the tiles themselves only when `with_tiles`.
TilePlan plan_of(const ConvGeometry& g, const TileConfig& config, bool with_tiles) {
  TilePlan plan;
  plan.method = config.method;
  std::array<Axis, 3> axes;
  for (int a = 0; a < 3; ++a) {
    const Axis ax = axes[std::size_t(a)] = axis_of(g, a);
    const std::size_t i = std::size_t(a);
    if (config.method == TileMethod::whole) {
      plan.length[i] = smooth(ax.z + ax.span - 1);
      plan.step[i] = ax.z;
      plan.count[i] = 1;
      continue;
    }
    const std::int64_t tile = config.tile[i];
    if (tile < 1)
      throw ValueError(fmt::format("conv (spectral tiles): tile extent must be ≥ 1 on every axis, got {} on axis {} "
                                   "for {}",
                                   tile, a, g.key()));
    plan.step[i] = tile;
    plan.length[i] = smooth(tile + ax.span - 1);
    const std::int64_t extent = config.method == TileMethod::overlap_save ? ax.z : std::max<std::int64_t>(ax.b - ax.a, 0);
    plan.count[i] = (extent + tile - 1) / tile;
  }
  if (!with_tiles) return plan;
  for (std::int64_t t0 = 0; t0 < plan.count[0]; ++t0)
    for (std::int64_t t1 = 0; t1 < plan.count[1]; ++t1)
      for (std::int64_t t2 = 0; t2 < plan.count[2]; ++t2) {
        Tile tile;
        tile.index = {t0, t1, t2};
        bool empty = false;
        for (std::size_t i = 0; i < 3; ++i) {
          const Axis& ax = axes[i];
          const std::int64_t t = tile.index[i], step = plan.step[i];
          switch (plan.method) {
            case TileMethod::whole:
            case TileMethod::overlap_save:
              tile.origin[i] = t * step;
              tile.z_lo[i] = t * step;
              tile.z_hi[i] = std::min((t + 1) * step, ax.z);
              tile.x_lo[i] = std::max(t * step, ax.a);
              tile.x_hi[i] = std::min(t * step + step + ax.span - 1, ax.b);
              break;
            case TileMethod::overlap_add: {
              // The block's x starts at local span − 1, so that its z (from span − 1 before the block
              // to its end) starts at local 0: neither range wraps around the box, and both move
              // between the tensors and the box as contiguous runs.
              const std::int64_t block = ax.a + t * step;
              tile.origin[i] = block - (ax.span - 1);
              tile.x_lo[i] = block;
              tile.x_hi[i] = std::min(block + step, ax.b);
              tile.z_lo[i] = std::max<std::int64_t>(block - (ax.span - 1), 0);
              tile.z_hi[i] = std::min(block + step, ax.z);
              break;
            }
          }
          // A tile without x data contributes nothing to y or dw, and has no dx to write.
          if (tile.x_lo[i] >= tile.x_hi[i] || tile.z_lo[i] >= tile.z_hi[i]) empty = true;
        }
        if (!empty) plan.tiles.push_back(tile);
      }
  return plan;
}

}  // namespace

TilePlan make_tile_plan(const ConvGeometry& g, const TileConfig& config) { return plan_of(g, config, true); }

std::size_t tile_colour(const ConvGeometry& g, const TilePlan& plan, std::size_t t, TileWrites writes) {
  const bool overlapping = (plan.method == TileMethod::overlap_add && writes == TileWrites::y) ||
                           (plan.method == TileMethod::overlap_save && writes == TileWrites::dx);
  if (!overlapping) return 0;
  std::array<std::int64_t, 3> m{};
  for (int a = 0; a < 3; ++a) {
    const std::size_t i = std::size_t(a);
    const std::int64_t span = axis_of(g, a).span;
    m[i] = (plan.step[i] + span - 1 + plan.step[i] - 1) / plan.step[i];
  }
  const std::array<std::int64_t, 3>& idx = plan.tiles[t].index;
  return std::size_t(((idx[0] % m[0]) * m[1] + idx[1] % m[1]) * m[2] + idx[2] % m[2]);
}

double estimated_seconds(const ConvGeometry& g, DType dtype, const TileConfig& config) {
  using namespace conv_cost;
  const TilePlan plan = plan_of(g, config, false);
  const double points = double(plan.points());
  const double tiles = double(plan.count[0] * plan.count[1] * plan.count[2]);
  const double pairs = double((g.batch + 1) / 2);
  const double c = double(g.in_channels), o = double(g.out_channels), cg = double(g.in_per_group());
  const double scale = rate_scale(dtype);
  // One complex transform of n points: 5·n·log2 n flops (the usual convention).
  const double transform = 5.0 * points * std::log2(std::max(points, 2.0)) / (fft_flops_per_s * scale);
  // x and dy forward, y and dx inverse per tile and pair; w forward and dw inverse once, two
  // filters per transform.
  const double transforms = tiles * pairs * 2.0 * (c + o) + o * cg;
  // Three complex GEMMs per frequency (forward, dx, dw): 8 flops per complex multiply-add.
  const double mac = 3.0 * 8.0 * points * tiles * pairs * o * cg / (spectral_mac_flops_per_s * scale);
  // Spectra written and read (≈ 3 passes over x, y and w spectra) plus the tensors themselves.
  const double complex_bytes = 2.0 * element_bytes(dtype);
  const double bytes = 3.0 * complex_bytes * points * (tiles * pairs * (c + o) + o * cg) +
                       element_bytes(dtype) * 3.0 * double(g.batch) * (c * double(g.in_pixels()) + o * double(g.out_pixels()));
  return transforms * transform + mac + bytes / bytes_per_s;
}

TileConfig choose_tiles(const ConvGeometry& g, DType dtype, TileMethod method) {
  TileConfig best{method, {1, 1, 1}};
  if (method == TileMethod::whole) return best;
  // The search costs as much as a small convolution: remember its answers (forward and backward of
  // every training step ask the same question).
  static std::mutex mutex;
  static std::map<std::string, TileConfig> known;
  const std::string key = fmt::format("{} {} {}", g.key(), dtype_name(dtype), int(method));
  {
    std::lock_guard lock(mutex);
    if (auto it = known.find(key); it != known.end()) return it->second;
  }
  // Candidate transform sizes per axis: smooth sizes from span + 1 up to the whole extent; the tile
  // is L − span + 1 so that the transform is used fully.
  std::array<std::vector<std::int64_t>, 3> candidates;
  for (int a = 0; a < 3; ++a) {
    const Axis ax = axis_of(g, a);
    const std::int64_t extent = method == TileMethod::overlap_save ? ax.z : std::max<std::int64_t>(ax.b - ax.a, 1);
    const std::int64_t largest = smooth(extent + ax.span - 1);
    auto& list = candidates[std::size_t(a)];
    for (std::int64_t n = smooth(ax.span + (ax.span > 1 ? 1 : 0)); n <= largest; n = smooth(n + 1)) {
      list.push_back(std::min(n - ax.span + 1, extent));
      if (n == largest) break;
    }
    if (list.empty()) list.push_back(extent);
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  double best_seconds = std::numeric_limits<double>::infinity();
  for (std::int64_t t0 : candidates[0])
    for (std::int64_t t1 : candidates[1])
      for (std::int64_t t2 : candidates[2]) {
        const TileConfig c{method, {t0, t1, t2}};
        const double s = estimated_seconds(g, dtype, c);
        if (s < best_seconds) {
          best_seconds = s;
          best = c;
        }
      }
  std::lock_guard lock(mutex);
  if (known.size() > 4096) known.clear();  // bounded: a process that sees endless new shapes
  known.emplace(key, best);
  return best;
}

}  // namespace nodal::cpu::spectral
