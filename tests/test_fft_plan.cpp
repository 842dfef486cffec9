// Planner-level properties of the FFT engine: digit-reversal permutations, Good–Thomas index maps,
// Rader generators, permutation-free convolution and its forbidden pairings, estimate vs measure,
// wisdom files, spec validation, the plan cache, thread safety and allocation-free execution.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <numeric>
#include <thread>
#include <vector>

#include "fft_reference.hpp"
#include "nodal/core/error.hpp"
#include "nodal/fft/in_place.hpp"
#include "nodal/fft/number_theory.hpp"
#include "nodal/fft/plan.hpp"

// Allocation counter: every operator new in this program goes through here.
namespace {
std::atomic<long> allocations{0};
}
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace nodal::fft;
namespace ref = fft_reference;
using cd = std::complex<double>;

namespace {

double bound(std::size_t n) { return 4 * 1.11e-16 * (std::log2(double(std::max<std::size_t>(n, 2))) + 2); }

std::vector<cd> random(std::size_t n, unsigned seed) {
  const auto f = ref::random_signal<float>(n, seed);
  return std::vector<cd>(f.begin(), f.end());
}

std::vector<cd> run(const Spec& s, const std::vector<cd>& x) {
  Plan<double> plan(s);
  std::vector<cd> y(x.size());
  plan.execute(x.data(), y.data());
  return y;
}

// Circular convolution in long double, O(N²).
std::vector<ref::LC> circular(const std::vector<cd>& a, const std::vector<cd>& b) {
  const std::size_t n = a.size();
  std::vector<ref::LC> c(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) c[(i + j) % n] += ref::LC(a[i].real(), a[i].imag()) * ref::LC(b[j].real(), b[j].imag());
  return c;
}

}  // namespace

TEST_CASE("digit reversal: the post's 1729/1379 example and bijections") {
  // Digits (9, 2, 7, 1): big-endian position in radix vector (10, 9, 8, 7) is 9·504 + 2·56 + 7·7 + 1 =
  // 4698; its little-endian value is 9 + 2·10 + 7·90 + 1·720 = 1379 (and 1729 in plain radix 10).
  CHECK(digit_reversal_permutation({10, 9, 8, 7})[4698] == 1379);
  CHECK(digit_reversal_permutation({10, 10, 10, 10})[9271] == 1729);
  for (const auto& radices : std::vector<std::vector<std::size_t>>{{4, 3, 5, 2}, {2, 2, 2, 2, 2, 2, 2}, {8, 7, 1009}, {5}}) {
    auto perm = digit_reversal_permutation(radices);
    std::sort(perm.begin(), perm.end());
    std::vector<std::size_t> identity(perm.size());
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(perm == identity);
  }
  CHECK(digit_reversal_permutation({}).size() == 1);
  CHECK_THROWS_AS(digit_reversal_permutation({3, 0}), nodal::ValueError);
}

TEST_CASE("DIT(ρ(a)) = F(a) and ρ(DIF(a)) = F(a) for mixed radix vectors") {
  for (const auto& radices : std::vector<std::vector<std::size_t>>{{4, 3, 5, 2}, {2, 2, 2, 2, 2, 2, 2}, {8, 3, 4}, {3, 37, 2}, {7, 5}}) {
    const auto perm = digit_reversal_permutation(radices);
    const std::size_t n = perm.size();
    for (Direction d : {Direction::forward, Direction::inverse}) {
      const auto a = random(n, unsigned(n));
      const auto expected = ref::dft(a, d == Direction::forward ? -1 : +1);
      // DIT on the digit-reversed input.
      std::vector<cd> x(n);
      for (std::size_t p = 0; p < n; ++p) x[p] = a[perm[p]];
      transform_in_place(radices, d, Pass::dit, x.data());
      CHECK(ref::relative_error(x, expected) < bound(n));
      // DIF on the natural input, then read position p as bin perm[p].
      std::vector<cd> y = a, natural(n);
      transform_in_place(radices, d, Pass::dif, y.data());
      for (std::size_t p = 0; p < n; ++p) natural[perm[p]] = y[p];
      CHECK(ref::relative_error(natural, expected) < bound(n));
    }
  }
}

