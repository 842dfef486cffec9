// Launches of kernels/fft_stockham.cl (fft_stockham.hpp lists the plans; fft_stockham_plan.cpp
// builds them). A launch is described by a Step (length, group shape, the two sides, fused
// operations); the Step becomes the #defines in front of the kernel source, so each distinct Step is
// one program, built once per device and kept by the program cache (memory and disk).
#include "nodal/backends/opencl/fft_stockham_detail.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl::fft {

namespace {

using namespace stockham;

// The pass twiddles of length L (per pass NS·(R−1) values w_{NS·R}^(t·k)), one table per
// (device, L, precision).
std::shared_ptr<Buffer> pass_twiddles(Context& context, std::int64_t L, bool with16, DType real) {
  static std::mutex mutex;
  static std::map<std::tuple<const Context*, std::int64_t, bool, int>, std::shared_ptr<Buffer>> tables;
  std::lock_guard lock(mutex);
  auto& slot = tables[{&context, L, with16, int(real)}];
  if (!slot) slot = upload_table(context, pass_twiddle_values(radices_of(L, with16)), real);
  return slot;
}

// One side of a launch (kernels/fft_stockham.cl, "Addressing").
struct SideSpec {
  std::int64_t bstride = 0, I = 1, emul = 1, imul = 0;
  std::uint32_t flags = 0;
  std::int64_t limit = std::numeric_limits<int>::max();  // load: L_VALID; store: S_COUNT
};

struct Step {
  std::int64_t L = 0;
  SideSpec load, store;
  bool mid = false;  // a convolution in one launch (passes twice)
  std::uint32_t mid_flags = 0;
  std::int64_t scatter_offset = 0;  // where the store's half of the index table starts (one-launch Rader)
  std::int64_t tw_split = 1;
  std::int64_t group = 0;  // work-items per group aimed at (0: the default, group_target)
};

struct Shape2 {
  int items = 1, lanes = 1;
  bool split = false;  // the tile holds real and imaginary parts in turn
};
// NODAL_FFT_MID_WARPS=0: no whole-warp rule for the one-launch convolutions (group_shape)
bool mid_warps() {
  static const bool on = [] {
    const char* v = std::getenv("NODAL_FFT_MID_WARPS");
    return !(v && std::string_view(v) == "0");
  }();
  return on;
}

Shape2 group_shape(const Context& context, const Step& s, DType real) {
  Shape2 g;
  const std::int64_t max_group = std::int64_t(std::min<std::size_t>(1024, context.device().max_work_group_size));
  // work-items per transform: the fewest idle butterfly slots over all passes (Σ ⌈(L/R)/T⌉·R·T),
  // at most 16 values in registers per pass, ties to the larger T (more parallelism)
  const std::vector<int> radices = radices_of(s.L, radix16(s.mid, s.L));
  // transforms a whole tile (and a split one) holds within the local memory
  const std::int64_t fit = budget_of(context) / row_bytes(s.L, real, false);
  const std::int64_t fit_split = budget_of(context) / row_bytes(s.L, real, true);
  // T work-items per transform: the butterfly slots over all passes, and the most values a
  // work-item holds in one pass
  const auto slots = [&](std::int64_t t) {
    std::int64_t cost = 0, regs = 0;
    for (int r : radices) {
      const std::int64_t nb = (s.L / r + t - 1) / t;
      cost += nb * r * t;
      regs = std::max(regs, nb * r);
    }
    return std::pair{cost, regs};
  };
  // At most 16 values per work-item, and at most 8 where a launch runs its passes twice over a whole
  // tile (the three-launch Bluestein's middle rows, the one-launch convolutions that fit one): those
  // launches are bound by latency, and more work-items with fewer registers each hide it better.
  // H100, µs per 2^26 values, 16 → 8: Bluestein 10007 (rows of 192 = 8·4·6) 3875 → 3079, 16411
  // 3673 → 2994, 65539 3235 → 3156, Rader 769 1027 → 989; 8191, 32771, 641, 1031, 2053, 3001 within
  // 1 %. The split-tile one-launch Bluestein (4099) keeps 16: 8 measured 1.5 % slower there.
  // NODAL_FFT_VMAX=V (2 to 16) sets the cap everywhere, for measuring.
  static const std::int64_t vmax_env = [] {
    const char* v = std::getenv("NODAL_FFT_VMAX");
    return v ? std::clamp<std::int64_t>(std::atoll(v), 2, 16) : std::int64_t(0);
  }();
  // Where the largest radix is above 8 no count meets 8, and the cap used to fall back to 16: it is
  // that radix instead (one butterfly of it per work-item). H100, µs per 2^26 values, staged Rader
  // 1153 (1152 = 8·12·12): 96 work-items of 16 values, 179 registers 1214; 144 work-items 800, 192
  // 773 (NODAL_FFT_ITEMS), a cap of 12 809. NODAL_FFT_MID_CAP=0 restores the fall-back (measuring).
  static const bool mid_cap = [] {
    const char* v = std::getenv("NODAL_FFT_MID_CAP");
    return !(v && std::string_view(v) == "0");
  }();
  const std::int64_t largest = *std::max_element(radices.begin(), radices.end());
  const std::int64_t wanted = vmax_env           ? vmax_env
                              : s.mid && fit >= 1 ? (mid_cap ? std::max<std::int64_t>(8, largest) : 8)
                                                  : 16;
  // the cap where some count meets it; a radix above 16 (a one-launch Rader's 17 or 19) needs its R
  const std::int64_t radix_cap = std::max<std::int64_t>(16, largest);
  std::int64_t vmax = radix_cap;
  for (std::int64_t t = 1; t <= std::min(s.L, max_group) && wanted < radix_cap; ++t)
    if (slots(t).second <= wanted) {
      vmax = wanted;
      break;
    }
  std::int64_t best_cost = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t t = 1; t <= std::min(s.L, max_group); ++t) {
    const auto [cost, regs] = slots(t);
    if (regs <= vmax && cost <= best_cost) {
      best_cost = cost;
      g.items = int(t);
    }
  }
  // A launch that runs its passes twice over a split tile (one-launch Bluestein beyond 4096 values:
  // one transform per group) is bound by barriers and latency more than by idle slots: it takes the
  // most work-items (≤ 1024) that still do at most two butterflies per pass (H100, n = 4099, m = 10240
  // = 16·16·8·5: 1024 work-items 2.82 ms, 683 3.04 ms; n = 2053, m = 8192 = 16·16·16·2 has no such
  // count and keeps 512, which measured 3.15 ms against 3.53 with 1024; n = 1009, m = 2048, whole
  // tile, keeps the cheapest count)
  if (s.mid && fit < 1) {
    for (std::int64_t t = std::min(s.L, max_group); t > g.items; --t) {
      bool fits = true;
      for (int r : radices) fits = fits && (s.L / r + t - 1) / t <= 2 && (s.L / r + t - 1) / t * r <= radix_cap;
      if (fits) {
        g.items = int(t);
        break;
      }
    }
  } else if (s.mid && !(s.load.flags & load_twiddle) && mid_warps() &&
             g.items * std::max<std::int64_t>(1, group_target(s.group) / g.items) % 32 != 0) {
    // A convolution in one launch over a whole tile (one-launch Rader, Bluestein, CircularConvolver)
    // whose cheapest count leaves a warp part-empty takes whole warps instead: the cheapest multiple
    // of 32 work-items, at least 128 (or the widest pass's butterflies rounded up to 32, where fewer),
    // at most 16 values per work-item. n = 641 (m = 640) had 43 work-items, two transforms in three
    // warps, 16 values and 128 registers per work-item, few warps per SM; 128 hold 8 values in 56
    // registers. H100, µs per 2^26 values, before → after: Rader 97 845 → 670, 641 1246 → 949, 1153
    // 1274 → 1118, 3457 1780 → 1606, 3001 1570 → 1734 (the one loss: 200 → 224 work-items);
    // Bluestein 1031 1665 → 1519, 2053 2026 → 1914; CircularConvolver n = 1000 866 → 636. Where
    // the cheapest count already fills its warps, moving to more work-items lost (Bluestein 509, 64 →
    // 128: 713 → 822 µs), and so did the three-launch plans' middle rows, which keep their count
    // (8191 2542 → 3337, 16411 3047 → 3461). NODAL_FFT_MID_WARPS=0 turns this off.
    std::int64_t widest = 1;
    for (int r : radices) widest = std::max<std::int64_t>(widest, s.L / r);
    const std::int64_t floor = std::min<std::int64_t>(128, (widest + 31) / 32 * 32);
    std::int64_t least = std::numeric_limits<std::int64_t>::max();
    for (std::int64_t t = floor; t <= std::min(s.L, max_group); t += 32) {
      const auto [cost, regs] = slots(t);
      if (regs <= vmax && cost < least) {
        least = cost;
        g.items = int(t);
      }
    }
  }
  if (best_cost == std::numeric_limits<std::int64_t>::max())
    throw BackendError(fmt::format("fft_stockham: length {} needs more work-items per transform than the device's {}",
                                   s.L, max_group));
  // NODAL_FFT_ITEMS=T: T work-items per transform for launches of length ≥ 4T (measuring only)
  static const std::int64_t forced_items = [] {
    const char* v = std::getenv("NODAL_FFT_ITEMS");
    return v ? std::int64_t(std::atoll(v)) : std::int64_t(0);
  }();
  if (forced_items > 0 && forced_items <= max_group && s.L >= 4 * forced_items) g.items = int(forced_items);
  const bool lanes_side = ((s.load.flags | s.store.flags) & side_lanes) != 0;
  std::int64_t lanes = std::max<std::int64_t>(1, group_target(s.group) / g.items);
  if (lanes_side) lanes = std::max<std::int64_t>(lanes, 8);  // ≥ 8 adjacent values per access (64 bytes)
  lanes = std::min(lanes, max_group / g.items);
  // A lanes side takes a power of two of lanes: its accesses are runs of lanes·8 bytes (float), and a
  // run of 5 (what a whole tile of 1024-long columns holds in 48 KiB) spans two 32-byte sectors for 40
  // bytes, one extra sector per run on loads and partial sectors on stores (H100, n = 2^20 = 1024 x 1024:
  // each launch 1.8x the copy time with 5 lanes). NODAL_FFT_LANES_SPLIT=1 (measuring) takes the split
  // tile wherever it holds more lanes.
  static const bool lanes_split = [] {
    const char* v = std::getenv("NODAL_FFT_LANES_SPLIT");
    return v && std::string_view(v) == "1";
  }();
  const auto power_below = [](std::int64_t x) {
    std::int64_t p = 1;
    while (p * 2 <= x) p *= 2;
    return p;
  };
  const std::int64_t whole_lanes = lanes_side ? power_below(std::min(lanes, fit)) : std::min(lanes, fit);
  const std::int64_t split_lanes = lanes_side ? power_below(std::min(lanes, fit_split)) : std::min(lanes, fit_split);
  // a split tile where a whole one does not hold one transform, or holds fewer than 4 lanes of a
  // strided side (16-byte accesses) where a split one holds more
  g.split = forced_split() || fit < 1 ||
            (lanes_side && (whole_lanes < std::min<std::int64_t>(4, lanes) || lanes_split) && split_lanes > whole_lanes);
  const std::int64_t room = g.split ? fit_split : fit;
  if (room < 1)
    throw BackendError(fmt::format("fft_stockham: length {} does not fit the device's local memory", s.L));
  g.lanes = int(std::max<std::int64_t>(1, g.split ? split_lanes : whole_lanes));
  return g;
}

