// The device's permutation-free circular convolution (backends/opencl/fft_convolve.hpp) and the
// scrambled spectrum order under it (fft_plan.hpp, Order), against long-double sums computed here,
// on the generic kernels (PoCL's default) and on the specialised ones forced with a GPU's limits.
//
// Tolerance. Each transform of length M has ‖ŷ − y‖₂ ≤ c·ε·log₂M·‖y‖₂ (Higham §24.1), and
// ‖F x‖₂ = √M‖x‖₂, ‖ĥ‖_∞ ≤ ‖h‖₁, so forward, product and inverse give
//     ‖δy‖₂ ≤ 3·4·ε·(log₂M + 2)·‖x‖₂·‖h‖₁
// (three transforms: x's, h's and the inverse, each within 4·ε·(log₂M + 2) as tests/
// test_opencl_fft.cpp argues); a Bluestein length chains three transforms of its inner length in
// each, hence 36·ε·(log₂M + 2) with M the inner length. A wrong order gives ‖δy‖₂ ≈ ‖y‖₂ ≈
// ‖x‖₂‖h‖₂, hundreds of times this bound for the lengths below.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "elementwise_test_util.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/fft_convolve.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
namespace offt = nodal::opencl::fft;
using cld = std::complex<long double>;

namespace {

std::vector<cld> host_complex(const Tensor& t) {
  std::vector<cld> out;
  if (is_complex(t.dtype()))
    for (const auto& z : t.to(Backend::cpu).to_vector<std::complex<double>>()) out.emplace_back(z.real(), z.imag());
  else
    for (double v : t.to(Backend::cpu).to_vector<double>()) out.emplace_back(v, 0.0L);
  return out;
}

// every output of small rows, else 61 of them per row (spread over the row), as direct sums
std::vector<std::int64_t> checked_outputs(std::int64_t n) {
  std::vector<std::int64_t> k;
  const std::int64_t step = n <= 2200 ? 1 : n / 61;
  for (std::int64_t i = 0; i < n; i += step) k.push_back(i);
  k.push_back(n - 1);
  return k;
}

struct Measured {
  double bound_ratio = 0;  // ‖δy‖₂ / (ε‖x‖₂‖h‖₁), to hold below the bound
  double relative = 0;     // ‖δy‖₂ / (ε‖y‖₂), reported
};

// y (rows × n) against Σ_j x[r][j]·h[(k − j) mod n] in long double
Measured compare(const Tensor& y, const Tensor& x, const Tensor& h, std::int64_t n, DType real) {
  const auto yv = host_complex(y), xv = host_complex(x), hv = host_complex(h);
  const std::int64_t rows = std::int64_t(xv.size()) / n;
  long double h1 = 0;
  for (const auto& v : hv) h1 += std::abs(v);
  Measured worst;
  for (std::int64_t r = 0; r < rows; ++r) {
    long double x2 = 0, err = 0, ref = 0;
    for (std::int64_t j = 0; j < n; ++j) x2 += std::norm(xv[std::size_t(r * n + j)]);
    const auto ks = checked_outputs(n);
    for (std::int64_t k : ks) {
      cld e = 0;
      for (std::int64_t j = 0; j < n; ++j) e += xv[std::size_t(r * n + j)] * hv[std::size_t((k - j + n) % n)];
      err += std::norm(yv[std::size_t(r * n + k)] - e);
      ref += std::norm(e);
    }
    // sampled rows: the mean square error over the samples times n estimates ‖δy‖₂²
    const long double scale = (long double)n / (long double)ks.size();
    const double eps = nodal::test::epsilon(real);
    worst.bound_ratio = std::max(worst.bound_ratio, double(std::sqrt(err * scale) / (std::sqrt(x2) * h1)) / eps);
    worst.relative = std::max(worst.relative, double(std::sqrt(err / ref)) / eps);
  }
  return worst;
}

DType complex_of(DType real) { return real == DType::float32 ? DType::complex64 : DType::complex128; }

// complex and real rows against the direct sums; `inner` the transform length of the bound
void check_convolver(std::int64_t n, DType real, std::int64_t inner, const char* expect) {
  auto& context = opencl::current_context();
  if (real == DType::float64 && !context.device().fp64) return;
  const offt::CircularConvolver conv(context, n, real);
  INFO("n = ", n, " ", dtype_name(real), ": ", conv.describe());
  CHECK(conv.describe().find(expect) != std::string::npos);
  const double bound = 36 * (std::log2(double(inner)) + 2);
  const std::int64_t rows = 3;
  const Tensor x = nodal::test::sample_complex(Shape{rows, n}, std::uint64_t(n)).astype(complex_of(real));
  const Tensor h = nodal::test::sample_complex(Shape{n}, std::uint64_t(n) + 5).astype(complex_of(real));
  const Tensor y = conv.convolve(x.to(Backend::opencl), conv.filter(h.to(Backend::opencl)));
  CHECK(y.shape() == x.shape());
  const Measured c = compare(y, x, h, n, real);
  INFO("complex rows: ", c.bound_ratio, " (bound ", bound, "), ", c.relative, " ε of ‖y‖");
  CHECK(c.bound_ratio <= bound);
  // real rows, an odd count (the last pair has no odd row), two per complex transform
  const Tensor xr = nodal::test::sample(Shape{5, n}, -1, 1, std::uint64_t(n) + 9).astype(real);
  const Tensor hr = nodal::test::sample(Shape{n}, -1, 1, std::uint64_t(n) + 11).astype(real);
  const Tensor yr = conv.convolve_real(xr.to(Backend::opencl), conv.filter(hr.to(Backend::opencl)));
  CHECK(yr.dtype() == real);
  const Measured r = compare(yr, xr, hr, n, real);
  INFO("real rows: ", r.bound_ratio, " (bound ", bound, "), ", r.relative, " ε of ‖y‖");
  CHECK(r.bound_ratio <= bound);
  MESSAGE(fmt::format("fft convolve (opencl) n = {} {}: {:.3g} / {:.3g} of the bound, {:.3g} / {:.3g} ε of ‖y‖ "
                      "(complex / real rows; {})",
                      n, dtype_name(real), c.bound_ratio / bound, r.bound_ratio / bound, c.relative, r.relative,
                      conv.describe()));
}

// The forward transform in scrambled order is the natural one permuted as scrambled_bins says, that
// permutation is not the identity for a four-step length, and the inverse reads it back.
void check_scrambled_order(std::int64_t n, DType real) {
  auto& context = opencl::current_context();
  const auto plan = offt::plan_for(context, n, real);
  const auto bins = offt::scrambled_bins(context, n, real);
  REQUIRE(std::int64_t(bins.size()) == n);
  std::vector<char> seen(std::size_t(n), 0);
  bool identity = true;
  for (std::int64_t p = 0; p < n; ++p) {
    REQUIRE(bins[std::size_t(p)] >= 0);
    REQUIRE(bins[std::size_t(p)] < n);
    seen[std::size_t(bins[std::size_t(p)])] = 1;
    identity &= bins[std::size_t(p)] == p;
  }
  for (char s : seen) REQUIRE(s);
  CHECK_FALSE(identity);
  const std::int64_t rows = 2;
  const Tensor x = nodal::test::sample_complex(Shape{rows, n}, std::uint64_t(n) + 3).astype(complex_of(real));
  const Tensor xd = x.to(Backend::opencl);
  Tensor natural = opencl::device_empty(context, x.shape(), x.dtype());
  Tensor scrambled = opencl::device_empty(context, x.shape(), x.dtype());
  auto side = [&](const Tensor& t) {
    offt::Side s;
    s.mem = opencl::device_buffer(*t.buffer(), "test").mem();
    s.offset = t.offset();
    s.s_outer = n;
    return s;
  };
  offt::execute(context, *plan, real, rows, false, side(xd), {}, side(natural), {});
  offt::execute(context, *plan, real, rows, false, side(xd), {}, side(scrambled), {}, offt::Order::scrambled);
  const auto nat = host_complex(natural), scr = host_complex(scrambled);
  long double diff = 0, norm = 0;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t p = 0; p < n; ++p) {
      diff += std::norm(scr[std::size_t(r * n + p)] - nat[std::size_t(r * n + bins[std::size_t(p)])]);
      norm += std::norm(nat[std::size_t(r * n + bins[std::size_t(p)])]);
    }
  const double eps = nodal::test::epsilon(real);
  INFO("n = ", n, ": scrambled vs permuted natural spectrum ", double(std::sqrt(diff / norm)) / eps, " ε");
  CHECK(double(std::sqrt(diff / norm)) / eps <= 8 * (std::log2(double(n)) + 2));  // two transforms' errors
  // the inverse from the scrambled order, in place, returns x
  offt::execute(context, *plan, real, rows, true, side(scrambled), {}, side(scrambled), {.scale = 1.0 / double(n)},
                offt::Order::scrambled);
  const auto back = host_complex(scrambled), orig = host_complex(x);
  diff = norm = 0;
  for (std::size_t i = 0; i < orig.size(); ++i) diff += std::norm(back[i] - orig[i]), norm += std::norm(orig[i]);
  INFO("n = ", n, ": round trip ", double(std::sqrt(diff / norm)) / eps, " ε");
  CHECK(double(std::sqrt(diff / norm)) / eps <= 8 * (std::log2(double(n)) + 2));
}

