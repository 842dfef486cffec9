// The signal view (convolve / correlate on the last axis): NumPy's documented examples, small
// cases worked by hand, every mode × boundary against a naive float64 loop, filters longer than
// the signal, the FFT path for long filters, errors, and gradcheck of both paths.
#include <doctest/doctest.h>

#include <cmath>

#include "nodal/core/gradcheck.hpp"
#include "nodal/nodes/convolve1d.hpp"

using namespace nodal;

namespace {

const SignalMode modes[] = {SignalMode::full, SignalMode::same, SignalMode::valid};
const SignalBoundary boundaries[] = {SignalBoundary::zero, SignalBoundary::replicate, SignalBoundary::circular};

Tensor vec(std::vector<double> v) {
  const std::int64_t n = std::int64_t(v.size());
  return Tensor::from_vector(v, Shape{n});
}

// x extended beyond [0, n) by the boundary rule, written out case by case.
double extended(const double* x, std::int64_t n, std::int64_t i, SignalBoundary b) {
  if (i >= 0 && i < n) return x[i];
  if (b == SignalBoundary::zero) return 0.0;
  if (b == SignalBoundary::replicate) return i < 0 ? x[0] : x[n - 1];
  std::int64_t r = i % n;
  if (r < 0) r += n;
  return x[r];
}

// np.convolve's lengths: full n+m−1, same max(n,m) starting at ⌊(min−1)/2⌋ of the full result,
// valid max−min+1 starting at min−1. Correlation slides the filter unreversed.
std::vector<double> naive(const std::vector<double>& x, std::int64_t n, const std::vector<double>& h, SignalMode mode,
                          SignalBoundary b, bool correlate) {
  const std::int64_t m = std::int64_t(h.size()), rows = std::int64_t(x.size()) / n;
  const std::int64_t lo = std::min(n, m), hi = std::max(n, m);
  const std::int64_t len = mode == SignalMode::full ? n + m - 1 : mode == SignalMode::same ? hi : hi - lo + 1;
  // np.correlate with m > n correlates h with x (left pad ⌊n/2⌋) and reverses the result.
  const std::int64_t same_first = correlate && m > n ? n / 2 : (lo - 1) / 2;
  const std::int64_t first = mode == SignalMode::full ? 0 : mode == SignalMode::same ? same_first : lo - 1;
  std::vector<double> y;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < len; ++k) {
      double s = 0;
      for (std::int64_t j = 0; j < m; ++j) {
        // full index first + k; convolution pairs x[t − j] with h[j], correlation x[t − (m−1) + j]
        const std::int64_t at = correlate ? first + k - (m - 1) + j : first + k - j;
        s += extended(x.data() + r * n, n, at, b) * h[std::size_t(j)];
      }
      y.push_back(s);
    }
  return y;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(std::abs(got[i] - want[i]) <= tol);
  }
}

void check_grad(const GradcheckResult& r) {
  INFO(r.report());
  CHECK(bool(r));
}

}  // namespace

TEST_CASE("convolve and correlate: NumPy's documented examples") {
  const Tensor x = vec({1, 2, 3}), h = vec({0, 1, 0.5});
  // np.convolve([1, 2, 3], [0, 1, 0.5]): full y[k] = x[k−1] + 0.5·x[k−2]
  CHECK(convolve(x, h).to_vector<double>() == std::vector<double>{0, 1, 2.5, 4, 1.5});
  CHECK(convolve(x, h, SignalMode::same).to_vector<double>() == std::vector<double>{1, 2.5, 4});
  CHECK(convolve(x, h, SignalMode::valid).to_vector<double>() == std::vector<double>{2.5});
  // np.correlate([1, 2, 3], [0, 1, 0.5]): full y[k] = 0.5·x[k] + x[k−1]
  CHECK(correlate(x, h).to_vector<double>() == std::vector<double>{3.5});
  CHECK(correlate(x, h, SignalMode::same).to_vector<double>() == std::vector<double>{2, 3.5, 3});
  CHECK(correlate(x, h, SignalMode::full).to_vector<double>() == std::vector<double>{0.5, 2, 3.5, 3, 0});
}

