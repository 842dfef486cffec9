// Complex 1-D FFT against an independent long double DFT: every length 1..512, awkward lengths
// (large primes, products of large primes, prime powers, 2^20), algebraic identities, batched strided
// layouts, scaling, forced algorithms, and the Bluestein chirp's phase accuracy.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <vector>

#include "fft_reference.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/bluestein.hpp"
#include "nodal/fft/plan.hpp"

using namespace nodal::fft;
namespace ref = fft_reference;

namespace {

template <class T>
std::vector<std::complex<T>> transform(const std::vector<std::complex<T>>& x, Direction d,
                                       Algorithm a = Algorithm::automatic) {
  Spec s;
  s.n = x.size();
  s.direction = d;
  Plan<T> plan(s, a);
  std::vector<std::complex<T>> y(x.size());
  plan.execute(x.data(), y.data());
  return y;
}

// The float32 bound: relative L2 error below 2e-7·√log2(N) + 1e-7 (FFTW float32 is 1.2e-7 at
// N = 1024 and 3.3e-7 at N = 1000003).
double float_bound(std::size_t n) { return 2e-7 * std::sqrt(std::log2(double(std::max<std::size_t>(n, 2)))) + 1e-7; }
// float64: Cooley–Tukey's RMS error grows like ε·log2 N; 4ε·(log2 N + 2) leaves a factor ~3 over the
// worst observed value (e.g. 6e-16 for naive sums and Rader below N = 512).
double double_bound(std::size_t n) { return 4 * 1.11e-16 * (std::log2(double(std::max<std::size_t>(n, 2))) + 2); }

template <class T>
double bound(std::size_t n) {
  return sizeof(T) == 4 ? float_bound(n) : double_bound(n);
}

// Inputs are float values so one long double reference serves both precisions.
std::vector<std::complex<float>> signal(std::size_t n, unsigned seed) { return ref::random_signal<float>(n, seed); }
template <class T>
std::vector<std::complex<T>> as(const std::vector<std::complex<float>>& x) {
  return std::vector<std::complex<T>>(x.begin(), x.end());
}

// Both precisions of a length against 12 bins of the long double DFT (3 lowest, 9 scattered).
void check_sampled(std::size_t n, Algorithm a = Algorithm::automatic) {
  const auto x = signal(n, unsigned(n));
  const auto table = ref::roots(n, -1);
  std::vector<std::size_t> bins;
  std::vector<ref::LC> expected;
  for (std::size_t i = 0; i < 12; ++i) {
    const std::size_t k = i < 3 ? i : (n - 1 - (i * 7919) % n) % n;
    bins.push_back(k);
    expected.push_back(ref::bin(x, k, table));
  }
  const double e64 = ref::relative_error(transform(as<double>(x), Direction::forward, a), expected, bins);
  const double e32 = ref::relative_error(transform(as<float>(x), Direction::forward, a), expected, bins);
  INFO("n = " << n << ": float64 error " << e64 << ", float32 error " << e32);
  CHECK(e64 < double_bound(n));
  CHECK(e32 < float_bound(n));
}

}  // namespace

TEST_CASE("every length 1..512 matches the long double DFT, forward and inverse, float64 and float32") {
  double worst32 = 0, worst64 = 0;
  for (std::size_t n = 1; n <= 512; ++n) {
    const auto x = signal(n, unsigned(n));
    for (int sign : {-1, +1}) {
      const auto expected = ref::dft(x, sign);
      const Direction d = sign < 0 ? Direction::forward : Direction::inverse;
      const double e64 = ref::relative_error(transform(as<double>(x), d), expected);
      const double e32 = ref::relative_error(transform(as<float>(x), d), expected);
      worst64 = std::max(worst64, e64 / double_bound(n));
      worst32 = std::max(worst32, e32 / float_bound(n));
      if (e64 >= double_bound(n) || e32 >= float_bound(n)) {
        INFO("n = " << n << " sign " << sign << ": float64 error " << e64 << ", float32 error " << e32);
        CHECK(e64 < double_bound(n));
        CHECK(e32 < float_bound(n));
      }
    }
  }
  MESSAGE("worst error / bound over 1..512: float64 " << worst64 << ", float32 " << worst32);
  CHECK(worst64 < 1);
  CHECK(worst32 < 1);
}

