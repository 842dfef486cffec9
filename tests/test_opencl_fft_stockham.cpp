// The specialised FFT kernels (backends/opencl/fft_stockham.cpp, kernels/fft_stockham.cl), forced
// on (they are the default on GPUs only; on PoCL each length's program costs a build), against the
// CPU backend: fft's forward (forward transform), vjp (the inverse direction, conjugated) and jvp,
// over lengths that take each of the five plans, float32 and float64, batches that do not fill the
// last work-group; and in place.
//
// Tolerance, as tests/test_opencl_fft.cpp argues it: a radix-r FFT of length N with twiddles
// accurate to ε has ‖ŷ − y‖₂ ≤ c·ε·log₂N·‖y‖₂ (Higham §24.1, c ≈ 1–2), both backends satisfy it, so
// ‖y_cl − y_cpu‖₂/‖y_cpu‖₂ ≤ 4·ε·(log₂N + 2); Bluestein chains three transforms of length M (two
// here, one of the filter on the host in double) and two chirp products: 12·ε·(log₂M + 2); Rader
// (a cyclic convolution of length M = n − 1, the same three transforms) is held to the same bound,
// with its permutations as passes of their own (the default) and fused into the column launches.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "elementwise_test_util.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"
#include "nodal/backends/opencl/fft_stockham_detail.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/fourier.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
namespace offt = nodal::opencl::fft;

namespace {

struct ForceStockham {
  ForceStockham() { offt::set_stockham_mode(offt::StockhamMode::on); }
  ~ForceStockham() { offt::set_stockham_mode(offt::StockhamMode::automatic); }
};

// ‖a − e‖₂ / (ε · ‖e‖₂), ε of `real` (the precision computed in)
double norm_error(const Tensor& actual, const Tensor& expected, DType real) {
  REQUIRE(actual.shape() == expected.shape());
  const auto a = nodal::test::host_values(actual);
  const auto e = nodal::test::host_values(expected);
  long double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
    diff += (long double)(a[i] - e[i]) * (a[i] - e[i]);
    norm += (long double)e[i] * e[i];
  }
  return norm == 0 ? double(diff) : double(std::sqrt(diff / norm)) / nodal::test::epsilon(real);
}

DType complex_of(DType real) { return real == DType::float32 ? DType::complex64 : DType::complex128; }

// The plan's kind word ("four-step", "bluestein") and its transform length M for the bound.
std::int64_t inner_length(const offt::StockhamPlan& plan, std::int64_t n) {
  const std::string text = offt::describe(plan);
  // Rader: a convolution of length n − 1 (three transforms, as Bluestein's)
  const auto at = text.find(" via m=");
  return at == std::string::npos ? n : std::stoll(text.substr(at + 7));
}

struct Case {
  std::int64_t n;
  const char* kind;  // expected in the plan's description
};

// fft forward, vjp and jvp of every case against the CPU backend; returns nothing, checks each.
void check_cases(const std::vector<Case>& cases, DType real, const char* label) {
  auto& context = opencl::current_context();
  if (real == DType::float64 && !context.device().fp64) return;
  const auto node = Registry::instance().make("fft", Attributes{{"norm", std::string("backward")}});
  double worst = 0;
  std::int64_t at = 0;
  for (const Case& c : cases) {
    const auto plan = offt::stockham_plan(context, c.n, real);
    REQUIRE(plan);
    const std::string text = offt::describe(*plan);
    INFO(label, ": n = ", c.n, " ", dtype_name(real), ": ", text);
    CHECK(text.find(c.kind) != std::string::npos);
    const std::int64_t batch = c.n <= 64 ? 37 : c.n <= 4096 ? 5 : c.n <= 10000 ? 3 : 1;  // never a multiple of the lanes
    const Tensor x = nodal::test::sample_complex(Shape{batch, c.n}, std::uint64_t(c.n)).astype(complex_of(real));
    const Tensor g = nodal::test::sample_complex(Shape{batch, c.n}, std::uint64_t(c.n) + 7).astype(complex_of(real));
    const Tensor t = nodal::test::sample_complex(Shape{batch, c.n}, std::uint64_t(c.n) + 13).astype(complex_of(real));
    const auto cpu = nodal::test::run_node(*node, {x}, g, {t}, Backend::cpu, false);
    const auto cl = nodal::test::run_node(*node, {x}, g, {t}, Backend::opencl, false);
    const std::int64_t m = inner_length(*plan, c.n);
    const double scale = m != c.n ? 12 * (std::log2(double(m)) + 2) : 4 * (std::log2(double(c.n)) + 2);
    for (const auto& [what, a, e] : {std::tuple{"forward", cl.outputs[0], cpu.outputs[0]},
                                     std::tuple{"vjp", cl.cotangents[0], cpu.cotangents[0]},
                                     std::tuple{"jvp", cl.tangent, cpu.tangent}}) {
      const double err = norm_error(a, e, real);
      INFO(what, ": ", err, " ε, bound ", scale, " ε");
      CHECK(err <= scale);
      if (err / scale > worst) worst = err / scale, at = c.n;
    }
  }
  MESSAGE(fmt::format("specialised fft, {}, {}: largest error {:.3f} of its bound (n = {})", label, dtype_name(real),
                      worst, at));
}

