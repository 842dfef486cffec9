// The Fourier nodes: values against a naive long-double DFT, round trips, and float64 gradcheck
// of every node (adjoint rules are the easy place to be wrong: rfft's adjoint is not irfft).
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include <nodal/nodal.hpp>
#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/fourier.hpp"

using namespace nodal;
using C = std::complex<double>;

namespace {

// X_k = Σ_n x_n e^{∓2πi nk/N}, each row of a [rows, n] array, in long double.
std::vector<C> naive_dft(const std::vector<C>& x, std::int64_t rows, std::int64_t n, int sign) {
  std::vector<C> out(x.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < n; ++k) {
      std::complex<long double> acc = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        const long double angle = sign * 2.0L * std::numbers::pi_v<long double> * ((j * k) % n) / n;
        acc += std::complex<long double>(x[r * n + j]) * std::complex<long double>(std::cos(angle), std::sin(angle));
      }
      out[r * n + k] = C(double(acc.real()), double(acc.imag()));
    }
  return out;
}

double max_abs_diff(const std::vector<C>& a, const std::vector<C>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

Tensor complex_randn(const Shape& s, std::uint64_t seed) { return Tensor::randn(s, seed, DType::complex128); }

}  // namespace

TEST_CASE("fft and ifft match the naive DFT for awkward lengths and batches") {
  for (std::int64_t n : {1, 2, 3, 5, 8, 12, 17, 30}) {
    Tensor x = complex_randn(Shape{2, n}, std::uint64_t(n));
    const auto xv = x.to_vector<C>();
    CHECK(max_abs_diff(fourier::fft(x).to_vector<C>(), naive_dft(xv, 2, n, -1)) < 1e-12 * n);
    auto inv = naive_dft(xv, 2, n, +1);
    for (auto& v : inv) v /= double(n);
    CHECK(max_abs_diff(fourier::ifft(x).to_vector<C>(), inv) < 1e-12 * n);
    // norm="ortho": both directions scaled by 1/√n; "forward": the forward one by 1/n
    auto ortho = naive_dft(xv, 2, n, -1);
    for (auto& v : ortho) v /= std::sqrt(double(n));
    CHECK(max_abs_diff(fourier::fft(x, "ortho").to_vector<C>(), ortho) < 1e-12 * n);
    CHECK(max_abs_diff(fourier::ifft(fourier::fft(x, "forward"), "forward").to_vector<C>(), xv) < 1e-12 * n);
  }
}

TEST_CASE("rfft is the first n/2+1 bins of fft - irfft inverts it for even and odd n") {
  for (std::int64_t n : {1, 2, 3, 4, 7, 10, 15}) {
    Tensor x = Tensor::randn(Shape{3, n}, std::uint64_t(100 + n), DType::float64);
    std::vector<C> xc;
    for (double v : x.to_vector<double>()) xc.emplace_back(v, 0.0);
    const auto full = naive_dft(xc, 3, n, -1);
    const auto half = fourier::rfft(x).to_vector<C>();
    const std::int64_t m = n / 2 + 1;
    REQUIRE(half.size() == std::size_t(3 * m));
    for (std::int64_t r = 0; r < 3; ++r)
      for (std::int64_t k = 0; k < m; ++k) CHECK(std::abs(half[r * m + k] - full[r * n + k]) < 1e-12 * n);
    const auto back = fourier::irfft(fourier::rfft(x), n).to_vector<double>();
    const auto orig = x.to_vector<double>();
    for (std::size_t i = 0; i < orig.size(); ++i) CHECK(back[i] == doctest::Approx(orig[i]).epsilon(1e-12));
  }
}

TEST_CASE("fft2 equals the nested naive DFT - rfft2/irfft2 round trip") {
  const std::int64_t h = 3, w = 5;
  Tensor x = complex_randn(Shape{2, h, w}, 7);
  const auto xv = x.to_vector<C>();
  // rows, then columns, each by the naive DFT
  auto rows = naive_dft(xv, 2 * h, w, -1);
  std::vector<C> cols(rows.size());
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t c = 0; c < w; ++c) {
      std::vector<C> col(h);
      for (std::int64_t r = 0; r < h; ++r) col[r] = rows[(b * h + r) * w + c];
      const auto t = naive_dft(col, 1, h, -1);
      for (std::int64_t r = 0; r < h; ++r) cols[(b * h + r) * w + c] = t[r];
    }
  CHECK(max_abs_diff(fourier::fft2(x).to_vector<C>(), cols) < 1e-11);
  CHECK(max_abs_diff(fourier::ifft2(fourier::fft2(x)).to_vector<C>(), xv) < 1e-12);
  Tensor r = Tensor::randn(Shape{4, 6, 7}, 8, DType::float64);
  const auto back = fourier::irfft2(fourier::rfft2(r), 7).to_vector<double>();
  const auto orig = r.to_vector<double>();
  for (std::size_t i = 0; i < orig.size(); ++i) CHECK(back[i] == doctest::Approx(orig[i]).epsilon(1e-12));
}

TEST_CASE("every Fourier node passes float64 gradcheck, even and odd lengths, every norm") {
  for (const char* norm : {"backward", "ortho", "forward"}) {
    for (std::int64_t n : {4, 5}) {
      CAPTURE(norm);
      CAPTURE(n);
      const std::string nm = norm;
      Tensor z = complex_randn(Shape{2, n}, 11);
      Tensor r = Tensor::randn(Shape{2, n}, 12, DType::float64);
      Tensor half = complex_randn(Shape{2, n / 2 + 1}, 13);
      Tensor z2 = complex_randn(Shape{3, n}, 14);
      Tensor r2 = Tensor::randn(Shape{3, n}, 15, DType::float64);
      Tensor half2 = complex_randn(Shape{3, n / 2 + 1}, 16);
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::fft(x[0], nm)}; }, {z}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::fft(x[0], nm)}; }, {r}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::ifft(x[0], nm)}; }, {z}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::rfft(x[0], nm)}; }, {r}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::irfft(x[0], n, nm)}; }, {half}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::fft2(x[0], nm)}; }, {z2}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::ifft2(x[0], nm)}; }, {z2}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::rfft2(x[0], nm)}; }, {r2}));
      CHECK(gradcheck([&](std::span<const Value> x) { return std::vector{fourier::irfft2(x[0], n, nm)}; }, {half2}));
    }
  }
}

TEST_CASE("Fourier nodes reject bad input with clear errors") {
  Graph g;
  Value z = g.input("z", Shape{2, 5}, DType::complex64);
  Value r = g.input("r", Shape{2, 5}, DType::float32);
  CHECK_THROWS_AS(fourier::rfft(z), DTypeError);
  CHECK_THROWS_AS(fourier::irfft(r), DTypeError);
  CHECK_THROWS_AS(fourier::irfft(z, 20), ShapeError);  // 5 bins cannot make 20 samples
  CHECK_THROWS_AS(fourier::fft(z, "sideways"), ValueError);
  CHECK_THROWS_AS(fourier::fft2(g.input("v", Shape{5}, DType::complex64)), ShapeError);
  CHECK(fourier::irfft(z, 9).shape() == Shape{2, 9});
  CHECK(fourier::irfft(z).shape() == Shape{2, 8});
  CHECK(fourier::rfft(r).dtype() == DType::complex64);
}
