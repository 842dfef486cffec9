// The conv nodes' spectral algorithms on OpenCL ("fft", "fft_tiled"): tiles, passes and the
// kept spectra; the kernels and transforms are in conv_spectral_engine.{hpp,cpp}.
//
// Tiles are the CPU engine's (cpu::spectral::make_tile_plan): "fft" is one tile over the padded
// image, transform size L = next_smooth(Z + span − 1) per axis; "fft_tiled" cuts x into blocks of B
// (overlap-add), L = next_smooth(B + span − 1), with B from the CPU cost model
// (cpu::spectral::choose_tiles) unless set_spectral_tile forces it. A set of tiles is handled as a
// batch of T·N samples: boxes are [tile, sample, channel], so the per-frequency GEMM has T·N rows
// (forward, dx) or sums over T·N (dw) and needs no tile loop.
//
// Launch schedule of one forward (2-D; a 3-D box adds one column pass per transform):
//   w:  pack (dilation spread, flip) → rfft rows → fft columns                      3 launches
//   per chunk of tiles:
//     x:  pack (padding, tile window) → rfft rows → fft columns                    3
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
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_spectral.hpp"
#include "nodal/backends/opencl/conv_direct.hpp"
#include "nodal/backends/opencl/conv_spectral_engine.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/error.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/log.hpp"