TEST_CASE("awkward lengths: full reference up to 4099") {
  for (std::size_t n : {1009u, 1155u, 2187u, 2310u, 4096u, 4099u, 3125u, 2401u, 1021u * 2u}) {
    const auto x = signal(n, unsigned(n) + 5);
    const auto expected = ref::dft(x, -1);
    const double e64 = ref::relative_error(transform(as<double>(x), Direction::forward), expected);
    const double e32 = ref::relative_error(transform(as<float>(x), Direction::forward), expected);
    INFO("n = " << n << ": float64 " << e64 << ", float32 " << e32);
    CHECK(e64 < double_bound(n));
    CHECK(e32 < float_bound(n));
  }
}

TEST_CASE("awkward lengths: large primes, products of large primes, prime powers, 2^20 (sampled bins)") {
  for (std::size_t n : {65537u, 1000003u, 1009u * 1013u, 16807u, 15625u, 59049u, 1u << 20, 100000u, 30030u,
                        (1u << 20) + 7u}) {
    check_sampled(n);
  }
  check_sampled(1u << 20, Algorithm::four_step);
}

TEST_CASE("inverse undoes forward (Scaling::by_n) and orthonormal scaling preserves the norm") {
  for (std::size_t n : {1u, 2u, 7u, 64u, 97u, 360u, 1000u, 4097u, 65536u, 65537u}) {
    const auto x = as<double>(signal(n, 3));
    Spec f;
    f.n = n;
    Spec b = f;
    b.direction = Direction::inverse;
    b.scaling = Scaling::by_n;
    std::vector<std::complex<double>> y(n), z(n);
    Plan<double>(f).execute(x.data(), y.data());
    Plan<double>(b).execute(y.data(), z.data());
    // Sums in long double: a double sum of 10^6 squares would itself carry ~1e-14 relative error.
    long double num = 0, den = 0;
    for (std::size_t i = 0; i < n; ++i) {
      num += std::norm(z[i] - x[i]);
      den += std::norm(x[i]);
    }
    INFO("n = " << n);
    CHECK(std::sqrt(num / den) < double_bound(n));
    // Ortho: Parseval without factors, ||F x|| = ||x||.
    f.scaling = Scaling::ortho;
    Plan<double>(f).execute(x.data(), y.data());
    long double ny = 0;
    for (auto v : y) ny += std::norm(v);
    CHECK(double(std::abs(ny / den - 1)) < double_bound(n));
  }
}

TEST_CASE("Parseval, linearity, impulse and shift theorems") {
  for (std::size_t n : {12u, 128u, 211u, 1000u, 1009u, 2310u}) {
    INFO("n = " << n);
    const auto a = as<double>(signal(n, 11)), b = as<double>(signal(n, 12));
    const auto A = transform(a, Direction::forward), B = transform(b, Direction::forward);
    // Parseval: Σ|A_k|² = N·Σ|a_j|².
    long double ea = 0, eA = 0;
    for (std::size_t i = 0; i < n; ++i) {
      ea += std::norm(a[i]);
      eA += std::norm(A[i]);
    }
    CHECK(double(std::abs(eA / (n * ea) - 1)) < double_bound(n));
    // Linearity: F(αa + βb) = αA + βB.
    const std::complex<double> alpha(0.5, -1.25), beta(-2.0, 0.75);
    std::vector<std::complex<double>> mix(n);
    for (std::size_t i = 0; i < n; ++i) mix[i] = alpha * a[i] + beta * b[i];
    const auto M = transform(mix, Direction::forward);
    double num = 0, den = 0;
    for (std::size_t i = 0; i < n; ++i) {
      num += std::norm(M[i] - alpha * A[i] - beta * B[i]);
      den += std::norm(M[i]);
    }
    CHECK(std::sqrt(num / den) < 2 * double_bound(n));
    // Impulse at m: F(δ_m)_k = exp(−2πi·m·k/N), against the long double root.
    const std::size_t m = n / 3 + 1;
    std::vector<std::complex<double>> delta(n, 0.0);
    delta[m] = 1.0;
    const auto D = transform(delta, Direction::forward);
    double worst = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const auto r = ref::root((m * k) % n, n, -1);
      worst = std::max(worst, double(std::abs(ref::LC(D[k].real(), D[k].imag()) - r)));
    }
    CHECK(worst < double_bound(n));  // |F(δ)_k| = 1, so the absolute error is the relative one
    // Shift: x_{j−m} ↦ exp(−2πi·m·k/N)·X_k.
    std::vector<std::complex<double>> shifted(n);
    for (std::size_t j = 0; j < n; ++j) shifted[(j + m) % n] = a[j];
    const auto S = transform(shifted, Direction::forward);
    num = den = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const auto r = ref::root((m * k) % n, n, -1);
      const std::complex<double> w(double(r.real()), double(r.imag()));
      num += std::norm(S[k] - w * A[k]);
      den += std::norm(S[k]);
    }
    CHECK(std::sqrt(num / den) < 2 * double_bound(n));
  }
}

