// Experimental spectral weights: the filter of a half spectrum against a naive inverse DFT, the
// complex-gradient convention written out against a naive forward DFT, spectral_conv2d against a
// naive 2-D loop, gradcheck of the filter map and of the whole layer, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "nodal/core/execution.hpp"
#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/spectral_conv.hpp"

using namespace nodal;
using cd = std::complex<double>;

namespace {

// Ŵ[f, k0, k1] = Σ_n w[f, n0, n1] e^{−2πi(k0·n0/L0 + k1·n1/L1)}, k1 ≤ L1/2: rfft2 by definition.
std::vector<cd> naive_rfft2(const std::vector<double>& w, std::int64_t filters, std::int64_t L0, std::int64_t L1) {
  const std::int64_t H = L1 / 2 + 1;
  std::vector<cd> out;
  for (std::int64_t f = 0; f < filters; ++f)
    for (std::int64_t k0 = 0; k0 < L0; ++k0)
      for (std::int64_t k1 = 0; k1 < H; ++k1) {
        cd s = 0;
        for (std::int64_t n0 = 0; n0 < L0; ++n0)
          for (std::int64_t n1 = 0; n1 < L1; ++n1) {
            const double angle = -2 * std::numbers::pi * (double(k0 * n0) / double(L0) + double(k1 * n1) / double(L1));
            s += w[std::size_t((f * L0 + n0) * L1 + n1)] * cd(std::cos(angle), std::sin(angle));
          }
        out.push_back(s);
      }
  return out;
}

// y[n, o, i, j] = Σ_{c, a, b} x[n, c, i + a − p, j + b − p] w[o, c, a, b] (stride 1, zero padding p)
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, std::int64_t p) {
  const std::int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const std::int64_t oh = H + 2 * p - kh + 1, ow = W + 2 * p - kw + 1;
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> y;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t a = 0; a < kh; ++a)
              for (std::int64_t b = 0; b < kw; ++b) {
                const std::int64_t h = i + a - p, v = j + b - p;
                if (h >= 0 && h < H && v >= 0 && v < W)
                  s += xv[std::size_t(((n * C + c) * H + h) * W + v)] * wv[std::size_t(((o * C + c) * kh + a) * kw + b)];
              }
          y.push_back(s);
        }
  return y;
}

Tensor complex_tensor(const std::vector<cd>& v, const Shape& s) { return Tensor::from_vector(v, s); }

void check_grad(const GradcheckResult& r) {
  INFO(r.report());
  CHECK(bool(r));
}

}  // namespace

TEST_CASE("spectral_filter inverts the half spectrum and crops to the kernel") {
  // A random real w on the whole L0×L1 grid; its half spectrum by the naive DFT must map back to
  // w's top-left kH×kW corner, for L = k and for L > k (odd and even L1).
  for (auto [kh, kw, L0, L1] : {std::array<std::int64_t, 4>{3, 3, 3, 3}, {3, 2, 5, 6}, {2, 3, 4, 5}}) {
    INFO("kernel " << kh << "x" << kw << " transform " << L0 << "x" << L1);
    const Tensor w = Tensor::randn(Shape{2, 3, L0, L1}, 1, DType::float64);
    const std::vector<double> wv = w.to_vector<double>();
    const Tensor spectrum = complex_tensor(naive_rfft2(wv, 6, L0, L1), Shape{2, 3, L0, L1 / 2 + 1});
    const SpectralConvOptions o{.kernel_size = {kh, kw}, .transform_size = {L0, L1}};
    const Tensor f = spectral_filter(spectrum, o);
    REQUIRE(f.shape() == Shape{2, 3, kh, kw});
    const std::vector<double> got = f.to_vector<double>();
    for (std::int64_t q = 0; q < 6; ++q)
      for (std::int64_t a = 0; a < kh; ++a)
        for (std::int64_t b = 0; b < kw; ++b)
          CHECK(got[std::size_t((q * kh + a) * kw + b)] ==
                doctest::Approx(wv[std::size_t((q * L0 + a) * L1 + b)]).epsilon(1e-12));
    // filter_spectrum of the cropped filter reproduces it too (zero padding instead of w's tail).
    const std::vector<double> again = spectral_filter(filter_spectrum(f, o), o).to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(again[i] == doctest::Approx(got[i]).epsilon(1e-12));
  }
}

