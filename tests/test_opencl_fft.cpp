// The Fourier nodes on OpenCL (backends/opencl/fourier.cpp, fft_plan.cpp, kernels/fft.cl) against
// the CPU backend: forward, vjp and jvp of fft, ifft, rfft, irfft, fft2, ifft2, rfft2, irfft2 in
// complex64/float32 and complex128/float64, every norm mode, lengths that take each plan (local
// Stockham, four-step, Bluestein), batched, strided and 2-D layouts.
//
// Tolerance. A radix-r FFT of length N computed with twiddles accurate to ε has a normwise error
// ‖ŷ − y‖₂ ≤ c·ε·log₂N·‖y‖₂ (Higham, Accuracy and Stability, §24.1; c a small constant of the
// butterflies, ≈ 1–2 for radix 2–8 with rounded twiddles). Both backends satisfy it, so their
// difference is within twice that; we check
//     ‖y_cl − y_cpu‖₂ / ‖y_cpu‖₂  ≤  4·ε·(log₂N + 2)
// (N the product of the transformed lengths), and for Bluestein lengths, which chain three
// transforms of the padded length M (two on the device, one of the filter on the host in double)
// and two chirp products, ≤ 12·ε·(log₂M + 2). The norm is over the whole (batched) result, every
// output, cotangent and tangent separately. The largest measured ratio error / ε·(log₂N + 2) is
// printed with MESSAGE.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "elementwise_test_util.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/fourier.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;

namespace {

bool smooth(std::int64_t n) {
  for (int p : {2, 3, 5, 7})
    while (n % p == 0) n /= p;
  return n == 1;
}

// ‖a − e‖₂ / (ε · ‖e‖₂)
double norm_error(const Tensor& actual, const Tensor& expected) {
  REQUIRE(actual.defined());
  REQUIRE(expected.defined());
  REQUIRE(actual.shape() == expected.shape());
  CHECK(actual.dtype() == expected.dtype());
  CHECK(actual.backend() == Backend::opencl);
  const auto a = nodal::test::host_values(actual);
  const auto e = nodal::test::host_values(expected);
  long double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isinf(a[i])) return std::numeric_limits<double>::quiet_NaN();
    diff += (long double)(a[i] - e[i]) * (a[i] - e[i]);
    norm += (long double)e[i] * e[i];
  }
  if (norm == 0) return diff == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return double(std::sqrt(diff / norm)) / nodal::test::epsilon(expected.dtype());
}

DType complex_of(DType real) { return real == DType::float32 ? DType::complex64 : DType::complex128; }

Tensor random_input(const Shape& shape, bool complex, DType real, std::uint64_t seed) {
  if (complex) return nodal::test::sample_complex(shape, seed).astype(complex_of(real));
  return nodal::test::sample(shape, -1.5, 1.5, seed).astype(real);
}

struct Worst {
  double ratio = 0;  // error / (ε (log₂N + 2))
  std::string where;
};

// Runs node `type` (attributes norm, n) on both backends from an input of `shape`; checks every
// result against its bound; returns the largest error / (ε (log₂N + 2)).
double compare(const std::string& type, const Shape& in_shape, DType real, const std::string& norm, bool strided,
               std::int64_t n_attr = -1, std::uint64_t seed = 1, bool real_input = false) {
  Attributes attrs{{"norm", norm}};
  if (type == "irfft" || type == "irfft2") attrs.set("n", n_attr);
  const auto node = Registry::instance().make(type, attrs);
  const bool complex_in = !(type == "rfft" || type == "rfft2" || real_input);
  const Tensor x = random_input(in_shape, complex_in, real, seed);
  const auto spec = node->infer(std::vector<TensorSpec>{{x.shape(), x.dtype()}})[0];
  const Tensor g = random_input(spec.shape, is_complex(spec.dtype), real, seed + 7);
  const Tensor t = random_input(in_shape, complex_in, real, seed + 13);
  const auto cpu = nodal::test::run_node(*node, {x}, g, {t}, Backend::cpu, false);
  const auto cl = nodal::test::run_node(*node, {x}, g, {t}, Backend::opencl, strided);
  // the transformed size and the length the plans run
  const bool two = type.back() == '2';
  const int r = in_shape.rank();
  std::int64_t last = in_shape[r - 1];
  if (type == "irfft" || type == "irfft2") last = spec.shape[r - 1];
  const std::int64_t total = last * (two ? in_shape[r - 2] : 1);
  bool bluestein = !smooth(last) || (two && !smooth(in_shape[r - 2]));
  double log_n = std::log2(double(total)) + 2;
  if (bluestein) {
    std::int64_t m = 2 * std::max(last, two ? in_shape[r - 2] : 1) - 1;
    while (!smooth(m)) ++m;
    log_n = 3 * (std::log2(double(m)) + 2) * (two ? 2 : 1);
  }
  double worst = 0;
  const auto take = [&](const char* what, const Tensor& a, const Tensor& e) {
    const double err = norm_error(a, e);
    INFO(type, " ", what, " shape ", to_string(in_shape), " ", dtype_name(real), " norm=", norm,
         " strided=", strided, " error ", err, " eps, bound ", 4 * log_n);
    CHECK(err <= 4 * log_n);
    worst = std::max(worst, err / log_n);
  };
  take("forward", cl.outputs[0], cpu.outputs[0]);
  take("vjp", cl.cotangents[0], cpu.cotangents[0]);
  take("jvp", cl.tangent, cpu.tangent);
  return worst;
}

