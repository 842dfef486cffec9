// The conv nodes' spectral algorithms on OpenCL ("fft", "fft_tiled"): which algorithm runs, the
// kept spectra, and forward / vjp / jvp as sequences of passes (conv_spectral_passes.hpp); the
// kernels and transforms are in conv_spectral_engine.{hpp,cpp}.
//
// Tiles are the CPU engine's (cpu::spectral::make_tile_plan): "fft" is one tile over the padded
// image, transform size L = next_smooth(Z + span − 1) per axis; "fft_tiled" cuts x into blocks of B
// (overlap-add), L = next_smooth(B + span − 1), with B from the CPU cost model
// (cpu::spectral::choose_tiles) unless set_spectral_tile forces it. A set of tiles is handled as a
// batch of T·N samples: boxes are [tile, sample, channel], so the per-frequency GEMM has T·N rows
// (forward, dx) or sums over T·N (dw) and needs no tile loop.
//
// Launch schedule of one forward (2-D; a 3-D box adds one column pass per transform):
//   w:  pack (dilation spread, flip) → zero fill → rfft of the K rows → fft columns  4 launches
//   per chunk of tiles:
//     x:  pack (padding, tile window) → zero fill → rfft of the data rows → columns  4
//     Ŷ = X̂ · Ŵᴴ                                                                 1 (spectral_mac)
//     inverse: ifft columns → Hermitian c2r rows (·1/P)                            2
//     crop: "fft": one launch, stride sampling and bias fused
//           "fft_tiled": y = bias (or 0) first, then one accumulating launch per colour
//           class (the K-step schedule: tiles of one class never write the same y) on the
//           in-order queue, so no floating-point atomics are needed
// Chunks bound the spectra in flight (chunk_budget) unless the forward keeps X̂ for the vjp.
#include "nodal/backends/opencl/conv_spectral.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/conv_spectral_passes.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/log.hpp"

namespace nodal::opencl {
namespace {

namespace cs = cpu::spectral;
using namespace spectral;

std::atomic<std::int64_t> forced_tile[3] = {0, 0, 0};
std::atomic<std::uint64_t> colour_launches{0};
Dims forced() { return {forced_tile[0].load(), forced_tile[1].load(), forced_tile[2].load()}; }

// Spectra of one chunk of tiles stay under this many bytes (when nothing is kept for the vjp).
constexpr double default_chunk_budget = 256.0 * (1 << 20);
std::atomic<double> chunk_budget{default_chunk_budget};

// ---- the kept spectra (see backends/cpu/conv.cpp: same keys, same life cycle) ----------------
struct Saved {
  Tensor X, W;  // X̂ of every tile, Ŵ
};
struct SavedKey {
  const Node* node = nullptr;
  std::shared_ptr<Buffer> x, w;
  std::int64_t x_offset = 0, w_offset = 0;
  Shape x_shape, w_shape;
  std::string problem;
  static SavedKey of(const Conv& node, const Problem& p, const Tensor& x, const Tensor& w) {
    const auto& t = p.plan.step;
    return {&node, x.buffer(), w.buffer(), x.offset(), w.offset(), x.shape(), w.shape(),
            fmt::format("{} flip={} {} method={} step={}x{}x{}", p.g.key(), p.flip, dtype_name(p.dtype), int(p.method),
                        t[0], t[1], t[2])};
  }
  bool operator==(const SavedKey& k) const {
    return node == k.node && x == k.x && w == k.w && x_offset == k.x_offset && w_offset == k.w_offset &&
           x_shape == k.x_shape && w_shape == k.w_shape && problem == k.problem;
  }
};
class SavedCache {
 public:
  void put(SavedKey key, Saved saved) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const auto& e) { return e.first == key; });
    entries_.emplace_back(std::move(key), std::move(saved));
    while (entries_.size() > 4) entries_.pop_front();
  }
  std::optional<Saved> take(const SavedKey& key) {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->first == key) {
        Saved s = std::move(it->second);
        entries_.erase(it);
        return s;
      }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<SavedKey, Saved>> entries_;
};
SavedCache& saved_cache() {
  static SavedCache cache;
  return cache;
}

