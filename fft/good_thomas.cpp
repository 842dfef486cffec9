// Good–Thomas prime-factor algorithm. For N = N1·N2 with gcd(N1, N2) = 1, the Ruritanian input map
// n = (i1·N2 + i2·N1) mod N and the CRT output map k ≡ k1 (mod N1), k ≡ k2 (mod N2) turn the 1-D DFT
// into an exact N1×N2 2-D DFT: ω_N^{nk} = ω_{N1}^{i1·k1}·ω_{N2}^{i2·k2}. No twiddle multiplications.
// Steps: gather through the input map (N1 rows of N2), N2-point transforms of the rows, transpose,
// N1-point transforms of the rows, scatter through the output map.
#include <fmt/format.h>

#include <algorithm>

#include "nodal/core/error.hpp"
#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/number_theory.hpp"
#include "nodal/fft/transpose.hpp"

namespace nodal::fft::detail {
namespace {

template <class Real>
class GoodThomasNode final : public Node<Real> {
 public:
  GoodThomasNode(NodePtr<Real> first, NodePtr<Real> second)
      : Node<Real>(first->n * second->n, first->sign), a_(std::move(first)), b_(std::move(second)) {
    const std::size_t n1 = a_->n, n2 = b_->n;
    const auto maps = good_thomas_maps(n1, n2);  // throws on a non-coprime split
    input_.assign(maps.input.begin(), maps.input.end());
    output_.resize(this->n);
    for (std::size_t k1 = 0; k1 < n1; ++k1)
      for (std::size_t k2 = 0; k2 < n2; ++k2) output_[k2 * n1 + k1] = maps.output[k1 * n2 + k2];
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t n = this->n, n1 = a_->n, n2 = b_->n;
    Cx<Real>* m = work;
    Cx<Real>* t = work + n;
    Cx<Real>* child = work + 2 * n;
    for (std::size_t i = 0; i < n; ++i) m[i] = in[input_[i]];
    b_->run_batch(m, t, n1, child);  // rows: N2-point transforms over i2
    transpose(reinterpret_cast<const std::complex<Real>*>(t), reinterpret_cast<std::complex<Real>*>(m), n1, n2);
    a_->run_batch(m, t, n2, child);  // rows: N1-point transforms over i1
    for (std::size_t i = 0; i < n; ++i) out[output_[i]] = t[i];
  }
  std::size_t work_size() const override { return 2 * this->n + std::max(a_->work_size(), b_->work_size()); }
  std::string describe() const override {
    return fmt::format("GoodThomas({}, {})", a_->describe(), b_->describe());
  }

 private:
  NodePtr<Real> a_, b_;
  std::vector<std::size_t> input_, output_;
};

}  // namespace

template <class Real>
NodePtr<Real> make_good_thomas(NodePtr<Real> first, NodePtr<Real> second) {
  if (gcd(first->n, second->n) != 1)
    throw ValueError(fmt::format("fft: Good–Thomas refuses the split {} × {}: the factors share the divisor {}",
                                 first->n, second->n, gcd(first->n, second->n)));
  return std::make_shared<GoodThomasNode<Real>>(std::move(first), std::move(second));
}
template NodePtr<float> make_good_thomas<float>(NodePtr<float>, NodePtr<float>);
template NodePtr<double> make_good_thomas<double>(NodePtr<double>, NodePtr<double>);

}  // namespace nodal::fft::detail
