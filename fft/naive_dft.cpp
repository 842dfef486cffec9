// Direct O(N²) DFT: X_k = Σ_j x_j·ω^{jk}, with ω^{jk} read from an exact table at index (j·k mod N)
// and the sum accumulated in double. Used as a leaf for small awkward lengths and as the reference
// algorithm that `Algorithm::naive` forces.
#include <fmt/format.h>

#include <vector>

#include "nodal/fft/node.hpp"
#include "nodal/fft/twiddle.hpp"

namespace nodal::fft::detail {
namespace {

template <class Real>
class NaiveNode final : public Node<Real> {
 public:
  NaiveNode(std::size_t n, int sign) : Node<Real>(n, sign), roots_(n) {
    for (std::size_t j = 0; j < n; ++j) roots_[j] = unit_root(j, n, sign);
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>*) const override {
    const std::size_t n = this->n;
    for (std::size_t k = 0; k < n; ++k) {
      double re = 0, im = 0;
      std::size_t jk = 0;  // j·k mod n, advanced by k each step
      for (std::size_t j = 0; j < n; ++j) {
        const auto w = roots_[jk];
        re += double(in[j].re) * w.real() - double(in[j].im) * w.imag();
        im += double(in[j].re) * w.imag() + double(in[j].im) * w.real();
        jk += k;
        if (jk >= n) jk -= n;
      }
      out[k] = {Real(re), Real(im)};
    }
  }
  std::size_t work_size() const override { return 0; }
  std::string describe() const override { return fmt::format("naive({})", this->n); }

 private:
  std::vector<std::complex<double>> roots_;
};

}  // namespace

template <class Real>
NodePtr<Real> make_naive(std::size_t n, int sign) {
  return std::make_shared<NaiveNode<Real>>(n, sign);
}
template NodePtr<float> make_naive<float>(std::size_t, int);
template NodePtr<double> make_naive<double>(std::size_t, int);

}  // namespace nodal::fft::detail
