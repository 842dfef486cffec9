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
// (a cyclic convolution of length M = n − 1, the same three transforms) is held to the same bound.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "elementwise_test_util.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"
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

}  // namespace

TEST_CASE("OpenCL specialised FFT kernels: every plan against the CPU backend (forward, vjp, jvp)") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  auto& context = opencl::current_context();
  struct Case {
    std::int64_t n;
    const char* kind;  // expected in the plan's description
  };
  // each length and layout is one program (PoCL builds take about a second each): a short list
  const std::vector<Case> f32 = {{8, "radices"},       {16, "radices"},      {64, "radices"},      {4096, "radices"},
                                 {6, "radices"},       {15, "radices"},      {98, "radices"},      {135, "radices"},
                                 {1000, "radices"},    {4116, "four-step"},  {8192, "four-step"},  {11, "one launch"},
                                 {97, "one launch"},   {1009, "one launch"}, {2053, "3 launches"}, {4099, "3 launches"},
                                 {4801, "rader"},      {65537, "rader"}};
  const std::vector<Case> f64 = {
      {16, "radices"}, {1000, "radices"}, {8192, "four-step"}, {97, "one launch"}, {2053, "3 launches"}, {7681, "rader"}};
  const auto node = Registry::instance().make("fft", Attributes{{"norm", std::string("backward")}});
  for (DType real : {DType::float32, DType::float64}) {
    if (real == DType::float64 && !context.device().fp64) continue;
    double worst = 0;
    std::int64_t at = 0;
    for (const Case& c : real == DType::float32 ? f32 : f64) {
      const auto plan = offt::stockham_plan(context, c.n, real);
      REQUIRE(plan);
      const std::string text = offt::describe(*plan);
      INFO("n = ", c.n, " ", dtype_name(real), ": ", text);
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
    MESSAGE(fmt::format("specialised fft {}: largest error {:.3f} of its bound (n = {})", dtype_name(real), worst, at));
  }
}

TEST_CASE("OpenCL specialised FFT kernels run in place and on offset rows") {
  if (!nodal::test::opencl_present()) return;
  ForceStockham force;
  auto& context = opencl::current_context();
  for (std::int64_t n : {4096, 8192, 1009, 4099, 4801}) {
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