TEST_CASE("convolve: boundaries worked by hand") {
  // x = [1, 2, 3], h = [0, 1, 0.5]: y[t] = x̃[t−1] + 0.5·x̃[t−2] on the full index t.
  // replicate: x̃[−2] = x̃[−1] = 1, x̃[3] = 3;  circular: x̃[−2] = 2, x̃[−1] = 3, x̃[3] = 1.
  const Tensor x = vec({1, 2, 3}), h = vec({0, 1, 0.5});
  const auto run = [&](SignalMode m, SignalBoundary b) { return convolve(x, h, m, b).to_vector<double>(); };
  CHECK(run(SignalMode::full, SignalBoundary::replicate) == std::vector<double>{1.5, 1.5, 2.5, 4, 4.5});
  CHECK(run(SignalMode::full, SignalBoundary::circular) == std::vector<double>{4, 2.5, 2.5, 4, 2.5});
  CHECK(run(SignalMode::same, SignalBoundary::replicate) == std::vector<double>{1.5, 2.5, 4});
  // circular 'same' is the circular convolution c[k] = Σ_j x[(k−j) mod 3] h[j] = [4, 2.5, 2.5]
  // read from index 1 on (NumPy's centring for m = 3).
  CHECK(run(SignalMode::same, SignalBoundary::circular) == std::vector<double>{2.5, 2.5, 4});
  for (SignalBoundary b : boundaries) CHECK(run(SignalMode::valid, b) == std::vector<double>{2.5});
}

TEST_CASE("convolve: even filter and filter longer than the signal follow NumPy") {
  // np.convolve([1,2,3], [1,1]) = [1, 3, 5, 3]; 'same' keeps the first 3 (⌊(2−1)/2⌋ = 0).
  CHECK(convolve(vec({1, 2, 3}), vec({1, 1}), SignalMode::same).to_vector<double>() == std::vector<double>{1, 3, 5});
  // np.convolve([1,2], [1,2,3,4]) = [1, 4, 7, 10, 8]: valid [4, 7, 10], same [1, 4, 7, 10].
  const Tensor x = vec({1, 2}), h = vec({1, 2, 3, 4});
  CHECK(convolve(x, h).to_vector<double>() == std::vector<double>{1, 4, 7, 10, 8});
  CHECK(convolve(x, h, SignalMode::valid).to_vector<double>() == std::vector<double>{4, 7, 10});
  CHECK(convolve(x, h, SignalMode::same).to_vector<double>() == std::vector<double>{1, 4, 7, 10});
  // np.correlate([1,2], [1,2,3,4], 'same'): NumPy correlates [0,1,2,3,4] (left pad ⌊2/2⌋ = 1) with
  // [1,2] giving [2, 5, 8, 11], then reverses: [11, 8, 5, 2].
  CHECK(correlate(x, h, SignalMode::same).to_vector<double>() == std::vector<double>{11, 8, 5, 2});
  // Odd n: np.correlate([1,2,3], [1,2,3,4,5], 'same'): pad 1, correlate [0,1,2,3,4,5] with [1,2,3]:
  // [8, 14, 20, 26, 14], reversed [14, 26, 20, 14, 8].
  CHECK(correlate(vec({1, 2, 3}), vec({1, 2, 3, 4, 5}), SignalMode::same).to_vector<double>() ==
        std::vector<double>{14, 26, 20, 14, 8});
}

TEST_CASE("convolve and correlate match the naive loop for every mode and boundary") {
  for (std::int64_t n : {5, 6})
    for (std::int64_t m : {1, 2, 3, 4, 7, 8}) {  // 7 and 8 are longer than the signal
      const Tensor x = Tensor::randn(Shape{2, 3, n}, std::uint64_t(10 * n + m), DType::float64);
      const Tensor h = Tensor::randn(Shape{m}, std::uint64_t(m), DType::float64);
      for (bool corr : {false, true})
        for (SignalMode mode : modes)
          for (SignalBoundary b : boundaries) {
            INFO("n " << n << " m " << m << " correlate " << corr << " mode " << to_string(mode) << " boundary "
                      << to_string(b));
            const Tensor y = corr ? correlate(x, h, mode, b) : convolve(x, h, mode, b);
            const std::vector<double> want = naive(x.to_vector<double>(), n, h.to_vector<double>(), mode, b, corr);
            CHECK(y.shape()[2] == std::int64_t(want.size()) / 6);
            check_close(y.to_vector<double>(), want, 1e-13);
            // float32: sums of ≤ 8 products of O(1) values; each product and addition rounds at
            // 2⁻²⁴ ≈ 6e-8 relative, so |error| ≲ 16·6e-8·Σ|x h| ≲ 1e-5 for these magnitudes.
            const Tensor y32 = corr ? correlate(x.astype(DType::float32), h.astype(DType::float32), mode, b)
                                    : convolve(x.astype(DType::float32), h.astype(DType::float32), mode, b);
            check_close(y32.to_vector<double>(), want, 2e-5);
          }
    }
}