TEST_CASE("Good–Thomas index maps are bijections, and non-coprime splits are refused") {
  for (auto [n1, n2] : std::vector<std::pair<std::size_t, std::size_t>>{{3, 5}, {4, 9}, {80, 63}, {1, 7}, {1009, 1013}}) {
    const auto maps = good_thomas_maps(n1, n2);
    for (const auto* m : {&maps.input, &maps.output}) {
      std::vector<char> seen(n1 * n2, 0);
      std::size_t out_of_range = 0;
      for (std::size_t v : *m) {
        if (v < n1 * n2) seen[v] = 1;
        else ++out_of_range;
      }
      CHECK(out_of_range == 0);
      CHECK(std::count(seen.begin(), seen.end(), 1) == long(n1 * n2));
    }
    // CRT: output index of (k1, k2) is ≡ k1 mod n1 and ≡ k2 mod n2.
    if (n1 > 1) CHECK(maps.output[1 * n2 + 0] % n1 == 1);
    if (n2 > 1) CHECK(maps.output[0 * n2 + 1] % n2 == 1);
  }
  CHECK_THROWS_AS(good_thomas_maps(4, 6), nodal::ValueError);
  Spec s;
  for (std::size_t n : {8u, 49u, 1024u, 1009u}) {
    s.n = n;
    CHECK_THROWS_AS(Plan<double>(s, Algorithm::good_thomas), nodal::ValueError);
  }
  s.n = 16 * 5 * 9 * 7;
  const auto x = random(s.n, 3);
  CHECK(ref::relative_error(std::vector<cd>([&] {
          Plan<double> p(s, Algorithm::good_thomas);
          std::vector<cd> y(s.n);
          p.execute(x.data(), y.data());
          return y;
        }()),
                            ref::dft(x, -1)) < bound(s.n));
}

TEST_CASE("Rader: generators have order p−1, and every prime up to 2000 transforms correctly") {
  std::size_t primes = 0;
  for (std::size_t p = 3; p < 2000; p += 2) {
    if (!is_prime(p)) continue;
    ++primes;
    const auto g = primitive_root(p);
    CHECK(multiplicative_order(g, p) == p - 1);
    Spec s;
    s.n = p;
    const auto x = random(p, unsigned(p));
    Plan<double> plan(s, Algorithm::rader);
    std::vector<cd> y(p);
    plan.execute(x.data(), y.data());
    const auto table = ref::roots(p, -1);
    std::vector<std::size_t> bins;
    std::vector<ref::LC> expected;
    for (std::size_t k : {std::size_t(0), std::size_t(1), p / 2, p - 1, (7 * p) / 11}) {
      bins.push_back(k);
      expected.push_back(ref::bin(x, k, table));
    }
    INFO("p = " << p);
    CHECK(ref::relative_error(y, expected, bins) < bound(p));
  }
  CHECK(primes == 302);  // odd primes below 2000
  CHECK_THROWS_AS(primitive_root(91), nodal::ValueError);
  Spec s;
  s.n = 91;
  CHECK_THROWS_AS(Plan<double>(s, Algorithm::rader), nodal::ValueError);
}

TEST_CASE("permutation-free convolution: IDIT(DIF(a)·DIF(b)) is the circular convolution, no permutation pass") {
  for (std::size_t n : {256u, 360u, 840u, 2018u, 97u}) {
    auto a = random(n, 1), b = random(n, 2);
    if (n == 256) {  // the post's case: lengths 129 and 128 zero-padded to 256 (linear = circular)
      std::fill(a.begin() + 129, a.end(), cd(0));
      std::fill(b.begin() + 128, b.end(), cd(0));
    }
    Spec f;
    f.n = n;
    f.order = Order::scrambled;
    Spec i = f;
    i.direction = Direction::inverse;
    i.order = Order::from_scrambled;
    i.scaling = Scaling::by_n;
    Plan<double> forward(f), inverse(i);
    std::vector<cd> A(n), B(n), c(n);
    const std::size_t before = permutation_pass_count();
    forward.execute(a.data(), A.data());
    forward.execute(b.data(), B.data());
    for (std::size_t k = 0; k < n; ++k) A[k] *= B[k];
    inverse.execute(A.data(), c.data());
    CHECK(permutation_pass_count() == before);
    INFO("n = " << n << ": " << forward.describe());
    CHECK(ref::relative_error(c, circular(a, b)) < 2 * bound(n));
  }
  // An explicit-permutation plan does count its pass (the counter is live).
  Spec s;
  s.n = 360;
  const std::size_t before = permutation_pass_count();
  const auto x = random(360, 5);
  std::vector<cd> y(360);
  Plan<double>(s, Algorithm::in_place).execute(x.data(), y.data());
  CHECK(permutation_pass_count() == before + 1);
}

