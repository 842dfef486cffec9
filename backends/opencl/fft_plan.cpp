// Planning and launching the batched FFTs of kernels/fft.cl (see fft_plan.hpp for the three
// strategies). Every table (pass twiddles, four-step twiddles, Bluestein chirps and filter
// spectra) is computed on the host in double precision and uploaded once per cached plan.
#include "nodal/backends/opencl/fft_plan.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <map>
#include <mutex>
#include <numbers>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/backends/opencl/launch.hpp"
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

// A device buffer holding `values` as complex numbers of `real` precision.
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

cl_mem mem_of(const std::shared_ptr<Buffer>& b) { return b ? device_buffer(*b, "fft").mem() : nullptr; }

// exp(−2πi·x/n) with x reduced exactly first, so large products keep full double accuracy
cd root(std::int64_t x, std::int64_t n) {
  x %= n;
  if (x < 0) x += n;
  const double angle = -2.0 * std::numbers::pi * double(x) / double(n);
  return {std::cos(angle), std::sin(angle)};
}

}  // namespace

class Plan {
 public:
  enum class Kind { local, four_step, bluestein };
  Kind kind = Kind::local;
  std::int64_t n = 1;
  // local
  std::vector<int> radices;
  std::shared_ptr<Buffer> pass_twiddles;
  // four-step: n = n1·n2
  std::shared_ptr<const Plan> columns, rows;  // lengths n1 and n2
  std::shared_ptr<Buffer> twiddle_lo, twiddle_hi;
  std::int64_t twiddle_split = 1;
  // Bluestein: length m, chirp w_k = exp(∓iπk²/n) and filter spectrum per direction
  std::shared_ptr<const Plan> inner;
  std::shared_ptr<Buffer> chirp[2], spectrum[2];
};

// Local memory fft_local may take: the device's less 1 KiB for the driver's own use.
std::int64_t local_budget(const Context& context) { return std::int64_t(context.device().local_memory) - 1024; }
// fft_local's local buffer: two tiles, then 24 bytes per transform (base addresses, inner indices)
std::int64_t local_bytes_for(std::int64_t per_group, std::int64_t pitch, std::int64_t esize) {
  return 2 * per_group * pitch * esize + 24 * per_group;
}

std::int64_t local_limit(const Context& context, DType real) {
  const std::int64_t esize = real == DType::float64 ? 16 : 8;
  const std::int64_t budget = local_budget(context);
  std::int64_t limit = 4096;  // keeps the pass twiddles (≤ n values) within 64 KiB of __constant
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
    std::vector<cd> tw;  // per pass: ns·(R−1) values w_{ns·R}^(t·k), k < ns, t = 1..R−1
    std::int64_t ns = 1;
    for (int r : plan->radices) {
      for (std::int64_t k = 0; k < ns; ++k)
        for (int t = 1; t < r; ++t) tw.push_back(root(t * k, ns * r));
      ns *= r;
    }
    plan->pass_twiddles = upload_table(context, tw, real);
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
      std::vector<cd> lo, hi;
      for (std::int64_t x = 0; x < split; ++x) lo.push_back(root(x, n));
      for (std::int64_t x = 0; x * split < n; ++x) hi.push_back(root(x * split, n));
      plan->twiddle_split = split;
      plan->twiddle_lo = upload_table(context, lo, real);
      plan->twiddle_hi = upload_table(context, hi, real);
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
  std::vector<cd> w(std::size_t(n), 0.0);
  for (std::int64_t j = 0; j < n; ++j) w[std::size_t(j)] = root((j * j) % (2 * n), 2 * n);  // exp(−iπj²/n)
  for (int inverse = 0; inverse < 2; ++inverse) {
    // forward: chirp w, filter b_j = conj(w_|j|); inverse: chirp conj(w), filter w_|j|
    std::vector<cd> chirp(w), filter(std::size_t(m), 0.0);
    if (inverse)
      for (auto& c : chirp) c = std::conj(c);
    for (std::int64_t j = 0; j < n; ++j) {
      const cd b = std::conj(chirp[std::size_t(j)]);
      filter[std::size_t(j)] = b;
      if (j) filter[std::size_t(m - j)] = b;
    }
    const auto host_plan = nodal::fft::Plan<double>::cached({.n = std::size_t(m)});
    std::vector<cd> spectrum(static_cast<std::size_t>(m));
    host_plan->execute(filter.data(), spectrum.data());
    plan->chirp[inverse] = upload_table(context, chirp, real);
    plan->spectrum[inverse] = upload_table(context, spectrum, real);
  }
  return plan;
}

