// Bluestein's chirp-z algorithm for any N. With σ the direction sign, jk = (j² + k² − (k−j)²)/2 gives
//   X_k = w_k · Σ_j (x_j·w_j)·conj(w_{k−j}),   w_j = exp(σ·iπ·j²/N),
// a linear convolution computed by a cyclic one of smooth length M ≥ 2N−1 (the kernel conj(w) placed at
// 0..N−1 and wrapped to M−N+1..M−1). The chirp phase is πj²/N = 2π·(j² mod 2N)/(2N): reducing j² mod 2N
// exactly in 128-bit integers keeps all of the phase; evaluating j²/N in floating point would lose the
// fractional part that alone determines w_j once j² ≫ 2^53/… (see bluestein_chirp).
#include <fmt/format.h>

#include <cmath>

#include "nodal/core/error.hpp"
#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/bluestein.hpp"
#include "nodal/fft/twiddle.hpp"

namespace nodal::fft {

template <class Real>
std::vector<std::complex<Real>> bluestein_chirp(std::size_t n, int sign, bool exact_reduction) {
  std::vector<std::complex<Real>> w(n);
  for (std::size_t j = 0; j < n; ++j) {
    if (exact_reduction) {
      const std::uint64_t e = std::uint64_t((unsigned __int128)j * j % (2 * (unsigned __int128)n));
      const auto z = detail::unit_root_ld(e, n, sign);
      w[j] = {Real(z.real()), Real(z.imag())};
    } else {  // the naive chirp, kept only to demonstrate its phase loss
      const double phase = double(sign) * M_PI * (double(j) * double(j) / double(n));
      w[j] = {Real(std::cos(phase)), Real(std::sin(phase))};
    }
  }
  return w;
}
template std::vector<std::complex<float>> bluestein_chirp<float>(std::size_t, int, bool);
template std::vector<std::complex<double>> bluestein_chirp<double>(std::size_t, int, bool);
template std::vector<std::complex<long double>> bluestein_chirp<long double>(std::size_t, int, bool);

namespace detail {
namespace {

template <class Real>
class BluesteinNode final : public Node<Real> {
 public:
  BluesteinNode(std::size_t n, int sign, NodePtr<Real> forward, NodePtr<Real> inverse)
      : Node<Real>(n, sign), f_(std::move(forward)), i_(std::move(inverse)) {
    const std::size_t M = f_->n;
    const auto chirp = bluestein_chirp<long double>(n, sign, true);
    chirp_.resize(n);
    std::vector<std::complex<double>> h(M, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      chirp_[j] = {Real(chirp[j].real()), Real(chirp[j].imag())};
      const std::complex<double> c(double(chirp[j].real()), -double(chirp[j].imag()));
      h[j] = c;
      if (j > 0) h[M - j] = c;
    }
    const auto spectrum = spectrum_in_double(h);
    kernel_.resize(M);
    for (std::size_t j = 0; j < M; ++j) {
      const auto b = spectrum[j] / double(M);
      kernel_[j] = {Real(b.real()), Real(b.imag())};
    }
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t n = this->n, M = f_->n;
    Cx<Real>* a = work;
    Cx<Real>* spectrum = work + M;
    Cx<Real>* child = work + 2 * M;
    for (std::size_t j = 0; j < n; ++j) a[j] = in[j] * chirp_[j];
    for (std::size_t j = n; j < M; ++j) a[j] = {0, 0};
    f_->run(a, spectrum, child);
    for (std::size_t j = 0; j < M; ++j) spectrum[j] = spectrum[j] * kernel_[j];
    i_->run(spectrum, a, child);
    for (std::size_t k = 0; k < n; ++k) out[k] = a[k] * chirp_[k];
  }
  std::size_t work_size() const override { return 2 * f_->n + std::max(f_->work_size(), i_->work_size()); }
  std::string describe() const override { return fmt::format("Bluestein({}, {})", this->n, f_->describe()); }

 private:
  NodePtr<Real> f_, i_;
  std::vector<Cx<Real>> chirp_, kernel_;
};

}  // namespace

template <class Real>
NodePtr<Real> make_bluestein(std::size_t n, int sign, NodePtr<Real> forward, NodePtr<Real> inverse) {
  if (forward->n != inverse->n || forward->n < 2 * n - 1)
    throw ValueError(fmt::format("fft: Bluestein({}) needs a convolution length ≥ 2N−1 = {}, got {}", n, 2 * n - 1,
                                 forward->n));
  return std::make_shared<BluesteinNode<Real>>(n, sign, std::move(forward), std::move(inverse));
}
template NodePtr<float> make_bluestein<float>(std::size_t, int, NodePtr<float>, NodePtr<float>);
template NodePtr<double> make_bluestein<double>(std::size_t, int, NodePtr<double>, NodePtr<double>);

}  // namespace detail
}  // namespace nodal::fft