struct StockhamOn {
  StockhamOn() {
    offt::set_stockham_mode(offt::StockhamMode::on);
    offt::set_stockham_test_limits(49152, false);  // a GPU's 48 KiB plans on PoCL
  }
  ~StockhamOn() {
    offt::set_stockham_test_limits(0, false);
    offt::set_stockham_mode(offt::StockhamMode::automatic);
  }
};
struct StockhamOff {
  StockhamOff() { offt::set_stockham_mode(offt::StockhamMode::off); }
  ~StockhamOff() { offt::set_stockham_mode(offt::StockhamMode::automatic); }
};

bool full() {
  const char* v = std::getenv("NODAL_FFT_FULL_TESTS");
  return v && *v == '1';
}

}  // namespace

TEST_CASE("OpenCL circular convolution, generic kernels: one launch, scrambled four-step, Bluestein over a scrambled four-step") {
  if (!nodal::test::opencl_present()) return;
  StockhamOff generic;
  check_convolver(1000, DType::float32, 1000, "local");
  check_convolver(6000, DType::float32, 6000, "four-step");  // beyond fft_local's 4096
  check_convolver(2053, DType::float32, 4116, "bluestein");   // m = 4116: a four-step inner length
  check_convolver(1031, DType::float64, 2100, "bluestein");   // double: m = 2100 beyond 2048
  if (full()) {
    check_convolver(1, DType::float32, 1, "local");
    check_convolver(12000, DType::float64, 12000, "four-step");
  }
  check_scrambled_order(6000, DType::float32);
}