TEST_CASE("long filters take the FFT path and match the naive loop") {
  const std::int64_t n = 1500, m = 200;  // L·m ≈ 3e5 ≫ 4·N·log2 N ≈ 8e4: the FFT path
  const Tensor x = Tensor::randn(Shape{3, n}, 21, DType::float64);
  const Tensor h = Tensor::randn(Shape{m}, 22, DType::float64);
  for (bool corr : {false, true})
    for (SignalMode mode : modes)
      for (SignalBoundary b : boundaries) {
        INFO("correlate " << corr << " mode " << to_string(mode) << " boundary " << to_string(b));
        const std::vector<double> want = naive(x.to_vector<double>(), n, h.to_vector<double>(), mode, b, corr);
        const Tensor y = corr ? correlate(x, h, mode, b) : convolve(x, h, mode, b);
        // float64 FFT of length N ≈ 1.7e3: error ≈ u·log2 N·‖x‖‖h‖-scale ≈ 1e-16·11·√(m)·… ≲ 1e-12.
        check_close(y.to_vector<double>(), want, 1e-11);
        // float32: the FFT error is about u·log2 N·‖x̃‖·‖h‖ ≈ 6e-8·11·√1500·√200 ≈ 4e-4 in the
        // worst case (outputs themselves are O(√200) ≈ 14); 2e-3 bounds it.
        const Tensor y32 = corr ? correlate(x.astype(DType::float32), h.astype(DType::float32), mode, b)
                                : convolve(x.astype(DType::float32), h.astype(DType::float32), mode, b);
        check_close(y32.to_vector<double>(), want, 2e-3);
      }
}

TEST_CASE("convolve rejects bad shapes dtypes and attributes") {
  CHECK_THROWS_AS(convolve(vec({1, 2}), Tensor::zeros(Shape{2, 2}, DType::float64)), ShapeError);
  CHECK_THROWS_AS(convolve(vec({1, 2}), Tensor::zeros(Shape{0}, DType::float64)), ShapeError);
  CHECK_THROWS_AS(convolve(Tensor::zeros(Shape{3, 0}, DType::float64), vec({1})), ShapeError);
  CHECK_THROWS_AS(convolve(Tensor::scalar(1.0, DType::float64), vec({1})), ShapeError);
  CHECK_THROWS_AS(convolve(vec({1, 2}), Tensor::ones(Shape{2})), DTypeError);  // float32 filter
  CHECK_THROWS_AS(correlate(Tensor::ones(Shape{3}, DType::complex64), Tensor::ones(Shape{2}, DType::complex64)), DTypeError);
  CHECK_THROWS_AS(parse_signal_mode("middle"), ValueError);
  CHECK_THROWS_AS(parse_signal_boundary("symmetric"), ValueError);
  CHECK(parse_signal_boundary("circular") == SignalBoundary::circular);
}

TEST_CASE("gradcheck of convolve and correlate on the direct path") {
  for (std::int64_t m : {3, 4, 9})
    for (bool corr : {false, true})
      for (SignalMode mode : modes)
        for (SignalBoundary b : boundaries) {
          INFO("m " << m << " correlate " << corr << " mode " << to_string(mode) << " boundary " << to_string(b));
          const Tensor x = Tensor::randn(Shape{2, 7}, 30, DType::float64);
          const Tensor h = Tensor::randn(Shape{m}, 31, DType::float64);
          check_grad(gradcheck(std::make_shared<Convolve1d>(corr, mode, b), {x, h}));
        }
}

TEST_CASE("gradcheck of convolve and correlate on the FFT path") {
  // m = 80, n = 150: L·m ≥ 1.2e4 > 4·N·log2 N ≈ 1.0e4, so forward and both vjps go through the FFT.
  for (bool corr : {false, true})
    for (SignalBoundary b : boundaries) {
      INFO("correlate " << corr << " boundary " << to_string(b));
      const Tensor x = Tensor::randn(Shape{3, 150}, 40, DType::float64);
      const Tensor h = Tensor::randn(Shape{80}, 41, DType::float64);
      GradcheckOptions o;
      o.fast = true;  // random projections: the full Jacobian would take ~230 backward passes per case
      check_grad(gradcheck(std::make_shared<Convolve1d>(corr, SignalMode::full, b), {x, h}, o));
    }
}
