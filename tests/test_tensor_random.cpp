// Tensor::randn / Tensor::rand: statistics, reproducibility, and golden values computed by an
// independent Python implementation of the documented generator (splitmix64 finaliser keyed by
// the seed, four counters per element), so that a change of the stream is caught.
#include <cmath>
#include <cstring>

#include <doctest/doctest.h>

#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"

using namespace nodal;

namespace {
struct Moments {
  double mean = 0, stddev = 0;
};
Moments moments(const std::vector<double>& v) {
  double s = 0, s2 = 0;
  for (double x : v) s += x;
  const double m = s / double(v.size());
  for (double x : v) s2 += (x - m) * (x - m);
  return {m, std::sqrt(s2 / double(v.size() - 1))};
}
template <class T> bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}
}  // namespace

TEST_CASE("rand: golden values of the documented stream (seed 42, float64)") {
  // k / 2^53 with k the top 53 bits of the hash of counters 0, 4, 8, 12 (Python reference).
  const double expected[] = {3248582009786959.0 * 0x1p-53, 5463261765563719.0 * 0x1p-53,
                             362566693047454.0 * 0x1p-53, 6128500328246168.0 * 0x1p-53};
  const auto v = Tensor::rand(Shape{4}, 42, DType::float64).to_vector<double>();
  for (int i = 0; i < 4; ++i) CHECK(v[i] == expected[i]);
}

TEST_CASE("randn: golden values (seed 7), complex parts are the Box-Muller pair") {
  const double re[] = {0.6559561483454034, 0.5696176622697374, 1.3484837638110911};
  const double im[] = {-0.8898354530551743, 1.0560027444573663, -1.2958906205458194};
  const auto real = Tensor::randn(Shape{3}, 7, DType::float64).to_vector<double>();
  const auto cplx = Tensor::randn(Shape{3}, 7, DType::complex128).to_vector<complex128>();
  for (int i = 0; i < 3; ++i) {
    CHECK(real[i] == doctest::Approx(re[i]).epsilon(1e-14));
    CHECK(cplx[i].real() == doctest::Approx(re[i]).epsilon(1e-14));
    CHECK(cplx[i].imag() == doctest::Approx(im[i]).epsilon(1e-14));
  }
}

TEST_CASE("randn: mean and standard deviation within a few standard errors") {
  const std::int64_t n = 200000;
  // Standard error of the mean: stddev / sqrt(n); of the standard deviation: ~stddev / sqrt(2n).
  const double se_mean = 1.0 / std::sqrt(double(n)), se_std = 1.0 / std::sqrt(2.0 * double(n));
  SUBCASE("standard, float32") {
    const Moments m = moments(Tensor::randn(Shape{n}, 1, DType::float32).to_vector<double>());
    CHECK(std::fabs(m.mean) < 5 * se_mean);
    CHECK(std::fabs(m.stddev - 1.0) < 5 * se_std);
  }
  SUBCASE("mean 3, stddev 2, float64, rank 2") {
    const Moments m = moments(Tensor::randn(Shape{400, 500}, 2, DType::float64, 3.0, 2.0).to_vector<double>());
    CHECK(std::fabs(m.mean - 3.0) < 5 * 2 * se_mean);
    CHECK(std::fabs(m.stddev - 2.0) < 5 * 2 * se_std);
  }
  SUBCASE("complex64: both parts standard normal and uncorrelated") {
    const auto v = Tensor::randn(Shape{n}, 3, DType::complex64).to_vector<complex64>();
    std::vector<double> re, im;
    double cross = 0;
    for (auto z : v) {
      re.push_back(z.real());
      im.push_back(z.imag());
      cross += double(z.real()) * double(z.imag());
    }
    const Moments mr = moments(re), mi = moments(im);
    CHECK(std::fabs(mr.mean) < 5 * se_mean);
    CHECK(std::fabs(mi.mean) < 5 * se_mean);
    CHECK(std::fabs(mr.stddev - 1.0) < 5 * se_std);
    CHECK(std::fabs(mi.stddev - 1.0) < 5 * se_std);
    CHECK(std::fabs(cross / double(n)) < 5 * se_mean);  // E[re*im] = 0, its stddev is 1/sqrt(n)
  }
  SUBCASE("tails: about 4.55% of |x| beyond 2 sigma") {
    const auto v = Tensor::randn(Shape{n}, 4, DType::float64).to_vector<double>();
    std::int64_t beyond = 0;
    for (double x : v) beyond += std::fabs(x) > 2.0;
    const double p = 0.0455, se = std::sqrt(p * (1 - p) / double(n));
    CHECK(std::fabs(double(beyond) / double(n) - p) < 5 * se);
  }
}