std::vector<DType> precisions() {
  std::vector<DType> p{DType::float32};
  if (opencl::current_context().device().fp64) p.push_back(DType::float64);
  return p;
}

}  // namespace

TEST_CASE("OpenCL fft of every kind of length matches the CPU backend (forward, vjp, jvp)") {
  if (!nodal::test::opencl_present()) return;
  std::vector<std::int64_t> lengths;
  for (std::int64_t n = 1; n <= (1 << 16); n *= 2) lengths.push_back(n);                  // powers of two
  for (std::int64_t n : {6, 12, 15, 35, 60, 360, 1000}) lengths.push_back(n);              // smooth
  for (std::int64_t n : {3, 7, 11, 13, 17, 97, 1009, 4099}) lengths.push_back(n);         // primes
  for (std::int64_t n : {22, 143, 2310, 5001}) lengths.push_back(n);                       // other (Bluestein)
  for (DType real : precisions()) {
    double worst = 0;
    std::int64_t at = 0;
    for (std::int64_t n : lengths) {
      const std::int64_t batch = n <= 64 ? 5 : (n <= 4096 ? 2 : 1);
      const double w = compare(n % 2 ? "ifft" : "fft", Shape{batch, n}, real, "backward", false, -1, std::uint64_t(n));
      if (w > worst) worst = w, at = n;
    }
    MESSAGE(fmt::format("fft/ifft {}: largest ‖Δ‖/‖y‖ = {:.2f}·ε·(log2 N + 2) (N = {}), bound 4 (12 for Bluestein, in log2 M)",
                        dtype_name(real), worst, at));
  }
}

TEST_CASE("OpenCL Fourier nodes: every node, norm mode, layout and dtype") {
  if (!nodal::test::opencl_present()) return;
  struct Case {
    std::string type;
    Shape shape;
    std::int64_t n = -1;
    bool real_input = false;  // fft/ifft of real data: promoted on load, real cotangent stored
  };
  const std::vector<Case> cases = {
      {"fft", {3, 4, 60}},       {"ifft", {2, 3, 97}},       {"rfft", {3, 64}},       {"rfft", {2, 3, 15}},
      {"rfft", {2, 11}},         {"irfft", {3, 33}},         {"irfft", {2, 33}, 65},  {"irfft", {4, 7}, 12},
      {"irfft", {2, 6}, 11},     {"fft2", {2, 6, 10}},       {"ifft2", {3, 16, 8}},   {"fft2", {1, 7, 9}},
      {"rfft2", {2, 12, 10}},    {"rfft2", {9, 13}},         {"irfft2", {2, 8, 5}},   {"irfft2", {6, 7}, 13},
      {"fft", {2, 8192}},        {"rfft", {2, 8192}},        {"irfft", {1, 4097}},    {"fft2", {2, 8192, 2}},
      {"irfft", {2, 1005}, 2009}, {"fft", {1}},
      {"fft", {3, 12}, -1, true}, {"ifft", {2, 97}, -1, true}, {"fft2", {2, 6, 5}, -1, true}, {"ifft2", {4, 9}, -1, true},
  };
  for (DType real : precisions()) {
    double worst = 0;
    std::string at;
    for (const Case& c : cases)
      for (const char* norm : {"backward", "ortho", "forward"})
        for (bool strided : {false, true}) {
          if (strided && c.shape.rank() < 2) continue;
          if (c.shape.numel() > 4096 && (strided || std::string(norm) != "ortho")) continue;  // keep it quick
          const double w =
              compare(c.type, c.shape, real, norm, strided, c.n, std::uint64_t(c.shape.numel()), c.real_input);
          if (w > worst) worst = w, at = fmt::format("{} {} norm={}", c.type, to_string(c.shape), norm);
        }
    MESSAGE(fmt::format("Fourier nodes {}: largest ‖Δ‖/‖y‖ = {:.2f}·ε·(log2 N + 2) at {}", dtype_name(real), worst, at));
  }
}

