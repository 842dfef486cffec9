// Stockham auto-sort FFT: mixed-radix Cooley–Tukey where every pass reads one buffer and writes the
// other in an order that leaves the final spectrum sorted, so no digit-reversal pass is needed.
// With radices r_1..r_t (N = Π r_i), pass i has stride s = r_1·…·r_{i−1} and sub-length n = N/s
// (see radix_stage.hpp for the pass formula). Buffers alternate so that the last pass writes `out`.
#include <fmt/format.h>

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
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
    // Measured: the lane-transposed batch path wins for tiny n and when the first radix is not 8 (the
    // direct path then runs scalar passes while s < lanes); with a leading radix 8 the direct path is
    // already fully vectorized and avoids the two transposes.
    use_lanes_ = !stages_.empty() && this->n <= lanes_max_n && (this->n <= 32 || radices_.front() != 8);
    // Two threads per pass from 2^17 points (each thread then has ≥ 2^16 points per pass to itself).
    threads_ = this->n >= (std::size_t(1) << 17) && stages_.size() > 1 ? std::min(2, omp_get_max_threads()) : 1;
  }
  void run(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const override {
    const std::size_t t = stages_.size();
    if (t == 0) {
      std::copy(in, in + this->n, out);
      return;
    }
    if (threads_ > 1 && !omp_in_parallel()) {
      run_threaded(in, out, work);
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
  // Batches: groups of `lanes` rows are transposed into vectors (element i of each row in one vector),
  // transformed with full-vector passes, and transposed back; the rest go one by one.
  void run_batch(const Cx<Real>* in, Cx<Real>* out, std::size_t count, Cx<Real>* work) const override {
    constexpr std::size_t W = CxV<Real>::lanes;
    const std::size_t n = this->n, t = stages_.size();
    std::size_t b = 0;
    if (use_lanes_) {
      // Vectors need 64-byte alignment; work_size() reserves the slack to round up.
      const auto address = reinterpret_cast<std::uintptr_t>(work);
      CxV<Real>* u = reinterpret_cast<CxV<Real>*>((address + 63) / 64 * 64);
      CxV<Real>* v = u + n;
      // A remainder of fewer than W rows would run one row at a time, several times slower per row
      // than a vector group. Out of place (in and out disjoint), a last group ending at the last row
      // covers it instead: its first rows are transformed a second time, from the untouched input, to
      // the same values.
      const std::uintptr_t in_begin = reinterpret_cast<std::uintptr_t>(in), out_begin = reinterpret_cast<std::uintptr_t>(out),
                           bytes = count * n * sizeof(Cx<Real>);
      const bool disjoint = in_begin + bytes <= out_begin || out_begin + bytes <= in_begin;
      const std::size_t groups_end = count >= W && count % W != 0 && disjoint ? count : count / W * W;
      for (; b < groups_end; b = std::min(b + W, groups_end)) {
        if (b + W > groups_end) b = groups_end - W;  // the overlapping last group
        const Cx<Real>* src = in + b * n;
        std::size_t i = 0;
        for (; i + W <= n; i += W) {  // W×W blocks transposed in registers
          typename VecTraits<Real>::V r[W];
#pragma GCC unroll 8
          for (std::size_t l = 0; l < W; ++l) r[l] = load_vector(src + l * n + i);
          transpose_lanes(r);
#pragma GCC unroll 8
          for (std::size_t l = 0; l < W; ++l) u[i + l].v = r[l];
        }
        for (; i < n; ++i)
          for (std::size_t l = 0; l < W; ++l) std::memcpy(reinterpret_cast<Cx<Real>*>(u + i) + l, src + l * n + i, sizeof(Cx<Real>));
        CxV<Real>* from = u;
        CxV<Real>* to = v;
        for (std::size_t i = 0; i < t; ++i) {
          stages_[i].pass_lanes(stages_[i], from, to);
          std::swap(from, to);
        }
        Cx<Real>* dst = out + b * n;
        i = 0;
        for (; i + W <= n; i += W) {
          typename VecTraits<Real>::V r[W];
#pragma GCC unroll 8
          for (std::size_t l = 0; l < W; ++l) r[l] = from[i + l].v;
          transpose_lanes(r);
#pragma GCC unroll 8
          for (std::size_t l = 0; l < W; ++l) store_vector(dst + l * n + i, r[l]);
        }
        for (; i < n; ++i)
          for (std::size_t l = 0; l < W; ++l) std::memcpy(dst + l * n + i, reinterpret_cast<const Cx<Real>*>(from + i) + l, sizeof(Cx<Real>));
      }
    }
    for (; b < count; ++b) run(in + b * n, out + b * n, work);
  }
  // Large single transforms: the threads split every pass (over k when there are enough k, otherwise
  // over whole vectors of q) and meet at a barrier between passes.
  void run_threaded(const Cx<Real>* in, Cx<Real>* out, Cx<Real>* work) const {
    const std::size_t t = stages_.size();
#pragma omp parallel num_threads(threads_)
    {
      const std::size_t id = std::size_t(omp_get_thread_num()), nt = std::size_t(omp_get_num_threads());
      constexpr std::size_t W = CxV<Real>::lanes;
      const Cx<Real>* src = in;
      for (std::size_t i = 0; i < t; ++i) {
        Cx<Real>* dst = (t - 1 - i) % 2 == 0 ? out : work;
        const auto& st = stages_[i];
        if (st.m >= 4 * nt * W) {
          st.pass_part(st, src, dst, st.m * id / nt, st.m * (id + 1) / nt, 0, st.s);
        } else {
          const std::size_t blocks = (st.s + W - 1) / W;  // split q at multiples of W
          const std::size_t q0 = std::min(st.s, blocks * id / nt * W), q1 = std::min(st.s, blocks * (id + 1) / nt * W);
          st.pass_part(st, src, dst, 0, st.m, q0, q1);
        }
#pragma omp barrier
        src = dst;
      }
    }
  }

  CxV<Real>* run_lanes(CxV<Real>* a, CxV<Real>* b) const override {
    for (const auto& st : stages_) {
      st.pass_lanes(st, a, b);
      std::swap(a, b);
    }
    return a;
  }
  std::size_t work_size() const override {
    const std::size_t single = stages_.size() > 1 ? this->n : 0;
    const std::size_t lanes = 2 * this->n * CxV<Real>::lanes + 64 / sizeof(Cx<Real>);
    return use_lanes_ ? std::max(single, lanes) : single;
  }
  std::string describe() const override {
    return fmt::format("Stockham({})", fmt::join(radices_, "·"));
  }

 private:
  static std::size_t product(const std::vector<std::size_t>& r) {
    std::size_t n = 1;
    for (std::size_t p : r) n *= p;
    return n;
  }
  static constexpr std::size_t lanes_max_n = 4096;
  bool use_lanes_ = false;
  int threads_ = 1;
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
