// Launching the batched FFTs of kernels/fft.cl (see fft_plan.hpp for the three strategies; the
// plans and their tables are built in fft_plan_build.cpp): the local kernel's group shape, the
// four-step and Bluestein launch sequences, the gather kernel.
#include "nodal/backends/opencl/fft_plan.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/fft_plan_detail.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"
#include "nodal/backends/opencl/fft_tables.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl::fft {

namespace {

cl_mem mem_of(const std::shared_ptr<Buffer>& b) { return b ? device_buffer(*b, "fft").mem() : nullptr; }

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
  // size of bench/fft --opencl (docs/opencl.md), and the tables always fit (≤ 32 KiB).
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
  // kernels/fft_radix.cl (the radix-R DFTs it shares with fft_stockham.cl), then kernels/fft.cl
  static const std::string source = std::string(kernel_source("fft_radix")) + std::string(kernel_source("fft"));
  return context.programs().kernel("fft.cl", source, options, name);
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
  launch.real(real, lops.hermitian_scale);
  launch.mem(tables.pre).mem(twiddle.lo).mem(twiddle.hi).arg(cl_int(twiddle.split)).arg(cl_int(twiddle.n));
  launch.mem(store.mem).arg(pack(store)).arg(cl_long(sops.store_count));
  launch.real(real, sops.scale);
  launch.real(real, sops.interior_scale);
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
                   const LoadOps& lops, const TableArgs& tables, Side store, const StoreOps& sops) {
  const std::int64_t n1 = plan.columns->n, n2 = plan.rows->n, n = plan.n;
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

// The side of an n1 × n2 view of plain rows: its columns (transform i = column, element e = row:
// idx = e·n2 + i) or its rows (transform i = row, element e: idx = i·n2 + e).
Side column_side(Side s, std::int64_t n2) {
  s.I = n2;
  s.s_inner = 0;
  s.k_mul = n2;
  s.k_imul = 1;
  return s;
}
Side row_side(Side s, std::int64_t n1, std::int64_t n2) {
  s.I = n1;
  s.s_inner = 0;
  s.k_mul = 1;
  s.k_imul = n2;
  return s;
}

// Four-step with the spectrum left scrambled (Order::scrambled): columns load → store, then the
// rows in place on store with w_n^(j2·k1) fused into their load, stored where they were read: bin
// k1 + n1·k2 at k1·n2 + k2. `tables.mul` (Bluestein's filter spectrum) must be in that order.
void run_four_step_scrambled(Context& context, const Plan& plan, DType real, std::int64_t count, Side load,
                             const LoadOps& lops, const TableArgs& tables, Side store, const StoreOps& sops) {
  const std::int64_t n1 = plan.columns->n, n2 = plan.rows->n;
  Side a_load = column_side(load, n2), a_store = column_side(store, n2);
  a_store.flags = 0;
  run_local(context, *plan.columns, real, count * n2, a_load, lops, {},
            {.pre = tables.pre, .valid_len = tables.valid_len}, a_store, {});
  Side b_load = row_side(store, n1, n2), b_store = row_side(store, n1, n2);
  b_load.flags = load_twiddle;
  const TwiddleArgs twiddle{mem_of(plan.twiddle_lo), mem_of(plan.twiddle_hi), plan.twiddle_split, plan.n};
  run_local(context, *plan.rows, real, count * n1, b_load, {}, twiddle, {.mul = tables.mul, .post = tables.post},
            b_store, sops);
}

// The inverse from a scrambled spectrum S[k1][k2] (the DIT counterpart), by conjugation:
//   x[n2·j1 + j2] = Σ_k1 w_n1^(−j1·k1) · w_n^(−j2·k1) · Σ_k2 S[k1][k2] · w_n2^(−j2·k2)
// rows (over k2, into a scratch T[k1][j2]), then columns (over k1) with the twiddle fused into
// their load; the store side's flags and tables (natural order) apply to the column store.
void run_four_step_unscramble(Context& context, const Plan& plan, DType real, std::int64_t count, Side load,
                              const TableArgs& tables, Side store, const StoreOps& sops) {
  const std::int64_t n1 = plan.columns->n, n2 = plan.rows->n, n = plan.n;
  Tensor mid = scratch(context, count * n, real);
  Side b_load = row_side(load, n1, n2);
  b_load.flags = load_conj;
  Side b_store = row_side(contiguous_side(mid, n), n1, n2);
  b_store.flags = store_conj;
  run_local(context, *plan.rows, real, count * n1, b_load, {}, {}, {}, b_store, {});
  Side a_load = column_side(contiguous_side(mid, n), n2);
  a_load.flags = load_conj | load_twiddle;
  Side a_store = column_side(store, n2);
  a_store.flags = store.flags | store_conj;
  const TwiddleArgs twiddle{mem_of(plan.twiddle_lo), mem_of(plan.twiddle_hi), plan.twiddle_split, n};
  run_local(context, *plan.columns, real, count * n2, a_load, {}, twiddle, {.post = tables.post}, a_store, sops);
}

// A smooth transform (local or four-step) with the given fused tables.
void run_smooth(Context& context, const Plan& plan, DType real, std::int64_t count, const Side& load,
                const LoadOps& lops, const TableArgs& tables, const Side& store, const StoreOps& sops) {
  if (plan.kind == Plan::Kind::local) run_local(context, plan, real, count, load, lops, {}, tables, store, sops);
  else run_four_step(context, plan, real, count, load, lops, tables, store, sops);
}

}  // namespace