// Elements of the buffer's type between two values of the side: 1 for real/complex alike (the
// kernel indexes complex values with vload2).
std::int64_t step_of_elements(const Side& s) { return s.k_mul * s.s_elem; }
std::int64_t step_of_batch(const Side& s) { return s.s_inner + s.k_imul * s.s_elem; }

cl_long8 pack(const Side& s) {
  cl_long8 v{};
  int flags = s.flags;
  if (s.I > 1 && std::abs(step_of_batch(s)) < std::abs(step_of_elements(s))) flags |= batch_fastest;
  const std::int64_t fields[8] = {s.offset, s.I, s.s_outer, s.s_inner, s.s_elem, s.k_mul, s.k_imul, flags};
  for (int i = 0; i < 8; ++i) v.s[i] = fields[i];
  return v;
}

struct TwiddleArgs {
  cl_mem lo = nullptr, hi = nullptr;
  std::int64_t split = 1, n = 1;
};
struct TableArgs {
  cl_mem pre = nullptr, mul = nullptr, post = nullptr;
  std::int64_t valid_len = 0;
};

// Tuning switches read once (bench/fft measures them; see docs/opencl.md): NODAL_FFT_PAD=0 drops the odd row pitch,
// NODAL_FFT_TWIDDLES=constant|global picks the pass twiddles' address space.
bool pad_rows() {
  static const bool pad = [] {
    const char* v = std::getenv("NODAL_FFT_PAD");
    return !(v && std::string_view(v) == "0");
  }();
  return pad;
}
bool twiddles_in_constant() {
  // __constant by default: on the H100 (NVIDIA 580) __global measured the same to 0.1 % for every
  // size of bench/fft --opencl (docs/opencl.md), and the tables always fit (≤ 64 KiB).
  static const bool constant = [] {
    const char* v = std::getenv("NODAL_FFT_TWIDDLES");
    return !(v && std::string_view(v) == "global");
  }();
  return constant;
}

// Work-items per group aimed at (several transforms per group when n is small); NODAL_FFT_GROUP.
std::int64_t group_target() {
  static const std::int64_t target = [] {
    const char* v = std::getenv("NODAL_FFT_GROUP");
    return v ? std::clamp<std::int64_t>(std::atoll(v), 1, 1024) : std::int64_t(128);
  }();
  return target;
}

// Whether fft_local is compiled per length (kernels/fft.cl): opt-in with NODAL_FFT_SPECIALIZE=1.
// Not the default yet: it passes every test on PoCL but has not been timed on a GPU (docs/opencl.md);
// on PoCL each length costs a build of seconds.
bool specialize_kernels(const Context&) {
  const char* v = std::getenv("NODAL_FFT_SPECIALIZE");
  return v && std::string_view(v) == "1";
}

cl_kernel fft_kernel(Context& context, DType real, std::string_view name, std::string_view defines = {}) {
  const bool fp64 = real == DType::float64;
  const std::string options = fmt::format("-cl-std=CL1.2 {} {} {}", fp64 ? "-DT=double -DNODAL_FP64" : "-DT=float",
                                          twiddles_in_constant() ? "" : "-DTWIDDLE_SPACE=__global", defines);
  return context.programs().kernel("fft.cl", kernel_source("fft"), options, name);
}

void real_arg(Launch& launch, DType real, double v) {
  if (real == DType::float64) launch.arg(cl_double(v));
  else launch.arg(cl_float(v));
}

