// Plans and launches of kernels/fft_stockham.cl (see fft_stockham.hpp for the four strategies).
// A launch is described by a Step (length, radices, group shape, the two sides, fused operations);
// the Step becomes the #defines in front of the kernel source, so each distinct Step is one
// program, built once per device and kept by the program cache (memory and disk).
#include "nodal/backends/opencl/fft_stockham.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/plan.hpp"

namespace nodal::opencl::fft {

using cd = std::complex<double>;

struct StockhamPlan {
  enum class Kind { single, four_step, bluestein, bluestein_three, rader };
  Kind kind = Kind::single;
  std::int64_t n = 0;
  std::int64_t m = 0;          // bluestein: the convolution length (single: n)
  std::int64_t n1 = 0, n2 = 0;  // four-step / bluestein_three: m = n1·n2 (columns of n1, rows of n2)
  std::shared_ptr<Buffer> twiddle_lo, twiddle_hi;  // w_m^x = lo[x % split]·hi[x / split]
  std::int64_t split = 1;
  std::shared_ptr<Buffer> chirp[2], spectrum[2];  // bluestein, per direction (spectrum in row order for three)
  std::shared_ptr<Buffer> gather, scatter;        // rader: g^q and g^−q mod n (int32); spectrum[0]: B̂/m, rows
};

namespace {

std::atomic<StockhamMode> forced_mode{StockhamMode::automatic};
std::atomic<bool> forced_split{false};

constexpr std::uint32_t load_conj = 1, load_chirp = 2, load_twiddle = 4, side_lanes = 8, load_gather = 16;
constexpr std::uint32_t store_conj = 1, store_post = 2, store_twiddle_conj = 4, store_scatter = 32;
constexpr std::uint32_t mid_save = 16;
// the run-time `inverse` argument: conjugate on load (1), on store (2)
constexpr int conj_load = 1, conj_store = 2;

std::int64_t esize_of(DType real) { return real == DType::float64 ? 16 : 8; }
bool pad_on() {
  static const bool pad = [] {
    const char* v = std::getenv("NODAL_FFT_PAD");
    return !(v && std::string_view(v) == "0");
  }();
  return pad;
}
// PITCH: PAD(L) rounded up to odd (kernels/fft_stockham.cl, bank-conflict padding): one pad slot per
// 32 banks' worth of values (16 float2, 8 double2; split tiles hold one real per value: 32, 16)
std::int64_t pitch_of(std::int64_t L, DType real, bool split) {
  const std::int64_t shift = (real == DType::float64 ? 3 : 4) + (split ? 1 : 0);
  return (pad_on() ? L + (L >> shift) : L) | 1;
}
// bytes of one transform's row in the tile
std::int64_t row_bytes(std::int64_t L, DType real, bool split) {
  return pitch_of(L, real, split) * (split ? esize_of(real) / 2 : esize_of(real));
}
std::atomic<std::int64_t> budget_cap{0};
std::int64_t budget_of(const Context& context) {
  const std::int64_t device = std::int64_t(context.device().local_memory) - 1024;
  const std::int64_t cap = budget_cap.load();
  return cap > 0 ? std::min(device, cap) : device;
}

// The longest transform one group holds: its tile fits local memory (split: one real per value),
// and at most 16 values per work-item within 1024 work-items.
std::int64_t single_limit(const Context& context, DType real) {
  std::int64_t limit = 16384;
  while (limit > 2 && row_bytes(limit, real, true) > budget_of(context)) --limit;
  return limit;
}

// Tuning switches read once (bench/fft compares them on a GPU; docs/opencl.md): NODAL_FFT_RADIX16=1
// allows radix-16 passes (off: on the H100 they made the four-step 25 % slower and Bluestein's
// one-launch plan 12 % slower, and single launches no faster), NODAL_FFT_GROUP the work-items per
// group aimed at (default 128: Bluestein n = 1009 ran 1.5x faster than with 256),
// NODAL_FFT_BLUESTEIN=2|23|235|2357 the primes a three-launch Bluestein length m may have
// (default 235: radix-7 passes cost more than the few percent of length they save; measured on the
// H100 for n = 4099: m = 8640 = 2^6·3^3·5 ran 10 % faster than m = 8232 = 2^3·3·7^3).
// Radix 16 where a launch runs its passes twice (Bluestein in one launch: 1.3x faster on the H100
// with 128-item groups), elsewhere only with NODAL_FFT_RADIX16=1.
bool radix16(bool mid) {
  static const int env = [] {
    const char* v = std::getenv("NODAL_FFT_RADIX16");
    return v ? (std::string_view(v) == "1" ? 1 : 0) : -1;
  }();
  return env >= 0 ? env == 1 : mid;
}
// NODAL_FFT_BLUESTEIN_M: the Bluestein length (for measuring candidates) where it is ≥ 2n − 1 and
// allowed (one launch when it fits a group); NODAL_FFT_BLUESTEIN_LAUNCHES=3 refuses the one-launch plan.
std::int64_t bluestein_override() {
  static const std::int64_t m = [] {
    const char* v = std::getenv("NODAL_FFT_BLUESTEIN_M");
    return v ? std::int64_t(std::atoll(v)) : std::int64_t(0);
  }();
  return m;
}
bool bluestein_three_only() {
  static const bool three = [] {
    const char* v = std::getenv("NODAL_FFT_BLUESTEIN_LAUNCHES");
    return v && std::string_view(v) == "3";
  }();
  return three;
}
std::vector<int> bluestein_primes() {
  static const std::vector<int> primes = [] {
    const char* v = std::getenv("NODAL_FFT_BLUESTEIN");
    std::vector<int> p;
    for (const char* c = v ? v : "235"; *c; ++c)
      if (*c == '2' || *c == '3' || *c == '5' || *c == '7') p.push_back(*c - '0');
    return p.empty() ? std::vector<int>{2, 3, 5, 7} : p;
  }();
  return primes;
}
bool bluestein_length(std::int64_t m) {
  for (int p : bluestein_primes())
    while (m % p == 0) m /= p;
  return m == 1;
}
std::int64_t group_target() {
  static const std::int64_t target = [] {
    const char* v = std::getenv("NODAL_FFT_GROUP");
    return v ? std::clamp<std::int64_t>(std::atoll(v), 32, 1024) : std::int64_t(128);
  }();
  return target;
}

std::vector<int> radices_of(std::int64_t n, bool with16 = false) {  // empty when n is not 2·3·5·7-smooth
  std::vector<int> radices;
  for (int r : {16, 8, 4, 2, 7, 5, 3}) {
    if (r == 16 && !with16) continue;
    while (n % r == 0) {
      radices.push_back(r);
      n /= r;
    }
  }
  return n == 1 ? radices : std::vector<int>{};
}
bool smooth(std::int64_t n) { return n >= 2 && !radices_of(n).empty(); }

cd root(std::int64_t x, std::int64_t n) {  // exp(−2πi·x/n), x reduced exactly first
  x %= n;
  if (x < 0) x += n;
  const double angle = -2.0 * std::numbers::pi * double(x) / double(n);
  return {std::cos(angle), std::sin(angle)};
}

std::shared_ptr<Buffer> upload(Context& context, const std::vector<cd>& values, DType real) {
  const std::size_t esize = std::size_t(esize_of(real));
  std::vector<unsigned char> bytes(std::max<std::size_t>(1, values.size()) * esize);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (real == DType::float64) {
      const double v[2] = {values[i].real(), values[i].imag()};
      std::memcpy(bytes.data() + i * esize, v, esize);
    } else {
      const float v[2] = {float(values[i].real()), float(values[i].imag())};
      std::memcpy(bytes.data() + i * esize, v, esize);
    }
  }
  auto buffer = context.pool().allocate(bytes.size());
  check(clEnqueueWriteBuffer(context.queue(), device_buffer(*buffer, "fft table").mem(), CL_TRUE, 0, bytes.size(),
                             bytes.data(), 0, nullptr, nullptr),
        "clEnqueueWriteBuffer", "fft_stockham table");
  return buffer;
}

// The pass twiddles of length L (per pass NS·(R−1) values w_{NS·R}^(t·k)), one table per
// (device, L, precision).
std::shared_ptr<Buffer> pass_twiddles(Context& context, std::int64_t L, bool with16, DType real) {
  static std::mutex mutex;
  static std::map<std::tuple<const Context*, std::int64_t, bool, int>, std::shared_ptr<Buffer>> tables;
  std::lock_guard lock(mutex);
  auto& slot = tables[{&context, L, with16, int(real)}];
  if (!slot) {
    std::vector<cd> tw;
    std::int64_t ns = 1;
    for (int r : radices_of(L, with16)) {
      for (std::int64_t k = 0; k < ns; ++k)
        for (int t = 1; t < r; ++t) tw.push_back(root(t * k, ns * r));
      ns *= r;
    }
    slot = upload(context, tw, real);
  }
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
  std::int64_t tw_split = 1;
};

struct Shape2 {
  int items = 1, lanes = 1;
  bool split = false;  // the tile holds real and imaginary parts in turn
};
Shape2 group_shape(const Context& context, const Step& s, DType real) {
  Shape2 g;
  const std::int64_t max_group = std::int64_t(std::min<std::size_t>(1024, context.device().max_work_group_size));
  // work-items per transform: the fewest idle butterfly slots over all passes (Σ ⌈(L/R)/T⌉·R·T),
  // at most 16 values in registers per pass, ties to the larger T (more parallelism)
  const std::vector<int> radices = radices_of(s.L, radix16(s.mid));
  std::int64_t best_cost = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t t = 1; t <= std::min(s.L, max_group); ++t) {
    std::int64_t cost = 0, regs = 0;
    for (int r : radices) {
      const std::int64_t nb = (s.L / r + t - 1) / t;
      cost += nb * r * t;
      regs = std::max(regs, nb * r);
    }
    if (regs <= 16 && cost <= best_cost) {
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
  if (s.mid && budget_of(context) / row_bytes(s.L, real, false) < 1)
    for (std::int64_t t = std::min(s.L, max_group); t > g.items; --t) {
      bool fits = true;
      for (int r : radices) fits = fits && (s.L / r + t - 1) / t <= 2 && (s.L / r + t - 1) / t * r <= 16;
      if (fits) {
        g.items = int(t);
        break;
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
  std::int64_t lanes = std::max<std::int64_t>(1, group_target() / g.items);
  if (lanes_side) lanes = std::max<std::int64_t>(lanes, 8);  // ≥ 8 adjacent values per access (64 bytes)
  lanes = std::min(lanes, max_group / g.items);
  // a split tile where a whole one does not hold one transform, or holds fewer than 4 lanes of a
  // strided side (16-byte accesses) where a split one holds more
  const std::int64_t fit = budget_of(context) / row_bytes(s.L, real, false);
  const std::int64_t fit_split = budget_of(context) / row_bytes(s.L, real, true);
  g.split = forced_split.load() || fit < 1 || (lanes_side && fit < std::min<std::int64_t>(4, lanes) && fit_split > fit);
  const std::int64_t room = g.split ? fit_split : fit;
  if (room < 1)
    throw BackendError(fmt::format("fft_stockham: length {} does not fit the device's local memory", s.L));
  g.lanes = int(std::clamp<std::int64_t>(lanes, 1, room));
  return g;
}

std::string side_defines(char prefix, const SideSpec& s) {
  return fmt::format("#define {0}_BSTRIDE {1}L\n#define {0}_I {2}\n#define {0}_EMUL {3}\n#define {0}_IMUL {4}\n"
                     "#define {0}_FLAGS {5}\n#define {0}_{6} {7}\n",
                     prefix, s.bstride, s.I, s.emul, s.imul, s.flags, prefix == 'L' ? "VALID" : "COUNT", s.limit);
}

// The program text of a Step: the #defines, then kernels/fft_stockham.cl.
std::string program_text(const Step& s, const Shape2& g, DType real) {
  const std::vector<int> radices = radices_of(s.L, radix16(s.mid));
  // the step list (kernels/fft_stockham.cl, FFT_STEPS): the first pass reads global memory (the
  // work-items are laid out along the load side), the last writes it when the store side is laid
  // out the same way, else through the tile
  const bool direct_out = (s.load.flags & side_lanes) == (s.store.flags & side_lanes);
  std::string steps = fmt::format(" FIRST({})", radices.front());
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
        steps += fmt::format(" MID({}) EXCHANGE({},{},{})", radices[p], radices[p], span, radices.front());
      } else {
        steps += fmt::format(" {}({})", direct_out ? "STORE" : "STAGED", radices[p]);
      }
    }
  }
  std::string text = fmt::format(
      "#define L {}\n#define ITEMS {}\n#define LANES {}\n#define PITCH {}\n#define FFT_PAD {}\n#define TW_SPLIT {}\n"
      "#define SPLIT {}\n#define VMAX {}\n",
      s.L, g.items, g.lanes, pitch_of(s.L, real, g.split), pad_on() ? 1 : 0, s.tw_split, g.split ? 1 : 0, vmax);
  text += side_defines('L', s.load) + side_defines('S', s.store) + fmt::format("#define MID_FLAGS {}\n", s.mid_flags);
  text += fmt::format("#define FFT_STEPS{}\n", steps);
  text += kernel_source("fft_stockham");
  return text;
}

struct Tables {
  cl_mem pre = nullptr, mul = nullptr, post = nullptr, lo = nullptr, hi = nullptr, perm = nullptr, extra = nullptr;
};
cl_mem mem_of(const std::shared_ptr<Buffer>& b) { return b ? device_buffer(*b, "fft").mem() : nullptr; }

// `inverse`: conj_load | conj_store, the run-time direction (kernels/fft_stockham.cl)
void launch(Context& context, const Step& s, DType real, std::int64_t count, cl_mem in, std::int64_t in_off, cl_mem out,
            std::int64_t out_off, const Tables& t, double scale, int inverse = 0) {
  if (count <= 0) return;
  const Shape2 g = group_shape(context, s, real);
  const bool fp64 = real == DType::float64;
  const std::string text = program_text(s, g, real);
  const std::string options = fp64 ? "-cl-std=CL1.2 -DT=double -DNODAL_FP64" : "-cl-std=CL1.2 -DT=float";
  cl_kernel kernel = context.programs().kernel("fft_stockham.cl", text, options, "fft_stockham");
  const cl_mem tw = mem_of(pass_twiddles(context, s.L, radix16(s.mid), real));
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
  run.run(std::size_t((count + g.lanes - 1) / g.lanes), std::size_t(g.items * g.lanes));
}

// n1 (columns) · n2 (rows) = m with both ≤ limit, n1 the largest smooth divisor ≤ √m; 0 if none.
std::int64_t column_length(std::int64_t m, std::int64_t limit) {
  for (std::int64_t d = std::int64_t(std::sqrt(double(m))); d >= 2; --d)
    if (m % d == 0 && smooth(d) && smooth(m / d) && d <= limit && m / d <= limit) return d;
  return 0;
}

void step_twiddles(Context& context, StockhamPlan& p, std::int64_t m, DType real) {
  std::int64_t split = 1;
  while (split * split < m) split *= 2;
  std::vector<cd> lo, hi;
  for (std::int64_t x = 0; x < split; ++x) lo.push_back(root(x, m));
  for (std::int64_t x = 0; x * split < m; ++x) hi.push_back(root(x * split, m));
  p.split = split;
  p.twiddle_lo = upload(context, lo, real);
  p.twiddle_hi = upload(context, hi, real);
}

std::int64_t power_mod(std::int64_t base, std::int64_t exponent, std::int64_t n) {  // n < 2^31
  std::int64_t result = 1;
  base %= n;
  for (; exponent > 0; exponent >>= 1, base = base * base % n)
    if (exponent & 1) result = result * base % n;
  return result;
}
// The smallest generator of the multiplicative group mod n when n is an odd prime, else 0.
std::int64_t primitive_root(std::int64_t n) {
  if (n < 3 || n >= (std::int64_t(1) << 31)) return 0;
  for (std::int64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return 0;
  std::vector<std::int64_t> factors;  // the primes of n − 1
  std::int64_t rest = n - 1;
  for (std::int64_t d = 2; d * d <= rest; ++d)
    if (rest % d == 0) {
      factors.push_back(d);
      while (rest % d == 0) rest /= d;
    }
  if (rest > 1) factors.push_back(rest);
  for (std::int64_t g = 2; g < n; ++g)
    if (std::all_of(factors.begin(), factors.end(), [&](std::int64_t f) { return power_mod(g, (n - 1) / f, n) != 1; }))
      return g;
  return 0;
}

std::shared_ptr<Buffer> upload_ints(Context& context, const std::vector<std::int32_t>& values) {
  const std::size_t bytes = std::max<std::size_t>(1, values.size()) * sizeof(std::int32_t);
  auto buffer = context.pool().allocate(bytes);
  check(clEnqueueWriteBuffer(context.queue(), device_buffer(*buffer, "fft table").mem(), CL_TRUE, 0,
                             values.size() * sizeof(std::int32_t), values.data(), 0, nullptr, nullptr),
        "clEnqueueWriteBuffer", "fft_stockham index table");
  return buffer;
}

std::shared_ptr<const StockhamPlan> build(Context& context, std::int64_t n, DType real) {
  auto p = std::make_shared<StockhamPlan>();
  p->n = p->m = n;
  const std::int64_t limit = single_limit(context, real);
  if (smooth(n) && n <= limit) return p;
  if (smooth(n)) {
    const std::int64_t n1 = column_length(n, limit);
    if (n1) {
      p->kind = StockhamPlan::Kind::four_step;
      p->n1 = n1;
      p->n2 = n / n1;
      step_twiddles(context, *p, n, real);
      return p;
    }
  }
  // Rader, for a prime n whose n − 1 = n1·n2 is smooth but beyond one launch: a cyclic convolution
  // of length n − 1 (about half of Bluestein's m ≥ 2n − 1)
  if (const std::int64_t g = primitive_root(n); g && n - 1 > limit && smooth(n - 1) && column_length(n - 1, limit)) {
    const std::int64_t m = n - 1;
    p->kind = StockhamPlan::Kind::rader;
    p->m = m;
    p->n1 = column_length(m, limit);
    p->n2 = m / p->n1;
    step_twiddles(context, *p, m, real);
    std::vector<std::int32_t> gather(static_cast<std::size_t>(m)), scatter(static_cast<std::size_t>(m));
    std::vector<cd> b(static_cast<std::size_t>(m)), spectrum(static_cast<std::size_t>(m));
    const std::int64_t g_inverse = power_mod(g, n - 2, n);
    std::int64_t up = 1, down = 1;  // g^q, g^−q
    for (std::int64_t q = 0; q < m; ++q) {
      gather[std::size_t(q)] = std::int32_t(up);
      scatter[std::size_t(q)] = std::int32_t(down);
      b[std::size_t(q)] = root(down, n) / double(m);  // w_n^(g^−q) / m: the inverse's 1/m folded in
      up = up * g % n;
      down = down * g_inverse % n;
    }
    nodal::fft::Plan<double>::cached({.n = std::size_t(m)})->execute(b.data(), spectrum.data());
    std::vector<cd> rows(spectrum.size());  // row k1 of the four-step holds bins k1 + n1·k2
    for (std::int64_t k1 = 0; k1 < p->n1; ++k1)
      for (std::int64_t k2 = 0; k2 < p->n2; ++k2)
        rows[std::size_t(k1 * p->n2 + k2)] = spectrum[std::size_t(k1 + p->n1 * k2)];
    p->spectrum[0] = upload(context, rows, real);
    p->gather = upload_ints(context, gather);
    p->scatter = upload_ints(context, scatter);
    return p;
  }
  // Bluestein: X_k = w_k Σ_j (x_j w_j) conj(w_{k−j}), w_j = exp(−iπ j²/n)
  // one launch when a length ≥ 2n − 1 fits a group: a power of two, else the 2·3·5-smooth length with
  // the least m·(1 + 0.2·odd prime factors): one launch is bound by arithmetic and barriers, not
  // traffic (H100, n = 4099: m = 10240 = 2^11·5 3.0 ms, 9216 = 2^10·3^2 3.4, 10000 = 2^4·5^4 4.1,
  // 8640 = 2^6·3^3·5 10.8, 11250 11.3)
  const auto odd_factors = [](std::int64_t c) {
    int odd = 0;
    for (int f : {3, 5, 7})
      while (c % f == 0) c /= f, ++odd;
    return odd;
  };
  std::int64_t m = 1;
  while (m < 2 * n - 1) m *= 2;
  if (m > limit) {
    m = 0;
    double best = 0;
    for (std::int64_t c = 2 * n - 1; c <= limit; ++c)
      if (bluestein_length(c) && (!m || double(c) * (1 + 0.2 * odd_factors(c)) < best))
        best = double(c) * (1 + 0.2 * odd_factors(c)), m = c;
  }
  if (const std::int64_t o = bluestein_override(); o >= 2 * n - 1 && o <= limit && smooth(o)) m = o;
  if (bluestein_three_only()) m = 0;
  if (m) {
    p->kind = StockhamPlan::Kind::bluestein;
  } else {
    // the allowed length with the least m·(1 + 0.03·odd prime factors) up to 1.5·(2n − 1): odd radices
    // cost more arithmetic per pass than 2, 4, 8, but traffic grows with m (H100, n = 4099: m = 8640
    // 3.4 ms, 9216 = 96·96 3.9 ms, 8232 3.7 ms)
    const std::int64_t lowest = std::max(2 * n - 1, bluestein_override());
    double best = 0;
    for (std::int64_t c = lowest; c <= lowest + lowest / 2 && c <= limit * limit; ++c) {
      if (!bluestein_length(c) || !column_length(c, limit)) continue;
      const double cost = double(c) * (1 + 0.03 * odd_factors(c));
      if (!m || cost < best) best = cost, m = c;
    }
    if (!m) return nullptr;
    p->kind = StockhamPlan::Kind::bluestein_three;
    p->n1 = column_length(m, limit);
    p->n2 = m / p->n1;
    step_twiddles(context, *p, m, real);
  }
  p->m = m;
  std::vector<cd> w(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) w[std::size_t(j)] = root((j * j) % (2 * n), 2 * n);
  const auto host_plan = nodal::fft::Plan<double>::cached({.n = std::size_t(m)});
  for (int inverse = 0; inverse < 2; ++inverse) {
    std::vector<cd> chirp(w), filter(static_cast<std::size_t>(m), 0.0), spectrum(static_cast<std::size_t>(m));
    if (inverse)
      for (auto& c : chirp) c = std::conj(c);
    for (std::int64_t j = 0; j < n; ++j) {
      const cd b = std::conj(chirp[std::size_t(j)]);
      filter[std::size_t(j)] = b;
      if (j) filter[std::size_t(m - j)] = b;
    }
    host_plan->execute(filter.data(), spectrum.data());
    if (p->kind == StockhamPlan::Kind::bluestein_three) {  // row k1 of the four-step holds bins k1 + n1·k2
      std::vector<cd> rows(spectrum.size());
      for (std::int64_t k1 = 0; k1 < p->n1; ++k1)
        for (std::int64_t k2 = 0; k2 < p->n2; ++k2)
          rows[std::size_t(k1 * p->n2 + k2)] = spectrum[std::size_t(k1 + p->n1 * k2)];
      spectrum = std::move(rows);
    }
    p->chirp[inverse] = upload(context, chirp, real);
    p->spectrum[inverse] = upload(context, spectrum, real);
  }
  return p;
}

using PlanTable = std::map<std::tuple<const Context*, std::int64_t, int>, std::shared_ptr<const StockhamPlan>>;
std::mutex& plan_mutex() {
  static std::mutex m;
  return m;
}
PlanTable& plan_table() {
  static PlanTable t;
  return t;
}

}  // namespace

void set_stockham_mode(StockhamMode mode) { forced_mode = mode; }
void set_stockham_test_limits(std::int64_t local_bytes, bool split) {
  budget_cap = local_bytes;
  forced_split = split;
  std::lock_guard lock(plan_mutex());
  plan_table().clear();
}

bool stockham_enabled(const Context& context) {
  static const int env = [] {
    const char* v = std::getenv("NODAL_FFT_STOCKHAM");
    return v ? (std::string_view(v) == "0" ? 0 : 1) : -1;
  }();
  const StockhamMode mode = forced_mode.load();
  if (mode != StockhamMode::automatic) return mode == StockhamMode::on;
  if (env >= 0) return env == 1;
  return context.device().type.find("gpu") != std::string::npos;
}

std::shared_ptr<const StockhamPlan> stockham_plan(Context& context, std::int64_t n, DType real) {
  if (n < 2 || n >= (std::int64_t(1) << 30)) return nullptr;
  const auto key = std::make_tuple(&context, n, int(real));
  {
    std::lock_guard lock(plan_mutex());
    if (auto it = plan_table().find(key); it != plan_table().end()) return it->second;
  }
  auto plan = build(context, n, real);
  std::lock_guard lock(plan_mutex());
  return plan_table().emplace(key, plan).first->second;
}

std::string describe(const StockhamPlan& p) {
  switch (p.kind) {
    case StockhamPlan::Kind::single:
      return fmt::format("stockham n={} radices {}", p.n, fmt::join(radices_of(p.n, radix16(false)), "·"));
    case StockhamPlan::Kind::four_step:
      return fmt::format("stockham four-step n={} = {} x {} (2 launches)", p.n, p.n1, p.n2);
    case StockhamPlan::Kind::bluestein:
      return fmt::format("stockham bluestein n={} via m={} in one launch", p.n, p.m);
    case StockhamPlan::Kind::rader:
      return fmt::format("stockham rader n={} via m={} = {} x {} (3 launches)", p.n, p.m, p.n1, p.n2);
    case StockhamPlan::Kind::bluestein_three:
      return fmt::format("stockham bluestein n={} via m={} = {} x {} (3 launches)", p.n, p.m, p.n1, p.n2);
  }
  return {};
}

void execute(Context& context, const StockhamPlan& p, DType real, std::int64_t count, bool inverse, cl_mem in,
             std::int64_t in_offset, std::int64_t in_stride, cl_mem out, std::int64_t out_offset,
             std::int64_t out_stride, double scale) {
  if (count <= 0) return;
  if (count * std::max(p.m, p.n) >= (std::int64_t(1) << 31) || count >= std::numeric_limits<int>::max())
    throw ValueError(fmt::format("fft (opencl): {} transforms of length {} exceed the kernels' 32-bit indices", count,
                                 p.n));
  const Tables twiddles{.lo = mem_of(p.twiddle_lo), .hi = mem_of(p.twiddle_hi)};
  using Kind = StockhamPlan::Kind;
  if (p.kind == Kind::single) {
    Step s;
    s.L = p.n;
    s.load = {.bstride = in_stride};
    s.store = {.bstride = out_stride};
    launch(context, s, real, count, in, in_offset, out, out_offset, {}, scale, inverse ? conj_load | conj_store : 0);
    return;
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
    return;
  }
  Tensor mid = device_empty(context, Shape{count * m}, complex_dtype(real));
  const cl_mem mid_mem = device_buffer(*mid.buffer(), "fft").mem();
  const std::int64_t mid_off = mid.offset();
  // (1) columns c of the n1 × n2 view: element r at r·n2 + c
  Step a;
  a.L = n1;
  a.load = {.bstride = in_stride, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes};
  a.store = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes};
  if (p.kind == Kind::four_step) {
    // the direction: conjugate the first load (launch a) and the last store (launch b)
    launch(context, a, real, count * n2, in, in_offset, mid_mem, mid_off, {}, 1.0, inverse ? conj_load | conj_store : 0);
    // (2) rows k1: × w_n^(c·k1), FFT_n2, stored at k1 + n1·k2
    Step b;
    b.L = n2;
    b.tw_split = p.split;
    b.load = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = load_twiddle};
    b.store = {.bstride = out_stride, .I = n1, .emul = n1, .imul = 1, .flags = side_lanes};
    launch(context, b, real, count * n1, mid_mem, mid_off, out, out_offset, twiddles, scale,
           inverse ? conj_load | conj_store : 0);
    return;
  }
  if (p.kind == Kind::rader) {
    // (1) gather a_q = x[g^q] into columns (x_0 saved), (2) rows: convolve with b (spectrum B̂/m),
    // saving Σa, (3) columns: X[g^−p] = x_0 + (a ⊛ b)_p, X_0 = x_0 + Σa. Direction by conjugation.
    Tensor extra = device_empty(context, Shape{2 * count}, complex_dtype(real));
    Tables t = twiddles;
    t.perm = mem_of(p.gather);
    t.extra = device_buffer(*extra.buffer(), "fft").mem();
    a.load.flags |= load_gather;
    launch(context, a, real, count * n2, in, in_offset, mid_mem, mid_off, t, 1.0, inverse ? conj_load : 0);
    Step b;
    b.L = n2;
    b.mid = true;
    b.mid_flags = mid_save;
    b.tw_split = p.split;
    b.load = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = load_twiddle};
    b.store = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = store_conj | store_twiddle_conj};
    t.mul = mem_of(p.spectrum[0]);
    launch(context, b, real, count * n1, mid_mem, mid_off, mid_mem, mid_off, t, 1.0);
    Step c;
    c.L = n1;
    c.load = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes | load_conj};
    c.store = {.bstride = out_stride, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes | store_conj | store_scatter};
    t.perm = mem_of(p.scatter);
    launch(context, c, real, count * n2, mid_mem, mid_off, out, out_offset, t, scale, inverse ? conj_store : 0);
    return;
  }
  // Bluestein in three launches (fft_stockham.hpp)
  a.load.flags |= load_chirp;
  a.load.limit = p.n;
  const Tables chirp_in{.pre = mem_of(p.chirp[d])};
  launch(context, a, real, count * n2, in, in_offset, mid_mem, mid_off, chirp_in, 1.0);
  Step b;
  b.L = n2;
  b.mid = true;
  b.tw_split = p.split;
  b.load = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = load_twiddle};
  b.store = {.bstride = m, .I = n1, .emul = 1, .imul = n2, .flags = store_conj | store_twiddle_conj};
  Tables rows = twiddles;
  rows.mul = mem_of(p.spectrum[d]);
  launch(context, b, real, count * n1, mid_mem, mid_off, mid_mem, mid_off, rows, 1.0);
  Step c;
  c.L = n1;
  c.load = {.bstride = m, .I = n2, .emul = n2, .imul = 1, .flags = side_lanes | load_conj};
  c.store = {.bstride = out_stride, .I = n2, .emul = n2, .imul = 1,
             .flags = side_lanes | store_conj | store_post, .limit = p.n};
  const Tables chirp_out{.post = mem_of(p.chirp[d])};
  launch(context, c, real, count * n2, mid_mem, mid_off, out, out_offset, chirp_out, scale / double(m));
}

}  // namespace nodal::opencl::fft