std::string side_defines(char prefix, const SideSpec& s) {
  return fmt::format("#define {0}_BSTRIDE {1}L\n#define {0}_I {2}\n#define {0}_EMUL {3}\n#define {0}_IMUL {4}\n"
                     "#define {0}_FLAGS {5}\n#define {0}_{6} {7}\n",
                     prefix, s.bstride, s.I, s.emul, s.imul, s.flags, prefix == 'L' ? "VALID" : "COUNT", s.limit);
}

// A one-launch Rader permutes through its tile (kernels/fft_stockham.cl, GATHER_FIRST and
// SCATTER_STAGED): reads and writes of whole rows coalesce, and only the tile sees the scattered
// indices. H100, µs per 2^26 values, in global memory → through the tile: 97 690 → 594, 257 788 →
// 718, 641 1029 → 677, 769 987 → 651, 3001 1409 → 1320, 3457 1386 → 1193 (1153 lost, 1167 → 1214,
// until group_shape's cap took its radix 12: 809). A split tile keeps the global gather (its tile
// holds one real per value). NODAL_FFT_RADER_STAGED=0 gathers and scatters in global memory
// (measuring only).
bool permutes_through_tile(const Step& s, const Shape2& g) {
  static const bool on = [] {
    const char* v = std::getenv("NODAL_FFT_RADER_STAGED");
    return !(v && std::string_view(v) == "0");
  }();
  const bool one_launch_rader = s.mid && (s.load.flags & load_gather) && (s.store.flags & store_scatter);
  const bool plain_rows = s.load.I == 1 && s.load.emul == 1 && s.store.I == 1 && s.store.emul == 1 &&
                          !(s.load.flags & side_lanes) && !(s.store.flags & side_lanes);
  return on && one_launch_rader && plain_rows && !g.split;
}

