// RealPlan (r2c / c2r): against a long-double naive DFT and the complex FFT, for even, odd and prime
// n, both methods (half_length, pairs), strided and in-place layouts, scalings and round trips.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <vector>

#include "fft_naive_dft.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/plan.hpp"
#include "nodal/fft/real_plan.hpp"

using namespace nodal::fft;
using namespace nodal::fft::testing;

namespace {

const std::vector<std::size_t> lengths = {1,   2,   3,   4,   5,   6,   7,   8,   9,    10,  11,
                                          12,  13,  15,  16,  17,  18,  20,  24,  30,   31,  32,
                                          33,  36,  49,  60,  64,  97,  100, 101, 127,  128, 210,
                                          243, 256, 257, 500, 512, 625, 1000, 1009, 1024, 2310, 4096};

template <class Real>
RealPlan<Real> make_plan(std::size_t n, std::size_t batch, Direction direction, RealMethod method,
                         Scaling scaling = Scaling::none) {
  RealSpec spec;
  spec.n = n;
  spec.batch = batch;
  spec.direction = direction;
  spec.method = method;
  spec.scaling = scaling;
  return RealPlan<Real>(spec);
}

// r2c of `batch` contiguous random signals, each compared with the naive DFT's first n/2+1 bins.
template <class Real>
void check_r2c_against_naive(std::size_t n, std::size_t batch, RealMethod method) {
  const std::size_t bins = n / 2 + 1;
  const auto x = random_reals<Real>(n * batch, static_cast<unsigned>(n * 7 + batch));
  std::vector<std::complex<Real>> y(bins * batch);
  make_plan<Real>(n, batch, Direction::forward, method).execute(x.data(), y.data());
  for (std::size_t b = 0; b < batch; ++b) {
    const std::vector<Real> xb(x.begin() + b * n, x.begin() + (b + 1) * n);
    const auto ref = naive_dft(to_long_double(xb));
    const std::vector<std::complex<Real>> yb(y.begin() + b * bins, y.begin() + (b + 1) * bins);
    const auto error = relative_l2_error(yb, ref, bins);
    INFO("n = ", n, " batch ", b, "/", batch, " method ", static_cast<int>(method), " error ",
         static_cast<double>(error));
    CHECK(error < fft_tolerance<Real>(n));
    // Bins 0 and n/2 of a real signal's spectrum are real; the plan writes them exactly real.
    CHECK(yb[0].imag() == 0);
    if (n % 2 == 0) CHECK(yb[n / 2].imag() == 0);
  }
}

}  // namespace

TEST_CASE("r2c half_length matches the long-double naive DFT (float and double, many n)") {
  for (std::size_t n : lengths) {
    check_r2c_against_naive<double>(n, 1, RealMethod::half_length);
    check_r2c_against_naive<float>(n, 1, RealMethod::half_length);
  }
  check_r2c_against_naive<float>(48, 5, RealMethod::half_length);
  check_r2c_against_naive<double>(45, 3, RealMethod::half_length);
}

TEST_CASE("r2c pairs (two reals per complex transform) matches the naive DFT, odd batches too") {
  for (std::size_t n : {1u, 2u, 5u, 8u, 15u, 64u, 97u, 100u, 257u, 1024u})
    for (std::size_t batch : {1u, 2u, 3u, 4u, 7u}) {
      check_r2c_against_naive<double>(n, batch, RealMethod::pairs);
      check_r2c_against_naive<float>(n, batch, RealMethod::pairs);
    }
}

TEST_CASE("r2c equals the first n/2+1 bins of the complex FFT of the same data") {
  for (std::size_t n : {16u, 30u, 31u, 128u, 1000u, 1009u}) {
    const auto x = random_reals<double>(n, 11);
    std::vector<std::complex<double>> xc(x.begin(), x.end()), full(n), half(n / 2 + 1);
    Spec spec;
    spec.n = n;
    Plan<double>(spec).execute(xc.data(), full.data());
    make_plan<double>(n, 1, Direction::forward, RealMethod::half_length).execute(x.data(), half.data());
    double max_diff = 0, max_abs = 0;
    for (std::size_t k = 0; k <= n / 2; ++k) {
      max_diff = std::max(max_diff, std::abs(half[k] - full[k]));
      max_abs = std::max(max_abs, std::abs(full[k]));
    }
    INFO("n = ", n);
    // Both are double transforms of the same data: they differ by rounding only (~1e-15 relative).
    CHECK(max_diff < 1e-12 * max_abs);
  }
}