void run_local(Context& context, const Plan& plan, DType real, std::int64_t count, const Side& load,
               const LoadOps& lops, const TwiddleArgs& twiddle, const TableArgs& tables, const Side& store,
               const StoreOps& sops) {
  if (count <= 0) return;
  if (count * plan.n >= (std::int64_t(1) << 31))  // the kernel indexes transforms and values in 32 bits
    throw ValueError(fmt::format("fft (opencl): {} transforms of length {} exceed 2^31 values in one launch", count,
                                 plan.n));
  const std::int64_t n = plan.n, esize = real == DType::float64 ? 16 : 8, pitch = pad_rows() ? (n | 1) : n;
  const std::size_t max_group = std::min<std::size_t>(256, context.device().max_work_group_size);
  const std::int64_t items = std::clamp<std::int64_t>(n / 8, 1, std::int64_t(max_group));
  std::int64_t per_group = std::max<std::int64_t>(1, group_target() / items);
  const std::int64_t budget = local_budget(context);
  per_group = std::min({per_group, budget / local_bytes_for(1, pitch, esize), std::int64_t(max_group) / items});
  // a specialised program must not depend on the batch size; a generic launch shrinks to it
  const bool specialize = specialize_kernels(context);
  if (!specialize) per_group = std::min(per_group, count);
  per_group = std::max<std::int64_t>(per_group, 1);
  cl_int16 radices{};
  for (std::size_t p = 0; p < plan.radices.size(); ++p) radices.s[p] = plan.radices[p];

  const std::string defines =
      specialize ? fmt::format("-DFFT_N={} -DFFT_PITCH={} -DFFT_PER_GROUP={} -DFFT_ITEMS={} -DFFT_PASSES={} -DFFT_RADICES={}",
                               n, pitch, per_group, items, plan.radices.size(),
                               plan.radices.empty() ? std::string("0") : fmt::format("{}", fmt::join(plan.radices, ",")))
                 : std::string();
  Launch launch(context, fft_kernel(context, real, "fft_local", defines), "fft_local");
  launch.arg(cl_int(n)).arg(cl_int(pitch)).arg(cl_int(count)).arg(cl_int(per_group)).arg(cl_int(items));
  launch.arg(cl_int(plan.radices.size())).arg(radices).mem(mem_of(plan.pass_twiddles));
  launch.mem(load.mem).arg(pack(load)).arg(cl_int(tables.valid_len)).arg(cl_int(lops.hermitian_n));
  launch.arg(cl_int(lops.hermitian_n / 2 + 1));
  real_arg(launch, real, lops.hermitian_scale);
  launch.mem(tables.pre).mem(twiddle.lo).mem(twiddle.hi).arg(cl_int(twiddle.split)).arg(cl_int(twiddle.n));
  launch.mem(store.mem).arg(pack(store)).arg(cl_long(sops.store_count));
  real_arg(launch, real, sops.scale);
  real_arg(launch, real, sops.interior_scale);
  launch.arg(cl_int(sops.interior_n)).mem(tables.mul).mem(tables.post);
  launch.local_bytes(std::size_t(local_bytes_for(per_group, pitch, esize)));
  launch.run(std::size_t((count + per_group - 1) / per_group), std::size_t(per_group * items));
}

Tensor scratch(Context& context, std::int64_t values, DType real) {
  return device_empty(context, Shape{values}, complex_dtype(real));
}

Side contiguous_side(const Tensor& t, std::int64_t n) {
  Side s;
  s.mem = device_buffer(*t.buffer(), "fft").mem();
  s.offset = t.offset();
  s.s_outer = n;
  return s;
}