TEST_CASE("batched strided layouts: padded rows, columns, interleaved channels, in place") {
  for (std::size_t n : {8u, 15u, 100u, 257u}) {
    const std::size_t batch = 6;
    const auto data = as<double>(signal(n * batch * 3, 21));
    // Reference per row: the long double DFT of row r (taken from a contiguous copy).
    auto row_ref = [&](const std::vector<std::complex<double>>& row) { return ref::dft(row, -1); };
    auto check_layout = [&](std::ptrdiff_t is, std::ptrdiff_t id, std::ptrdiff_t os, std::ptrdiff_t od, bool in_place,
                            Scaling scaling) {
      Spec s;
      s.n = n;
      s.batch = batch;
      s.in_stride = is;
      s.in_distance = id;
      s.out_stride = os;
      s.out_distance = od;
      s.scaling = scaling;
      Plan<double> plan(s);
      std::vector<std::complex<double>> in = data, out(data.size(), std::complex<double>(7, 7));
      plan.execute(in.data(), in_place ? in.data() : out.data());
      const auto& result = in_place ? in : out;
      const double factor = scaling == Scaling::none ? 1 : scaling == Scaling::by_n ? 1.0 / n : 1 / std::sqrt(double(n));
      for (std::size_t r = 0; r < batch; ++r) {
        std::vector<std::complex<double>> row(n), got(n);
        for (std::size_t j = 0; j < n; ++j) row[j] = data[r * (id ? id : n * is) + j * is];
        for (std::size_t k = 0; k < n; ++k) got[k] = result[r * (od ? od : n * os) + k * os] / factor;
        INFO("n " << n << " row " << r << " strides " << is << "/" << id << " → " << os << "/" << od);
        CHECK(ref::relative_error(got, row_ref(row)) < double_bound(n));
      }
    };
    check_layout(1, 0, 1, 0, false, Scaling::none);                                             // contiguous rows
    check_layout(1, std::ptrdiff_t(n + 3), 1, std::ptrdiff_t(n + 5), false, Scaling::by_n);     // padded rows
    check_layout(std::ptrdiff_t(batch), 1, std::ptrdiff_t(batch), 1, false, Scaling::ortho);    // columns
    check_layout(3, 1, 1, 0, false, Scaling::none);   // interleaved channels in (rows may overlap on input), rows out
    check_layout(1, 0, 1, 0, true, Scaling::by_n);                                              // in place, rows
    check_layout(std::ptrdiff_t(batch), 1, std::ptrdiff_t(batch), 1, true, Scaling::none);      // in place, columns
  }
}