// Plans as on a GPU with 48 KiB of local memory (or `bytes`: set_stockham_test_limits), restored
// afterwards.
struct GpuLimits {
  explicit GpuLimits(bool split, std::int64_t bytes = 49152) { offt::set_stockham_test_limits(bytes, split); }
  ~GpuLimits() { offt::set_stockham_test_limits(0, false); }
};

}  // namespace

// Each length and layout is one program, and PoCL builds one in about a second: CI runs one or two
// lengths per plan, tile kind and precision; NODAL_FFT_FULL_TESTS=1 runs the long lists (as on the
// GPU machine, bench/gpu-run.sh).
bool full() {
  const char* v = std::getenv("NODAL_FFT_FULL_TESTS");
  return v && *v == '1';
}

// The composite radices (kernels/fft_radix.cl: 6, 10, 12, 14, 15 by Good–Thomas, 9 by Cooley–Tukey)
// and the primes 11, 13, 19 each run in some length the parity tests above and
// tests/test_opencl_fft_convolve.cpp check against the CPU backend: this pins those lengths' passes, so that a change of the radix choice cannot leave
// a butterfly untested. The second argument says whether radix 16 is allowed (the launches that run
// their passes twice over rows of 1024 or more).
TEST_CASE("OpenCL specialised FFT kernels: the tested lengths reach every composite radix") {
  namespace st = offt::stockham;
  const auto has = [](std::int64_t n, bool with16, int r) {
    const std::vector<int> radices = st::radices_of(n, with16);
    return std::find(radices.begin(), radices.end(), r) != radices.end();
  };
  CHECK(has(6, false, 6));      // single launch n = 6
  CHECK(has(1000, false, 10));  // single launch n = 1000 = 10·10·10
  CHECK(has(54, false, 9));     // Rader 12097's columns, 12096 = 54 × 224
  CHECK(has(10368, true, 12));  // Rader 10369 in one launch
  CHECK(has(3000, true, 15));   // Rader 3001 in one launch
  CHECK(has(1176, true, 14));   // CircularConvolver n = 1176 = 14·14·6
  // the primes 11, 13, 19, one-launch Rader only (its n − 1)
  CHECK(has(1320, true, 11));  // Rader 1321
  CHECK(has(1300, true, 13));  // Rader 1301
  CHECK(has(2052, true, 19));  // Rader 2053
  CHECK_FALSE(st::smooth(2052));  // ... which no other plan takes
  // powers of two keep radix 16 (where allowed) or 8 first
  CHECK(st::radices_of(4096, false) == std::vector<int>{8, 8, 8, 8});
  CHECK(st::radices_of(2048, true) == std::vector<int>{16, 16, 8});
  CHECK(st::radices_of(97, false).empty());
}

// The three-launch Bluestein's length rule (fft_stockham_plan.cpp), as a contract: m ≥ 2n − 1 and at
// most 1.5 times that, 2·3·5·7-smooth, m = n1·n2 with both within one group, rows of 512 wherever m
// is 512·n1 with a smooth n1 ≤ 512, and rows whose passes take no lone odd radix (3, 5, 7, 9): for
// every length here some candidate has them (a 2^a or 3·2^a lies within any factor 4/3).
TEST_CASE("OpenCL specialised FFT kernels: the three-launch Bluestein's length and columns") {
  if (!nodal::test::opencl_present()) return;
  namespace st = offt::stockham;
  GpuLimits gpu(false);
  auto& context = opencl::current_context();
  bool some_seven = false;
  for (std::int64_t n : {8219, 10007, 16411, 20011, 32771, 65539, 131071, 1048573}) {
    const auto plan = offt::stockham_plan(context, n, DType::float32);
    REQUIRE(plan);
    INFO("n = ", n, ": ", offt::describe(*plan));
    REQUIRE(plan->kind == offt::StockhamPlan::Kind::bluestein_three);
    const std::int64_t m = plan->m, lowest = 2 * n - 1;
    CHECK(m >= lowest);
    CHECK(m <= lowest + lowest / 2);
    std::int64_t rest = m;
    for (std::int64_t f : {2, 3, 5, 7})
      while (rest % f == 0) rest /= f;
    CHECK(rest == 1);
    some_seven |= m % 7 == 0;
    CHECK(plan->n1 * plan->n2 == m);
    CHECK(plan->n1 <= 11666);
    CHECK(plan->n2 <= 11666);
    if (m % 512 == 0 && m / 512 <= 512) CHECK(plan->n2 == 512);
    for (int r : st::radices_of(plan->n2, st::radix16(true, plan->n2))) CHECK((r != 3 && r != 5 && r != 7 && r != 9));
  }
  CHECK(some_seven);  // a factor 7 in m: its radix-7 passes run in the parity tests (16411, 65539 below)
}

