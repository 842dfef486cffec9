// Stockham auto-sort FFT: mixed-radix Cooley–Tukey where every pass reads one buffer and writes the
// other in an order that leaves the final spectrum sorted, so no digit-reversal pass is needed.
// With radices r_1..r_t (N = Π r_i), pass i has stride s = r_1·…·r_{i−1} and sub-length n = N/s
// (see radix_stage.hpp for the pass formula). Buffers alternate so that the last pass writes `out`.
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "nodal/fft/radix_stage.hpp"
#include "nodal/fft/stockham.hpp"

namespace nodal::fft::detail {
namespace {

template <class Real>
class StockhamNode final : public Node<Real> {
 public:
  StockhamNode(std::vector<std::size_t> radices, int sign) : Node<Real>(product(radices), sign), radices_(radices) {
    std::size_t s = 1;
    for (std::size_t p : radices_) {
      const std::size_t m = this->n / (s * p);
      stages_.push_back(make_stage<Real>(int(p), m, s, sign, Traversal::stockham, nullptr));
      s *= p;
    }
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t t = stages_.size();
    if (t == 0) {
      std::copy(in, in + this->n, out);
      return;
    }
    // Pass i writes `out` when t − 1 − i is even, `work` otherwise.
    const Cx<Real>* src = in;
    for (std::size_t i = 0; i < t; ++i) {
      Cx<Real>* dst = (t - 1 - i) % 2 == 0 ? out : work;
      stages_[i].pass(stages_[i], src, dst, nullptr);
      src = dst;
    }
  }
  std::size_t work_size() const override { return stages_.size() > 1 ? this->n : 0; }
  std::string describe() const override {
    return fmt::format("Stockham({})", fmt::join(radices_, "·"));
  }

 private:
  static std::size_t product(const std::vector<std::size_t>& r) {
    std::size_t n = 1;
    for (std::size_t p : r) n *= p;
    return n;
  }
  std::vector<std::size_t> radices_;
  std::vector<RadixStage<Real>> stages_;
};

}  // namespace

template <class Real>
NodePtr<Real> make_stockham(const std::vector<std::size_t>& radices, int sign) {
  return std::make_shared<StockhamNode<Real>>(radices, sign);
}
template NodePtr<float> make_stockham<float>(const std::vector<std::size_t>&, int);
template NodePtr<double> make_stockham<double>(const std::vector<std::size_t>&, int);

}  // namespace nodal::fft::detail