TEST_CASE("OpenCL fft on views that need a copy or a transpose first") {
  if (!nodal::test::opencl_present()) return;
  // (a) three batch levels that cannot merge (permuted axes): gathered into a contiguous copy;
  // (b) rows too long for one local transform, 2-level batch layout: gathered, then four-step;
  // (c) columns too long for one local transform: transposed, transformed as rows, transposed back.
  const Tensor a = nodal::test::sample_complex(Shape{3, 4, 5, 24}, 5).astype(DType::complex64);
  const Tensor a_view = a.to(Backend::opencl).permute({1, 0, 2, 3});  // batch strides 120, 480, 24
  const Tensor a_ref = fourier::fft(a.permute({1, 0, 2, 3}).contiguous());
  const Tensor b = nodal::test::sample(Shape{3, 2, 8192}, -1, 1, 6).astype(DType::float32);
  const Tensor b_ref = fourier::rfft(b.transpose(0, 1).contiguous());
  const Tensor b_view = b.to(Backend::opencl).transpose(0, 1);
  const Tensor c = nodal::test::sample_complex(Shape{2, 16384, 3}, 7).astype(DType::complex64);
  const Tensor c_ref = fourier::fft2(c, "ortho");
  const double errors[3] = {norm_error(fourier::fft(a_view), a_ref), norm_error(fourier::rfft(b_view), b_ref),
                            norm_error(fourier::fft2(c.to(Backend::opencl), "ortho"), c_ref)};
  CHECK(errors[0] <= 4 * (std::log2(24.0) + 2));
  CHECK(errors[1] <= 4 * (13 + 2));
  CHECK(errors[2] <= 4 * (std::log2(16384.0 * 3) + 2));
  MESSAGE(fmt::format("gathered / gathered four-step / transposed columns: {:.2f} / {:.2f} / {:.2f} ε (normwise)",
                      errors[0], errors[1], errors[2]));
}

TEST_CASE("OpenCL fft float32 accuracy against a float64 reference") {
  if (!nodal::test::opencl_present()) return;
  for (std::int64_t n : {4096, 1009, 65536, 4099}) {
    const Tensor x = nodal::test::sample_complex(Shape{4, n}, 3);
    const Tensor reference = fourier::fft(x);  // CPU, complex128
    const Tensor y = fourier::fft(x.astype(DType::complex64).to(Backend::opencl)).to(Backend::cpu).astype(DType::complex128);
    const auto a = nodal::test::host_values(y), e = nodal::test::host_values(reference);
    double max_diff = 0, max_ref = 0;
    long double sq_diff = 0, sq_ref = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      max_diff = std::max(max_diff, std::abs(a[i] - e[i]));
      max_ref = std::max(max_ref, std::abs(e[i]));
      sq_diff += (long double)(a[i] - e[i]) * (a[i] - e[i]);
      sq_ref += (long double)e[i] * e[i];
    }
    const double eps = nodal::test::epsilon(DType::float32), rms = double(std::sqrt(sq_diff / sq_ref));
    MESSAGE(fmt::format("float32 fft N={}: max |Δ|/max|y| = {:.2e} ({:.2f} ε), rms ‖Δ‖/‖y‖ = {:.2e} ({:.2f} ε); {}", n,
                        max_diff / max_ref, max_diff / max_ref / eps, rms, rms / eps,
                        opencl::fft::describe(*opencl::fft::plan_for(opencl::current_context(), n, DType::float32))));
    CHECK(rms / eps <= 4 * (std::log2(double(n)) + 2) * (smooth(n) ? 1 : 3));
  }
}

TEST_CASE("OpenCL fft with kernels specialised per length (NODAL_FFT_SPECIALIZE=1)") {
  if (!nodal::test::opencl_present()) return;
  // the same kernel with n, radices and the group shape as compile-time constants (one program,
  // PoCL builds take seconds: Bluestein's m = 2025 = 5·5·3·3·3·3 for n = 1009)
  const nodal::test::ScopedEnv specialize("NODAL_FFT_SPECIALIZE", "1");
  double worst = 0;
  for (std::int64_t n : {1009})
    for (const char* type : {"fft", "ifft", "rfft"})
      worst = std::max(worst, compare(type, Shape{3, n}, DType::float32, "ortho", true, -1, std::uint64_t(n)));
  MESSAGE(fmt::format("specialised kernels: largest ‖Δ‖/‖y‖ = {:.2f}·ε·(log2 N + 2)", worst));
}

TEST_CASE("OpenCL Fourier nodes on an empty batch give empty results") {
  if (!nodal::test::opencl_present()) return;
  const Tensor z = Tensor::zeros(Shape{0, 8}, DType::complex64).to(Backend::opencl);
  CHECK(fourier::fft(z).shape() == Shape{0, 8});
  CHECK(fourier::irfft(z).shape() == Shape{0, 14});
  CHECK(fourier::fft2(Tensor::zeros(Shape{0, 3, 5}, DType::complex64).to(Backend::opencl)).shape() == Shape{0, 3, 5});
  CHECK(fourier::rfft(Tensor::zeros(Shape{2, 0, 6}, DType::float32).to(Backend::opencl)).shape() == Shape{2, 0, 4});
}

TEST_CASE("OpenCL Fourier nodes reject bad inputs clearly") {
  if (!nodal::test::opencl_present()) return;
  const Tensor z = nodal::test::sample_complex(Shape{2, 8}, 1).to(Backend::opencl);
  nodal::test::check_throws_naming<DTypeError>([&] { fourier::rfft(z); }, {"rfft", "real"});
  nodal::test::check_throws_naming<DTypeError>([&] { fourier::irfft(nodal::test::sample(Shape{2, 8}, -1, 1, 2).to(Backend::opencl)); },
                                               {"irfft", "complex"});
  nodal::test::check_throws_naming<ShapeError>([&] { fourier::irfft(z, 40); }, {"irfft", "40"});
}
