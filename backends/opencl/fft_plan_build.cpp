// Planning the batched FFTs of kernels/fft.cl (see fft_plan.hpp for the three strategies): every
// table (pass twiddles, four-step twiddles, Bluestein chirps and filter spectra) is computed on the
// host in double precision and uploaded once per cached plan.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <map>
#include <mutex>
#include <numbers>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/fft_plan_detail.hpp"
#include "nodal/backends/opencl/fft_tables.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/plan.hpp"

namespace nodal::opencl::fft {

using cd = std::complex<double>;

namespace {

std::vector<int> smooth_radices(std::int64_t n) {  // empty when n is not 2·3·5·7-smooth
  std::vector<int> radices;
  for (int r : {8, 4, 2, 7, 5, 3})
    while (n % r == 0) {
      radices.push_back(r);
      n /= r;
    }
  if (n != 1) return {};
  return radices;
}

bool smooth(std::int64_t n) { return n == 1 || !smooth_radices(n).empty(); }

}  // namespace

std::shared_ptr<Buffer> upload_table(Context& context, const std::vector<cd>& values, DType real) {
  const std::size_t esize = real == DType::float64 ? 16 : 8;
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
  const cl_mem mem = device_buffer(*buffer, "fft table").mem();
  check(clEnqueueWriteBuffer(context.queue(), mem, CL_TRUE, 0, bytes.size(), bytes.data(), 0, nullptr, nullptr),
        "clEnqueueWriteBuffer", "fft table");
  return buffer;
}

cd root(std::int64_t x, std::int64_t n) {
  x %= n;
  if (x < 0) x += n;
  const double angle = -2.0 * std::numbers::pi * double(x) / double(n);
  return {std::cos(angle), std::sin(angle)};
}

std::vector<cd> pass_twiddle_values(const std::vector<int>& radices) {
  std::vector<cd> tw;
  std::int64_t ns = 1;
  for (int r : radices) {
    for (std::int64_t k = 0; k < ns; ++k)
      for (int t = 1; t < r; ++t) tw.push_back(root(t * k, ns * r));
    ns *= r;
  }
  return tw;
}

TwoLevelTwiddles two_level_twiddles(Context& context, std::int64_t n, std::int64_t split, DType real) {
  std::vector<cd> lo, hi;
  for (std::int64_t x = 0; x < split; ++x) lo.push_back(root(x, n));
  for (std::int64_t x = 0; x * split < n; ++x) hi.push_back(root(x * split, n));
  return {upload_table(context, lo, real), upload_table(context, hi, real)};
}

BluesteinTables bluestein_tables(std::int64_t n, std::int64_t m, bool inverse) {
  // forward: chirp w, filter b_j = conj(w_|j|); inverse: chirp conj(w), filter w_|j|
  BluesteinTables t;
  t.chirp.resize(static_cast<std::size_t>(n));
  for (std::int64_t j = 0; j < n; ++j) {
    const cd w = root((j * j) % (2 * n), 2 * n);  // exp(−iπj²/n)
    t.chirp[std::size_t(j)] = inverse ? std::conj(w) : w;
  }
  std::vector<cd> filter(static_cast<std::size_t>(m), 0.0);
  for (std::int64_t j = 0; j < n; ++j) {
    const cd b = std::conj(t.chirp[std::size_t(j)]);
    filter[std::size_t(j)] = b;
    if (j) filter[std::size_t(m - j)] = b;
  }
  t.spectrum.resize(static_cast<std::size_t>(m));
  nodal::fft::Plan<double>::cached({.n = std::size_t(m)})->execute(filter.data(), t.spectrum.data());
  return t;
}

std::vector<std::int64_t> scrambled_positions(std::int64_t n1, std::int64_t n2) {
  std::vector<std::int64_t> bins(std::size_t(n1 * n2));
  for (std::int64_t k1 = 0; k1 < n1; ++k1)
    for (std::int64_t k2 = 0; k2 < n2; ++k2) bins[std::size_t(k1 * n2 + k2)] = k1 + n1 * k2;
  return bins;
}

std::vector<std::complex<double>> scrambled(const std::vector<std::complex<double>>& values, std::int64_t n1,
                                            std::int64_t n2) {
  const std::vector<std::int64_t> bins = scrambled_positions(n1, n2);
  std::vector<std::complex<double>> out(values.size());
  for (std::size_t p = 0; p < bins.size(); ++p) out[p] = values[std::size_t(bins[p])];
  return out;
}

// Local memory fft_local may take: the device's less 1 KiB for the driver's own use.
std::int64_t local_budget(const Context& context) { return std::int64_t(context.device().local_memory) - 1024; }
// fft_local's local buffer: two tiles, then 24 bytes per transform (base addresses, inner indices)
std::int64_t local_bytes_for(std::int64_t per_group, std::int64_t pitch, std::int64_t esize) {
  return 2 * per_group * pitch * esize + 24 * per_group;
}

std::int64_t local_limit(const Context& context, DType real) {
  const std::int64_t esize = real == DType::float64 ? 16 : 8;
  const std::int64_t budget = local_budget(context);
  // The pass twiddles (< n values) stay within 32 KiB, so that with the radix constants they fit the
  // 64 KiB of __constant memory every OpenCL device has: n ≤ 4096 in float, 2048 in double.
  std::int64_t limit = 32768 / esize;
  while (limit > 1 && local_bytes_for(1, limit | 1, esize) > budget) limit /= 2;
  return limit;
}

namespace {

std::shared_ptr<const Plan> build(Context& context, std::int64_t n, DType real);

std::shared_ptr<const Plan> cached(Context& context, std::int64_t n, DType real) {
  static std::mutex mutex;
  static std::map<std::tuple<const Context*, std::int64_t, int>, std::shared_ptr<const Plan>> plans;
  const auto key = std::make_tuple(&context, n, int(real));
  {
    std::lock_guard lock(mutex);
    if (auto it = plans.find(key); it != plans.end()) return it->second;
  }
  auto plan = build(context, n, real);  // may recurse into cached() for its parts
  std::lock_guard lock(mutex);
  return plans.emplace(key, plan).first->second;
}

std::shared_ptr<const Plan> build(Context& context, std::int64_t n, DType real) {
  auto plan = std::make_shared<Plan>();
  plan->n = n;
  const std::int64_t limit = local_limit(context, real);
  if (smooth(n) && n <= limit) {
    plan->kind = Plan::Kind::local;
    plan->radices = smooth_radices(n);
    if (plan->radices.size() > 16)
      throw ValueError(fmt::format("fft (opencl): length {} needs more than 16 passes", n));
    plan->pass_twiddles = upload_table(context, pass_twiddle_values(plan->radices), real);
    return plan;
  }
  if (smooth(n)) {
    // n2 the largest divisor ≤ limit (long contiguous rows), n1 = n / n2 the column length
    std::int64_t n2 = 0;
    for (std::int64_t d = std::min(n, limit); d >= 2 && !n2; --d)
      if (n % d == 0 && n / d <= limit && smooth(d)) n2 = d;
    if (n2) {
      plan->kind = Plan::Kind::four_step;
      plan->columns = cached(context, n / n2, real);
      plan->rows = cached(context, n2, real);
      std::int64_t split = 1;
      while (split * split < n) ++split;
      const TwoLevelTwiddles twiddles = two_level_twiddles(context, n, split, real);
      plan->twiddle_split = split;
      plan->twiddle_lo = twiddles.lo;
      plan->twiddle_hi = twiddles.hi;
      return plan;
    }
    if (n > limit * limit)
      throw ValueError(fmt::format("fft (opencl): length {} exceeds the largest supported {} on {} in {}", n,
                                   limit * limit, context.device().name, dtype_name(real)));
  }
  // Bluestein: X_k = w_k Σ_j (x_j w_j) conj(w_{k−j}),  w_j = exp(−iπ j²/n)
  std::int64_t m = 2 * n - 1;
  while (!smooth(m)) ++m;
  if (m > limit * limit)
    throw ValueError(fmt::format("fft (opencl): length {} needs a Bluestein length {} beyond the largest supported {}",
                                 n, m, limit * limit));
  plan->kind = Plan::Kind::bluestein;
  plan->inner = cached(context, m, real);
  for (int inverse = 0; inverse < 2; ++inverse) {
    const BluesteinTables t = bluestein_tables(n, m, inverse != 0);
    plan->chirp[inverse] = upload_table(context, t.chirp, real);
    // a four-step inner length multiplies in its scrambled order (fft_plan.cpp's execute)
    const auto& inner = *plan->inner;
    plan->spectrum[inverse] = upload_table(
        context, inner.kind == Plan::Kind::four_step ? scrambled(t.spectrum, inner.columns->n, inner.rows->n) : t.spectrum,
        real);
  }
  return plan;
}

}  // namespace

std::shared_ptr<const Plan> plan_for(Context& context, std::int64_t n, DType real) {
  if (n < 1) throw ValueError(fmt::format("fft (opencl): length must be positive, got {}", n));
  return cached(context, n, real);
}

bool is_local(const Plan& plan) { return plan.kind == Plan::Kind::local; }

std::string describe(const Plan& plan) {
  switch (plan.kind) {
    case Plan::Kind::local: return fmt::format("local n={} radices {}", plan.n, fmt::join(plan.radices, "·"));
    case Plan::Kind::four_step:
      return fmt::format("four-step n={} = {} x {} ({}; {})", plan.n, plan.columns->n, plan.rows->n,
                         describe(*plan.columns), describe(*plan.rows));
    case Plan::Kind::bluestein: return fmt::format("bluestein n={} via {}", plan.n, describe(*plan.inner));
  }
  return {};
}

}  // namespace nodal::opencl::fft
