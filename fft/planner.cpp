// The planner: turns a length into a tree of algorithms.
// Candidates for n (a deterministic list, so wisdom can name one by index):
//   smooth n (every prime factor ≤ 31, i.e. has a butterfly): Stockham, in-place + digit reversal,
//   four-step (n1 ≈ √n), Good–Thomas (2-power part × odd part, when both > 1);
//   prime n > 31: Rader (exact p−1 when p−1 is smooth, else padded), Bluestein;
//   other composites: Good–Thomas (coprime split), four-step, Bluestein;  small n also naive.
// estimate picks by rules that follow the cost model (sub-transforms that fit in L2 run as one
// Stockham; larger smooth ones go four-step; large primes are split off by Good–Thomas and handled
// by Rader); measure times every candidate (children measured recursively, memoized in wisdom).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <random>

#include "nodal/core/error.hpp"
#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/plan.hpp"
#include "nodal/fft/radix_stage.hpp"
#include "nodal/fft/stockham.hpp"
#include "nodal/fft/wisdom.hpp"

namespace nodal::fft {
namespace detail {
namespace {

bool smooth(std::size_t n) {
  for (auto f : prime_factors(n))
    if (f > std::uint64_t(max_odd_radix)) return false;
  return true;
}

// Smallest 2^a·3^b·5^c ≥ n: cheap lengths for the convolutions of Rader and Bluestein.
std::size_t smooth_at_least(std::size_t n) {
  std::size_t best = std::size_t(1) << 62;
  for (std::size_t p5 = 1; p5 < best; p5 *= 5)
    for (std::size_t p35 = p5; p35 < best; p35 *= 3) {
      std::size_t v = p35;
      while (v < n) v *= 2;
      best = std::min(best, v);
    }
  return best;
}

// Radix vector for a smooth n: radix 8 first (it vectorizes the first Stockham pass), then 8s, then a
// 4 or 2 for the remaining powers of two, then the odd primes ascending.
std::vector<std::size_t> radices_of(std::size_t n) {
  std::vector<std::size_t> r;
  int twos = 0;
  while (n % 2 == 0) {
    n /= 2;
    ++twos;
  }
  if (twos % 3 == 1 && twos >= 4) {
    r.push_back(4);
    r.push_back(4);
    twos -= 4;
  } else if (twos % 3 == 2) {
    r.push_back(4);
    twos -= 2;
  } else if (twos % 3 == 1) {
    r.push_back(2);
    twos -= 1;
  }
  for (auto f : prime_factors(n)) r.push_back(std::size_t(f));
  // Largest radix first: the first Stockham pass vectorizes over k, every later pass over the stride s,
  // which is the product of the radices before it, so a large first radix gets s ≥ lanes sooner.
  std::sort(r.begin(), r.end(), std::greater<>());
  for (; twos >= 3; twos -= 3) r.insert(r.begin(), 8);
  return r;
}

// Divisor d of n with d ≤ √n closest to √n (1 if n is prime).
std::size_t near_root_divisor(std::size_t n) {
  std::vector<std::size_t> divisors{1};
  for (auto f : prime_factors(n)) {
    const std::size_t count = divisors.size();
    for (std::size_t i = 0; i < count; ++i) divisors.push_back(divisors[i] * f);
  }
  std::size_t best = 1;
  for (std::size_t d : divisors)
    if (d * d <= n && d > best) best = d;
  return best;
}

// Coprime split (n1, n2) for Good–Thomas, or (0, 0) if n is a prime power.
std::pair<std::size_t, std::size_t> coprime_split(std::size_t n) {
  const auto f = prime_factors(n);
  if (f.empty() || f.front() == f.back()) return {0, 0};
  std::size_t small = 1;  // smooth part
  for (auto p : f)
    if (p <= std::uint64_t(max_odd_radix)) small *= p;
  if (small > 1 && small < n) return {small, n / small};
  // All primes large (or all small): split off the largest prime power.
  const std::uint64_t p = f.back();
  std::size_t power = 1;
  for (auto q : f)
    if (q == p) power *= p;
  return {n / power, power};
}

struct CandidateInfo {
  Algorithm algorithm;
  const char* name;
};

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::naive: return "naive";
    case Algorithm::stockham: return "stockham";
    case Algorithm::in_place: return "in_place";
    case Algorithm::good_thomas: return "good_thomas";
    case Algorithm::four_step: return "four_step";
    case Algorithm::rader: return "rader";
    case Algorithm::bluestein: return "bluestein";
    default: return "automatic";
  }
}

std::vector<Algorithm> candidate_list(std::size_t n) {
  std::vector<Algorithm> c;
  if (n == 1) return {Algorithm::stockham};
  const auto f = prime_factors(n);
  const bool prime = f.size() == 1;
  if (smooth(n)) {
    c = {Algorithm::stockham, Algorithm::in_place};
    if (!prime && n >= 64) c.push_back(Algorithm::four_step);
    if (coprime_split(n).first != 0 && n >= 30) c.push_back(Algorithm::good_thomas);
  } else if (prime) {
    c = {Algorithm::rader, Algorithm::bluestein};
  } else {
    if (coprime_split(n).first != 0) c.push_back(Algorithm::good_thomas);
    c.push_back(Algorithm::four_step);
    c.push_back(Algorithm::bluestein);
  }
  if (n <= 32) c.push_back(Algorithm::naive);
  return c;
}

// The estimate planner's choice among candidate_list(n).
Algorithm estimate_choice(std::size_t n, std::size_t real_bytes) {
  const auto c = candidate_list(n);
  if (smooth(n)) {
    // Four-step only for transforms beyond 32 MiB: on the development machine (shared, 2 cores) the
    // Stockham passes measured faster than this four-step up to 2^20 points; measure mode still times
    // both.
    const bool large = n * 2 * real_bytes > (std::size_t(1) << 25);
    return large && std::find(c.begin(), c.end(), Algorithm::four_step) != c.end() ? Algorithm::four_step
                                                                                    : Algorithm::stockham;
  }
  return c.front();
}

template <class Real>
NodePtr<Real> build(Algorithm a, std::size_t n, int sign, Planning planning) {
  auto child = [&](std::size_t m, int s = 0) {
    return plan_node<Real>(m, s == 0 ? sign : s, Algorithm::automatic, planning, Order::natural);
  };
  const auto f = prime_factors(n);
  switch (a) {
    case Algorithm::naive: return make_naive<Real>(n, sign);
    case Algorithm::stockham:
      if (!smooth(n))
        throw ValueError(fmt::format("fft: Stockham needs every prime factor of n ≤ {}, n = {} has {}",
                                     max_odd_radix, n, f.back()));
      return make_stockham<Real>(n == 1 ? std::vector<std::size_t>{} : radices_of(n), sign);
    case Algorithm::in_place:
      return make_in_place<Real>(n == 1 ? std::vector<std::size_t>{} : scrambled_radices(n), sign, Order::natural,
                                 planning);
    case Algorithm::good_thomas: {
      const auto [n1, n2] = coprime_split(n);
      if (n1 == 0)
        throw ValueError(fmt::format("fft: Good–Thomas refuses n = {}: a prime power has no coprime split", n));
      return make_good_thomas<Real>(child(n1), child(n2));
    }
    case Algorithm::four_step: {
      const std::size_t n1 = near_root_divisor(n);
      if (n1 == 1) throw ValueError(fmt::format("fft: four-step needs a composite n, got {}", n));
      return make_four_step<Real>(child(n1), child(n / n1));
    }
    case Algorithm::rader: {
      if (f.size() != 1 || n < 3) throw ValueError(fmt::format("fft: Rader needs an odd prime n, got {}", n));
      const std::size_t L = smooth(n - 1) ? n - 1 : smooth_at_least(2 * n - 3);
      return make_rader<Real>(n, sign, child(L, -1), child(L, +1));
    }
    case Algorithm::bluestein: {
      const std::size_t M = smooth_at_least(2 * n - 1);
      return make_bluestein<Real>(n, sign, child(M, -1), child(M, +1));
    }
    default: break;
  }
  throw ValueError(fmt::format("fft: unknown algorithm for n = {}", n));
}

// Seconds per execution of a node (best of a few runs after a warm-up).
template <class Real>
double time_node(const Node<Real>& node) {
  std::vector<Cx<Real>> in(node.n), out(node.n), work(node.work_size() + 1);
  std::mt19937 rng(1);
  std::uniform_real_distribution<Real> u(-1, 1);
  for (auto& x : in) x = {u(rng), u(rng)};
  node.run(in.data(), out.data(), work.data());
  double best = 1e30, total = 0;
  for (int rep = 0; rep < 50 && (rep < 3 || total < 0.02); ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    node.run(in.data(), out.data(), work.data());
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, t);
    total += t;
  }
  return best;
}

}  // namespace