// Contiguous batches run in groups of one vector's lanes (8 complex floats, 4 doubles); a remainder of
// fewer rows is covered by a last group that overlaps the one before it. Every row must come out right,
// whatever the batch size modulo the lanes.
template <class T>
void check_batch_groups() {
  for (std::size_t n : {7u, 12u, 42u, 100u})
    for (std::size_t batch : {1u, 5u, 8u, 9u, 13u, 37u, 42u}) {
      const auto data = as<T>(signal(n * batch, unsigned(n + batch)));
      Spec s;
      s.n = n;
      s.batch = batch;
      Plan<T> plan(s, Algorithm::stockham);
      std::vector<std::complex<T>> out(data.size(), std::complex<T>(7, 7));
      plan.execute(data.data(), out.data());
      for (std::size_t r = 0; r < batch; ++r) {
        std::vector<std::complex<double>> row(n), got(n);
        for (std::size_t j = 0; j < n; ++j) {
          row[j] = std::complex<double>(data[r * n + j]);
          got[j] = std::complex<double>(out[r * n + j]);
        }
        INFO("n " << n << " batch " << batch << " row " << r);
        CHECK(ref::relative_error(got, ref::dft(row, -1)) < bound<T>(n));
      }
    }
}

TEST_CASE("batched Stockham rows: every batch size, remainder groups included") {
  check_batch_groups<float>();
  check_batch_groups<double>();
}

TEST_CASE("forcing each algorithm gives the same numbers") {
  const Algorithm all[] = {Algorithm::naive,     Algorithm::stockham, Algorithm::in_place, Algorithm::good_thomas,
                           Algorithm::four_step, Algorithm::rader,    Algorithm::bluestein};
  for (std::size_t n : {2u, 16u, 30u, 31u, 105u, 128u, 210u, 257u, 360u, 1009u, 1155u, 2048u, 2500u, 4096u, 4099u}) {
    const auto x = signal(n, 31);
    const auto expected = ref::dft(x, -1);
    int used = 0;
    for (Algorithm a : all) {
      std::vector<std::complex<double>> y;
      try {
        y = transform(as<double>(x), Direction::forward, a);
      } catch (const nodal::ValueError&) {
        continue;  // not applicable to this n (e.g. Rader on a composite)
      }
      ++used;
      const auto y32 = transform(as<float>(x), Direction::forward, a);
      INFO("n = " << n << ", algorithm " << int(a));
      CHECK(ref::relative_error(y, expected) < double_bound(n) * (a == Algorithm::naive ? 4 : 1));
      CHECK(ref::relative_error(y32, expected) < float_bound(n));
    }
    CHECK(used >= 3);  // naive or Stockham, in-place, and Bluestein at least
  }
}

TEST_CASE("Bluestein chirp: exact k² mod 2N keeps the phase that the naive k²/N loses at N ≈ 10^6") {
  const std::size_t n = 1000003;
  const auto exact = bluestein_chirp<double>(n, -1, true);
  const auto naive = bluestein_chirp<double>(n, -1, false);
  // Reference phase −π·j²/N in long double without any modular reduction: j² < 2^40 is exact in the
  // 64-bit mantissa and the quotient (< 10^6) keeps ~1e-13 absolute accuracy, enough to judge both.
  double exact_err = 0, naive_err = 0;
  for (std::size_t j = 0; j < n; j += 37) {
    const long double phase = -3.141592653589793238462643383279502884L * ((long double)j * j / n);
    const std::complex<long double> r(std::cos(phase), std::sin(phase));
    exact_err = std::max(exact_err, double(std::abs(std::complex<long double>(exact[j].real(), exact[j].imag()) - r)));
    naive_err = std::max(naive_err, double(std::abs(std::complex<long double>(naive[j].real(), naive[j].imag()) - r)));
  }
  MESSAGE("chirp error at N = 1000003: exact reduction " << exact_err << ", naive " << naive_err);
  CHECK(exact_err < 1e-12);
  CHECK(naive_err > 1e-11);
  CHECK(naive_err > 100 * exact_err);
  // End to end: a forced Bluestein transform of that prime length keeps Cooley–Tukey-level error.
  check_sampled(n, Algorithm::bluestein);
}

TEST_CASE("negative strides read a row backwards") {
  const std::size_t n = 60;
  const auto x = as<double>(signal(n, 77));
  std::vector<std::complex<double>> reversed(x.rbegin(), x.rend()), y(n);
  Spec s;
  s.n = n;
  s.in_stride = -1;
  Plan<double> plan(s);
  plan.execute(reversed.data() + (n - 1), y.data());  // element i is read at offset −i: x[i]
  CHECK(ref::relative_error(y, ref::dft(signal(n, 77), -1)) < double_bound(n));
}
