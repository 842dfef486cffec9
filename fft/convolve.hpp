#pragma once
// Permutation-free (out-of-order) convolution. With DIF = forward transform without the final digit
// reversal ρ and IDIT = inverse transform that consumes digit-reversed input,
//     ρ(DIF(a)) = F(a),  IDIT(ρ(F(a))) = a   ⇒   a ⊛ b = IDIT( DIF(a) · DIF(b) ),
// because a pointwise product commutes with any permutation: two equally scrambled spectra multiply
// into the equally scrambled product. No permutation pass runs anywhere. The reverse pairing
// IDIF(DIT·DIT) is NOT valid (it multiplies transforms of permuted sequences), and neither is a
// natural-order spectrum fed to the from_scrambled inverse: Spectrum carries its order so the typed
// entry points reject such pairings with ValueError; the raw-pointer ones cannot check and would
// silently return a wrong ("gibberish") result.
//
// Two real convolutions per complex transform: for real A, B, W,
//     (A + iB) ⊛ W = A ⊛ W + i·(B ⊛ W),
// so one forward and one inverse complex transform give both (W's spectrum is computed once and
// reused, as for a batch sharing the same weights). A batch of odd size convolves its last sample
// alone (B = 0).
//
// Linear convolution of lengths La, Lb is the circular one of length N ≥ La + Lb − 1 after zero
// padding (no wrap-around can reach the kept outputs); N = next_smooth_size(La + Lb − 1), the
// smallest 2^a·3^b·5^c·7^d, which the mixed-radix engine handles without Bluestein.
#include <complex>
#include <cstddef>
#include <memory>
#include <vector>

#include "nodal/fft/plan.hpp"

namespace nodal::fft {

// Smallest m ≥ n of the form 2^a·3^b·5^c·7^d (1 for n ≤ 1). Throws ValueError above 2^62.
std::size_t next_smooth_size(std::size_t n);

// A spectrum that remembers its length and order, so it cannot be paired wrongly.
template <class Real>
struct Spectrum {
  std::size_t n = 0;
  Order order = Order::natural;
  std::vector<std::complex<Real>> bins;
};

template <class Real>  // float or double
class CircularConvolver {
 public:
  using Complex = std::complex<Real>;
  explicit CircularConvolver(std::size_t n, Planning planning = Planning::estimate);
  std::size_t size() const { return n_; }

  // Typed interface: spectra are Order::scrambled; inverse() and the products check it.
  Spectrum<Real> transform(const Complex* x) const;
  Spectrum<Real> transform_real(const Real* x) const;
  void inverse(const Spectrum<Real>& spectrum, Complex* out) const;  // includes the 1/n
  // acc ← acc · other (pointwise), both scrambled spectra of this length.
  void multiply(Spectrum<Real>& acc, const Spectrum<Real>& other) const;

  // out = a ⊛ b (circular, length n). out may alias a or b.
  void convolve(const Complex* a, const Complex* b, Complex* out) const;
  // out_a = a ⊛ w and out_b = b ⊛ w for real a, b, w, with one transform pair; w given as its
  // (scrambled) spectrum. b == nullptr convolves a alone (out_b unused).
  void convolve_two_reals(const Real* a, const Real* b, const Spectrum<Real>& w, Real* out_a,
                          Real* out_b) const;
  // `batch` real signals (rows of n, contiguous) each convolved with w, two per transform; an odd
  // batch's last signal goes alone.
  void convolve_real_batch(const Real* signals, std::size_t batch, const Spectrum<Real>& w,
                           Real* out) const;

  // Raw-pointer primitives for callers that manage their own buffers (spectral nodes). `spectrum`
  // must come from forward() of a convolver of the same n: nothing can check that here.
  void forward(const Complex* x, Complex* spectrum) const;   // DIF, scrambled output
  void inverse(const Complex* spectrum, Complex* out) const;  // IDIT, natural output, 1/n

 private:
  void check(const Spectrum<Real>& s, const char* operation) const;
  std::size_t n_;
  std::shared_ptr<const Plan<Real>> forward_, inverse_;
};

// Circular convolution of equal-length sequences (ValueError if lengths differ or are 0).
template <class Real>
std::vector<std::complex<Real>> circular_convolve(const std::vector<std::complex<Real>>& a,
                                                  const std::vector<std::complex<Real>>& b);
template <class Real>
std::vector<Real> circular_convolve_real(const std::vector<Real>& a, const std::vector<Real>& b);

// Full linear convolution, length La + Lb − 1, via zero padding to next_smooth_size(La + Lb − 1).
template <class Real>
std::vector<std::complex<Real>> linear_convolve(const std::vector<std::complex<Real>>& a,
                                                const std::vector<std::complex<Real>>& b);
template <class Real>
std::vector<Real> linear_convolve_real(const std::vector<Real>& a, const std::vector<Real>& b);

extern template class CircularConvolver<float>;
extern template class CircularConvolver<double>;

}  // namespace nodal::fft
