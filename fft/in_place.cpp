// In-place mixed-radix Cooley–Tukey with an explicit digit-reversal permutation.
// DIF (Gentleman–Sande) runs the passes outermost first: natural input, spectrum left in the
// digit-reversed order ρ of the radix vector. DIT runs them innermost first: input in order ρ,
// natural output. So ρ(DIF(a)) = F(a) and DIT(ρ(a)) = F(a), and a forward DIF followed by an inverse
// DIT of the same radix vector needs no permutation at all (permutation-free convolution).
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "nodal/core/error.hpp"
#include "nodal/fft/in_place.hpp"
#include "nodal/fft/radix_stage.hpp"
#include "nodal/fft/stockham.hpp"

namespace nodal::fft::detail {
namespace {

template <class Real>
class InPlaceNode final : public Node<Real> {
 public:
  InPlaceNode(std::vector<std::size_t> radices, int sign, Order order, Planning planning)
      : Node<Real>(product(radices), sign), radices_(std::move(radices)), order_(order) {
    const Traversal traversal = order == Order::scrambled ? Traversal::dif : Traversal::dit;
    std::size_t blocks = 1;
    for (std::size_t p : radices_) {
      const std::size_t m = this->n / (blocks * p);
      NodePtr<Real> sub;
      if (!has_butterfly(p)) {
        sub = plan_node<Real>(p, sign, Algorithm::automatic, planning, Order::natural);
        work_ = std::max(work_, 2 * p + sub->work_size());
      }
      stages_.push_back(make_stage<Real>(int(p), m, blocks, sign, traversal, sub));
      blocks *= p;
    }
    if (order == Order::natural) {
      const auto perm = digit_reversal_permutation(radices_);
      perm_.assign(perm.begin(), perm.end());
    }
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t n = this->n;
    if (order_ == Order::natural) {
      note_permutation_pass();
      for (std::size_t i = 0; i < n; ++i) out[i] = in[perm_[i]];
    } else {
      std::copy(in, in + n, out);
    }
    if (order_ == Order::scrambled) {
      for (const auto& st : stages_) st.pass(st, nullptr, out, work);
    } else {
      for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) it->pass(*it, nullptr, out, work);
    }
  }
  std::size_t work_size() const override { return work_; }
  std::string describe() const override {
    const char* kind = order_ == Order::natural ? "InPlace" : order_ == Order::scrambled ? "DIF" : "DIT";
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < radices_.size(); ++i)
      parts.push_back(stages_[i].sub ? fmt::format("[{}]", stages_[i].sub->describe())
                                     : fmt::format("{}", radices_[i]));
    return fmt::format("{}({}{})", kind, fmt::join(parts, "·"), order_ == Order::natural ? ", ρ" : "");
  }

 private:
  static std::size_t product(const std::vector<std::size_t>& r) {
    std::size_t n = 1;
    for (std::size_t p : r) n *= p;
    return n;
  }
  std::vector<std::size_t> radices_;
  Order order_;
  std::vector<RadixStage<Real>> stages_;
  std::vector<std::uint32_t> perm_;
  std::size_t work_ = 0;
};

}  // namespace

template <class Real>
NodePtr<Real> make_in_place(const std::vector<std::size_t>& radices, int sign, Order order, Planning planning) {
  return std::make_shared<InPlaceNode<Real>>(radices, sign, order, planning);
}
template NodePtr<float> make_in_place<float>(const std::vector<std::size_t>&, int, Order, Planning);
template NodePtr<double> make_in_place<double>(const std::vector<std::size_t>&, int, Order, Planning);

}  // namespace nodal::fft::detail

namespace nodal::fft {

template <class Real>
void transform_in_place(const std::vector<std::size_t>& radices, Direction direction, Pass pass,
                        std::complex<Real>* data) {
  for (std::size_t r : radices)
    if (r < 2) throw ValueError(fmt::format("fft::transform_in_place: radices must be ≥ 2, got {}", r));
  const int sign = direction == Direction::forward ? -1 : +1;
  const auto node = detail::make_in_place<Real>(
      radices, sign, pass == Pass::dif ? Order::scrambled : Order::from_scrambled, Planning::estimate);
  std::vector<detail::Cx<Real>> copy(node->n), work(node->work_size() + 1);
  auto* d = reinterpret_cast<detail::Cx<Real>*>(data);
  std::copy(d, d + node->n, copy.begin());
  node->run(copy.data(), d, work.data());
}
template void transform_in_place<float>(const std::vector<std::size_t>&, Direction, Pass, std::complex<float>*);
template void transform_in_place<double>(const std::vector<std::size_t>&, Direction, Pass,
                                         std::complex<double>*);

}  // namespace nodal::fft