TEST_CASE("OpenCL circular convolution, specialised kernels with a GPU's limits: one launch, scrambled four-step, registers") {
  if (!nodal::test::opencl_present()) return;
  StockhamOn gpu;
  check_convolver(1000, DType::float32, 1000, "one launch");
  check_convolver(1176, DType::float32, 1176, "one launch");  // 14·14·6: the radix-14 butterfly
  check_convolver(12000, DType::float32, 12000, "scrambled");
  check_scrambled_order(12000, DType::float32);
  // held in registers (kernels/fft_wide.cl): forward with the product fused, then inverse (8192 also
  // fits a split tile, whose one-launch convolution was slower)
  check_convolver(16384, DType::float32, 16384, "in registers");
  check_convolver(8192, DType::float32, 8192, "in registers");
  if (full()) {
    check_convolver(1009, DType::float32, 2048, "stockham bluestein");  // one order: natural, a product pass
    check_convolver(8192, DType::float64, 8192, "scrambled");
  }
}

TEST_CASE("OpenCL circular convolution: bad filters and inputs are refused by name") {
  if (!nodal::test::opencl_present()) return;
  auto& context = opencl::current_context();
  using nodal::test::check_throws_naming;
  check_throws_naming<ValueError>([&] { offt::CircularConvolver(context, 0, DType::float32); },
                                  {"fft convolve (opencl)", "length", "0"});
  check_throws_naming<DTypeError>([&] { offt::CircularConvolver(context, 8, DType::complex64); },
                                  {"fft convolve (opencl)", "complex64"});
  const offt::CircularConvolver conv(context, 8, DType::float32);
  const Tensor h = nodal::test::sample(Shape{8}, -1, 1, 1).astype(DType::float32).to(Backend::opencl);
  const Tensor h9 = nodal::test::sample(Shape{9}, -1, 1, 1).astype(DType::float32).to(Backend::opencl);
  check_throws_naming<ValueError>([&] { (void)conv.filter(h9); }, {"fft convolve (opencl)", "[9]", "length 8"});
  check_throws_naming<DTypeError>([&] { (void)conv.filter(h.to(Backend::cpu).astype(DType::float64).to(Backend::opencl)); },
                                  {"fft convolve (opencl)", "float64"});
  const auto spectrum = conv.filter(h);
  const Tensor x7 = nodal::test::sample(Shape{2, 7}, -1, 1, 2).astype(DType::float32).to(Backend::opencl);
  check_throws_naming<ValueError>([&] { (void)conv.convolve_real(x7, spectrum); }, {"fft convolve (opencl)", "[2, 7]", "8"});
  const Tensor xc = nodal::test::sample_complex(Shape{2, 8}, 3).astype(DType::complex64).to(Backend::opencl);
  check_throws_naming<DTypeError>([&] { (void)conv.convolve_real(xc, spectrum); }, {"fft convolve (opencl)", "complex64"});
  const auto complex_spectrum = conv.filter(nodal::test::sample_complex(Shape{8}, 4).astype(DType::complex64).to(Backend::opencl));
  const Tensor x = nodal::test::sample(Shape{2, 8}, -1, 1, 2).astype(DType::float32).to(Backend::opencl);
  check_throws_naming<ValueError>([&] { (void)conv.convolve_real(x, complex_spectrum); }, {"fft convolve (opencl)", "real filter"});
  const Tensor host_x = nodal::test::sample_complex(Shape{2, 8}, 3).astype(DType::complex64);
  check_throws_naming<BackendError>([&] { (void)conv.convolve(host_x, spectrum); }, {"fft convolve (opencl)"});
}