// Four-step for plain sides: x[r][n1·n2' ...] seen as an n1 × n2 matrix (index n2·a + b).
void run_four_step(Context& context, const Plan& plan, DType real, std::int64_t count, Side load,
                   const LoadOps& lops, const TableArgs& tables, Side store, const StoreOps& sops,
                   bool bluestein_inner) {
  const std::int64_t n1 = plan.columns->n, n2 = plan.rows->n, n = plan.n;
  (void)bluestein_inner;
  Tensor mid = scratch(context, count * n, real);
  // A: columns b (0..n2−1) of each row: element a at idx = a·n2 + b
  Side a_load = load;
  a_load.I = n2;
  a_load.s_inner = 0;
  a_load.k_mul = n2;
  a_load.k_imul = 1;
  Side a_store = contiguous_side(mid, n);
  a_store.I = n2;
  a_store.k_mul = n2;
  a_store.k_imul = 1;
  TableArgs a_tables{.pre = tables.pre, .valid_len = tables.valid_len};
  run_local(context, *plan.columns, real, count * n2, a_load, lops, {}, a_tables, a_store, {});
  // B: rows k1 (0..n1−1) of the column spectra, twiddled by w_n^(b·k1), stored at k1 + n1·k2
  Side b_load = contiguous_side(mid, n);
  b_load.I = n1;
  b_load.k_imul = n2;
  b_load.flags = load_twiddle;
  Side b_store = store;
  b_store.I = n1;
  b_store.s_inner = 0;
  b_store.k_mul = n1;
  b_store.k_imul = 1;
  const TwiddleArgs twiddle{mem_of(plan.twiddle_lo), mem_of(plan.twiddle_hi), plan.twiddle_split, n};
  const TableArgs b_tables{.mul = tables.mul, .post = tables.post};
  run_local(context, *plan.rows, real, count * n1, b_load, {}, twiddle, b_tables, b_store, sops);
}

// A smooth transform (local or four-step) with the given fused tables.
void run_smooth(Context& context, const Plan& plan, DType real, std::int64_t count, const Side& load,
                const LoadOps& lops, const TableArgs& tables, const Side& store, const StoreOps& sops) {
  if (plan.kind == Plan::Kind::local) run_local(context, plan, real, count, load, lops, {}, tables, store, sops);
  else run_four_step(context, plan, real, count, load, lops, tables, store, sops, false);
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

void execute(Context& context, const Plan& plan, DType real, std::int64_t count, bool inverse, Side load,
             const LoadOps& load_ops, Side store, const StoreOps& store_ops) {
  if (count <= 0) return;
  if (plan.kind != Plan::Kind::local && (!load.plain() || !store.plain()))
    throw BackendError(fmt::format("fft (opencl): internal: a {} plan needs plain row layouts", describe(plan)));
  if (plan.kind != Plan::Kind::bluestein) {
    if (inverse) {
      load.flags |= load_conj;
      store.flags |= store_conj;
    }
    run_smooth(context, plan, real, count, load, load_ops, {}, store, store_ops);
    return;
  }
  // Bluestein: (1) FFT_m of the chirped, zero-padded input, times the filter spectrum, conjugated;
  // (2) FFT_m of that = m · conj(convolution), conjugated, times the chirp, scaled by 1/m.
  const std::int64_t n = plan.n, m = plan.inner->n;
  const int d = inverse ? 1 : 0;
  Tensor mid = scratch(context, count * m, real);
  Side first_load = load;
  first_load.flags |= load_chirp;
  Side mid_side = contiguous_side(mid, m);
  Side first_store = mid_side;
  first_store.flags = store_mul | store_conj;
  run_smooth(context, *plan.inner, real, count, first_load, load_ops,
             {.pre = mem_of(plan.chirp[d]), .mul = mem_of(plan.spectrum[d]), .valid_len = n}, first_store, {});
  Side second_store = store;
  second_store.flags |= store_conj | store_post;
  StoreOps second_ops = store_ops;
  second_ops.store_count = std::min(store_ops.store_count, n);
  second_ops.scale = store_ops.scale / double(m);
  run_smooth(context, *plan.inner, real, count, mid_side, {}, {.post = mem_of(plan.chirp[d])}, second_store,
             second_ops);
}

Tensor gather_contiguous(Context& context, const Tensor& view) {
  Tensor out = device_empty(context, view.shape(), view.dtype());
  if (view.numel() == 0) return out;
  const StridedLayout l = strided_layout(view.shape(), std::span<const Tensor>(&view, 1));
  Launch launch(context, fft_kernel(context, real_dtype(view.dtype()), "fft_gather"), "fft_gather");
  launch.arg(cl_long(l.numel)).arg(l.rank).arg(l.shape).mem(l.operands[0].mem).arg(l.operands[0].offset);
  launch.arg(l.operands[0].strides).arg(cl_int(is_complex(view.dtype()) ? 1 : 0));
  launch.mem(device_buffer(*out.buffer(), "fft").mem()).run_elements(l.numel);
  return out;
}

}  // namespace nodal::opencl::fft
