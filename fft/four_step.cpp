// Four-step (Bailey) Cooley–Tukey for large N = N1·N2 with N1 ≈ N2 ≈ √N, so every sub-transform and
// every transpose tile fits in cache. With n = N2·i1 + i2 and k = k1 + N1·k2:
//   X[k1 + N1·k2] = Σ_{i2} ω_{N2}^{i2·k2} · ω_N^{i2·k1} · Σ_{i1} x[N2·i1 + i2]·ω_{N1}^{i1·k1}
// Steps: N1-point transforms of the columns of the N1×N2 input, taken a panel of `panel` columns at a
// time (gathered into a contiguous panel, transformed, multiplied by ω_N^{i2·k1}, scattered back), so
// no full-size transpose is needed for them; then N2-point transforms of the rows; then one transpose
// to natural order. Twiddles come from a double-precision table.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "nodal/fft/algorithms.hpp"
#include "nodal/fft/simd.hpp"
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
    // Lane-ready twiddles ω_N^{i2·k1} laid out [k1][i2] as (re, re) and (−im, im) pairs, so W
    // consecutive columns i2 take one vector load.
    lane_re_.resize(2 * this->n);
    lane_im_.resize(2 * this->n);
    for (std::size_t k1 = 0; k1 < n1; ++k1)
      for (std::size_t i2 = 0; i2 < n2; ++i2) {
        const auto w = twiddles_[i2 * n1 + k1];
        const std::size_t at = 2 * (k1 * n2 + i2);
        lane_re_[at] = lane_re_[at + 1] = w.re;
        lane_im_[at] = -w.im;
        lane_im_[at + 1] = w.im;
      }
    // Two threads share the row transforms once the transform is large enough to pay for the hand-off.
    threads_ = this->n >= (std::size_t(1) << 16) ? std::max(1, std::min(omp_get_max_threads(), 2)) : 1;
    // Panel buffers (2·panel·N1, which also hold the 2·N1 lane vectors plus alignment slack) and the
    // children's work.
    per_thread_ = 2 * panel * first_n() + 64 / sizeof(Cx<Real>) + std::max(a_->work_size(), b_->work_size());
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t n = this->n, n1 = a_->n, n2 = b_->n;
    Cx<Real>* u = work;      // [k1][i2] after the column pass
    Cx<Real>* v = work + n;  // [k1][k2] after the row pass
    Cx<Real>* scratch = work + 2 * n;
    const std::size_t panels = (n2 + panel - 1) / panel;
    parallel(panels, scratch, [&](std::size_t first, std::size_t last, Cx<Real>* w) {
      Cx<Real>* gathered = w;
      Cx<Real>* transformed = w + panel * n1;
      Cx<Real>* child = w + 2 * panel * n1;
      for (std::size_t p = first; p < last; ++p) {
        const std::size_t c0 = p * panel, width = std::min(panel, n2 - c0);
        if (width == panel && lanes_columns(in, u, c0, w)) continue;
        for (std::size_t i1 = 0; i1 < n1; ++i1)
          for (std::size_t b = 0; b < width; ++b) gathered[b * n1 + i1] = in[i1 * n2 + c0 + b];
        a_->run_batch(gathered, transformed, width, child);
        for (std::size_t k1 = 0; k1 < n1; ++k1)
          for (std::size_t b = 0; b < width; ++b)
            u[k1 * n2 + c0 + b] = transformed[b * n1 + k1] * twiddles_[(c0 + b) * n1 + k1];
      }
    });
    parallel(n1, scratch, [&](std::size_t first, std::size_t last, Cx<Real>* w) {
      b_->run_batch(u + first * n2, v + first * n2, last - first, w);
    });
    transpose_cx(v, out, n1, n2);
  }
  std::size_t work_size() const override { return 2 * this->n + std::size_t(threads_) * per_thread_; }
  std::string describe() const override { return fmt::format("FourStep({}, {})", a_->describe(), b_->describe()); }

 private:
  static constexpr std::size_t panel = 16;  // columns per panel: 16 complex = 256 contiguous bytes per row read
  static constexpr std::size_t W = CxV<Real>::lanes;

  // Columns c0..c0+panel−1 through the child's lane engine: row i1 of W adjacent columns is already one
  // vector, so the panel needs no transpose at all. Returns false if the child has no lane engine.
  bool lanes_columns(const Cx<Real>* in, Cx<Real>* u, std::size_t c0, Cx<Real>* w) const {
    constexpr std::size_t groups = panel / W;
    const std::size_t n1 = a_->n, n2 = b_->n;
    const auto address = reinterpret_cast<std::uintptr_t>(w);
    CxV<Real>* base = reinterpret_cast<CxV<Real>*>((address + 63) / 64 * 64);
    // One sweep over the rows reads the whole panel (panel·16 bytes contiguous per row), so each row's
    // cache lines are fetched once; the large power-of-two row stride makes revisits expensive.
    for (std::size_t i1 = 0; i1 < n1; ++i1)
      for (std::size_t g = 0; g < groups; ++g) base[2 * g * n1 + i1] = load(in + i1 * n2 + c0 + g * W);
    const CxV<Real>* result[groups];
    for (std::size_t g = 0; g < groups; ++g) {
      result[g] = a_->run_lanes(base + 2 * g * n1, base + 2 * g * n1 + n1);
      if (!result[g]) return false;
    }
    using U = typename VecTraits<Real>::Unaligned;
    for (std::size_t k1 = 0; k1 < n1; ++k1)
      for (std::size_t g = 0; g < groups; ++g) {
        const std::size_t c = c0 + g * W, at = 2 * (k1 * n2 + c);
        const TwV<Real> t{*reinterpret_cast<const U*>(lane_re_.data() + at), *reinterpret_cast<const U*>(lane_im_.data() + at)};
        store(u + k1 * n2 + c, twiddle(result[g][k1], t));
      }
    return true;
  }
  // Splits [0, count) over the threads; each gets its own slice of scratch.
  template <class F>
  void parallel(std::size_t count, Cx<Real>* scratch, F&& body) const {
    if (threads_ <= 1 || omp_in_parallel() || count < 2) {
      body(0, count, scratch);
      return;
    }
#pragma omp parallel num_threads(threads_)
    {
      const std::size_t t = std::size_t(omp_get_thread_num()), nt = std::size_t(omp_get_num_threads());
      body(count * t / nt, count * (t + 1) / nt, scratch + t * per_thread_);
    }
  }
  NodePtr<Real> a_, b_;
  std::vector<Cx<Real>> twiddles_;
  std::vector<Real> lane_re_, lane_im_;
  std::size_t first_n() const { return a_->n; }
  int threads_ = 1;
  std::size_t per_thread_ = 0;
};

}  // namespace

template <class Real>
NodePtr<Real> make_four_step(NodePtr<Real> first, NodePtr<Real> second) {
  return std::make_shared<FourStepNode<Real>>(std::move(first), std::move(second));
}
template NodePtr<float> make_four_step<float>(NodePtr<float>, NodePtr<float>);
template NodePtr<double> make_four_step<double>(NodePtr<double>, NodePtr<double>);

}  // namespace nodal::fft::detail