// The program text of a Step: the #defines, then kernels/fft_stockham.cl.
std::string program_text(const Step& s, const Shape2& g, DType real) {
  const std::vector<int> radices = radices_of(s.L, radix16(s.mid, s.L));
  // the step list (kernels/fft_stockham.cl, FFT_STEPS): the first pass reads global memory (the
  // work-items are laid out along the load side), the last writes it when the store side is laid
  // out the same way, else through the tile
  const bool direct_out = (s.load.flags & side_lanes) == (s.store.flags & side_lanes);
  const bool staged = permutes_through_tile(s, g);
  std::string steps = fmt::format(" {}({})", staged ? "GATHER_FIRST" : "FIRST", radices.front());
  std::int64_t vmax = 1;
  for (int r : radices) vmax = std::max(vmax, (s.L / r + g.items - 1) / g.items * r);
  const int runs = s.mid ? 2 : 1;
  for (int run = 0; run < runs; ++run) {
    std::int64_t ns = 1, twoff = 0;
    for (std::size_t p = 0; p < radices.size(); ++p) {
      steps += fmt::format(" BUTTERFLY({},{},{})", radices[p], ns, twoff);
      const std::int64_t span = ns;
      twoff += ns * (radices[p] - 1);
      ns *= radices[p];
      if (p + 1 < radices.size()) {
        steps += fmt::format(" EXCHANGE({},{},{})", radices[p], span, radices[p + 1]);
      } else if (run + 1 < runs) {  // the convolution's product, then back to the first pass's layout
        // (a one-launch Rader's x_0 and Σa, written to global memory by one work-item each, are
        // read by the whole group at the store: a global fence first)
        const bool sync = (s.load.flags & load_gather) && (s.store.flags & store_scatter);
        steps += fmt::format(" MID({}){} EXCHANGE({},{},{})", radices[p], sync ? " GLOBAL_SYNC" : "", radices[p], span,
                             radices.front());
      } else {
        steps += fmt::format(" {}({})", staged ? "SCATTER_STAGED" : direct_out ? "STORE" : "STAGED", radices[p]);
      }
    }
  }
  std::string text = fmt::format(
      "#define L {}\n#define ITEMS {}\n#define LANES {}\n#define PITCH {}\n#define FFT_PAD {}\n#define TW_SPLIT {}\n"
      "#define SPLIT {}\n#define VMAX {}\n",
      s.L, g.items, g.lanes, pitch_of(s.L, real, g.split), pad_on() ? 1 : 0, s.tw_split, g.split ? 1 : 0, vmax);
  text += side_defines('L', s.load) + side_defines('S', s.store) + fmt::format("#define MID_FLAGS {}\n", s.mid_flags);
  text += fmt::format("#define S_PERM_OFFSET {}\n", s.scatter_offset);
  text += fmt::format("#define FFT_STEPS{}\n", steps);
  text += kernel_source("fft_radix");
  text += kernel_source("fft_stockham");
  return text;
}

