// softmax / log_softmax along one axis. The tensor is seen as [outer, n, inner] (n the axis
// extent): every (outer, inner) pair is one line of n elements, `inner` apart.
#include <cmath>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/nodes/softmax.hpp"
#include "nodal/core/registry.hpp"

namespace nodal {
namespace {

struct Lines {
  std::int64_t outer = 1, n = 1, inner = 1;
  Lines(const Shape& shape, std::int64_t axis_attr) {
    const int axis = normalize_axis(int(axis_attr), shape.rank(), "softmax");
    for (int d = 0; d < axis; ++d) outer *= shape[d];
    n = shape[axis];
    for (int d = axis + 1; d < shape.rank(); ++d) inner *= shape[d];
  }
  // f(first element offset of the line); lines split across threads when there are many.
  template <class F> void each(F&& f) const {
    const std::int64_t count = outer * inner;
    cpu::parallel_for(count, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t l = b; l < e; ++l) f((l / inner) * n * inner + l % inner);
    }, std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(n, 1)));
  }
};

// out = softmax (log = false) or log_softmax (log = true) of x along the lines.
template <class T> Tensor normalise(const Tensor& x_in, const Lines& lines, bool log) {
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  if (x.numel() == 0) return y;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const std::int64_t n = lines.n, s = lines.inner;
  lines.each([&](std::int64_t o) {
    T m = px[o];
    for (std::int64_t i = 1; i < n; ++i) m = std::max(m, px[o + i * s]);
    T sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += std::exp(px[o + i * s] - m);
    if (log) {
      const T shift = m + std::log(sum);
      for (std::int64_t i = 0; i < n; ++i) py[o + i * s] = px[o + i * s] - shift;
    } else {
      const T inv = T(1) / sum;
      for (std::int64_t i = 0; i < n; ++i) py[o + i * s] = std::exp(px[o + i * s] - m) * inv;
    }
  });
  return y;
}

// The Jacobian applied to g along each line, from the output y:
//   softmax (vjp with g = ȳ, jvp with g = ẋ: its Jacobian is symmetric): r = y ⊙ (g − Σ g⊙y)
//   log_softmax vjp: r = g − exp(y)·Σ g;   log_softmax jvp (forward_mode): r = g − Σ exp(y)⊙g
template <class T>
Tensor apply_jacobian(const Tensor& y_in, const Tensor& g_in, const Lines& lines, bool log, bool forward_mode) {
  const Tensor y = y_in.contiguous(), g = g_in.contiguous();
  Tensor r = Tensor::empty(y.shape(), y.dtype());
  if (y.numel() == 0) return r;
  const T* py = y.data<T>();
  const T* pg = g.data<T>();
  T* pr = r.data<T>();
  const std::int64_t n = lines.n, s = lines.inner;
  lines.each([&](std::int64_t o) {
    T dot = 0;
    if (!log) {
      for (std::int64_t i = 0; i < n; ++i) dot += pg[o + i * s] * py[o + i * s];
      for (std::int64_t i = 0; i < n; ++i) pr[o + i * s] = py[o + i * s] * (pg[o + i * s] - dot);
    } else if (!forward_mode) {
      for (std::int64_t i = 0; i < n; ++i) dot += pg[o + i * s];
      for (std::int64_t i = 0; i < n; ++i) pr[o + i * s] = pg[o + i * s] - std::exp(py[o + i * s]) * dot;
    } else {
      for (std::int64_t i = 0; i < n; ++i) dot += std::exp(py[o + i * s]) * pg[o + i * s];
      for (std::int64_t i = 0; i < n; ++i) pr[o + i * s] = pg[o + i * s] - dot;
    }
  });
  return r;
}

template <class N, bool Log> struct SoftmaxCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const Lines lines(c.inputs[0].shape(), c.as<N>().axis);
    visit_real_dtype(c.inputs[0].dtype(), c.node.type(), [&](auto tag) {
      c.outputs[0] = normalise<typename decltype(tag)::type>(c.inputs[0], lines, Log);
    });
  }
  // softmax: x̄ = y ⊙ (ȳ − Σ ȳ⊙y);  log_softmax: x̄ = ȳ − softmax(x)·Σ ȳ
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const Lines lines(c.inputs[0].shape(), c.as<N>().axis);
    visit_real_dtype(c.inputs[0].dtype(), c.node.type(), [&](auto tag) {
      c.input_cotangents[0] = apply_jacobian<typename decltype(tag)::type>(c.outputs[0], c.output_cotangents[0], lines, Log, false);
    });
  }
  // softmax: ẏ = y ⊙ (ẋ − Σ ẋ⊙y);  log_softmax: ẏ = ẋ − Σ softmax(x)⊙ẋ
  void jvp(const JvpCall& c) const override {
    const Lines lines(c.inputs[0].shape(), c.as<N>().axis);
    visit_real_dtype(c.inputs[0].dtype(), c.node.type(), [&](auto tag) {
      c.output_tangents[0] = apply_jacobian<typename decltype(tag)::type>(c.outputs[0], c.input_tangents[0], lines, Log, true);
    });
  }
};

using SoftmaxImpl = SoftmaxCpu<Softmax, false>;
using LogSoftmaxImpl = SoftmaxCpu<LogSoftmax, true>;
NODAL_REGISTER_IMPL("softmax", Backend::cpu, SoftmaxImpl);
NODAL_REGISTER_IMPL("log_softmax", Backend::cpu, LogSoftmaxImpl);

}  // namespace
}  // namespace nodal