// ---- which algorithm runs ----------------------------------------------------------------------
std::optional<Method> method_of(const Conv& node, const Tensor& x, const Tensor& w) {
  const std::string& a = node.options().algorithm;
  if (a == "fft") return Method::whole;
  if (a == "fft_tiled") return Method::tiled;
  if (a != "auto") return std::nullopt;
  const ConvGeometry g = node.geometry(x.shape(), w.shape());
  std::string why;
  const bool fft = auto_prefers_fft(g, &why);
  const bool tiles = fft && auto_prefers_tiles(g);
  if (log_enabled(LogLevel::debug))
    log_debug("{} {} (opencl): auto: {}{}", g.key(), dtype_name(x.dtype()), why, tiles ? ", as fft_tiled" : "");
  if (!fft) return std::nullopt;
  return tiles ? Method::tiled : Method::whole;
}

// Whether the spectral path can run this problem here. `auto` falls back to direct (false) where
// the spectra would not fit or the kernels' 32-bit indices would not reach; a named fft raises.
bool usable(Context& context, const Problem& p, const Conv& node) {
  const bool automatic = node.options().algorithm == "auto";
  if (!automatic) check_kernel_dtype(context, p.dtype, p.node);
  const double bytes = 2.0 * double(dtype_size(p.dtype)) * double(p.box.frequencies()) *
                       double(std::max<std::size_t>(p.plan.tiles.size(), 1)) *
                       double(p.g.batch * (p.g.in_channels + p.g.out_channels) + p.g.out_channels * p.g.in_per_group());
  const bool fits = bytes <= double(context.device().global_memory) / 2;
  if (automatic) {
    const double boxes = double(p.g.batch) * double(std::max(p.g.in_channels, p.g.out_channels)) * double(p.box.points());
    return fits && boxes < 2147483647.0 && (p.dtype != DType::float64 || context.device().fp64);
  }
  if (p.method == Method::whole && !fits)
    throw ValueError(fmt::format("{} (opencl): algorithm 'fft' would need {:.1f} GiB of spectra for {} on a device "
                                 "with {:.1f} GiB; use fft_tiled",
                                 p.node, bytes / double(1ull << 30), p.g.key(),
                                 double(context.device().global_memory) / double(1ull << 30)));
  return true;
}

}  // namespace

void set_spectral_tile(std::array<std::int64_t, 3> tile) {
  for (std::size_t a = 0; a < 3; ++a) forced_tile[a].store(tile[a]);
}
std::uint64_t spectral_colour_launches() { return colour_launches.load(); }
void set_spectral_chunk_budget(double bytes) { chunk_budget.store(bytes > 0 ? bytes : default_chunk_budget); }

// auto on OpenCL: the spectral path when the kernel has ≥ 49 taps (7×7) and an estimate of its
// flops, inflated 4× for its lower efficiency per flop (more launches, memory-bound transforms and
// products), is below the direct forward's 2·N·Cout·Cin_g·|O|·|K|. Spectral estimate, P points per
// transform of one tile: real transforms of x, y and w at 2.5·P·log2 P each, plus the channel
// products at 8 flops per complex multiply-add over P/2 frequencies.
bool auto_prefers_fft(const ConvGeometry& g, std::string* why) {
  const double direct = g.forward_flops();
  const double points = double(cs::make_tile_plan(g, {}).points());
  const double n = double(g.batch), ci = double(g.in_channels), co = double(g.out_channels), cg = double(g.in_per_group());
  const double transforms = (n * (ci + co) + co * cg) * 2.5 * points * std::log2(std::max(points, 2.0));
  const double products = 8.0 * n * co * cg * points / 2.0;
  const double spectral = 4.0 * (transforms + products);
  const bool fft = g.kernel_pixels() >= 49 && spectral < direct;
  if (why)
    *why = fmt::format("{} (kernel taps {}, direct {:.3g} flop, 4 × fft estimate {:.3g} flop)", fft ? "fft" : "direct",
                       g.kernel_pixels(), direct, spectral);
  return fft;
}