TEST_CASE("the spectrum's gradient follows PyTorch's convention with interior columns doubled") {
  // E = Σ ḡ·w. Expected: dE/dŴ[k0, k1] = c(k1)/(L0·L1) · Σ_n ḡ_pad[n] e^{−2πi(k0·n0/L0 + k1·n1/L1)},
  // c = 1 at k1 = 0 and k1 = L1/2 (L1 even), 2 otherwise; the imaginary parts of the four
  // self-conjugate bins (k0 ∈ {0, L0/2}, k1 ∈ {0, L1/2}) get exactly 0.
  const std::int64_t kh = 3, kw = 3, L0 = 4, L1 = 6, H = L1 / 2 + 1;
  const SpectralConvOptions o{.kernel_size = {kh, kw}, .transform_size = {L0, L1}};
  const Tensor spectrum = Tensor::randn(Shape{1, 1, L0, H}, 5, DType::complex128);
  const Tensor gbar = Tensor::randn(Shape{1, 1, kh, kw}, 6, DType::float64);

  Graph g;
  const Value s = g.input("spectrum", spectrum.shape(), DType::complex128);
  const Value w = spectral_filter(s, o);
  Execution run = g.forward({w}, {{s, spectrum}});
  const std::vector<cd> grad = run.backward(w, {s}, {.cotangent = gbar})[s].to_vector<cd>();

  std::vector<double> padded(std::size_t(L0 * L1), 0.0);
  const std::vector<double> gv = gbar.to_vector<double>();
  for (std::int64_t a = 0; a < kh; ++a)
    for (std::int64_t b = 0; b < kw; ++b) padded[std::size_t(a * L1 + b)] = gv[std::size_t(a * kw + b)];
  const std::vector<cd> dft = naive_rfft2(padded, 1, L0, L1);
  for (std::int64_t k0 = 0; k0 < L0; ++k0)
    for (std::int64_t k1 = 0; k1 < H; ++k1) {
      INFO("bin " << k0 << "," << k1);
      const bool self_conjugate_column = k1 == 0 || 2 * k1 == L1;
      const double c = self_conjugate_column ? 1.0 : 2.0;
      const cd want = c / double(L0 * L1) * dft[std::size_t(k0 * H + k1)];
      const cd got = grad[std::size_t(k0 * H + k1)];
      CHECK(std::abs(got - want) <= 1e-14);
      if (self_conjugate_column && (k0 == 0 || 2 * k0 == L0)) CHECK(std::abs(got.imag()) <= 1e-15);
    }
}

TEST_CASE("gradcheck of spectral_filter with complex128 spectra") {
  for (auto [kh, kw, L0, L1] : {std::array<std::int64_t, 4>{3, 3, 3, 3}, {2, 3, 4, 6}}) {
    const SpectralConvOptions o{.kernel_size = {kh, kw}, .transform_size = {L0, L1}};
    const Tensor spectrum = Tensor::randn(Shape{2, 1, L0, L1 / 2 + 1}, 7, DType::complex128);
    check_grad(gradcheck([&](std::span<const Value> in) { return std::vector<Value>{spectral_filter(in[0], o)}; },
                         {spectrum}));
  }
}

TEST_CASE("spectral_conv2d equals conv2d with the spatial filter and gradchecks") {
  const SpectralConvOptions o{.kernel_size = {3}, .transform_size = {4, 5}, .conv = {.padding = ConvPadding::all(1)}};
  const Tensor x = Tensor::randn(Shape{2, 2, 6, 5}, 8, DType::float64);
  const Tensor spectrum = Tensor::randn(Shape{3, 2, 4, 3}, 9, DType::complex128);
  const Tensor w = spectral_filter(spectrum, o);
  const std::vector<double> want = naive_conv2d(x, w, 1);
  const std::vector<double> got = spectral_conv2d(x, spectrum, o).to_vector<double>();
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
  for (std::string algorithm : {"direct", "fft"}) {
    SpectralConvOptions oa = o;
    oa.conv.algorithm = algorithm;
    INFO("algorithm " << algorithm);
    check_grad(gradcheck([&](std::span<const Value> in) { return std::vector<Value>{spectral_conv2d(in[0], in[1], oa)}; },
                         {x, spectrum}));
  }
}

TEST_CASE("spectral_conv2d rejects bad spectra and sizes") {
  const SpectralConvOptions o{.kernel_size = {3}};
  CHECK_THROWS_AS(spectral_filter(Tensor::zeros(Shape{1, 1, 3, 2}, DType::float64), o), DTypeError);
  CHECK_THROWS_AS(spectral_filter(Tensor::zeros(Shape{1, 1, 3, 3}, DType::complex128), o), ShapeError);  // 3/2+1 = 2 columns
  CHECK_THROWS_AS(spectral_filter(Tensor::zeros(Shape{1, 3, 2}, DType::complex128), o), ShapeError);
  CHECK_THROWS_AS(spectral_filter(Tensor::zeros(Shape{1, 1, 2, 2}, DType::complex128),
                                  {.kernel_size = {3}, .transform_size = {2}}),
                  ValueError);
  CHECK_THROWS_AS(spectral_filter(Tensor::zeros(Shape{1, 1, 3, 2}, DType::complex128), {.kernel_size = {3, 3, 3}}),
                  ValueError);
  CHECK_THROWS_AS(filter_spectrum(Tensor::zeros(Shape{1, 1, 2, 3}, DType::float64), o), ShapeError);
}
