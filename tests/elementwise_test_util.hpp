#pragma once
// Helpers shared by test_unary.cpp, test_binary.cpp and test_reduce.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include <nodal/nodal.hpp>

namespace nodal::test {

// Deterministic values in [low, high) from a small LCG, optionally kept at least `gap` away from
// `kink` (so that finite differences never straddle a kink of abs/relu/max).
inline Tensor sample(const Shape& shape, double low, double high, std::uint64_t seed, double kink = 0.0,
                     double gap = 0.0) {
  std::vector<double> v(std::size_t(shape.numel()));
  std::uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (double& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = low + (high - low) * double(s >> 11) / double(1ULL << 53);
    if (gap > 0 && std::abs(x - kink) < gap) x = kink + (x < kink ? -gap : gap) * (1.0 + double(s % 7) / 7.0);
  }
  return Tensor::from_vector(v, shape);
}

inline Tensor sample_complex(const Shape& shape, std::uint64_t seed) {
  const std::vector<double> re = sample(shape, -1.5, 1.5, seed).to_vector<double>();
  const std::vector<double> im = sample(shape, -1.5, 1.5, seed + 1000).to_vector<double>();
  std::vector<complex128> v(re.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = {re[i], im[i]};
  return Tensor::from_vector(v, shape);
}

inline void check_close(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-12) {
  const std::vector<double> a = actual.to_vector<double>();
  REQUIRE(a.size() == expected.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("element ", i, ": got ", a[i], ", expected ", expected[i]);
    if (std::isnan(expected[i])) CHECK(std::isnan(a[i]));
    else CHECK(std::abs(a[i] - expected[i]) <= tol * (1.0 + std::abs(expected[i])));
  }
}

// Runs f, expecting an exception of type E whose message contains every one of `parts`.
template <class E, class F> void check_throws_naming(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL("expected an exception");
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) {
      INFO("message: ", msg, " should name: ", p);
      CHECK(msg.find(p) != std::string::npos);
    }
  }
}

}  // namespace nodal::test