// auto's spectral variant: fft_tiled once the whole transform would have ≥ 2^16 points (a
// 256×256 image and up), where the tiles' smaller transforms measured faster on PoCL (1.14× at
// 256² k31, 1.4× at 1024² k31) and the spectra in flight stay bounded; fft below.
bool auto_prefers_tiles(const ConvGeometry& g) { return cs::make_tile_plan(g, {}).points() >= 65536; }

bool spectral_conv_forward(const ForwardCall& c) {
  const Conv& node = c.as<Conv>();
  const Tensor& x0 = c.inputs[0];
  const Tensor& w0 = c.inputs[1];
  const std::optional<Method> method = method_of(node, x0, w0);
  if (!method) return false;
  const Tensor* b0 = c.inputs.size() == 3 ? &c.inputs[2] : nullptr;
  Context& context = context_of({&x0, &w0, b0}, node.type());
  const Problem p = problem_of(node, x0, w0, *method, forced());
  if (!usable(context, p, node)) return false;
  const Tensor bias = b0 ? dense(context, *b0) : Tensor();
  const std::int64_t N = p.g.batch;
  if (N == 0 || p.g.in_per_group() == 0 || p.plan.tiles.empty() || p.g.output_shape().numel() == 0) {
    c.outputs[0] = initial_output(context, p, bias);
    return true;
  }
  const Tensor x = dense(context, x0), w = dense(context, w0);
  const bool keep = grad_enabled();
  const Tensor W = filter_spectra(context, p, w);
  Tensor y = p.method == Method::whole ? device_empty(context, p.g.output_shape(), p.dtype) : initial_output(context, p, bias);
  const std::size_t tiles = p.plan.tiles.size(), chunk = chunk_size(p, keep, chunk_budget.load());
  Tensor kept;
  for (std::size_t first = 0; first < tiles; first += chunk) {
    const std::size_t count = std::min(chunk, tiles - first);
    const Tensor X = input_spectra(context, p, x, first, count);
    Tensor Y = spectra_of(context, p, std::int64_t(count) * N * p.g.out_channels);
    mac_forward(context, p, X, 0, W, Y, std::int64_t(count), false);
    colour_launches.fetch_add(crop_outputs(context, p, Y, first, count, y, bias));
    if (keep) kept = X;  // one chunk when keeping
  }
  if (keep) saved_cache().put(SavedKey::of(node, p, x0, w0), {kept, W});
  c.outputs[0] = y;
  return true;
}

bool spectral_conv_vjp(const VjpCall& c) {
  const Conv& node = c.as<Conv>();
  const Tensor& x0 = c.inputs[0];
  const Tensor& w0 = c.inputs[1];
  const std::optional<Method> method = method_of(node, x0, w0);
  if (!method) return false;
  const Tensor& ybar = c.output_cotangents[0];
  Context& context = context_of({&x0, &w0, &ybar}, node.type());
  const Problem p = problem_of(node, x0, w0, *method, forced());
  if (!usable(context, p, node)) return false;
  std::optional<Saved> saved = saved_cache().take(SavedKey::of(node, p, x0, w0));
  const bool want_x = c.wanted[0], want_w = c.wanted[1];
  const bool empty = p.g.batch == 0 || p.g.in_per_group() == 0 || p.plan.tiles.empty();
  if (!ybar.defined() || empty) {
    for (std::size_t i = 0; i < c.inputs.size(); ++i)
      if (c.wanted[i]) c.input_cotangents[i] = device_zeros(context, c.inputs[i].shape(), c.inputs[i].dtype());
    if (ybar.defined() && c.inputs.size() == 3 && c.wanted[2])
      c.input_cotangents[2] = conv_bias_gradient(context, ybar, p.g.batch, p.g.out_channels, p.g.out_pixels());
    return true;
  }
  const Tensor dy = dense(context, ybar);
  const std::int64_t N = p.g.batch;
  if (want_x || want_w) {
    // x and w are read only where nothing was kept
    const Tensor x = !saved && want_w ? dense(context, x0) : Tensor();
    const Tensor W = saved ? saved->W : (want_x ? filter_spectra(context, p, dense(context, w0)) : Tensor());
    Tensor dx;
    if (want_x)
      dx = p.method == Method::whole ? device_empty(context, x0.shape(), p.dtype) : device_zeros(context, x0.shape(), p.dtype);
    Tensor DW = want_w ? spectra_of(context, p, p.g.out_channels * p.g.in_per_group()) : Tensor();
    const std::size_t tiles = p.plan.tiles.size(), chunk = saved ? tiles : chunk_size(p, false, chunk_budget.load());
    for (std::size_t first = 0; first < tiles; first += chunk) {
      const std::size_t count = std::min(chunk, tiles - first);
      const Tensor DY = output_spectra(context, p, dy, first, count);  // transformed once for dx and dw
      if (want_x) {
        Tensor DX = spectra_of(context, p, std::int64_t(count) * N * p.g.in_channels);
        mac_dx(context, p, DY, W, DX, std::int64_t(count));
        crop_input_gradient(context, p, DX, first, count, dx);
      }
      if (want_w) {
        const Tensor X = saved ? saved->X : input_spectra(context, p, x, first, count);
        mac_dw(context, p, X, 0, DY, DW, std::int64_t(count), first > 0);
      }
    }
    if (want_x) c.input_cotangents[0] = dx;
    if (want_w) c.input_cotangents[1] = crop_filter_gradient(context, p, DW, w0.shape());
  }
  if (c.inputs.size() == 3 && c.wanted[2])
    c.input_cotangents[2] = conv_bias_gradient(context, dy, N, p.g.out_channels, p.g.out_pixels());
  return true;
}

