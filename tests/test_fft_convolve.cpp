// Permutation-free convolution: equals direct (long double) convolution for padded power-of-two and
// mixed-radix sizes, two real convolutions per complex transform, odd batches, no permutation
// pass, and wrong pairings rejected (typed API) or visibly wrong (raw API).
#include <doctest/doctest.h>

#include <complex>
#include <vector>

#include "fft_naive_dft.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/convolve.hpp"
#include "nodal/fft/plan.hpp"

using namespace nodal::fft;
using namespace nodal::fft::testing;

namespace {

template <class T>
std::vector<ComplexLD> direct_linear(const std::vector<T>& a, const std::vector<T>& b) {
  const auto la = to_long_double(a), lb = to_long_double(b);
  std::vector<ComplexLD> out(a.size() + b.size() - 1);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j) out[i + j] += la[i] * lb[j];
  return out;
}

template <class T>
std::vector<ComplexLD> direct_circular(const std::vector<T>& a, const std::vector<T>& b) {
  const auto la = to_long_double(a), lb = to_long_double(b);
  const std::size_t n = a.size();
  std::vector<ComplexLD> out(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) out[(i + j) % n] += la[i] * lb[j];
  return out;
}

bool is_smooth(std::size_t m) {
  for (std::size_t p : {2u, 3u, 5u, 7u})
    while (m % p == 0) m /= p;
  return m == 1;
}

// Error bound for a convolution through a forward/forward/inverse transform triple: three FFT
// errors, relative to the product of norms, which bounds ‖a⊛b‖ only up to a factor ~sqrt(n) for
// random data — so allow 3·fft_tolerance·4.
template <class Real>
long double convolution_tolerance(std::size_t n) {
  return 12 * fft_tolerance<Real>(n);
}

}  // namespace

TEST_CASE("next_smooth_size is the smallest 2^a3^b5^c7^d at or above n") {
  CHECK(next_smooth_size(0) == 1);
  CHECK(next_smooth_size(1) == 1);
  CHECK(next_smooth_size(256) == 256);
  CHECK(next_smooth_size(257) == 270);   // 2·3³·5; 258..269 all have a prime factor ≥ 11
  CHECK(next_smooth_size(1001) == 1008);  // 2⁴·3²·7
  CHECK(next_smooth_size(1000003) == 1000188);  // 2²·3⁶·7³
  for (std::size_t n = 2; n <= 3000; ++n) {
    std::size_t m = n;
    while (!is_smooth(m)) ++m;  // brute force, independent of the enumeration
    REQUIRE_MESSAGE(next_smooth_size(n) == m, "n = ", n);
  }
  CHECK_THROWS_AS(next_smooth_size((std::size_t{1} << 62) + 1), nodal::ValueError);
}

TEST_CASE("linear convolution equals the direct one: 129*128 padded to 256 and mixed-radix sizes") {
  const std::pair<std::size_t, std::size_t> cases[] = {{129, 128}, {1, 1}, {7, 1}, {100, 51},
                                                       {333, 100}, {17, 23}, {500, 250}};
  for (auto [la, lb] : cases) {
    const auto a = random_complex<double>(la, 1), b = random_complex<double>(lb, 2);
    const auto y = linear_convolve(a, b);
    REQUIRE(y.size() == la + lb - 1);
    const std::size_t n = next_smooth_size(la + lb - 1);
    INFO("lengths ", la, " and ", lb, " padded to ", n);
    CHECK(relative_l2_error(y, direct_linear(a, b)) < convolution_tolerance<double>(n));
    const auto af = random_complex<float>(la, 3), bf = random_complex<float>(lb, 4);
    CHECK(relative_l2_error(linear_convolve(af, bf), direct_linear(af, bf)) <
          convolution_tolerance<float>(n));
    const auto ar = random_reals<float>(la, 5), br = random_reals<float>(lb, 6);
    const auto yr = linear_convolve_real(ar, br);
    REQUIRE(yr.size() == la + lb - 1);
    CHECK(relative_l2_error(yr, direct_linear(ar, br)) < convolution_tolerance<float>(n));
  }
}

TEST_CASE("circular convolution equals the direct circular one (powers of two, mixed radix, prime)") {
  for (std::size_t n : {1u, 2u, 16u, 128u, 120u, 97u, 210u, 2310u / 5u}) {
    const auto a = random_complex<double>(n, 7), b = random_complex<double>(n, 8);
    INFO("n = ", n);
    CHECK(relative_l2_error(circular_convolve(a, b), direct_circular(a, b)) <
          convolution_tolerance<double>(n));
    const auto ar = random_reals<double>(n, 9), br = random_reals<double>(n, 10);
    CHECK(relative_l2_error(circular_convolve_real(ar, br), direct_circular(ar, br)) <
          convolution_tolerance<double>(n));
  }
}