TEST_CASE("OpenCL specialised FFT kernels: every plan of a 48 KiB GPU against the CPU backend (forward, vjp, jvp)") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  GpuLimits gpu(false);
  // float32: one launch up to 11,666 values (10000 in a split tile), powers of two from 8192 to 16384
  // held in registers, Bluestein in one launch up to m = 5,661 in a whole tile (2069: m = 4608) and
  // m = 16384 in registers (4099, 6001), three launches beyond (16411: a factor 7 in m), Rader for primes
  // with a smooth n − 1: in one launch up to 11,666 (257; 10369 in a split tile; 7681 takes Bluestein
  // in registers instead; n − 1 with one prime 11, 13 or 19: 1321, 1301, 2053, 8209 in a split tile,
  // where Bluestein would sweep far more values: 1021 takes m = 2048, 1361 (a 17) m = 3072), in three
  // beyond
  if (full())
    check_cases({{8, "radices"},       {64, "radices"},      {4096, "radices"},     {6, "radices"},
                 {98, "radices"},      {135, "radices"},     {1000, "radices"},     {4116, "radices"},
                 {10000, "radices"},    {16384, "in registers"}, {12000, "four-step"},  {97, "one launch"},
                 {1009, "one launch"}, {2069, "one launch"}, {4099, "one launch"},  {6001, "in registers"},
                 {16411, "3 launches"}, {65539, "3 launches"},
                 {257, "rader n=257 via m=256 in one launch"}, {641, "in one launch"}, {3457, "in one launch"},
                 {10369, "rader n=10369 via m=10368 in one launch"}, {7681, "bluestein n=7681 via m=16384"},
                 {12097, "rader"},     {65537, "rader"},     {1021, "bluestein n=1021 via m=2048 in one launch"},
                 {8209, "rader n=8209 via m=8208 in one launch"}},
                DType::float32, "48 KiB");
  else
    check_cases({{64, "radices"}, {98, "radices"}, {10000, "radices"}, {12000, "four-step"}, {1031, "one launch"},
                 {4099, "one launch"}, {10007, "3 launches"}, {16411, "3 launches"},
                 {257, "rader n=257 via m=256 in one launch"}, {3001, "rader n=3001 via m=3000 in one launch"},
                 {10369, "rader n=10369 via m=10368 in one launch"}, {12097, "rader"},
                 {2053, "rader n=2053 via m=2052 in one launch"}, {1321, "rader n=1321 via m=1320 in one launch"},
                 {1301, "rader n=1301 via m=1300 in one launch"}, {1361, "bluestein n=1361 via m=3072 in one launch"}},
                DType::float32, "48 KiB");
  // float64: one launch up to 5,661 values (4096 split)
  if (full())
    check_cases({{1000, "radices"}, {4096, "radices"}, {8192, "four-step"}, {97, "one launch"}, {2053, "one launch"},
                 {3011, "3 launches"}, {1153, "rader n=1153 via m=1152 in one launch"}, {7681, "rader"}},
                DType::float64, "48 KiB");
  else
    check_cases({{1000, "radices"}, {8192, "four-step"}, {97, "one launch"}, {7681, "rader"}}, DType::float64,
                "48 KiB");
  // 512-long float64 columns: a whole tile holds 5, the launch takes 4 (a power of two of lanes)
  check_cases({{262144, "four-step n=262144 = 512 x 512"}}, DType::float64, "48 KiB");
}

TEST_CASE("OpenCL specialised FFT kernels with split tiles everywhere, and with PoCL's own local memory") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  {
    GpuLimits gpu(true);
    if (full())
      check_cases({{64, "radices"}, {12000, "four-step"}, {1009, "one launch"}, {12097, "rader"}}, DType::float32,
                  "48 KiB, split tiles");
    else
      check_cases({{64, "radices"}, {12000, "four-step"}}, DType::float32, "48 KiB, split tiles");
    check_cases({{60, "radices"}}, DType::float64, "48 KiB, split tiles");
  }
  check_cases({{10000, "radices"}}, DType::float32, "device local memory");
  if (full()) check_cases({{4099, "one launch"}}, DType::float32, "device local memory");
}

