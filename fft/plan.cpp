// Plan: validates a Spec, asks the planner for an algorithm tree, and runs that tree over the batch
// layout. Rows that are contiguous are transformed directly; strided rows are gathered into per-thread
// scratch and scattered back, so rows, columns and interleaved channels all work without user copies.
// Scaling is fused into the scatter (or a final in-place pass).
#include "nodal/fft/plan.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "nodal/core/error.hpp"
#include "nodal/fft/node.hpp"
#include "nodal/fft/workspace.hpp"

namespace nodal::fft {
namespace {

const char* name(Order o) {
  switch (o) {
    case Order::natural: return "natural";
    case Order::scrambled: return "scrambled";
    default: return "from_scrambled";
  }
}

void validate(const Spec& s) {
  if (s.n == 0) throw ValueError("fft::Plan: transform length n must be at least 1, got 0");
  if (s.batch == 0) throw ValueError(fmt::format("fft::Plan: batch must be at least 1, got 0 (n = {})", s.n));
  if (s.n > (std::size_t(1) << 40))
    throw ValueError(fmt::format("fft::Plan: transform length n = {} exceeds the supported 2^40", s.n));
  if (s.n > 1 && (s.in_stride == 0 || s.out_stride == 0))
    throw ValueError(fmt::format("fft::Plan: strides must be non-zero for n = {} (in_stride = {}, out_stride = {})",
                                 s.n, s.in_stride, s.out_stride));
  if (s.order == Order::scrambled && s.direction != Direction::forward)
    throw ValueError("fft::Plan: Order::scrambled (DIF without digit reversal) is forward-only; "
                     "an inverse plan must use Order::from_scrambled or Order::natural");
  if (s.order == Order::from_scrambled && s.direction != Direction::inverse)
    throw ValueError("fft::Plan: Order::from_scrambled (DIT consuming a scrambled spectrum) is inverse-only; "
                     "a forward plan must use Order::scrambled or Order::natural");
}

}  // namespace

template <class Real>
Plan<Real>::Plan(const Spec& spec) : Plan(spec, Algorithm::automatic) {}

template <class Real>
Plan<Real>::Plan(const Spec& spec, Algorithm forced) : spec_(spec) {
  validate(spec);
  in_distance_ = spec.in_distance != 0 ? spec.in_distance : std::ptrdiff_t(spec.n) * spec.in_stride;
  out_distance_ = spec.out_distance != 0 ? spec.out_distance : std::ptrdiff_t(spec.n) * spec.out_stride;
  const int sign = spec.direction == Direction::forward ? -1 : +1;
  root_ = detail::plan_node<Real>(spec.n, sign, forced, spec.planning, spec.order);
}

template <class Real>
const Spec& Plan<Real>::spec() const {
  return spec_;
}

template <class Real>
std::string Plan<Real>::describe() const {
  std::string line = fmt::format("{} = {}", spec_.n, root_->describe());
  if (spec_.batch > 1) line += fmt::format(" ×{} batch", spec_.batch);
  if (spec_.order != Order::natural) line += fmt::format(" [{}]", name(spec_.order));
  return line;
}

template <class Real>
void Plan<Real>::execute(const Complex* in_c, Complex* out_c) const {
  using C = detail::Cx<Real>;
  if (in_c == nullptr || out_c == nullptr)
    throw ValueError(fmt::format("fft::Plan::execute: null {} pointer (n = {})", in_c ? "output" : "input", spec_.n));
  const bool aliased = static_cast<const void*>(in_c) == static_cast<const void*>(out_c);
  if (aliased && (spec_.in_stride != spec_.out_stride || in_distance_ != out_distance_))
    throw ValueError(fmt::format(
        "fft::Plan::execute: in-place execution needs equal input and output layouts "
        "(in_stride {}, out_stride {}, in_distance {}, out_distance {})",
        spec_.in_stride, spec_.out_stride, in_distance_, out_distance_));
  const C* in = reinterpret_cast<const C*>(in_c);
  C* out = reinterpret_cast<C*>(out_c);
  const std::size_t n = spec_.n;
  const Real factor = spec_.scaling == Scaling::none ? Real(1)
                      : spec_.scaling == Scaling::by_n ? Real(1.0 / double(n))
                                                       : Real(1.0 / std::sqrt(double(n)));
  const std::ptrdiff_t is = spec_.in_stride, os = spec_.out_stride;
  const std::size_t node_work = root_->work_size();
  const detail::Node<Real>& node = *root_;

  // Work for rows [first, last): gather/scatter buffers only where the layout needs them.
  auto run_rows = [&](std::size_t first, std::size_t last) {
    C* scratch = static_cast<C*>(detail::Workspace::for_this_thread().get((node_work + 2 * n) * sizeof(C)));
    C* row_in = scratch + node_work;
    C* row_out = row_in + n;
    const bool dense = !aliased && is == 1 && os == 1 && in_distance_ == std::ptrdiff_t(n) &&
                       out_distance_ == std::ptrdiff_t(n);
    if (dense) {
      node.run_batch(in + std::ptrdiff_t(first) * in_distance_, out + std::ptrdiff_t(first) * out_distance_,
                     last - first, scratch);
      if (factor != Real(1)) {
        C* o = out + std::ptrdiff_t(first) * out_distance_;
        for (std::size_t i = 0, m = (last - first) * n; i < m; ++i) o[i] = detail::scale(o[i], factor);
      }
      return;
    }
    for (std::size_t b = first; b < last; ++b) {
      const C* src = in + std::ptrdiff_t(b) * in_distance_;
      C* dst = out + std::ptrdiff_t(b) * out_distance_;
      const C* x = src;
      if (is != 1 || aliased) {
        for (std::size_t i = 0; i < n; ++i) row_in[i] = src[std::ptrdiff_t(i) * is];
        x = row_in;
      }
      C* y = os == 1 && !aliased ? dst : row_out;
      node.run(x, y, scratch);
      if (y == dst) {
        if (factor != Real(1))
          for (std::size_t i = 0; i < n; ++i) dst[i] = detail::scale(dst[i], factor);
      } else {
        for (std::size_t i = 0; i < n; ++i) dst[std::ptrdiff_t(i) * os] = detail::scale(y[i], factor);
      }
    }
  };

  const std::size_t batch = spec_.batch;
  // Threads only pay off above ~2^15 points of work per thread and with at least two rows.
  const int threads = std::min<int>(omp_get_max_threads(), int(std::min<std::size_t>(batch, n * batch >> 15)));
  if (threads <= 1 || omp_in_parallel()) {
    run_rows(0, batch);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = std::size_t(omp_get_thread_num()), nt = std::size_t(omp_get_num_threads());
    run_rows(batch * t / nt, batch * (t + 1) / nt);
  }
}

template <class Real>
std::shared_ptr<const Plan<Real>> Plan<Real>::cached(const Spec& spec) {
  using Key = std::tuple<std::size_t, std::size_t, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,
                         int, int, int, int>;
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const Plan>> cache;
  const Key key{spec.n,          spec.batch,
                spec.in_stride,  spec.in_distance,
                spec.out_stride, spec.out_distance,
                int(spec.direction), int(spec.scaling),
                int(spec.order), int(spec.planning)};
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  // Plan outside the lock (measuring can take a while); the first insertion wins.
  auto plan = std::make_shared<const Plan>(spec);
  std::lock_guard lock(mutex);
  return cache.emplace(key, std::move(plan)).first->second;
}

template class Plan<float>;
template class Plan<double>;

}  // namespace nodal::fft