TEST_CASE("rand: half-open range low <= x < high, mean and variance of a uniform") {
  const std::int64_t n = 200000;
  const auto v = Tensor::rand(Shape{n}, 9, DType::float32, -2.0, 6.0).to_vector<float>();
  float lo = 1e9f, hi = -1e9f;
  for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= -2.0f);
  CHECK(hi < 6.0f);
  CHECK(lo < -1.99f);  // the whole range is used
  CHECK(hi > 5.99f);
  std::vector<double> d(v.begin(), v.end());
  const Moments m = moments(d);
  const double sd = 8.0 / std::sqrt(12.0);
  CHECK(std::fabs(m.mean - 2.0) < 5 * sd / std::sqrt(double(n)));
  CHECK(std::fabs(m.stddev - sd) < 0.01 * sd);
  SUBCASE("complex: independent parts in the range") {
    const auto c = Tensor::rand(Shape{1000}, 9, DType::complex128, 0.0, 1.0).to_vector<complex128>();
    int equal = 0;
    for (auto z : c) {
      CHECK(z.real() >= 0.0);
      CHECK(z.real() < 1.0);
      CHECK(z.imag() >= 0.0);
      CHECK(z.imag() < 1.0);
      equal += z.real() == z.imag();
    }
    CHECK(equal == 0);
  }
  SUBCASE("low == high gives the constant") {
    for (float x : Tensor::rand(Shape{5}, 1, DType::float32, 1.5, 1.5).to_vector<float>()) CHECK(x == 1.5f);
  }
}

TEST_CASE("random: same seed same bits, different seed different values, shape-independent stream") {
  const Shape shape{3, 70000};  // large enough for the OpenMP path
  CHECK(same_bits(Tensor::randn(shape, 5).to_vector<float>(), Tensor::randn(shape, 5).to_vector<float>()));
  CHECK(same_bits(Tensor::rand(shape, 5, DType::complex128).to_vector<complex128>(),
                  Tensor::rand(shape, 5, DType::complex128).to_vector<complex128>()));
  const auto a = Tensor::randn(Shape{100}, 5, DType::float64).to_vector<double>();
  const auto b = Tensor::randn(Shape{100}, 6, DType::float64).to_vector<double>();
  int same = 0;
  for (int i = 0; i < 100; ++i) same += a[i] == b[i];
  CHECK(same == 0);
  // Element i depends only on (seed, i): a reshaped request gives the same flat sequence.
  CHECK(same_bits(Tensor::rand(Shape{4, 25}, 11, DType::float64).to_vector<double>(),
                  Tensor::rand(Shape{100}, 11, DType::float64).to_vector<double>()));
}

TEST_CASE("random: invalid parameters are ValueErrors naming the operation") {
  CHECK_THROWS_WITH_AS(Tensor::randn(Shape{2}, 0, DType::float32, 0.0, -1.0),
                       doctest::Contains("Tensor::randn"), ValueError);
  CHECK_THROWS_WITH_AS(Tensor::rand(Shape{2}, 0, DType::float32, 2.0, 1.0), doctest::Contains("low=2 high=1"),
                       ValueError);
  CHECK_THROWS_AS(Tensor::rand(Shape{2}, 0, DType::float32, 0.0, INFINITY), ValueError);
}