namespace nodal::opencl {
namespace {

namespace cs = cpu::spectral;
using spectral::Box;
using spectral::Dims;
using spectral::GridMap;
using spectral::MacOperand;
using spectral::TileRecord;
using spectral::TileTable;

std::atomic<std::int64_t> forced_tile[3] = {0, 0, 0};
std::atomic<std::uint64_t> colour_launches{0};

// Spectra of one chunk of tiles stay under this many bytes (when nothing is kept for the vjp).
constexpr double chunk_budget = 256.0 * (1 << 20);

enum class Method { whole, tiled };

struct Problem {
  ConvGeometry g;
  bool flip = false;
  DType dtype = DType::float32;
  Method method = Method::whole;
  cs::TilePlan plan;
  Box box;
  Dims span{1, 1, 1}, z{1, 1, 1};
  std::string node;  // for messages
};

Dims dims(const std::array<std::int64_t, 3>& a) { return {a[0], a[1], a[2]}; }

Problem problem_of(const Conv& node, const Tensor& x, const Tensor& w, Method method) {
  Problem p;
  p.g = node.geometry(x.shape(), w.shape());
  p.flip = node.options().flip;
  p.dtype = x.dtype();
  p.method = method;
  p.node = std::string(node.type());
  cs::TileConfig config;
  if (method == Method::tiled) {
    config = cs::choose_tiles(p.g, p.dtype, cs::TileMethod::overlap_add);
    for (std::size_t a = 0; a < 3; ++a)
      if (const std::int64_t t = forced_tile[a].load(); t > 0) config.tile[a] = t;
  }
  p.plan = cs::make_tile_plan(p.g, config);
  for (std::size_t a = 0; a < 3; ++a) {
    p.box.L[a] = p.plan.length[a];
    p.span[a] = p.g.dilation[a] * (p.g.kernel[a] - 1) + 1;
    p.z[a] = (p.g.out[a] - 1) * p.g.stride[a] + 1;
  }
  if (log_enabled(LogLevel::debug))
    log_debug("{} {} (opencl): {}: {} tile(s) of {}x{}x{}, transform {}x{}x{}", p.g.key(), dtype_name(p.dtype),
              method == Method::whole ? "fft" : "fft_tiled", p.plan.tiles.size(), p.plan.step[0], p.plan.step[1],
              p.plan.step[2], p.box.L[0], p.box.L[1], p.box.L[2]);
  return p;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Records of tiles [first, first + count) for the pass reading/writing x (pack x, crop dx) or the
// stride-1 grid z (pack dy, crop y).
enum class Range { x, z };
std::vector<TileRecord> records(const Problem& p, std::size_t first, std::size_t count, Range range) {
  std::vector<TileRecord> out;
  for (std::size_t t = first; t < first + count; ++t) {
    const cs::Tile& tile = p.plan.tiles[t];
    TileRecord r;
    for (std::size_t a = 0; a < 3; ++a) {
      r.origin[a] = tile.origin[a];
      if (range == Range::x) {
        r.lo[a] = tile.x_lo[a];
        r.hi[a] = tile.x_hi[a];
        // "fft" writes all of dx (0 where no x is read); tiles write their own blocks
        r.jlo[a] = p.method == Method::whole ? 0 : tile.x_lo[a] - p.g.pad_before[a];
        r.jhi[a] = p.method == Method::whole ? p.g.in[a] : tile.x_hi[a] - p.g.pad_before[a];
      } else {
        r.lo[a] = tile.z_lo[a];
        r.hi[a] = tile.z_hi[a];
        r.jlo[a] = ceil_div(tile.z_lo[a], p.g.stride[a]);
        r.jhi[a] = std::min(ceil_div(tile.z_hi[a], p.g.stride[a]), p.g.out[a]);
      }
    }
    out.push_back(r);
  }
  return out;
}

// The filter as one "tile" at the origin: taps at k·d.
TileRecord filter_record(const Problem& p) {
  TileRecord r;
  r.hi = p.span;
  r.jhi = dims(p.g.kernel);
  return r;
}

// The local rows (axis 1) that hold the records' data: the union of [lo − origin, hi − origin)
// when no range wraps around the box, else all rows.
spectral::Rows rows_of(Context& context, const Problem& p, const std::vector<TileRecord>& rs) {
  spectral::Rows rows{p.box.L[1], 0};
  for (const TileRecord& r : rs) {
    const std::int64_t lo = r.lo[1] - r.origin[1], hi = r.hi[1] - r.origin[1];
    if (lo < 0 || hi > p.box.L[1]) return {};
    rows.lo = std::min(rows.lo, lo);
    rows.hi = std::max(rows.hi, hi);
  }
  if (rows.hi <= rows.lo) return {};
  return spectral::usable_rows(context, p.box, p.dtype, rows);
}

GridMap x_map(const Problem& p) { return {dims(p.g.pad_before), {1, 1, 1}, false}; }
GridMap z_map(const Problem& p) { return {{0, 0, 0}, dims(p.g.stride), false}; }
GridMap w_map(const Problem& p) { return {{0, 0, 0}, dims(p.g.dilation), p.flip}; }

// Ŵ [Cout·Cin_g, F] of w [Cout, Cin_g, *K].
Tensor filter_spectra(Context& context, const Problem& p, const Tensor& w) {
  const TileTable table(context, {filter_record(p)});
  const spectral::Rows rows = rows_of(context, p, table.records());
  return spectral::forward_transform(
      context, p.box,
      spectral::pack(context, p.box, w, p.g.out_channels * p.g.in_per_group(), dims(p.g.kernel), w_map(p), table, rows),
      rows);
}

// X̂ [tiles·N·Cin, F] of x for tiles [first, first + count).
Tensor input_spectra(Context& context, const Problem& p, const Tensor& x, std::size_t first, std::size_t count) {
  const TileTable table(context, records(p, first, count, Range::x));
  const spectral::Rows rows = rows_of(context, p, table.records());
  return spectral::forward_transform(
      context, p.box, spectral::pack(context, p.box, x, p.g.batch * p.g.in_channels, dims(p.g.in), x_map(p), table, rows),
      rows);
}

// DŶ [tiles·N·Cout, F] of dy scattered onto the stride-1 grid z.
Tensor output_spectra(Context& context, const Problem& p, const Tensor& dy, std::size_t first, std::size_t count) {
  const TileTable table(context, records(p, first, count, Range::z));
  const spectral::Rows rows = rows_of(context, p, table.records());
  return spectral::forward_transform(
      context, p.box,
      spectral::pack(context, p.box, dy, p.g.batch * p.g.out_channels, dims(p.g.out), z_map(p), table, rows), rows);
}

// Ŷ (+)= X̂ · Ŵᴴ:  i = (tile, n), j = o within the group, k = c within the group.
void mac_forward(Context& context, const Problem& p, const Tensor& X, std::int64_t x_first, const Tensor& W,
                 Tensor& Y, std::int64_t tiles, bool accumulate) {
  const ConvGeometry& g = p.g;
  const std::int64_t cg = g.in_per_group(), og = g.out_per_group();
  spectral::mac(context, p.box, {&X, x_first, cg, g.in_channels, 1, false}, {&W, 0, og * cg, cg, 1, true},
                {&Y, 0, og, g.out_channels, 1, false}, g.groups, tiles * g.batch, og, cg, accumulate);
}

// DX̂ = DŶ · Ŵ:  i = (tile, n), j = c within the group, k = o within the group.
void mac_dx(Context& context, const Problem& p, const Tensor& DY, const Tensor& W, Tensor& DX, std::int64_t tiles) {
  const ConvGeometry& g = p.g;
  const std::int64_t cg = g.in_per_group(), og = g.out_per_group();
  spectral::mac(context, p.box, {&DY, 0, og, g.out_channels, 1, false}, {&W, 0, og * cg, 1, cg, false},
                {&DX, 0, cg, g.in_channels, 1, false}, g.groups, tiles * g.batch, cg, og, false);
}

// DŴ (+)= Σ_{(tile, n)} X̂ · conj DŶ:  i = c within the group, j = o within the group.
void mac_dw(Context& context, const Problem& p, const Tensor& X, std::int64_t x_first, const Tensor& DY,
            Tensor& DW, std::int64_t tiles, bool accumulate) {
  const ConvGeometry& g = p.g;
  const std::int64_t cg = g.in_per_group(), og = g.out_per_group();
  spectral::mac(context, p.box, {&X, x_first, cg, 1, g.in_channels, false}, {&DY, 0, og, 1, g.out_channels, true},
                {&DW, 0, og * cg, 1, cg, false}, g.groups, cg, og, tiles * g.batch, accumulate);
}

Tensor spectra_of(Context& context, const Problem& p, std::int64_t rows) {
  return device_empty(context, Shape{rows, p.box.frequencies()}, complex_dtype(p.dtype));
}

// Tiles per chunk: all of them when the forward keeps X̂, else as many as fit chunk_budget.
std::size_t chunk_size(const Problem& p, bool keep_all) {
  const std::size_t tiles = p.plan.tiles.size();
  if (keep_all || p.method == Method::whole) return std::max<std::size_t>(tiles, 1);
  const double complex_bytes = 2.0 * double(dtype_size(p.dtype));
  const double per_tile = double(p.g.batch) * (complex_bytes * double(p.box.frequencies()) *
                                                   double(p.g.in_channels + p.g.out_channels) +
                                               double(dtype_size(p.dtype)) * double(p.box.points()) *
                                                   double(std::max(p.g.in_channels, p.g.out_channels)));
  return std::clamp<std::size_t>(std::size_t(chunk_budget / std::max(per_tile, 1.0)), 1, std::max<std::size_t>(tiles, 1));
}

// y (+)= the real boxes of tiles [first, first + count) cropped onto the output grid. "fft" writes
// y (with the bias) in one launch; "fft_tiled" accumulates one colour class per launch into a y
// that already holds the bias.
void crop_outputs(Context& context, const Problem& p, Tensor spectra, std::size_t first, std::size_t count,
                  Tensor& y, const Tensor& bias) {
  const TileTable table(context, records(p, first, count, Range::z));
  const Tensor boxes = spectral::inverse_transform(context, p.box, std::move(spectra), rows_of(context, p, table.records()));
  const std::int64_t planes = p.g.batch * p.g.out_channels;
  if (p.method == Method::whole) {
    spectral::crop(context, p.box, boxes, planes, y, dims(p.g.out), z_map(p), table, {0}, bias, p.g.out_channels, false);
    return;
  }
  std::map<std::size_t, std::vector<int>> classes;
  for (std::size_t t = 0; t < count; ++t)
    classes[cs::tile_colour(p.g, p.plan, first + t, cs::TileWrites::y)].push_back(int(t));
  for (const auto& [colour, ids] : classes) {
    spectral::crop(context, p.box, boxes, planes, y, dims(p.g.out), z_map(p), table, ids, Tensor(), 1, true);
    colour_launches.fetch_add(1);
  }
}

// y's starting value for the overlap-add accumulation: the bias broadcast, or zeros.
Tensor initial_output(Context& context, const Problem& p, const Tensor& bias) {
  const Shape shape = p.g.output_shape();
  if (!bias.defined()) return device_zeros(context, shape, p.dtype);
  Shape view(std::vector<std::int64_t>(std::size_t(shape.rank()), 1));
  view[1] = shape[1];
  return scaled_copy(context, bias.reshape(view), shape, 1.0);
}

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
  if (log_enabled(LogLevel::debug)) log_debug("{} {} (opencl): auto: {}", g.key(), dtype_name(x.dtype()), why);
  return fft ? std::optional<Method>(Method::whole) : std::nullopt;
}

void check_supported(Context& context, const Problem& p) {
  check_kernel_dtype(context, p.dtype, p.node);
  const double bytes = 2.0 * double(dtype_size(p.dtype)) * double(p.box.frequencies()) *
                       double(std::max<std::size_t>(p.plan.tiles.size(), 1)) *
                       double(p.g.batch * (p.g.in_channels + p.g.out_channels) + p.g.out_channels * p.g.in_per_group());
  if (p.method == Method::whole && bytes > double(context.device().global_memory) / 2)
    throw ValueError(fmt::format("{} (opencl): algorithm 'fft' would need {:.1f} GiB of spectra for {} on a device "
                                 "with {:.1f} GiB; use fft_tiled",
                                 p.node, bytes / double(1ull << 30), p.g.key(),
                                 double(context.device().global_memory) / double(1ull << 30)));
}

}  // namespace

void set_spectral_tile(std::array<std::int64_t, 3> tile) {
  for (std::size_t a = 0; a < 3; ++a) forced_tile[a].store(tile[a]);
}
std::uint64_t spectral_colour_launches() { return colour_launches.load(); }

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

bool spectral_conv_forward(const ForwardCall& c) {
  const Conv& node = c.as<Conv>();
  const Tensor& x0 = c.inputs[0];
  const Tensor& w0 = c.inputs[1];
  const std::optional<Method> method = method_of(node, x0, w0);
  if (!method) return false;
  const Tensor* b0 = c.inputs.size() == 3 ? &c.inputs[2] : nullptr;
  Context& context = context_of({&x0, &w0, b0}, node.type());
  const Problem p = problem_of(node, x0, w0, *method);
  check_supported(context, p);
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
  const std::size_t tiles = p.plan.tiles.size(), chunk = chunk_size(p, keep);
  Tensor kept;
  for (std::size_t first = 0; first < tiles; first += chunk) {
    const std::size_t count = std::min(chunk, tiles - first);
    const Tensor X = input_spectra(context, p, x, first, count);
    Tensor Y = spectra_of(context, p, std::int64_t(count) * N * p.g.out_channels);
    mac_forward(context, p, X, 0, W, Y, std::int64_t(count), false);
    crop_outputs(context, p, Y, first, count, y, bias);
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
  const Problem p = problem_of(node, x0, w0, *method);
  check_supported(context, p);
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
    const Tensor x = dense(context, x0), w = dense(context, w0);
    const Tensor W = saved ? saved->W : (want_x ? filter_spectra(context, p, w) : Tensor());
    Tensor dx;
    if (want_x)
      dx = p.method == Method::whole ? device_empty(context, x0.shape(), p.dtype) : device_zeros(context, x0.shape(), p.dtype);
    Tensor DW = want_w ? spectra_of(context, p, p.g.out_channels * p.g.in_per_group()) : Tensor();
    const std::size_t tiles = p.plan.tiles.size(), chunk = saved ? tiles : chunk_size(p, false);
    for (std::size_t first = 0; first < tiles; first += chunk) {
      const std::size_t count = std::min(chunk, tiles - first);
      const Tensor DY = output_spectra(context, p, dy, first, count);  // transformed once for dx and dw
      if (want_x) {
        Tensor DX = spectra_of(context, p, std::int64_t(count) * N * p.g.in_channels);
        mac_dx(context, p, DY, W, DX, std::int64_t(count));
        const TileTable table(context, records(p, first, count, Range::x));
        std::vector<int> ids(count);
        for (std::size_t t = 0; t < count; ++t) ids[t] = int(t);  // blocks' dx ranges are disjoint
        const Tensor boxes = spectral::inverse_transform(context, p.box, DX, rows_of(context, p, table.records()));
        spectral::crop(context, p.box, boxes, N * p.g.in_channels, dx,
                       dims(p.g.in), x_map(p), table, ids, Tensor(), 1, false);
      }
      if (want_w) {
        const Tensor X = saved ? saved->X : input_spectra(context, p, x, first, count);
        mac_dw(context, p, X, 0, DY, DW, std::int64_t(count), first > 0);
      }
    }
    if (want_x) c.input_cotangents[0] = dx;
    if (want_w) {
      Tensor dw = device_empty(context, w0.shape(), p.dtype);
      const TileTable table(context, {filter_record(p)});
      const Tensor boxes = spectral::inverse_transform(context, p.box, DW, rows_of(context, p, table.records()));
      spectral::crop(context, p.box, boxes, p.g.out_channels * p.g.in_per_group(),
                     dw, dims(p.g.kernel), w_map(p), table, {0}, Tensor(), 1, false);
      c.input_cotangents[1] = dw;
    }
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
  const Problem p = problem_of(node, x0, w0, *method);
  check_supported(context, p);
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
  const std::size_t tiles = p.plan.tiles.size(), chunk = chunk_size(p, false);
  for (std::size_t first = 0; first < tiles; first += chunk) {
    const std::size_t count = std::min(chunk, tiles - first);
    Tensor Y = spectra_of(context, p, std::int64_t(count) * N * p.g.out_channels);
    if (xdot.defined()) mac_forward(context, p, input_spectra(context, p, xd, first, count), 0, W, Y, std::int64_t(count), false);
    if (wdot.defined())
      mac_forward(context, p, input_spectra(context, p, x, first, count), 0, Wdot, Y, std::int64_t(count), xdot.defined());
    crop_outputs(context, p, Y, first, count, y, bdot);
  }
  c.output_tangents[0] = y;
  return true;
}

}  // namespace nodal::opencl