TEST_CASE("c2r matches the naive inverse DFT of a Hermitian spectrum") {
  for (RealMethod method : {RealMethod::half_length, RealMethod::pairs})
    for (std::size_t n : {1u, 2u, 3u, 8u, 9u, 12u, 17u, 64u, 100u, 101u, 243u, 1024u}) {
      const std::size_t bins = n / 2 + 1, batch = 3;
      // The spectrum of random real signals (long double), so it is exactly Hermitian-consistent.
      std::vector<std::complex<double>> spectrum(bins * batch);
      std::vector<std::vector<ComplexLD>> signals;
      for (std::size_t b = 0; b < batch; ++b) {
        signals.push_back(to_long_double(random_reals<double>(n, 100 + static_cast<unsigned>(b))));
        const auto s = naive_dft(signals.back());
        for (std::size_t k = 0; k < bins; ++k)
          spectrum[b * bins + k] = std::complex<double>(double(s[k].real()), double(s[k].imag()));
      }
      std::vector<double> y(n * batch);
      make_plan<double>(n, batch, Direction::inverse, method, Scaling::by_n)
          .execute(spectrum.data(), y.data());
      for (std::size_t b = 0; b < batch; ++b) {
        const std::vector<double> yb(y.begin() + b * n, y.begin() + (b + 1) * n);
        INFO("n = ", n, " method ", static_cast<int>(method));
        CHECK(relative_l2_error(yb, signals[b]) < fft_tolerance<double>(n));
      }
    }
}

TEST_CASE("c2r ignores the imaginary parts of bins 0 and n/2") {
  for (std::size_t n : {8u, 9u}) {
    const std::size_t bins = n / 2 + 1;
    auto spectrum = random_complex<double>(bins, 5);
    spectrum[0].imag(0);
    if (n % 2 == 0) spectrum[bins - 1].imag(0);
    auto perturbed = spectrum;
    perturbed[0].imag(3.0);
    if (n % 2 == 0) perturbed[bins - 1].imag(-2.0);
    for (RealMethod method : {RealMethod::half_length, RealMethod::pairs}) {
      std::vector<double> a(n), b(n);
      auto plan = make_plan<double>(n, 1, Direction::inverse, method);
      plan.execute(spectrum.data(), a.data());
      plan.execute(perturbed.data(), b.data());
      for (std::size_t j = 0; j < n; ++j) CHECK(a[j] == doctest::Approx(b[j]).epsilon(1e-13));
    }
  }
}

TEST_CASE("round trip c2r(r2c(x)) = x with Scaling::by_n on the inverse and ortho on both") {
  for (RealMethod method : {RealMethod::half_length, RealMethod::pairs})
    for (std::size_t n : lengths) {
      const std::size_t batch = 3, bins = n / 2 + 1;
      const auto x = random_reals<float>(n * batch, 3);
      std::vector<std::complex<float>> spectrum(bins * batch);
      std::vector<float> back(n * batch);
      make_plan<float>(n, batch, Direction::forward, method).execute(x.data(), spectrum.data());
      make_plan<float>(n, batch, Direction::inverse, method, Scaling::by_n)
          .execute(spectrum.data(), back.data());
      INFO("n = ", n, " method ", static_cast<int>(method));
      CHECK(relative_l2_error(back, to_long_double(x)) < 2 * fft_tolerance<float>(n));
      make_plan<float>(n, batch, Direction::forward, method, Scaling::ortho)
          .execute(x.data(), spectrum.data());
      make_plan<float>(n, batch, Direction::inverse, method, Scaling::ortho)
          .execute(spectrum.data(), back.data());
      CHECK(relative_l2_error(back, to_long_double(x)) < 2 * fft_tolerance<float>(n));
    }
}

TEST_CASE("forward Scaling::by_n divides every bin by n") {
  const std::size_t n = 60;
  const auto x = random_reals<double>(n, 9);
  std::vector<std::complex<double>> plain(n / 2 + 1), scaled(n / 2 + 1);
  make_plan<double>(n, 1, Direction::forward, RealMethod::half_length).execute(x.data(), plain.data());
  make_plan<double>(n, 1, Direction::forward, RealMethod::half_length, Scaling::by_n)
      .execute(x.data(), scaled.data());
  for (std::size_t k = 0; k <= n / 2; ++k) {
    CHECK(scaled[k].real() == doctest::Approx(plain[k].real() / n).epsilon(1e-12));
    CHECK(scaled[k].imag() == doctest::Approx(plain[k].imag() / n).epsilon(1e-12));
  }
}

