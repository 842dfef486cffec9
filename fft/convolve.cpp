// Permutation-free convolution: a ⊛ b = IDIT(DIF(a)·DIF(b)) (see convolve.hpp).
#include "nodal/fft/convolve.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "nodal/core/error.hpp"
#include "nodal/fft/thread_scratch.hpp"

namespace nodal::fft {

std::size_t next_smooth_size(std::size_t n) {
  if (n <= 1) return 1;
  if (n > (std::size_t{1} << 62))
    throw ValueError(fmt::format("fft::next_smooth_size: {} is above the supported 2^62", n));
  // Enumerate 2^a·3^b·5^c·7^d below the current best; the power of two ≥ n bounds the search.
  std::size_t best = std::size_t{1} << 62;
  while (best / 2 >= n) best /= 2;
  for (std::size_t p7 = 1; p7 < best; p7 *= 7)
    for (std::size_t p75 = p7; p75 < best; p75 *= 5)
      for (std::size_t p753 = p75; p753 < best; p753 *= 3) {
        std::size_t m = p753;
        while (m < n) m *= 2;
        best = std::min(best, m);
      }
  return best;
}

template <class Real>
CircularConvolver<Real>::CircularConvolver(std::size_t n, Planning planning) : n_(n) {
  if (n == 0) throw ValueError("fft::CircularConvolver: length 0");
  Spec spec;
  spec.n = n;
  spec.planning = planning;
  spec.direction = Direction::forward;
  spec.order = Order::scrambled;
  forward_ = Plan<Real>::cached(spec);
  spec.direction = Direction::inverse;
  spec.order = Order::from_scrambled;
  spec.scaling = Scaling::by_n;
  inverse_ = Plan<Real>::cached(spec);
}

template <class Real>
void CircularConvolver<Real>::check(const Spectrum<Real>& s, const char* operation) const {
  if (s.order != Order::scrambled)
    throw ValueError(fmt::format(
        "fft::CircularConvolver::{}: the spectrum is in {} order, but the from_scrambled inverse "
        "only undoes a scrambled (DIF) forward transform; pairing them would give a wrong result",
        operation, s.order == Order::natural ? "natural" : "from_scrambled"));
  if (s.n != n_ || s.bins.size() != n_)
    throw ValueError(fmt::format("fft::CircularConvolver::{}: spectrum of length {} ({} bins) given "
                                 "to a convolver of length {}",
                                 operation, s.n, s.bins.size(), n_));
}

template <class Real>
void CircularConvolver<Real>::forward(const Complex* x, Complex* spectrum) const {
  forward_->execute(x, spectrum);
}

template <class Real>
void CircularConvolver<Real>::inverse(const Complex* spectrum, Complex* out) const {
  inverse_->execute(spectrum, out);
}

template <class Real>
Spectrum<Real> CircularConvolver<Real>::transform(const Complex* x) const {
  Spectrum<Real> s{n_, Order::scrambled, std::vector<Complex>(n_)};
  forward_->execute(x, s.bins.data());
  return s;
}

template <class Real>
Spectrum<Real> CircularConvolver<Real>::transform_real(const Real* x) const {
  Spectrum<Real> s{n_, Order::scrambled, std::vector<Complex>(n_)};
  Complex* c = detail::thread_scratch<Complex>(detail::ScratchSlot::convolve, n_);
  for (std::size_t i = 0; i < n_; ++i) c[i] = Complex(x[i], 0);
  forward_->execute(c, s.bins.data());
  return s;
}

template <class Real>
void CircularConvolver<Real>::inverse(const Spectrum<Real>& spectrum, Complex* out) const {
  check(spectrum, "inverse");
  inverse_->execute(spectrum.bins.data(), out);
}

template <class Real>
void CircularConvolver<Real>::multiply(Spectrum<Real>& acc, const Spectrum<Real>& other) const {
  check(acc, "multiply");
  check(other, "multiply");
  for (std::size_t k = 0; k < n_; ++k) acc.bins[k] *= other.bins[k];
}

template <class Real>
void CircularConvolver<Real>::convolve(const Complex* a, const Complex* b, Complex* out) const {
  Complex* fa = detail::thread_scratch<Complex>(detail::ScratchSlot::convolve, 2 * n_);
  Complex* fb = fa + n_;
  forward_->execute(a, fa);
  forward_->execute(b, fb);
  // Same positions hold the same (scrambled) bins in both: the product needs no reordering.
  for (std::size_t k = 0; k < n_; ++k) fa[k] *= fb[k];
  inverse_->execute(fa, out);
}

template <class Real>
void CircularConvolver<Real>::convolve_two_reals(const Real* a, const Real* b,
                                                 const Spectrum<Real>& w, Real* out_a,
                                                 Real* out_b) const {
  check(w, "convolve_two_reals");
  // Two buffers so both transforms run out of place (in-place execution copies each row).
  Complex* c = detail::thread_scratch<Complex>(detail::ScratchSlot::convolve, 2 * n_);
  Complex* spectrum = c + n_;
  for (std::size_t i = 0; i < n_; ++i) c[i] = Complex(a[i], b ? b[i] : Real(0));
  forward_->execute(c, spectrum);
  for (std::size_t k = 0; k < n_; ++k) spectrum[k] *= w.bins[k];
  inverse_->execute(spectrum, c);
  // W real ⇒ Re = a ⊛ w and Im = b ⊛ w exactly in exact arithmetic; in floating point each part
  // carries the rounding error of the whole complex transform (of the combined magnitude).
  for (std::size_t i = 0; i < n_; ++i) out_a[i] = c[i].real();
  if (b)
    for (std::size_t i = 0; i < n_; ++i) out_b[i] = c[i].imag();
}

template <class Real>
void CircularConvolver<Real>::convolve_real_batch(const Real* signals, std::size_t batch,
                                                  const Spectrum<Real>& w, Real* out) const {
  check(w, "convolve_real_batch");
  std::size_t s = 0;
  for (; s + 1 < batch; s += 2)
    convolve_two_reals(signals + s * n_, signals + (s + 1) * n_, w, out + s * n_, out + (s + 1) * n_);
  if (s < batch) convolve_two_reals(signals + s * n_, nullptr, w, out + s * n_, nullptr);
}

namespace {

template <class T>
void check_lengths(const char* operation, const std::vector<T>& a, const std::vector<T>& b,
                   bool equal) {
  if (a.empty() || b.empty())
    throw ValueError(fmt::format("fft::{}: empty input (lengths {} and {})", operation, a.size(),
                                 b.size()));
  if (equal && a.size() != b.size())
    throw ValueError(fmt::format("fft::{}: circular convolution needs equal lengths, got {} and {}",
                                 operation, a.size(), b.size()));
}

}  // namespace

template <class Real>
std::vector<std::complex<Real>> circular_convolve(const std::vector<std::complex<Real>>& a,
                                                  const std::vector<std::complex<Real>>& b) {
  check_lengths("circular_convolve", a, b, true);
  std::vector<std::complex<Real>> out(a.size());
  CircularConvolver<Real>(a.size()).convolve(a.data(), b.data(), out.data());
  return out;
}

template <class Real>
std::vector<Real> circular_convolve_real(const std::vector<Real>& a, const std::vector<Real>& b) {
  check_lengths("circular_convolve_real", a, b, true);
  CircularConvolver<Real> convolver(a.size());
  std::vector<Real> out(a.size());
  convolver.convolve_two_reals(a.data(), nullptr, convolver.transform_real(b.data()), out.data(),
                               nullptr);
  return out;
}

template <class Real>
std::vector<std::complex<Real>> linear_convolve(const std::vector<std::complex<Real>>& a,
                                                const std::vector<std::complex<Real>>& b) {
  check_lengths("linear_convolve", a, b, false);
  const std::size_t length = a.size() + b.size() - 1, n = next_smooth_size(length);
  std::vector<std::complex<Real>> pa(n), pb(n);
  std::copy(a.begin(), a.end(), pa.begin());
  std::copy(b.begin(), b.end(), pb.begin());
  CircularConvolver<Real>(n).convolve(pa.data(), pb.data(), pa.data());
  pa.resize(length);
  return pa;
}

template <class Real>
std::vector<Real> linear_convolve_real(const std::vector<Real>& a, const std::vector<Real>& b) {
  check_lengths("linear_convolve_real", a, b, false);
  const std::size_t length = a.size() + b.size() - 1, n = next_smooth_size(length);
  std::vector<Real> pa(n), pb(n);
  std::copy(a.begin(), a.end(), pa.begin());
  std::copy(b.begin(), b.end(), pb.begin());
  CircularConvolver<Real> convolver(n);
  convolver.convolve_two_reals(pa.data(), nullptr, convolver.transform_real(pb.data()), pa.data(),
                               nullptr);
  pa.resize(length);
  return pa;
}

template class CircularConvolver<float>;
template class CircularConvolver<double>;

#define NODAL_FFT_CONVOLVE_INSTANTIATE(Real)                                                      \
  template std::vector<std::complex<Real>> circular_convolve<Real>(                                 \
      const std::vector<std::complex<Real>>&, const std::vector<std::complex<Real>>&);              \
  template std::vector<Real> circular_convolve_real<Real>(const std::vector<Real>&,                 \
                                                          const std::vector<Real>&);                \
  template std::vector<std::complex<Real>> linear_convolve<Real>(                                   \
      const std::vector<std::complex<Real>>&, const std::vector<std::complex<Real>>&);              \
  template std::vector<Real> linear_convolve_real<Real>(const std::vector<Real>&,                   \
                                                        const std::vector<Real>&);
NODAL_FFT_CONVOLVE_INSTANTIATE(float)
NODAL_FFT_CONVOLVE_INSTANTIATE(double)
#undef NODAL_FFT_CONVOLVE_INSTANTIATE

}  // namespace nodal::fft
