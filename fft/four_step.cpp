// Four-step (Bailey) Cooley–Tukey for large N = N1·N2 with N1 ≈ N2 ≈ √N, so every sub-transform and
// every transpose tile fits in cache. With n = N2·i1 + i2 and k = k1 + N1·k2:
//   X[k1 + N1·k2] = Σ_{i2} ω_{N2}^{i2·k2} · ω_N^{i2·k1} · Σ_{i1} x[N2·i1 + i2]·ω_{N1}^{i1·k1}
// Steps: transpose (N1×N2 → N2×N1), N1-point row transforms, twiddle ω_N^{i2·k1}, transpose,
// N2-point row transforms, transpose to natural order. Twiddles come from a double-precision table.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>

#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/transpose.hpp"
#include "nodal/fft/twiddle.hpp"

namespace nodal::fft::detail {
namespace {

template <class Real>
void transpose_cx(const Cx<Real>* in, Cx<Real>* out, std::size_t rows, std::size_t cols) {
  transpose(reinterpret_cast<const std::complex<Real>*>(in), reinterpret_cast<std::complex<Real>*>(out), rows, cols);
}

template <class Real>
class FourStepNode final : public Node<Real> {
 public:
  FourStepNode(NodePtr<Real> first, NodePtr<Real> second)
      : Node<Real>(first->n * second->n, first->sign), a_(std::move(first)), b_(std::move(second)) {
    const std::size_t n1 = a_->n, n2 = b_->n;
    twiddles_.resize(this->n);
    for (std::size_t i2 = 0; i2 < n2; ++i2)
      for (std::size_t k1 = 0; k1 < n1; ++k1) {
        const auto w = unit_root(std::uint64_t(i2) * k1, this->n, this->sign);
        twiddles_[i2 * n1 + k1] = {Real(w.real()), Real(w.imag())};
      }
    // Two threads share the row transforms once the transform is large enough to pay for the hand-off.
    threads_ = this->n >= (std::size_t(1) << 16) ? std::max(1, std::min(omp_get_max_threads(), 2)) : 1;
    child_work_ = std::max(a_->work_size(), b_->work_size());
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t n = this->n, n1 = a_->n, n2 = b_->n;
    Cx<Real>* u = work;
    Cx<Real>* v = work + n;
    Cx<Real>* child = work + 2 * n;
    transpose_cx(in, u, n1, n2);
    rows(*a_, u, v, n2, child, true);
    transpose_cx(v, u, n2, n1);
    rows(*b_, u, v, n1, child, false);
    transpose_cx(v, out, n1, n2);
  }
  std::size_t work_size() const override { return 2 * this->n + std::size_t(threads_) * child_work_; }
  std::string describe() const override { return fmt::format("FourStep({}, {})", a_->describe(), b_->describe()); }

 private:
  // count rows of length node.n: src → dst, then (first pass) the twiddles ω_N^{row·k1}.
  void rows(const Node<Real>& node, const Cx<Real>* src, Cx<Real>* dst, std::size_t count, Cx<Real>* child,
            bool twiddle) const {
    const std::size_t len = node.n;
    auto part = [&](std::size_t first, std::size_t last, Cx<Real>* w) {
      node.run_batch(src + first * len, dst + first * len, last - first, w);
      if (twiddle)
        for (std::size_t i = first * len; i < last * len; ++i) dst[i] = dst[i] * twiddles_[i];
    };
    if (threads_ <= 1 || omp_in_parallel() || count < 2) {
      part(0, count, child);
      return;
    }
#pragma omp parallel num_threads(threads_)
    {
      const std::size_t t = std::size_t(omp_get_thread_num()), nt = std::size_t(omp_get_num_threads());
      part(count * t / nt, count * (t + 1) / nt, child + t * child_work_);
    }
  }
  NodePtr<Real> a_, b_;
  std::vector<Cx<Real>> twiddles_;
  int threads_ = 1;
  std::size_t child_work_ = 0;
};

}  // namespace

template <class Real>
NodePtr<Real> make_four_step(NodePtr<Real> first, NodePtr<Real> second) {
  return std::make_shared<FourStepNode<Real>>(std::move(first), std::move(second));
}
template NodePtr<float> make_four_step<float>(NodePtr<float>, NodePtr<float>);
template NodePtr<double> make_four_step<double>(NodePtr<double>, NodePtr<double>);

}  // namespace nodal::fft::detail