TEST_CASE("strided and padded batch layouts leave the gaps untouched and give the same bins") {
  for (RealMethod method : {RealMethod::half_length, RealMethod::pairs})
    for (std::size_t n : {10u, 11u, 64u}) {
      const std::size_t batch = 3, bins = n / 2 + 1;
      const std::ptrdiff_t rs = 2, rd = static_cast<std::ptrdiff_t>(2 * n + 5);
      const std::ptrdiff_t cs = 3, cd = static_cast<std::ptrdiff_t>(3 * bins + 1);
      const auto dense = random_reals<double>(n * batch, 21);
      std::vector<double> x(static_cast<std::size_t>(rd) * batch, 1e300);
      for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < n; ++j) x[b * rd + j * rs] = dense[b * n + j];
      const std::complex<double> sentinel(-7, 7);
      std::vector<std::complex<double>> y(static_cast<std::size_t>(cd) * batch, sentinel);
      RealSpec spec;
      spec.n = n, spec.batch = batch, spec.method = method;
      spec.real_stride = rs, spec.real_distance = rd, spec.complex_stride = cs, spec.complex_distance = cd;
      RealPlan<double>(spec).execute(x.data(), y.data());
      std::vector<std::complex<double>> expected(bins * batch);
      make_plan<double>(n, batch, Direction::forward, RealMethod::half_length)
          .execute(dense.data(), expected.data());
      std::size_t touched = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        const std::size_t b = i / cd, off = i % cd;
        if (off % cs == 0 && off / cs < bins) {
          CHECK(std::abs(y[i] - expected[b * bins + off / cs]) < 1e-12 * n);
        } else {
          touched += y[i] != sentinel;
        }
      }
      CHECK(touched == 0);
      // And back: c2r with the same layout, into a fresh strided real array.
      spec.direction = Direction::inverse;
      spec.scaling = Scaling::by_n;
      std::vector<double> back(x.size(), 1e300);
      RealPlan<double>(spec).execute(y.data(), back.data());
      for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < n; ++j)
          CHECK(back[b * rd + j * rs] == doctest::Approx(dense[b * n + j]).epsilon(1e-12));
      std::size_t gaps_touched = 0;
      for (std::size_t i = 0; i < back.size(); ++i)
        if (!((i % rd) % rs == 0 && (i % rd) / rs < n)) gaps_touched += back[i] != 1e300;
      CHECK(gaps_touched == 0);
    }
}

TEST_CASE("in-place r2c in the padded layout (real_distance = 2·complex_distance)") {
  for (std::size_t n : {16u, 17u}) {
    const std::size_t bins = n / 2 + 1, batch = 2;
    const auto dense = random_reals<float>(n * batch, 4);
    std::vector<std::complex<float>> buffer(bins * batch);
    float* as_real = reinterpret_cast<float*>(buffer.data());
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < n; ++j) as_real[b * 2 * bins + j] = dense[b * n + j];
    RealSpec spec;
    spec.n = n, spec.batch = batch, spec.real_distance = static_cast<std::ptrdiff_t>(2 * bins);
    RealPlan<float>(spec).execute(as_real, buffer.data());
    std::vector<std::complex<float>> expected(bins * batch);
    make_plan<float>(n, batch, Direction::forward, RealMethod::half_length)
        .execute(dense.data(), expected.data());
    for (std::size_t i = 0; i < buffer.size(); ++i)
      CHECK(std::abs(buffer[i] - expected[i]) < 1e-5f * n);
    // And back in place: c2r over the same buffer restores the padded real rows.
    spec.direction = Direction::inverse;
    spec.scaling = Scaling::by_n;
    RealPlan<float>(spec).execute(buffer.data(), as_real);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < n; ++j)
        CHECK(as_real[b * 2 * bins + j] == doctest::Approx(dense[b * n + j]).epsilon(1e-5));
    // Without the padded layout, in-place is refused rather than silently overwriting input.
    RealSpec bad;
    bad.n = n;
    CHECK_THROWS_AS(RealPlan<float>(bad).execute(as_real, buffer.data()), nodal::ValueError);
  }
}

TEST_CASE("RealPlan rejects bad specs and the wrong execute direction") {
  RealSpec spec;
  spec.n = 0;
  CHECK_THROWS_AS(RealPlan<float>{spec}, nodal::ValueError);
  spec.n = 8;
  spec.batch = 0;
  CHECK_THROWS_AS(RealPlan<float>{spec}, nodal::ValueError);
  spec.batch = 1;
  spec.real_stride = 0;
  CHECK_THROWS_AS(RealPlan<float>{spec}, nodal::ValueError);
  spec.real_stride = 1;
  RealPlan<float> forward(spec);
  std::vector<float> x(8);
  std::vector<std::complex<float>> y(5);
  CHECK_THROWS_AS(forward.execute(y.data(), x.data()), nodal::ValueError);
  spec.direction = Direction::inverse;
  RealPlan<float> inverse(spec);
  CHECK_THROWS_AS(inverse.execute(x.data(), y.data()), nodal::ValueError);
  CHECK(forward.describe().find("r2c") != std::string::npos);
}