struct Tables {
  cl_mem pre = nullptr, mul = nullptr, post = nullptr, lo = nullptr, hi = nullptr, perm = nullptr, extra = nullptr;
};
cl_mem mem_of(const std::shared_ptr<Buffer>& b) { return b ? device_buffer(*b, "fft").mem() : nullptr; }

// A Step's group shape and program text, worked out once per (device, Step, precision, local-memory
// limits): the work-item search and the 15 KB of text stay off the launch path.
const std::pair<Shape2, std::string>& shaped(Context& context, const Step& s, DType real) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<Shape2, std::string>> cache;
  const auto side = [](const SideSpec& d) {
    return fmt::format("{},{},{},{},{},{}", d.bstride, d.I, d.emul, d.imul, d.flags, d.limit);
  };
  const std::string key = fmt::format("{} {} {} {} {} {} {} {} {} {} {} {}", static_cast<const void*>(&context),
                                      int(real), s.L, s.mid, s.mid_flags, s.tw_split, side(s.load), side(s.store),
                                      budget_of(context), forced_split(), s.scatter_offset, s.group);
  std::lock_guard lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const Shape2 g = group_shape(context, s, real);
    it = cache.emplace(key, std::make_pair(g, program_text(s, g, real))).first;
  }
  return it->second;
}