std::vector<std::string> candidate_names(std::size_t n) {
  std::vector<std::string> names;
  for (auto a : candidate_list(n)) names.emplace_back(algorithm_name(a));
  return names;
}

template <class Real>
NodePtr<Real> plan_node(std::size_t n, int sign, Algorithm forced, Planning planning, Order order) {
  if (order != Order::natural) {
    if (forced != Algorithm::automatic && forced != Algorithm::in_place)
      throw ValueError(fmt::format("fft: Order::{} is produced only by the in-place DIF/DIT engine, not by {} (n = {})",
                                   order == Order::scrambled ? "scrambled" : "from_scrambled", algorithm_name(forced),
                                   n));
    return make_in_place<Real>(n == 1 ? std::vector<std::size_t>{} : scrambled_radices(n), sign, order, planning);
  }
  if (forced != Algorithm::automatic) return build<Real>(forced, n, sign, planning);
  const auto list = candidate_list(n);
  if (planning == Planning::estimate || list.size() == 1) {
    // Estimated trees are a pure function of (n, sign), so identical subtrees (Rader's and Bluestein's
    // convolution lengths, repeated Good–Thomas factors, plans of the same length) are shared: nodes are
    // immutable and thread-safe, and sharing saves the twiddle tables and planning time.
    static std::mutex memo_mutex;
    static std::map<std::pair<std::size_t, int>, std::weak_ptr<const Node<Real>>> memo;
    {
      std::lock_guard lock(memo_mutex);
      if (auto it = memo.find({n, sign}); it != memo.end())
        if (auto node = it->second.lock()) return node;
    }
    auto node = build<Real>(estimate_choice(n, sizeof(Real)), n, sign, planning);
    std::lock_guard lock(memo_mutex);
    memo[{n, sign}] = node;
    return node;
  }
  const WisdomKey key{int(sizeof(Real)), n, sign};
  if (auto known = wisdom_lookup(key); known && known->candidate < list.size())
    return build<Real>(list[known->candidate], n, sign, planning);
  NodePtr<Real> best;
  double best_time = 0;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i] == Algorithm::naive && n > 16) continue;
    auto node = build<Real>(list[i], n, sign, planning);
    const double t = time_node(*node);
    if (!best || t < best_time) {
      best = node;
      best_time = t;
      best_index = i;
    }
  }
  wisdom_store(key, {best_index, algorithm_name(list[best_index])});
  return best;
}
template NodePtr<float> plan_node<float>(std::size_t, int, Algorithm, Planning, Order);
template NodePtr<double> plan_node<double>(std::size_t, int, Algorithm, Planning, Order);

std::vector<std::complex<double>> spectrum_in_double(const std::vector<std::complex<double>>& x) {
  const auto node = plan_node<double>(x.size(), -1, Algorithm::automatic, Planning::estimate, Order::natural);
  std::vector<std::complex<double>> out(x.size());
  std::vector<Cx<double>> work(node->work_size() + 1);
  node->run(reinterpret_cast<const Cx<double>*>(x.data()), reinterpret_cast<Cx<double>*>(out.data()), work.data());
  return out;
}

}  // namespace detail

std::vector<std::size_t> scrambled_radices(std::size_t n) {
  if (n <= 1) return {};
  std::vector<std::size_t> r;
  std::size_t smooth_part = 1;
  for (auto f : detail::prime_factors(n))
    if (f <= std::uint64_t(detail::max_odd_radix)) smooth_part *= f;
  if (smooth_part > 1) r = detail::radices_of(smooth_part);
  for (auto f : detail::prime_factors(n))
    if (f > std::uint64_t(detail::max_odd_radix)) r.push_back(std::size_t(f));
  return r;
}

}  // namespace nodal::fft