TEST_CASE("forbidden pairings: the API rejects them, and the reverse pairing IDIF(DIT·DIT) is wrong") {
  Spec s;
  s.n = 64;
  s.order = Order::scrambled;
  s.direction = Direction::inverse;
  CHECK_THROWS_AS(Plan<double>{s}, nodal::ValueError);
  s.order = Order::from_scrambled;
  s.direction = Direction::forward;
  CHECK_THROWS_AS(Plan<float>{s}, nodal::ValueError);
  s.direction = Direction::inverse;
  CHECK_THROWS_AS(Plan<double>(s, Algorithm::stockham), nodal::ValueError);
  // The reverse pairing, built from the raw passes: DIT of natural-order input multiplies transforms
  // of permuted sequences, so the result is not the convolution.
  const std::vector<std::size_t> radices{4, 3, 2};
  const std::size_t n = 24;
  auto a = random(n, 7), b = random(n, 8);
  transform_in_place(radices, Direction::forward, Pass::dit, a.data());
  transform_in_place(radices, Direction::forward, Pass::dit, b.data());
  for (std::size_t k = 0; k < n; ++k) a[k] *= b[k] / double(n);
  transform_in_place(radices, Direction::inverse, Pass::dif, a.data());
  CHECK(ref::relative_error(a, circular(random(n, 7), random(n, 8))) > 0.1);
}

TEST_CASE("estimate and measure planners give the same results") {
  for (std::size_t n : {64u, 1000u, 1009u, 1024u, 2310u, 4096u, 65536u}) {
    const auto x = random(n, 9);
    Spec s;
    s.n = n;
    const auto e = run(s, x);
    s.planning = Planning::measure;
    Plan<double> measured(s);
    std::vector<cd> m(n);
    measured.execute(x.data(), m.data());
    INFO("n = " << n << ": measured " << measured.describe());
    CHECK(ref::relative_error(m, std::vector<ref::LC>(e.begin(), e.end())) < 2 * bound(n));
  }
}