// `inverse`: conj_load | conj_store, the run-time direction (kernels/fft_stockham.cl)
void launch(Context& context, const Step& s, DType real, std::int64_t count, cl_mem in, std::int64_t in_off, cl_mem out,
            std::int64_t out_off, const Tables& t, double scale, int inverse = 0) {
  if (count <= 0) return;
  const auto& [g, text] = shaped(context, s, real);
  const bool fp64 = real == DType::float64;
  const std::string options = fp64 ? "-cl-std=CL1.2 -DT=double -DNODAL_FP64" : "-cl-std=CL1.2 -DT=float";
  cl_kernel kernel = context.programs().kernel("fft_stockham.cl", text, options, "fft_stockham");
  const cl_mem tw = mem_of(pass_twiddles(context, s.L, radix16(s.mid, s.L), real));
  // unused tables still need a valid buffer argument on some drivers: the pass table stands in
  const auto or_tw = [&](cl_mem m) { return m ? m : tw; };
  // named by role, so NODAL_OPENCL_PROFILE=1 shows each launch of a plan apart
  const bool lanes_in = s.load.flags & side_lanes;
  const char* name = s.mid ? "fft_stockham_convolve_rows" : lanes_in ? "fft_stockham_columns"
                     : (s.store.flags & side_lanes) ? "fft_stockham_rows_transposed" : "fft_stockham_rows";
  Launch run(context, kernel, name);
  run.arg(cl_int(count)).mem(in).arg(cl_long(in_off)).mem(out).arg(cl_long(out_off)).mem(tw);
  run.mem(or_tw(t.pre)).mem(or_tw(t.mul)).mem(or_tw(t.post)).mem(or_tw(t.lo)).mem(or_tw(t.hi)).real(real, scale);
  run.arg(cl_int(inverse)).mem(or_tw(t.perm)).mem(or_tw(t.extra));
  // Rader's fused gather and scatter: local memory reserved to limit the groups in flight, and so
  // the batch rows whose random accesses share the L2 (fft_stockham_plan.cpp, rader_pad)
  const bool permuting = !s.mid && ((s.load.flags & load_gather) | (s.store.flags & store_scatter)) != 0;
  const std::int64_t pad = permuting ? rader_pad(context, g.lanes * row_bytes(s.L, real, g.split)) : 0;
  run.local_bytes(std::size_t(std::max<std::int64_t>(pad, 4)));
  run.run(std::size_t((count + g.lanes - 1) / g.lanes), std::size_t(g.items * g.lanes));
}

}  // namespace

