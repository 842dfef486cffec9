// Plans of kernels/fft_stockham.cl (fft_stockham.hpp lists the five): every table computed on the
// host in double precision and uploaded once per cached plan; the tuning switches and the
// local-memory arithmetic the launches (fft_stockham.cpp) share.
#include "nodal/backends/opencl/fft_stockham_detail.hpp"

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
#include "nodal/core/error.hpp"
#include "nodal/fft/plan.hpp"

namespace nodal::opencl::fft {

namespace stockham {

namespace {
std::atomic<StockhamMode> forced_mode{StockhamMode::automatic};
std::atomic<bool> split_everywhere{false};
std::atomic<std::int64_t> budget_cap{0};
}  // namespace

bool forced_split() { return split_everywhere.load(); }

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
// group aimed at (default 128: Bluestein n = 1009 ran 1.5x faster than with 256; 64 for the three-launch
// Bluestein, fft_stockham.cpp),
// NODAL_FFT_BLUESTEIN=2|23|235|2357 the primes a Bluestein length m may have (bluestein_primes).
// Radix 16 where a launch runs its passes twice over a long row (Bluestein and convolution in one
// launch, L ≥ 1024: 1.3x faster on the H100 with 128-item groups, n = 1009 and 4099), with the
// composites 12, 14 and 15 (radices_of); radix ≤ 10 elsewhere (powers of two: 8), including the short
// rows of Rader's and the three-launch Bluestein's middle launch (Rader n = 65537, rows of 256: 2.90
// ms with radix 8 against 3.07 with 16); NODAL_FFT_RADIX16=1|0 forces it on or off everywhere.
bool radix16(bool mid, std::int64_t L) {
  static const int env = [] {
    const char* v = std::getenv("NODAL_FFT_RADIX16");
    return v ? (std::string_view(v) == "1" ? 1 : 0) : -1;
  }();
  return env >= 0 ? env == 1 : mid && L >= 1024;
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
// The primes a Bluestein length may have: 2·3·5 for the one-launch plan, 2·3·5·7 for the three-launch
// one (NODAL_FFT_BLUESTEIN=2|23|235|2357 sets both, for measuring).
std::vector<int> bluestein_primes(bool three_launches) {
  static const std::vector<int> env = [] {
    const char* v = std::getenv("NODAL_FFT_BLUESTEIN");
    std::vector<int> p;
    for (const char* c = v ? v : ""; *c; ++c)
      if (*c == '2' || *c == '3' || *c == '5' || *c == '7') p.push_back(*c - '0');
    return p;
  }();
  if (!env.empty()) return env;
  return three_launches ? std::vector<int>{2, 3, 5, 7} : std::vector<int>{2, 3, 5};
}
bool bluestein_length(std::int64_t m, bool three_launches) {
  for (int p : bluestein_primes(three_launches))
    while (m % p == 0) m /= p;
  return m == 1;
}
// Rader's permutations: fused into its two column launches (3 launches), or as passes of their own
// (5 launches, kernels/fft_rader.cl). A fused gather or scatter is fast only while few batch rows
// share the L2 at a time (H100, n = 65537: 3.6 ms with 8 groups of the column launch per SM, 2.69 ms
// with local memory reserved for 5, against 2.86 ms for the separate passes), so the fused form
// reserves local memory (rader_pad); GPUs take it, CPU devices (whose caches are per core) the
// separate passes. NODAL_FFT_RADER=fused|separate or set_rader_permutations chooses.
std::atomic<int> rader_mode{0};  // 0 automatic, 1 fused, 2 separate
bool rader_separate(bool gpu) {
  static const int env = [] {
    const char* v = std::getenv("NODAL_FFT_RADER");
    return v ? (std::string_view(v) == "fused" ? 1 : std::string_view(v) == "separate" ? 2 : 0) : 0;
  }();
  const int forced = rader_mode.load();
  const int mode = forced ? forced : env;
  return mode ? mode == 2 : !gpu;
}
// Local memory a fused permuting launch reserves beyond its tile: the group then takes 80 % of the
// per-group maximum, so that a compute unit holds few groups (H100: 5 of 228 KiB per SM, each 1024
// values: 10 rows of 65536 in flight, 5 MiB of the 50 MiB L2). NODAL_FFT_RADER_PAD=bytes overrides.
std::int64_t rader_pad(const Context& context, std::int64_t tile_bytes) {
  static const std::int64_t env = [] {
    const char* v = std::getenv("NODAL_FFT_RADER_PAD");
    return v ? std::int64_t(std::atoll(v)) : std::int64_t(-1);
  }();
  if (env >= 0) return env;
  if (context.device().type.find("gpu") == std::string::npos) return 0;  // per-core caches: nothing to share
  return std::max<std::int64_t>(0, budget_of(context) * 4 / 5 - tile_bytes);
}
// NODAL_FFT_RADER_ONE_LAUNCH=0: primes with a smooth n − 1 that fits a group take Bluestein in one
// launch instead of Rader in one launch (measuring only).
bool rader_one_launch() {
  static const bool on = [] {
    const char* v = std::getenv("NODAL_FFT_RADER_ONE_LAUNCH");
    return !(v && std::string_view(v) == "0");
  }();
  return on;
}
std::int64_t rader_columns_override() {
  static const std::int64_t n1 = [] {
    const char* v = std::getenv("NODAL_FFT_RADER_COLUMNS");
    return v ? std::int64_t(std::atoll(v)) : std::int64_t(0);
  }();
  return n1;
}
std::int64_t bluestein_columns_override() {
  static const std::int64_t n1 = [] {
    const char* v = std::getenv("NODAL_FFT_BLUESTEIN_COLUMNS");
    return v ? std::int64_t(std::atoll(v)) : std::int64_t(0);
  }();
  return n1;
}
std::int64_t group_forced() {
  static const std::int64_t target = [] {
    const char* v = std::getenv("NODAL_FFT_GROUP");
    return v ? std::clamp<std::int64_t>(std::atoll(v), 32, 1024) : std::int64_t(0);
  }();
  return target;
}
std::int64_t group_target(std::int64_t preferred) {
  if (const std::int64_t forced = group_forced()) return forced;
  return preferred > 0 ? preferred : 128;
}

std::shared_ptr<Buffer> upload_ints(Context& context, const std::vector<std::int32_t>& values) {
  const std::size_t bytes = std::max<std::size_t>(1, values.size()) * sizeof(std::int32_t);
  auto buffer = context.pool().allocate(bytes);
  check(clEnqueueWriteBuffer(context.queue(), device_buffer(*buffer, "fft table").mem(), CL_TRUE, 0,
                             values.size() * sizeof(std::int32_t), values.data(), 0, nullptr, nullptr),
        "clEnqueueWriteBuffer", "fft_stockham index table");
  return buffer;
}

}  // namespace stockham

namespace {

using namespace stockham;

// n1 (columns) · n2 (rows) = m with both ≤ limit, n1 the largest smooth divisor ≤ √m; 0 if none.
std::int64_t column_length(std::int64_t m, std::int64_t limit) {
  for (std::int64_t d = std::int64_t(std::sqrt(double(m))); d >= 2; --d)
    if (m % d == 0 && smooth(d) && smooth(m / d) && d <= limit && m / d <= limit) return d;
  return 0;
}

// The three-launch Bluestein's columns: rows of 512 (radices 8·8·8) where m = n1·512 with a smooth
// n1 ≤ 512, else column_length's n1 ≈ √m. Its middle launch runs the row passes twice and was fastest
// with rows of 512 (H100, ms per 2^26 values: n = 8191, m = 16384: 32 × 512 2.39, 64 × 256 2.40,
// 128 × 128 2.54, 256 × 64 2.47, 16 × 1024 2.98; n = 10007, m = 20480: 40 × 512 2.46, 80 × 256 2.70,
// 128 × 160 2.64; n = 131071, m = 262144: 512 × 512 2.80, 256 × 1024 3.16, 1024 × 256 3.58); longer
// columns than rows were not measured faster anywhere (n = 1048573, 2^21: 1024 × 2048 4.49, 2048 ×
// 1024 4.63), hence n1 ≤ 512. With this rule n = 32771 takes m = 69120 = 135 × 512 (2.87; 73728 =
// 144 × 512 2.83, 256 × 288 2.93). One loss measured: n = 20011, m = 40960: 80 × 512 2.71 against
// 160 × 256 2.65.
std::int64_t bluestein_columns(std::int64_t m, std::int64_t limit) {
  constexpr std::int64_t rows = 512;
  if (m % rows == 0 && m / rows <= rows && m / rows >= 2 && smooth(m / rows) && rows <= limit) return m / rows;
  return column_length(m, limit);
}

void step_twiddles(Context& context, StockhamPlan& p, std::int64_t m, DType real) {
  std::int64_t split = 1;  // a power of two: the kernel divides by it as a constant
  while (split * split < m) split *= 2;
  const TwoLevelTwiddles twiddles = two_level_twiddles(context, m, split, real);
  p.split = split;
  p.twiddle_lo = twiddles.lo;
  p.twiddle_hi = twiddles.hi;
}

// The spectrum in the four-step's row order: row k1 holds bins k1 + n1·k2.
std::vector<cd> in_row_order(const std::vector<cd>& spectrum, std::int64_t n1, std::int64_t n2) {
  std::vector<cd> rows(spectrum.size());
  for (std::int64_t k1 = 0; k1 < n1; ++k1)
    for (std::int64_t k2 = 0; k2 < n2; ++k2) rows[std::size_t(k1 * n2 + k2)] = spectrum[std::size_t(k1 + n1 * k2)];
  return rows;
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


// Rader's index tables for prime n with primitive root g (m = n − 1): gather[q] = g^q,
// scatter[q] = g^−q, position[g^−q] = q, and the spectrum of b_q = w_n^(g^−q) / m (the inverse's 1/m
// folded in), computed with nodal's double-precision FFT.
struct RaderTables {
  std::vector<std::int32_t> gather, scatter, position;
  std::vector<cd> spectrum;
};
RaderTables rader_tables(std::int64_t n, std::int64_t g) {
  const std::int64_t m = n - 1;
  RaderTables t;
  t.gather.resize(std::size_t(m));
  t.scatter.resize(std::size_t(m));
  t.position.assign(std::size_t(n), 0);
  std::vector<cd> b(static_cast<std::size_t>(m));
  t.spectrum.resize(std::size_t(m));
  const std::int64_t g_inverse = power_mod(g, n - 2, n);
  std::int64_t up = 1, down = 1;  // g^q, g^−q
  for (std::int64_t q = 0; q < m; ++q) {
    t.gather[std::size_t(q)] = std::int32_t(up);
    t.scatter[std::size_t(q)] = std::int32_t(down);
    t.position[std::size_t(down)] = std::int32_t(q);
    b[std::size_t(q)] = root(down, n) / double(m);
    up = up * g % n;
    down = down * g_inverse % n;
  }
  nodal::fft::Plan<double>::cached({.n = std::size_t(m)})->execute(b.data(), t.spectrum.data());
  return t;
}

std::shared_ptr<const StockhamPlan> build(Context& context, std::int64_t n, DType real) {
  auto p = std::make_shared<StockhamPlan>();
  p->n = p->m = n;
  const std::int64_t limit = single_limit(context, real);
  // A power of two held in registers (kernels/fft_wide.cl: 32 values per work-item) where the tile
  // would need to be split or does not hold the transform: one launch, not the split tile's four
  // barriers per exchange or the four-step's two launches (H100, µs per 2^26 values: 8192 398 against
  // 560 split, 16384 595 against 805 four-step). NODAL_FFT_WIDE=1 takes it wherever it applies.
  const auto needs_split = [&](std::int64_t m) { return row_bytes(m, real, false) > budget_of(context); };
  if (smooth(n) && (needs_split(n) || wide_mode() == 1) && plan_wide(context, *p, n, real)) {
    p->kind = StockhamPlan::Kind::wide;
    return p;
  }
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
  std::int64_t power = 1;
  while (power < 2 * n - 1) power *= 2;
  // Bluestein: X_k = w_k Σ_j (x_j w_j) conj(w_{k−j}), w_j = exp(−iπ j²/n)
  // one launch when a length ≥ 2n − 1 fits a group: the power of two up to 1024 (n = 257: m = 1024
  // 1.24 ms, 640 = 2^7·5 1.70 ms), beyond it the 2·3·5-smooth length (powers of two included) with
  // the least m · passes · (1 + 0.1 per odd prime factor): one launch is bound by arithmetic and
  // barriers, not traffic, and every pass is a sweep of the m values through registers and the tile
  // (H100, µs per 2^26 values, composite radices: n = 1031: m = 2304 = 16·12·12 1049, 2560 = 16·16·10
  // 1317, 3072 = 16·16·12 1491, 2160 = 15·12·12 1614; n = 2053: 4608 = 16·2·12·12 1447, 5120 =
  // 16·16·2·10 1752, 4320 = 2·15·12·12 1934)
  const auto odd_factors = [](std::int64_t c) {
    int odd = 0;
    for (int f : {3, 5, 7})
      while (c % f == 0) c /= f, ++odd;
    return odd;
  };
  const auto one_launch_cost = [&](std::int64_t c) {
    return double(c) * double(radices_of(c, radix16(true, c)).size()) * (1 + 0.1 * odd_factors(c));
  };
  const bool short_power = power <= std::min<std::int64_t>(1024, limit);
  std::int64_t one_launch_m = short_power ? power : 0;
  double best = 0;
  for (std::int64_t c = 2 * n - 1; !short_power && c <= std::min(limit, power); ++c) {
    if (!bluestein_length(c, false)) continue;
    const double cost = one_launch_cost(c);
    if (!one_launch_m || cost < best) best = cost, one_launch_m = c;
  }
  // Rader, for a prime n whose n − 1 is smooth: a cyclic convolution of length n − 1 (about half of
  // Bluestein's m ≥ 2n − 1), in one launch when n − 1 is 2·3·5-smooth and fits a group (gather, FFT,
  // × B̂, FFT, scatter, the row in the tile throughout), else in three (n − 1 = n1·n2). Against the
  // one-launch Bluestein on the H100 (µs per 2^26 values): 257 788 vs 1242, 641 1239 vs 1522, 1153
  // 1286 vs 1503, 3001 1568 vs 1874, 3457 1724 vs 1945, 769 (768 = 2^8·3) 1003 vs 908; with a
  // factor 7 in n − 1 the radix-7 passes lose: 1009 (1008 = 2^4·3^2·7) 1297 vs 729.
  const std::int64_t g = primitive_root(n);
  // n − 1 = 2^a·3^b·5^c takes Rader in one launch. With a 7 (radix 7 or 14), or one of the primes 11,
  // 13, 19 (one DFT_ODD pass of that radix), Rader wins only where the one-launch Bluestein would
  // sweep its values far more often: m·passes ≥ 2.25 (n − 1)·passes, and the big radix's pass has a
  // warp of butterflies; with a 7 only where no Bluestein fits one launch. H100, µs per 2^26 values,
  // Rader against Bluestein (m): 2053 (2052 = 19·12·9) 1237 / 1449 (4608 = 16·2·12·12), 2281 1095 /
  // 1310 (4608), 1321 (1320 = 11·12·10) 905 / 1200 (3072), 661 804 / 897 (1536), 8209 (split tile)
  // 2555 / 2937 (three launches), 8821 (8820, a 7) 2521 / 2765 (three launches); and where the rule
  // keeps Bluestein: 761 1044 / 794 (1536), 1217 1164 / 1144 (2560), 521 888 / 891 (1152), 191 (190 =
  // 19·10: 10 butterflies of 19) 1218 / 831, 1009 (1008 = 16·9·7) 835 / 731, 2017 1124 / 1143, 421
  // 848 / 807. A radix 17 lost both times: 1021 (1020 = 17·12·5) 1026 / 723 (2048), 1361 (1360 =
  // 17·16·5) 1414 against Bluestein 1321's 1200 with the same m = 3072: no radix 17.
  const auto rader_one_length = [&](std::int64_t c) {
    std::int64_t rest = c;
    for (int f : {2, 3, 5})
      while (rest % f == 0) rest /= f;
    if (rest == 1) return true;
    const std::vector<int> rader_radices = radices_of(c, radix16(true, c));
    if (rader_radices.empty()) return false;
    const bool seven = smooth(rest);  // only 7s left
    if (!seven && rest != 11 && rest != 13 && rest != 19) return false;
    if (!seven && c / rest < 32) return false;  // a warp of the big radix's butterflies
    if (!one_launch_m) return true;
    if (seven) return false;
    const double bluestein_sweeps = double(one_launch_m) * double(radices_of(one_launch_m, radix16(true, one_launch_m)).size());
    return bluestein_sweeps >= 2.25 * double(c) * double(rader_radices.size());
  };
  // ... but where n − 1 needs a split tile and Bluestein's power of two fits the registers, the latter
  // (H100, n = 7681: Rader 7680 in a split tile 2231 µs, Bluestein m = 16384 in registers 1331)
  const bool wide_bluestein = wide_shape(context, power, real).v != 0 && !bluestein_three_only();
  if (g && n - 1 <= limit && rader_one_length(n - 1) && rader_one_launch() && !(needs_split(n - 1) && wide_bluestein)) {
    const std::int64_t m = n - 1;
    p->kind = StockhamPlan::Kind::rader_one;
    p->m = m;
    const RaderTables t = rader_tables(n, g);
    p->spectrum[0] = upload_table(context, t.spectrum, real);
    std::vector<std::int32_t> both = t.gather;  // the store reads its half from m on (S_PERM_OFFSET)
    both.insert(both.end(), t.scatter.begin(), t.scatter.end());
    p->gather = upload_ints(context, both);
    return p;
  }
  if (g && n - 1 > limit && smooth(n - 1) && column_length(n - 1, limit)) {
    const std::int64_t m = n - 1;
    p->kind = StockhamPlan::Kind::rader;
    p->m = m;
    // columns about half as long as the rows: the column launches carry the permutations, whose cost
    // grows with the values a group holds (H100, n = 65537, fused: 128 × 512 2.69 ms, 256 × 256 2.93)
    const std::int64_t shorter = column_length(m / 4, limit);
    p->n1 = shorter && m % shorter == 0 && m / shorter <= limit ? shorter : column_length(m, limit);
    if (const std::int64_t c = rader_columns_override(); c > 1 && m % c == 0 && smooth(c) && m / c <= limit)
      p->n1 = c;
    p->gpu = context.device().type.find("gpu") != std::string::npos;
    p->n2 = m / p->n1;
    step_twiddles(context, *p, m, real);
    const RaderTables t = rader_tables(n, g);
    p->spectrum[0] = upload_table(context, in_row_order(t.spectrum, p->n1, p->n2), real);
    p->gather = upload_ints(context, t.gather);
    p->scatter = upload_ints(context, t.scatter);
    p->position = upload_ints(context, t.position);
    return p;
  }
  std::int64_t m = one_launch_m;
  if (const std::int64_t o = bluestein_override(); o >= 2 * n - 1 && o <= limit && !radices_of(o, radix16(true, o)).empty())
    m = o;
  if (bluestein_three_only()) m = 0;
  if ((!m || needs_split(m) || wide_mode() == 1) && wide_bluestein && plan_wide(context, *p, power, real)) {
    // the power of two held in registers where no length ≥ 2n − 1 fits a whole tile (H100, µs per 2^26
    // values: 4099 2422 against 2858 with m = 9216 in a split tile, 5003 2018 against 2269 with 10240;
    // 8191 1262 against 2334 in three launches, 6001 1719 against 2366)
    p->kind = StockhamPlan::Kind::bluestein_wide;
    m = power;
  } else if (m) {
    p->kind = StockhamPlan::Kind::bluestein;
  } else {
    // Traffic is 2n + 4m values, so the shortest m would win but for the middle launch, which runs
    // its row passes twice: rows of n2 whose passes include a lone odd radix (3, 5, 7, 9) ran 10–40 %
    // slower per value than rows of powers of two and the even composites 6, 10, 12, 14, while the
    // columns' radices mattered little. So: the 2·3·5·7-smooth m up to 1.5·(2n − 1) whose rows take
    // no lone odd radix, with the least m·(1 + 0.02 per factor 3 + 0.03 per factor 5 or 7) (more
    // passes' arithmetic and worse-balanced work-items); any allowed m where none qualifies.
    // H100, ms per 2^26 values (composite radices; rows' radices): n = 10007: m = 20480 = 128·160
    // (8·2·10) 2.63, 20160 = 140·144 (4·6·6) 2.87, 20736 (4·6·6) 2.87, 24576 = 128·192 (8·4·6) 3.08,
    // 20412 (9·6·3) 3.02, 20250 (10·5·3) 3.77; n = 16411: 33600 = 175·192 (8·4·6) 2.86, 32928 (4·7·7)
    // 2.90, 36864 (8·4·6) 2.94, 34560 (8·4·6) 3.12, 33750 (9·5·5) 3.56, 33075 (9·7·3) 3.71; n = 32771:
    // 67200 (4·10·7) 2.93, 73728 = 256·288 (8·6·6) 2.93, 65856 (7·7·6) 3.17, 65610 (10·9·3) 3.72;
    // n = 65539: 131712 = 343·384 (8·8·6) 2.85, 134400 (8·8·6) 3.08, 147456 (8·8·6) 3.15, 131220
    // (9·9·5) 3.60.
    const auto weight = [](std::int64_t c) {
      double w = 1;
      for (int f : {3, 5, 7})
        while (c % f == 0) c /= f, w += f == 3 ? 0.02 : 0.03;
      return w;
    };
    const auto even_rows = [](std::int64_t rows) {
      for (int r : radices_of(rows, radix16(true, rows)))
        if (r == 3 || r == 5 || r == 7 || r == 9) return false;
      return true;
    };
    const std::int64_t lowest = 2 * n - 1;
    double least = 0;
    bool least_even = false;
    for (std::int64_t c = lowest; c <= lowest + lowest / 2 && c <= limit * limit; ++c) {
      if (!bluestein_length(c, true)) continue;
      const std::int64_t columns = bluestein_columns(c, limit);
      if (!columns) continue;
      const double cost = double(c) * weight(c);
      const bool even = even_rows(c / columns);
      if (!m || (even && !least_even) || (even == least_even && cost < least)) least = cost, m = c, least_even = even;
    }
    if (const std::int64_t o = bluestein_override(); o >= lowest && smooth(o) && bluestein_columns(o, limit)) m = o;
    if (!m) return nullptr;
    p->kind = StockhamPlan::Kind::bluestein_three;
    p->n1 = bluestein_columns(m, limit);
    if (const std::int64_t c = bluestein_columns_override(); c > 1 && m % c == 0 && smooth(c) && c <= limit && m / c <= limit)
      p->n1 = c;
    p->n2 = m / p->n1;
    step_twiddles(context, *p, m, real);
  }
  p->m = m;
  for (int inverse = 0; inverse < 2; ++inverse) {
    const BluesteinTables t = bluestein_tables(n, m, inverse != 0);
    // the three-launch and the wide plans read the spectrum in row order (k1 + n1·k2 at k1·n2 + k2)
    const bool rows = p->kind == StockhamPlan::Kind::bluestein_three || p->kind == StockhamPlan::Kind::bluestein_wide;
    p->chirp[inverse] = upload_table(context, t.chirp, real);
    p->spectrum[inverse] = upload_table(context, rows ? in_row_order(t.spectrum, p->n1, p->n2) : t.spectrum, real);
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

void set_stockham_mode(StockhamMode mode) { stockham::forced_mode = mode; }
void set_rader_permutations(RaderPermutations mode) { stockham::rader_mode.store(int(mode)); }

void set_stockham_test_limits(std::int64_t local_bytes, bool split) {
  stockham::budget_cap = local_bytes;
  stockham::split_everywhere = split;
  std::lock_guard lock(plan_mutex());
  plan_table().clear();
}

bool stockham_enabled(const Context& context) {
  static const int env = [] {
    const char* v = std::getenv("NODAL_FFT_STOCKHAM");
    return v ? (std::string_view(v) == "0" ? 0 : 1) : -1;
  }();
  const StockhamMode mode = stockham::forced_mode.load();
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
      return fmt::format("stockham n={} radices {}", p.n, fmt::join(radices_of(p.n, radix16(false, p.n)), "·"));
    case StockhamPlan::Kind::four_step:
      return fmt::format("stockham four-step n={} = {} x {} (2 launches)", p.n, p.n1, p.n2);
    case StockhamPlan::Kind::bluestein:
      return fmt::format("stockham bluestein n={} via m={} in one launch", p.n, p.m);
    case StockhamPlan::Kind::rader:
      return fmt::format("stockham rader n={} via m={} = {} x {} ({})", p.n, p.m, p.n1, p.n2,
                         rader_separate(p.gpu) ? "5 launches, permutations apart" : "3 launches, permutations fused");
    case StockhamPlan::Kind::rader_one:
      return fmt::format("stockham rader n={} via m={} in one launch", p.n, p.m);
    case StockhamPlan::Kind::wide:
      return fmt::format("stockham wide n={} = {} x {} in registers, {} rows per round", p.n, p.n1, p.n2,
                         p.rows_per_round);
    case StockhamPlan::Kind::bluestein_wide:
      return fmt::format("stockham bluestein n={} via m={} = {} x {} in registers, one launch", p.n, p.m, p.n1, p.n2);
    case StockhamPlan::Kind::bluestein_three:
      return fmt::format("stockham bluestein n={} via m={} = {} x {} (3 launches)", p.n, p.m, p.n1, p.n2);
  }
  return {};
}


}  // namespace nodal::opencl::fft
