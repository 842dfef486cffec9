#pragma once
// Public interface of the complex 1-D FFT engine: a Spec describes one batched transform, a Plan is
// built once for it (the planner chooses a tree of algorithms) and executed many times.
#include <complex>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace nodal::fft {

enum class Direction { forward, inverse };  // forward uses exp(-2*pi*i*n*k/N), inverse exp(+...)
enum class Scaling { none, by_n, ortho };    // output multiplied by 1, 1/N, 1/sqrt(N); N = transform length
enum class Planning { estimate, measure };
// Spectrum order, for permutation-free convolution (a*b = IDIT(DIF(a)·DIF(b))):
//   natural        : ordinary in-order transform (default)
//   scrambled      : forward only — DIF without the final digit-reversal; output in the plan's
//                    digit-reversed order
//   from_scrambled : inverse only — DIT that consumes a spectrum in that scrambled order (as produced
//                    by a forward plan of the same n) and writes natural-order output. Any other
//                    pairing throws nodal::ValueError.
enum class Order { natural, scrambled, from_scrambled };

struct Spec {  // one batched 1-D complex transform; strides/distances in complex elements
  std::size_t n = 1;
  std::size_t batch = 1;
  std::ptrdiff_t in_stride = 1, in_distance = 0;  // distance 0 means n*stride (contiguous rows)
  std::ptrdiff_t out_stride = 1, out_distance = 0;
  Direction direction = Direction::forward;
  Scaling scaling = Scaling::none;
  Order order = Order::natural;
  Planning planning = Planning::estimate;
};

// Top-level algorithm a plan may be forced to use (tests, benchmarks). `automatic` lets the planner
// choose; a forced algorithm that cannot apply to n (Good–Thomas on a prime power, Rader on a
// composite) throws nodal::ValueError.
enum class Algorithm {
  automatic,
  naive,        // O(N²) direct DFT with an exact twiddle table
  stockham,     // mixed-radix Cooley–Tukey, self-sorting (out of place, no permutation pass)
  in_place,     // mixed-radix Cooley–Tukey in place, with an explicit digit-reversal permutation
  good_thomas,  // prime-factor algorithm, coprime split, no twiddles
  four_step,    // √N × √N Cooley–Tukey with transposes
  rader,        // prime N: cyclic convolution of length N−1
  bluestein,    // any N: chirp-z convolution of smooth length ≥ 2N−1
};

namespace detail {
template <class Real>
struct Node;  // one node of the algorithm tree (fft/node.hpp)
}

template <class Real>  // float or double (explicitly instantiated for both)
class Plan {
 public:
  using Complex = std::complex<Real>;
  explicit Plan(const Spec& spec);  // throws nodal::ValueError on bad specs (n == 0, batch == 0, ...)
  Plan(const Spec& spec, Algorithm forced);  // forces the top-level algorithm (children are planned)
  static std::shared_ptr<const Plan> cached(const Spec& spec);  // process-wide cache keyed by Spec; thread-safe
  void execute(const Complex* in, Complex* out) const;  // thread-safe, no allocation in steady state; in == out allowed
  std::string describe() const;  // one readable line of the chosen tree
  const Spec& spec() const;

 private:
  Spec spec_;
  std::shared_ptr<const detail::Node<Real>> root_;
  std::ptrdiff_t in_distance_ = 0, out_distance_ = 0;  // resolved distances
};

extern template class Plan<float>;
extern template class Plan<double>;

// Radix vector (outermost stage first) that defines the scrambled order of length n: a forward
// Order::scrambled plan writes bin k at position p with digit_reversal_permutation(...)[p] == k.
std::vector<std::size_t> scrambled_radices(std::size_t n);
// For a radix vector (r_0, r_1, …, r_{m−1}) and N = Π r_i: perm[p] is the natural index whose
// little-endian mixed-radix digits (base r_0, r_1, …) are the big-endian digits of position p.
// It is a bijection of 0..N−1; DIF leaves bin perm[p] at position p, DIT expects x[perm[p]] there.
std::vector<std::size_t> digit_reversal_permutation(const std::vector<std::size_t>& radices);

// Instrumentation: how many digit-reversal permutation passes plans have run (process-wide).
std::size_t permutation_pass_count();

// Wisdom: measured planner choices, keyed by (precision, n, direction).
void save_wisdom(const std::string& path);
void load_wisdom(const std::string& path);  // throws nodal::IoError on a missing or corrupt file
void forget_wisdom();

}  // namespace nodal::fft