bool execute(Context& context, const StockhamPlan& p, DType real, std::int64_t count, bool inverse, cl_mem in,
             std::int64_t in_offset, std::int64_t in_stride, cl_mem out, std::int64_t out_offset,
             std::int64_t out_stride, double scale, bool scrambled, cl_mem multiply) {
  if (count <= 0) return true;
  if (inverse) multiply = nullptr;  // forward transforms only (fft_plan.cpp checks)
  if (count * std::max(p.m, p.n) >= (std::int64_t(1) << 31) || count >= std::numeric_limits<int>::max())
    throw ValueError(fmt::format("fft (opencl): {} transforms of length {} exceed the kernels' 32-bit indices", count,
                                 p.n));
  using Kind = StockhamPlan::Kind;
  if (p.kind == Kind::wide || p.kind == Kind::bluestein_wide)
    return execute_wide(context, p, real, count, inverse, in, in_offset, in_stride, out, out_offset, out_stride, scale,
                        multiply);
  const Tables twiddles{.lo = mem_of(p.twiddle_lo), .hi = mem_of(p.twiddle_hi)};
  if (p.kind == Kind::single) {
    Step s;
    s.L = p.n;
    s.load = {.bstride = in_stride};
    s.store = {.bstride = out_stride, .flags = multiply ? store_post : 0u};
    launch(context, s, real, count, in, in_offset, out, out_offset, {.post = multiply}, scale,
           inverse ? conj_load | conj_store : 0);
    return true;
  }
  const std::int64_t m = p.m, n1 = p.n1, n2 = p.n2;
  const int d = inverse ? 1 : 0;
  if (p.kind == Kind::bluestein) {
    // chirp, FFT_m, × spectrum, conj, FFT_m, conj, × chirp / m: the first n values
    Step s;
    s.L = m;
    s.mid = true;
    s.load = {.bstride = in_stride, .flags = load_chirp, .limit = p.n};
    s.store = {.bstride = out_stride, .flags = store_conj | store_post, .limit = p.n};
    const Tables t{.pre = mem_of(p.chirp[d]), .mul = mem_of(p.spectrum[d]), .post = mem_of(p.chirp[d])};
    launch(context, s, real, count, in, in_offset, out, out_offset, t, scale / double(m));
    return false;
  }
  // (1) columns c of the n1 × n2 view: element r at r·n2 + c
  Step a;
  a.L = n1;
  a.load = {.bstride = in_stride, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes};
  a.store = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes};
  if (p.kind == Kind::four_step && scrambled && !inverse) {
    // (1) the columns into out, (2) rows k1 in place: × w_n^(c·k1), FFT_n2, stored where read
    a.store.bstride = out_stride;
    launch(context, a, real, count * n2, in, in_offset, out, out_offset, {}, 1.0);
    Step b;
    b.L = n2;
    b.tw_split = p.split;
    b.load = {.bstride = out_stride, .I = n1, .emul = 1, .imul = n2, .flags = load_twiddle};
    b.store = {.bstride = out_stride, .I = n1, .emul = 1, .imul = n2, .flags = multiply ? store_post : 0u};
    Tables t = twiddles;
    t.post = multiply;
    launch(context, b, real, count * n1, out, out_offset, out, out_offset, t, scale);
    return true;
  }
  Tensor mid = device_empty(context, Shape{count * m}, complex_dtype(real));
  const cl_mem mid_mem = device_buffer(*mid.buffer(), "fft").mem();
  const std::int64_t mid_off = mid.offset();
  if (p.kind == Kind::four_step && scrambled) {
    // from S[k1][k2]: (1) rows, conj ∘ FFT_n2 ∘ conj, × w_n^(−j2·k1) on the store, into mid;
    // (2) the columns j2 of mid, conj ∘ FFT_n1 ∘ conj, into out (natural order)
    Step b;
    b.L = n2;
    b.tw_split = p.split;
    b.load = {.bstride = in_stride, .I = n1, .emul = 1, .imul = n2, .flags = load_conj};
    b.store = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = store_conj | store_twiddle_conj};
    launch(context, b, real, count * n1, in, in_offset, mid_mem, mid_off, twiddles, 1.0);
    Step c;
    c.L = n1;
    c.load = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes};
    c.store = {.bstride = out_stride, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes};
    launch(context, c, real, count * n2, mid_mem, mid_off, out, out_offset, {}, scale, conj_load | conj_store);
    return false;
  }
  if (p.kind == Kind::four_step) {
    // the direction: conjugate the first load (launch a) and the last store (launch b)
    launch(context, a, real, count * n2, in, in_offset, mid_mem, mid_off, {}, 1.0, inverse ? conj_load | conj_store : 0);
    // (2) rows k1: × w_n^(c·k1), FFT_n2, stored at k1 + n1·k2
    Step b;
    b.L = n2;
    b.tw_split = p.split;
    b.load = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = load_twiddle};
    b.store = {.bstride = out_stride, .I = n1, .emul = n1, .imul = 1, .flags = side_lanes | (multiply ? store_post : 0u)};
    Tables t = twiddles;
    t.post = multiply;
    launch(context, b, real, count * n1, mid_mem, mid_off, out, out_offset, t, scale,
           inverse ? conj_load | conj_store : 0);
    return true;
  }
  if (p.kind == Kind::rader_one) {
    // gather x[g^q] (x_0 saved), FFT_m, × B̂/m, conj, FFT_m, conj, X[g^−p] = x_0 + c_p and
    // X_0 = x_0 + Σa: one launch, each row in one group's tile throughout
    Tensor extra = device_empty(context, Shape{2 * count}, complex_dtype(real));
    Step s;
    s.L = m;
    s.mid = true;
    s.mid_flags = mid_save;
    s.load = {.bstride = in_stride, .flags = load_gather};
    s.store = {.bstride = out_stride, .flags = store_conj | store_scatter};
    s.scatter_offset = m;
    const Tables t{.mul = mem_of(p.spectrum[0]), .perm = mem_of(p.gather),
                   .extra = device_buffer(*extra.buffer(), "fft").mem()};
    launch(context, s, real, count, in, in_offset, out, out_offset, t, scale, inverse ? conj_load | conj_store : 0);
    return false;
  }
  // The two launches the convolution plans (Rader, Bluestein in three launches) share, on the
  // n1 × n2 view of mid: (2) rows k1 in place: × w_m^(c·k1), FFT_n2, × spectrum (row order), conj,
  // FFT_n2, conj, × w_m^(−c·k1); (3) the columns again, conj ∘ FFT_n1 ∘ conj (each branch sets the
  // store side: in place or into out, with its own fused operations).
  Step rows;
  rows.L = n2;
  rows.mid = true;
  rows.tw_split = p.split;
  rows.load = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = load_twiddle};
  rows.store = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = store_conj | store_twiddle_conj};
  Step columns;
  columns.L = n1;
  columns.load = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes | load_conj};
  columns.store = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes | store_conj};
  if (p.kind == Kind::rader) {
    // saving x_0 (at the gather) and Σa (row 0's element 0 of the forward transform); B̂/m spectrum
    Tensor extra = device_empty(context, Shape{2 * count}, complex_dtype(real));
    const cl_mem extra_mem = device_buffer(*extra.buffer(), "fft").mem();
    rows.mid_flags = mid_save;
    Tables t = twiddles;
    t.mul = mem_of(p.spectrum[0]);
    t.extra = extra_mem;
    if (rader_separate(p.gpu)) {
      // (1) a_q = x[g^q] into mid, then its columns in place; (2), (3) in place; (4) X[k] = x_0 +
      // c[p(k)], X_0 = x_0 + Σa. Direction by conjugation.
      {
        Launch gather(context, typed_kernel(context, "fft_rader", real, "rader_gather"), "fft_rader_gather");
        gather.arg(cl_int(count * m)).arg(cl_int(m)).mem(in).arg(cl_long(in_offset)).arg(cl_long(in_stride));
        gather.mem(mid_mem).arg(cl_long(mid_off)).mem(mem_of(p.gather)).mem(extra_mem).arg(cl_int(inverse ? 1 : 0));
        gather.run_elements(count * m);
      }
      a.load.bstride = m;
      launch(context, a, real, count * n2, mid_mem, mid_off, mid_mem, mid_off, {}, 1.0);
      launch(context, rows, real, count * n1, mid_mem, mid_off, mid_mem, mid_off, t, 1.0);
      launch(context, columns, real, count * n2, mid_mem, mid_off, mid_mem, mid_off, {}, 1.0);
      Launch output(context, typed_kernel(context, "fft_rader", real, "rader_output"), "fft_rader_output");
      output.arg(cl_int(count * p.n)).arg(cl_int(p.n)).arg(cl_int(m)).mem(mid_mem).arg(cl_long(mid_off));
      output.mem(out).arg(cl_long(out_offset)).arg(cl_long(out_stride)).mem(mem_of(p.position)).mem(extra_mem);
      output.real(real, scale).arg(cl_int(inverse ? 1 : 0)).run_elements(count * p.n);
      return false;
    }
    // fused: (1) gather a_q = x[g^q] into columns; (2); (3) columns, X[g^−p] = x_0 + (a ⊛ b)_p and
    // X_0 = x_0 + Σa stored to out. Direction by conjugation.
    t.perm = mem_of(p.gather);
    a.load.flags |= load_gather;
    launch(context, a, real, count * n2, in, in_offset, mid_mem, mid_off, t, 1.0, inverse ? conj_load : 0);
    launch(context, rows, real, count * n1, mid_mem, mid_off, mid_mem, mid_off, t, 1.0);
    columns.store.bstride = out_stride;
    columns.store.flags |= store_scatter;
    t.perm = mem_of(p.scatter);
    launch(context, columns, real, count * n2, mid_mem, mid_off, out, out_offset, t, scale, inverse ? conj_store : 0);
    return false;
  }
  // Bluestein in three launches (fft_stockham.hpp): (1) chirp and columns; (2) with the filter
  // spectrum; (3) stores the first n values times the chirp, / m
  // Its launches aim at 64 work-items per group rather than 128 (H100, ms per 2^26 values, 128 → 64:
  // 8191 2.39 → 2.33, 10007 2.46 → 2.43, 16411 2.86 → 2.85, 65539 2.86 → 2.81, 131071 2.79 → 2.74;
  // 256: 2.5–3.0 % slower than 128 on all five)
  a.group = rows.group = columns.group = 64;
  a.load.flags |= load_chirp;
  a.load.limit = p.n;
  const Tables chirp_in{.pre = mem_of(p.chirp[d])};
  launch(context, a, real, count * n2, in, in_offset, mid_mem, mid_off, chirp_in, 1.0);
  Tables t = twiddles;
  t.mul = mem_of(p.spectrum[d]);
  launch(context, rows, real, count * n1, mid_mem, mid_off, mid_mem, mid_off, t, 1.0);
  columns.store.bstride = out_stride;
  columns.store.flags |= store_post;
  columns.store.limit = p.n;
  const Tables chirp_out{.post = mem_of(p.chirp[d])};
  launch(context, columns, real, count * n2, mid_mem, mid_off, out, out_offset, chirp_out, scale / double(m));
  return false;
}

bool convolve_in_one_launch(Context& context, const StockhamPlan& p, DType real, std::int64_t count, cl_mem in,
                            std::int64_t in_offset, cl_mem out, std::int64_t out_offset, cl_mem spectrum,
                            double scale) {
  if (!is_single(p)) return false;
  if (count * p.n >= (std::int64_t(1) << 31))
    throw ValueError(fmt::format("fft convolve (opencl): {} rows of length {} exceed the kernels' 32-bit indices",
                                 count, p.n));
  // Bluestein's one-launch program without the chirps: FFT, × spectrum, conj, FFT, conj
  Step s;
  s.L = p.n;
  s.mid = true;
  s.load = {.bstride = p.n};
  s.store = {.bstride = p.n, .flags = store_conj};
  launch(context, s, real, count, in, in_offset, out, out_offset, {.mul = spectrum}, scale);
  return true;
}

bool is_single(const StockhamPlan& p) { return p.kind == StockhamPlan::Kind::single; }

std::pair<std::int64_t, std::int64_t> four_step_split(const StockhamPlan& p) {
  if (p.kind == StockhamPlan::Kind::four_step) return {p.n1, p.n2};
  return {1, p.n};
}

}  // namespace nodal::opencl::fft