TEST_CASE("two real convolutions per complex transform, odd batch handled") {
  for (std::size_t n : {128u, 90u, 31u})
    for (std::size_t batch : {1u, 2u, 5u}) {
      CircularConvolver<float> convolver(n);
      const auto w = random_reals<float>(n, 11);
      const auto signals = random_reals<float>(n * batch, 12);
      std::vector<float> out(n * batch, 1e30f);
      convolver.convolve_real_batch(signals.data(), batch, convolver.transform_real(w.data()),
                                    out.data());
      for (std::size_t s = 0; s < batch; ++s) {
        const std::vector<float> x(signals.begin() + s * n, signals.begin() + (s + 1) * n);
        const std::vector<float> y(out.begin() + s * n, out.begin() + (s + 1) * n);
        INFO("n = ", n, " batch ", batch, " sample ", s);
        // Each part carries the rounding of the combined transform of A + iB, whose norm is
        // about sqrt(2) times either part's: allow twice the single-convolution bound.
        CHECK(relative_l2_error(y, direct_circular(x, w)) < 2 * convolution_tolerance<float>(n));
      }
    }
}

TEST_CASE("no digit-reversal permutation pass runs in a convolution") {
  const std::size_t n = 256;
  CircularConvolver<double> convolver(n);
  const auto a = random_complex<double>(n, 13), b = random_complex<double>(n, 14);
  std::vector<std::complex<double>> out(n);
  const std::size_t before = permutation_pass_count();
  convolver.convolve(a.data(), b.data(), out.data());
  CHECK(permutation_pass_count() == before);
  CHECK(relative_l2_error(out, direct_circular(a, b)) < convolution_tolerance<double>(n));
}

TEST_CASE("the scrambled spectrum is the natural one permuted by digit reversal") {
  for (std::size_t n : {256u, 360u, 81u}) {
    const auto x = random_complex<double>(n, 15);
    CircularConvolver<double> convolver(n);
    const auto scrambled = convolver.transform(x.data());
    const auto natural = naive_dft(to_long_double(x));
    const auto perm = digit_reversal_permutation(scrambled_radices(n));
    REQUIRE(perm.size() == n);
    std::vector<ComplexLD> expected(n);
    for (std::size_t p = 0; p < n; ++p) expected[p] = natural[perm[p]];
    INFO("n = ", n);
    CHECK(relative_l2_error(scrambled.bins, expected) < fft_tolerance<double>(n));
  }
}

TEST_CASE("wrong pairings: rejected by the typed API, wrong results through raw pointers") {
  const std::size_t n = 256;
  CircularConvolver<double> convolver(n);
  const auto a = random_complex<double>(n, 16), b = random_complex<double>(n, 17);
  // A natural-order spectrum (ordinary forward FFT) handed to the from_scrambled inverse.
  Spec spec;
  spec.n = n;
  Spectrum<double> natural{n, Order::natural, std::vector<std::complex<double>>(n)};
  Plan<double>(spec).execute(a.data(), natural.bins.data());
  std::vector<std::complex<double>> out(n);
  CHECK_THROWS_AS(convolver.inverse(natural, out.data()), nodal::ValueError);
  auto scrambled = convolver.transform(a.data());
  CHECK_THROWS_AS(convolver.multiply(scrambled, natural), nodal::ValueError);
  CircularConvolver<double> other(128);
  CHECK_THROWS_AS(other.inverse(scrambled, out.data()), nodal::ValueError);  // wrong length
  // Plans themselves refuse the invalid direction/order pairings.
  spec.direction = Direction::inverse;
  spec.order = Order::scrambled;
  CHECK_THROWS_AS(Plan<double>{spec}, nodal::ValueError);
  spec.direction = Direction::forward;
  spec.order = Order::from_scrambled;
  CHECK_THROWS_AS(Plan<double>{spec}, nodal::ValueError);

  // Raw pointers cannot check: natural spectra multiplied and inverted by IDIT give gibberish
  // whenever the scrambled order differs from the natural one.
  const auto perm = digit_reversal_permutation(scrambled_radices(n));
  bool identity = true;
  for (std::size_t p = 0; p < n; ++p) identity = identity && perm[p] == p;
  std::vector<std::complex<double>> fa(n), fb(n);
  spec.order = Order::natural;
  Plan<double>(spec).execute(a.data(), fa.data());
  Plan<double>(spec).execute(b.data(), fb.data());
  for (std::size_t k = 0; k < n; ++k) fa[k] *= fb[k];
  convolver.inverse(fa.data(), out.data());
  const auto error = relative_l2_error(out, direct_circular(a, b));
  if (identity) {
    MESSAGE("the engine's scrambled order for n = 256 is the natural order; the raw mispairing is "
            "harmless in this build");
    CHECK(error < convolution_tolerance<double>(n));
  } else {
    CHECK(error > 0.5);
  }
}

TEST_CASE("convolver rejects empty and mismatched inputs") {
  CHECK_THROWS_AS(CircularConvolver<float>(0), nodal::ValueError);
  CHECK_THROWS_AS(circular_convolve(std::vector<std::complex<float>>(3), std::vector<std::complex<float>>(4)),
                  nodal::ValueError);
  CHECK_THROWS_AS(linear_convolve_real(std::vector<float>{}, std::vector<float>{1.0f}), nodal::ValueError);
}