TEST_CASE("wisdom: saved measured choices reproduce the plan, and corrupt files raise IoError") {
  forget_wisdom();
  const std::string path = "fft_plan_test_wisdom.txt";
  Spec s;
  s.planning = Planning::measure;
  std::vector<std::string> described;
  for (std::size_t n : {360u, 1009u, 4096u}) {
    s.n = n;
    described.push_back(Plan<float>(s).describe());
  }
  save_wisdom(path);
  forget_wisdom();
  load_wisdom(path);
  std::size_t i = 0;
  for (std::size_t n : {360u, 1009u, 4096u}) {
    s.n = n;
    CHECK(Plan<float>(s).describe() == described[i++]);
  }
  std::string good;
  {
    std::ifstream in(path);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(good.rfind("nodal-fft-wisdom 1\n", 0) == 0);
  auto write = [&](const std::string& text) {
    std::ofstream out(path);
    out << text;
  };
  const std::vector<std::string> corrupt{
      "",                                                             // empty
      "not wisdom\nend 0\n",                                          // bad header
      "nodal-fft-wisdom 1\nf32 1024 -1 0 stockham\n",                 // truncated: no end line
      "nodal-fft-wisdom 1\nf32 1024 -1 0 stockham\nend 2\n",          // count mismatch
      "nodal-fft-wisdom 1\nf16 1024 -1 0 stockham\nend 1\n",          // bad precision
      "nodal-fft-wisdom 1\nf32 1024 -1 9 stockham\nend 1\n",          // no such candidate
      "nodal-fft-wisdom 1\nf32 1024 -1 0 rader\nend 1\n",             // name disagrees
      "nodal-fft-wisdom 1\nf32 1024 3 0 stockham\nend 1\n",           // bad sign
      "nodal-fft-wisdom 1\nf32 1024 -1 0 stockham extra\nend 1\n",    // trailing field
      "nodal-fft-wisdom 1\nf32 0 -1 0 stockham\nend 1\n",             // n = 0
      "nodal-fft-wisdom 1\nend 0\ngarbage\n",                         // text after end
      good.substr(0, good.size() / 2),                                // cut in the middle
  };
  for (const auto& text : corrupt) {
    write(text);
    INFO("file: " << text);
    CHECK_THROWS_AS(load_wisdom(path), nodal::IoError);
  }
  std::remove(path.c_str());
  CHECK_THROWS_AS(load_wisdom("/nonexistent/dir/wisdom.txt"), nodal::IoError);
  forget_wisdom();
}

TEST_CASE("spec validation and describe()") {
  Spec s;
  s.n = 0;
  CHECK_THROWS_AS(Plan<double>{s}, nodal::ValueError);
  s.n = 8;
  s.batch = 0;
  CHECK_THROWS_AS(Plan<double>{s}, nodal::ValueError);
  s.batch = 2;
  s.in_stride = 0;
  CHECK_THROWS_AS(Plan<double>{s}, nodal::ValueError);
  s.in_stride = 1;
  s.out_stride = 2;
  Plan<double> p(s);
  std::vector<cd> buffer(64);
  CHECK_THROWS_AS(p.execute(buffer.data(), buffer.data()), nodal::ValueError);  // in place, layouts differ
  CHECK_THROWS_AS(p.execute(nullptr, buffer.data()), nodal::ValueError);
  for (auto [n, expected] : std::vector<std::pair<std::size_t, std::string>>{
           {1024, "1024 = Stockham(8·8·4·4)"},
           {1000, "1000 = Stockham(8·5·5·5)"},
           {1009, "1009 = Rader(1009, g=11, Stockham(7·4·4·3·3))"},
           {1u << 20, "1048576 = Stockham(8·8·8·8·8·8·4)"}}) {
    Spec d;
    d.n = n;
    const auto line = Plan<double>(d).describe();
    CHECK(line == expected);
    CHECK(line.find('\n') == std::string::npos);
  }
}

TEST_CASE("plan cache returns one plan per key, and plans run concurrently from many threads") {
  Spec s;
  s.n = 1000;
  s.batch = 3;
  const auto a = Plan<double>::cached(s);
  CHECK(a == Plan<double>::cached(s));
  s.direction = Direction::inverse;
  CHECK(a != Plan<double>::cached(s));
  s.direction = Direction::forward;
  const auto x = random(3000, 4);
  std::vector<cd> expected(3000);
  a->execute(x.data(), expected.data());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<cd> y(3000);
      for (int r = 0; r < 20; ++r) {
        Plan<double>::cached(s)->execute(x.data(), y.data());
        if (y != expected) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(mismatches == 0);
}

TEST_CASE("executing a plan again allocates nothing") {
  struct Case {
    std::size_t n, batch;
    Algorithm algorithm;
    std::ptrdiff_t stride;
  };
  for (const Case c : {Case{1024, 1, Algorithm::automatic, 1}, Case{1009, 4, Algorithm::rader, 1},
                       Case{997, 1, Algorithm::bluestein, 1}, Case{1155, 2, Algorithm::good_thomas, 1},
                       Case{4096, 1, Algorithm::four_step, 1}, Case{360, 3, Algorithm::in_place, 3},
                       Case{1u << 17, 1, Algorithm::automatic, 1}, Case{64, 512, Algorithm::automatic, 1}}) {
    Spec s;
    s.n = c.n;
    s.batch = c.batch;
    s.in_stride = s.out_stride = c.stride;
    s.in_distance = s.out_distance = c.stride == 1 ? 0 : 1;
    s.scaling = Scaling::ortho;
    Plan<float> plan(s, c.algorithm);
    std::vector<std::complex<float>> x(c.n * c.batch * std::size_t(c.stride), {1, 2}), y(x.size());
    // The first run of each mode (out of place, in place) may size per-thread workspace and
    // function-local state; the claim is about steady state.
    plan.execute(x.data(), y.data());
    plan.execute(y.data(), y.data());
    // INFO first: doctest's context stack allocates on its first use in a process.
    INFO(plan.describe());
    const long before = allocations.load();
    for (int r = 0; r < 3; ++r) plan.execute(x.data(), y.data());
    plan.execute(y.data(), y.data());
    CHECK(allocations.load() == before);
  }
}