void execute(Context& context, const Plan& plan, DType real, std::int64_t count, bool inverse, Side load,
             const LoadOps& load_ops, Side store, const StoreOps& store_ops, Order order) {
  if (count <= 0) return;
  const bool plain_complex = load.plain() && store.plain() && load.s_elem == 1 && store.s_elem == 1 &&
                             load.flags == 0 && store.flags == 0 && load_ops.hermitian_n == 0 &&
                             store_ops.store_count >= plan.n && store_ops.interior_scale == 1.0;
  const bool scrambled = order == Order::scrambled;
  if (scrambled && !plain_complex)
    throw BackendError(fmt::format("fft (opencl): internal: the scrambled order of {} needs plain complex rows "
                                   "without fused operations",
                                   describe(plan)));
  if (store_ops.multiply && (inverse || !plain_complex))
    throw BackendError(fmt::format("fft (opencl): internal: a fused product needs a forward transform of plain complex "
                                   "rows ({})",
                                   describe(plan)));
  // plain complex rows: the specialised kernels (fft_stockham.hpp) where enabled
  if (plain_complex && stockham_enabled(context))
    if (const auto fast = stockham_plan(context, plan.n, real)) {
      const bool fused = execute(context, *fast, real, count, inverse, load.mem, load.offset, load.s_outer, store.mem,
                                 store.offset, store.s_outer, store_ops.scale, scrambled, store_ops.multiply);
      if (store_ops.multiply && !fused)
        multiply_rows(context, store.mem, store.offset, count, plan.n, store_ops.multiply, real);
      return;
    }
  if (plan.kind != Plan::Kind::local && (!load.plain() || !store.plain()))
    throw BackendError(fmt::format("fft (opencl): internal: a {} plan needs plain row layouts", describe(plan)));
  // the product: × mul[idx] on the last store of a local or four-step plan (idx in the output's order)
  const TableArgs product{.mul = store_ops.multiply};
  if (store_ops.multiply && plan.kind != Plan::Kind::bluestein) store.flags |= store_mul;
  if (scrambled && plan.kind == Plan::Kind::four_step) {
    if (inverse) run_four_step_unscramble(context, plan, real, count, load, {}, store, store_ops);
    else run_four_step_scrambled(context, plan, real, count, load, load_ops, product, store, store_ops);
    return;
  }
  if (plan.kind != Plan::Kind::bluestein) {
    if (inverse) {
      load.flags |= load_conj;
      store.flags |= store_conj;
    }
    run_smooth(context, plan, real, count, load, load_ops, product, store, store_ops);
    return;
  }
  if (store_ops.multiply) {  // Bluestein's last store already multiplies (by the chirp)
    StoreOps plain_ops = store_ops;
    plain_ops.multiply = nullptr;
    execute(context, plan, real, count, false, load, load_ops, store, plain_ops, order);
    multiply_rows(context, store.mem, store.offset, count, plan.n, store_ops.multiply, real);
    return;
  }
  // Bluestein: (1) FFT_m of the chirped, zero-padded input, times the filter spectrum; (2) the
  // inverse FFT_m of that (unscaled), times the chirp, scaled by 1/m. A four-step inner length uses
  // the scrambled pair (the filter spectrum is stored scrambled, fft_plan_build.cpp): no transposes.
  const std::int64_t n = plan.n, m = plan.inner->n;
  const int d = inverse ? 1 : 0;
  Tensor mid = scratch(context, count * m, real);
  Side first_load = load;
  first_load.flags |= load_chirp;
  Side mid_side = contiguous_side(mid, m);
  Side second_store = store;
  second_store.flags |= store_post;
  StoreOps second_ops = store_ops;
  second_ops.store_count = std::min(store_ops.store_count, n);
  second_ops.scale = store_ops.scale / double(m);
  const TableArgs first_tables{.pre = mem_of(plan.chirp[d]), .mul = mem_of(plan.spectrum[d]), .valid_len = n};
  const TableArgs second_tables{.post = mem_of(plan.chirp[d])};
  if (plan.inner->kind == Plan::Kind::four_step) {
    Side first_store = mid_side;
    first_store.flags = store_mul;
    run_four_step_scrambled(context, *plan.inner, real, count, first_load, load_ops, first_tables, first_store, {});
    run_four_step_unscramble(context, *plan.inner, real, count, mid_side, second_tables, second_store, second_ops);
    return;
  }
  // a local inner length: the inverse as conj ∘ FFT_m ∘ conj (its conjugations fused into the stores)
  Side first_store = mid_side;
  first_store.flags = store_mul | store_conj;
  run_smooth(context, *plan.inner, real, count, first_load, load_ops, first_tables, first_store, {});
  second_store.flags |= store_conj;
  run_smooth(context, *plan.inner, real, count, mid_side, {}, second_tables, second_store, second_ops);
}

std::pair<std::int64_t, std::int64_t> scrambled_split(Context& context, std::int64_t n, DType real) {
  // the plan execute takes for plain complex rows: the specialised one where enabled and planned
  if (stockham_enabled(context))
    if (const auto fast = stockham_plan(context, n, real)) return four_step_split(*fast);
  const auto plan = plan_for(context, n, real);
  if (plan->kind == Plan::Kind::four_step) return {plan->columns->n, plan->rows->n};
  return {1, n};
}

std::vector<std::int64_t> scrambled_bins(Context& context, std::int64_t n, DType real) {
  const auto [n1, n2] = scrambled_split(context, n, real);
  return scrambled_positions(n1, n2);
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
