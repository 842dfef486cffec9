// Seeded random tensors: Tensor::randn and Tensor::rand.
//
// The generator is counter-based: the bits of element i are a pure function of (seed, i), a
// splitmix64-style hash. Nothing depends on the order in which elements are filled, so the fill
// can run on any number of threads and still give the same tensor, and the result does not
// depend on the C++ standard library (std::normal_distribution's output is implementation-defined,
// which is why it is not used). Normals come from Box–Muller on two uniforms.
//
// Reproducibility: the uniform bits, and therefore rand(), are identical everywhere. randn() also
// goes through std::log, std::sqrt and std::cos/sin in double precision; sqrt is exact by IEEE 754
// and glibc's log/cos/sin are accurate to < 1 ulp, so a float64 result could in principle differ
// in its last bit on a different libm, and a float32 result (rounded from the double) practically
// never does.
#include <cmath>
#include <numbers>

#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal {
namespace {

// The finaliser of splitmix64 (Steele, Lea, Flood 2014): a bijection on 64-bit words whose
// output bits each depend on all input bits.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Random bits for counter `counter` of the stream selected by `seed`. Two rounds: the seed is
// mixed into a key first, so that seeds 1 and 2 do not give shifted copies of the same stream
// (which a plain "seed + counter" splitmix would).
class CounterHash {
 public:
  explicit CounterHash(std::uint64_t seed) : key_(mix64(seed ^ 0x6A09E667F3BCC909ULL)) {}
  std::uint64_t operator()(std::uint64_t counter) const {
    return mix64(mix64(counter * 0x9E3779B97F4A7C15ULL + key_) ^ key_);
  }

 private:
  std::uint64_t key_;
};

// Uniform in [0, 1) with 53 random bits (every double of the form k / 2^53).
double uniform_closed_open(std::uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }
// Uniform in (0, 1]: Box–Muller takes its logarithm, so 0 must be impossible.
double uniform_open_closed(std::uint64_t bits) { return double((bits >> 11) + 1) * 0x1.0p-53; }

// Each element consumes up to four counters: two uniforms for the real part and two for the
// imaginary part (rand), or one Box–Muller pair giving both parts (randn).
constexpr std::uint64_t counters_per_element = 4;

// Fills a contiguous tensor; `value(i)` returns the element of flat index i. Counter-based, so
// the OpenMP split of the loop does not change the result.
template <class T, class F> void fill_parallel(Tensor& t, F&& value) {
  T* p = t.data<T>();
  const std::int64_t n = t.numel();
#pragma omp parallel for schedule(static) if (n > (std::int64_t(1) << 16))
  for (std::int64_t i = 0; i < n; ++i) p[i] = value(std::uint64_t(i));
}

// Rounding low + (high - low) * u to a narrower type can land exactly on `high`; keep the
// documented half-open interval [low, high).
template <class R> R keep_below_high(double v, double low, double high) {
  R r = R(v);
  if (high > low && double(r) >= high) r = std::nextafter(R(high), R(low));
  if (double(r) < low) r = R(low);
  return r;
}

}  // namespace

Tensor Tensor::randn(const Shape& shape, std::uint64_t seed, DType dtype, double mean, double stddev) {
  if (!std::isfinite(mean) || !std::isfinite(stddev) || stddev < 0.0)
    throw ValueError(fmt::format("Tensor::randn: need a finite mean and a finite stddev >= 0, got mean={} stddev={}",
                                 mean, stddev));
  Tensor t = empty(shape, dtype);
  const CounterHash hash(seed);
  // Box–Muller: r = sqrt(-2 ln u1), theta = 2 pi u2 gives two independent standard normals
  // r cos(theta) and r sin(theta); a complex element uses both, a real one the first.
  auto pair = [&](std::uint64_t i, double& a, double& b) {
    const std::uint64_t c = i * counters_per_element;
    const double r = std::sqrt(-2.0 * std::log(uniform_open_closed(hash(c))));
    const double theta = 2.0 * std::numbers::pi * uniform_closed_open(hash(c + 1));
    a = r * std::cos(theta);
    b = r * std::sin(theta);
  };
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_complex_v<T>) {
      using R = typename T::value_type;
      fill_parallel<T>(t, [&](std::uint64_t i) {
        double a, b;
        pair(i, a, b);
        return T(R(mean + stddev * a), R(mean + stddev * b));
      });
    } else {
      fill_parallel<T>(t, [&](std::uint64_t i) {
        const std::uint64_t c = i * counters_per_element;
        const double r = std::sqrt(-2.0 * std::log(uniform_open_closed(hash(c))));
        return T(mean + stddev * r * std::cos(2.0 * std::numbers::pi * uniform_closed_open(hash(c + 1))));
      });
    }
  });
  return t;
}

Tensor Tensor::rand(const Shape& shape, std::uint64_t seed, DType dtype, double low, double high) {
  if (!std::isfinite(low) || !std::isfinite(high) || !(low <= high) || !std::isfinite(high - low))
    throw ValueError(fmt::format("Tensor::rand: need finite low <= high, got low={} high={}", low, high));
  Tensor t = empty(shape, dtype);
  const CounterHash hash(seed);
  const double width = high - low;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_complex_v<T>) {
      // Real part from counter 4i, imaginary part from counter 4i+2: independent uniforms.
      using R = typename T::value_type;
      fill_parallel<T>(t, [&](std::uint64_t i) {
        const std::uint64_t c = i * counters_per_element;
        return T(keep_below_high<R>(low + width * uniform_closed_open(hash(c)), low, high),
                 keep_below_high<R>(low + width * uniform_closed_open(hash(c + 2)), low, high));
      });
    } else {
      fill_parallel<T>(t, [&](std::uint64_t i) {
        return keep_below_high<T>(low + width * uniform_closed_open(hash(i * counters_per_element)), low, high);
      });
    }
  });
  return t;
}

}  // namespace nodal