// The register-held plans (kernels/fft_wide.cl): on a 48 KiB device 16384 = 32 × 512 (eight rows of
// 512 per round, radix-8 passes), 8192 = 32 × 256 (sixteen rows, radix 16) and Bluestein's m = 16384;
// with 8 KiB of local memory the same kernel with eight rows of 64 per round, or four rows of 128 over
// eight rounds (radices 4 and 2), shapes a 48 KiB device never takes. float64 keeps the four-step.
TEST_CASE("OpenCL specialised FFT kernels: plans held in registers beyond one tile") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  auto& context = opencl::current_context();
  {
    GpuLimits gpu(false);
    check_cases({{16384, "wide n=16384 = 32 x 512 in registers, 8 rows per round"},
                 {8192, "wide n=8192 = 32 x 256 in registers, 16 rows per round"},
                 {8191, "bluestein n=8191 via m=16384 = 32 x 512 in registers"}},
                DType::float32, "48 KiB, in registers");
    CHECK(offt::stockham_plan(context, 16384, DType::float64)->kind == offt::StockhamPlan::Kind::four_step);
  }
}
TEST_CASE("OpenCL specialised FFT kernels: plans held in registers with 8 KiB of local memory") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  GpuLimits small(false, 8192);
  check_cases({{2048, "wide n=2048 = 32 x 64 in registers, 8 rows per round"},
               {4096, "wide n=4096 = 32 x 128 in registers, 4 rows per round"},
               {1009, "bluestein n=1009 via m=2048 = 32 x 64 in registers"}},
              DType::float32, "8 KiB, in registers");
}

TEST_CASE("OpenCL specialised FFT kernels: Rader with its permutations fused into the column launches") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  GpuLimits gpu(false);
  struct Fused {
    Fused() { offt::set_rader_permutations(offt::RaderPermutations::fused); }
    ~Fused() { offt::set_rader_permutations(offt::RaderPermutations::automatic); }
  } fused;
  check_cases({{12097, "rader"}}, DType::float32, "48 KiB, Rader fused");
  if (full()) check_cases({{7681, "rader"}, {65537, "rader"}}, DType::float64, "48 KiB, Rader fused");
}

TEST_CASE("OpenCL specialised FFT kernels run in place and on offset rows") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  auto& context = opencl::current_context();
  // with PoCL's own local memory, then as on a 48 KiB GPU (the plans held in registers)
  std::vector<std::pair<std::int64_t, std::int64_t>> cases;  // (n, local bytes; 0: the device's)
  for (std::int64_t n : full() ? std::vector<std::int64_t>{4096, 8192, 1009, 4099, 4801, 65537}
                               : std::vector<std::int64_t>{8192, 4099, 65537})
    cases.emplace_back(n, 0);
  cases.emplace_back(16384, 49152);
  cases.emplace_back(8191, 49152);
  for (const auto& [n, local] : cases) {
    GpuLimits limits(false, local);
    const std::int64_t batch = 3, pad = 5;  // rows start `pad` values into the buffer and are n + 2 apart
    const Tensor host = nodal::test::sample_complex(Shape{batch * (n + 2) + pad}, std::uint64_t(n)).astype(DType::complex64);
    const Tensor rows = host.slice(0, pad, pad + batch * (n + 2)).contiguous().reshape(Shape{batch, n + 2}).slice(1, 0, n).contiguous();
    const Tensor reference = fourier::fft(rows.astype(DType::complex128));
    Tensor buffer = host.to(Backend::opencl);
    offt::Side side;
    side.mem = opencl::device_buffer(*buffer.buffer(), "test").mem();
    side.offset = buffer.offset() + pad;
    side.s_outer = n + 2;
    offt::execute(context, *offt::plan_for(context, n, DType::float32), DType::float32, batch, false, side, {}, side, {});
    const Tensor back = buffer.to(Backend::cpu);
    const Tensor got = back.slice(0, pad, pad + batch * (n + 2)).contiguous().reshape(Shape{batch, n + 2}).slice(1, 0, n).contiguous();
    const double err = norm_error(got.astype(DType::complex128), reference, DType::float32);
    INFO("n = ", n, ": ", offt::describe(*offt::stockham_plan(context, n, DType::float32)), ", error ", err, " ε");
    CHECK(err <= 12 * (std::log2(double(2 * n)) + 3));
    // the gaps between rows and the values before the first row are untouched
    const auto before = nodal::test::host_values(host), after = nodal::test::host_values(back);
    bool untouched = true;
    for (std::int64_t i = 0; i < 2 * pad; ++i) untouched &= before[std::size_t(i)] == after[std::size_t(i)];
    for (std::int64_t r = 0; r < batch; ++r)
      for (std::int64_t k = 2 * (pad + r * (n + 2) + n); k < 2 * (pad + (r + 1) * (n + 2)); ++k)
        untouched &= before[std::size_t(k)] == after[std::size_t(k)];
    CHECK(untouched);
  }
}