bool spectral_conv_jvp(const JvpCall& c) {
  const Conv& node = c.as<Conv>();
  const Tensor& x0 = c.inputs[0];
  const Tensor& w0 = c.inputs[1];
  const std::optional<Method> method = method_of(node, x0, w0);
  if (!method) return false;
  const Tensor& xdot = c.input_tangents[0];
  const Tensor& wdot = c.input_tangents[1];
  const Tensor bdot0 = c.inputs.size() == 3 ? c.input_tangents[2] : Tensor();
  Context& context = context_of({&x0, &w0, &xdot, &wdot, &bdot0}, node.type());
  const Problem p = problem_of(node, x0, w0, *method, forced());
  if (!usable(context, p, node)) return false;
  const Tensor bdot = dense(context, bdot0);
  const std::int64_t N = p.g.batch;
  if ((!xdot.defined() && !wdot.defined()) || N == 0 || p.g.in_per_group() == 0 || p.plan.tiles.empty() ||
      p.g.output_shape().numel() == 0) {
    c.output_tangents[0] = initial_output(context, p, bdot);
    return true;
  }
  // ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ:  Ŷ = Ẋ̂ · Ŵᴴ + X̂ · Ẇ̂ᴴ, one inverse
  const Tensor W = xdot.defined() ? filter_spectra(context, p, dense(context, w0)) : Tensor();
  const Tensor Wdot = wdot.defined() ? filter_spectra(context, p, dense(context, wdot)) : Tensor();
  const Tensor x = wdot.defined() ? dense(context, x0) : Tensor();
  const Tensor xd = xdot.defined() ? dense(context, xdot) : Tensor();
  Tensor y = p.method == Method::whole ? device_empty(context, p.g.output_shape(), p.dtype) : initial_output(context, p, bdot);
  const std::size_t tiles = p.plan.tiles.size(), chunk = chunk_size(p, false, chunk_budget.load());
  for (std::size_t first = 0; first < tiles; first += chunk) {
    const std::size_t count = std::min(chunk, tiles - first);
    Tensor Y = spectra_of(context, p, std::int64_t(count) * N * p.g.out_channels);
    if (xdot.defined()) mac_forward(context, p, input_spectra(context, p, xd, first, count), 0, W, Y, std::int64_t(count), false);
    if (wdot.defined())
      mac_forward(context, p, input_spectra(context, p, x, first, count), 0, Wdot, Y, std::int64_t(count), xdot.defined());
    colour_launches.fetch_add(crop_outputs(context, p, Y, first, count, y, bdot));
  }
  c.output_tangents[0] = y;
  return true;
}

}  // namespace nodal::opencl
