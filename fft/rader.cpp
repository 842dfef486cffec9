// Rader's algorithm for prime p. With g a generator of (Z/pZ)*, write inputs as n = g^q and outputs as
// k = g^{−r}; then for k ≠ 0
//   X[g^{−r}] = x_0 + Σ_{q=0}^{p−2} x[g^q]·ω_p^{g^{q−r}} = x_0 + (α ⊛ β)_r,  α_q = x[g^q], β_t = ω_p^{g^{−t}},
// a cyclic convolution of length p−1, and X[0] = Σ x. The convolution is computed by FFTs of length L:
// L = p−1 exactly, or (when p−1 is not smooth) any L ≥ 2(p−1)−1 with α zero-padded and β wrapped
// periodically (β'_j = β_j for j < p−1, β'_{L−t} = β_{p−1−t} for 0 < t < p−1): a linear convolution of
// that length holds the cyclic one, whereas plainly zero-padding β would not.
// The kernel spectrum B = F_L(β')/L is computed once, in double precision.
#include <fmt/format.h>

#include "nodal/core/error.hpp"
#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/number_theory.hpp"
#include "nodal/fft/twiddle.hpp"

namespace nodal::fft::detail {
namespace {

template <class Real>
class RaderNode final : public Node<Real> {
 public:
  RaderNode(std::size_t p, int sign, NodePtr<Real> forward, NodePtr<Real> inverse)
      : Node<Real>(p, sign), f_(std::move(forward)), i_(std::move(inverse)), g_(primitive_root(p)) {
    const std::size_t L = f_->n;
    gather_.resize(p - 1);
    scatter_.resize(p - 1);
    const std::uint64_t g_inv = inverse_mod(g_, p);
    std::uint64_t up = 1, down = 1;
    for (std::size_t q = 0; q + 1 < p; ++q) {
      gather_[q] = up;     // g^q
      scatter_[q] = down;  // g^{−q}
      up = mul_mod(up, g_, p);
      down = mul_mod(down, g_inv, p);
    }
    std::vector<std::complex<double>> beta(L, 0.0);
    for (std::size_t t = 0; t + 1 < p; ++t) beta[t] = unit_root(scatter_[t], p, sign);
    if (L != p - 1)
      for (std::size_t t = 1; t + 1 < p; ++t) beta[L - t] = beta[p - 1 - t];
    const auto spectrum = spectrum_in_double(beta);
    kernel_.resize(L);
    for (std::size_t j = 0; j < L; ++j) {
      const auto b = spectrum[j] / double(L);
      kernel_[j] = {Real(b.real()), Real(b.imag())};
    }
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t p = this->n, L = f_->n;
    Cx<Real>* a = work;
    Cx<Real>* spectrum = work + L;
    Cx<Real>* child = work + 2 * L;
    for (std::size_t q = 0; q + 1 < p; ++q) a[q] = in[gather_[q]];
    for (std::size_t q = p - 1; q < L; ++q) a[q] = {0, 0};
    f_->run(a, spectrum, child);
    const Cx<Real> x0 = in[0];
    out[0] = x0 + spectrum[0];  // spectrum[0] = Σ_{n≥1} x_n
    for (std::size_t j = 0; j < L; ++j) spectrum[j] = spectrum[j] * kernel_[j];
    i_->run(spectrum, a, child);
    for (std::size_t r = 0; r + 1 < p; ++r) out[scatter_[r]] = x0 + a[r];
  }
  std::size_t work_size() const override { return 2 * f_->n + std::max(f_->work_size(), i_->work_size()); }
  std::string describe() const override {
    return fmt::format("Rader({}, g={}, {}{})", this->n, g_, f_->n == this->n - 1 ? "" : "padded ", f_->describe());
  }

 private:
  NodePtr<Real> f_, i_;
  std::uint64_t g_;
  std::vector<std::size_t> gather_, scatter_;
  std::vector<Cx<Real>> kernel_;
};

}  // namespace

template <class Real>
NodePtr<Real> make_rader(std::size_t p, int sign, NodePtr<Real> forward, NodePtr<Real> inverse) {
  if (p < 3 || !is_prime(p)) throw ValueError(fmt::format("fft: Rader's algorithm needs an odd prime length, got {}", p));
  if (forward->n != inverse->n || (forward->n != p - 1 && forward->n < 2 * p - 3))
    throw ValueError(fmt::format("fft: Rader({}) needs a convolution length p−1 = {} or ≥ 2p−3 = {}, got {}", p,
                                 p - 1, 2 * p - 3, forward->n));
  return std::make_shared<RaderNode<Real>>(p, sign, std::move(forward), std::move(inverse));
}
template NodePtr<float> make_rader<float>(std::size_t, int, NodePtr<float>, NodePtr<float>);
template NodePtr<double> make_rader<double>(std::size_t, int, NodePtr<double>, NodePtr<double>);

}  // namespace nodal::fft::detail
