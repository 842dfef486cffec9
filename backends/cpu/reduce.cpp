// CPU forward, vjp and jvp of sum, mean and max over axes (nodes/reduce.hpp).
//
// The input is viewed with its kept axes first and its reduced axes last, made contiguous (a
// copy only when the reduced axes are not already the trailing ones), so every output element
// reduces one contiguous row of `inner` elements: Eigen's vectorised sum, a plain loop for max.
#include <array>

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics when Eigen's packet
// math is inlined (a false positive in avx512fintrin.h); silence it for this file only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/reduce.hpp"

namespace nodal {
namespace {

struct Layout {
  std::array<int, Shape::max_rank> perm{};     // kept axes, then reduced axes
  std::array<int, Shape::max_rank> inverse{};  // perm's inverse
  int rank = 0;
  bool identity = true;
  std::int64_t outer = 1, inner = 1;  // output elements, elements reduced into each
  Shape keep_shape;                   // the output shape with keepdims
};

Layout layout_of(const Reduce& n, const Shape& shape) {
  Layout l;
  l.rank = shape.rank();
  const std::vector<std::uint8_t> reduced = reduced_axes(n.axes, l.rank, n.type());
  int k = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (int a = 0; a < l.rank; ++a)
      if (bool(reduced[a]) == bool(pass)) {
        l.perm[k] = a;
        l.inverse[a] = k;
        l.identity = l.identity && a == k;
        ++k;
        (pass ? l.inner : l.outer) *= shape[a];
      }
  l.keep_shape = reduced_shape(shape, reduced, true);
  return l;
}

// x viewed as [outer, inner] rows, contiguous.
Tensor rows_of(const Tensor& x, const Layout& l) {
  if (l.identity) return x.contiguous();
  return x.permute(std::span<const int>(l.perm.data(), l.rank)).contiguous();
}

template <class T> using Row = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// out[r] = Σ row r. A single long row is cut into a fixed number of chunks whose partial sums
// are added in order, so the result does not depend on the number of threads.
template <class T> void row_sums(const T* src, std::int64_t outer, std::int64_t inner, T* out) {
  if (outer == 1 && inner >= 2 * cpu::parallel_grain) {
    constexpr std::int64_t chunks = 64;
    std::array<T, chunks> partial{};
    cpu::parallel_for(chunks, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t k = b; k < e; ++k) {
        const std::int64_t s = inner * k / chunks, t = inner * (k + 1) / chunks;
        partial[k] = Row<T>(src + s, t - s).sum();
      }
    }, 1);
    T total{};
    for (const T& p : partial) total += p;
    out[0] = total;
    return;
  }
  cpu::parallel_for(outer, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) out[r] = inner == 0 ? T{} : Row<T>(src + r * inner, inner).sum();
  }, std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(inner, 1)));
}

// Index of the first maximal element (the first NaN if there is one: NaN propagates).
template <class T> std::int64_t row_argmax(const T* p, std::int64_t n) {
  std::int64_t best = 0;
  for (std::int64_t i = 1; i < n; ++i) {
    if (p[best] != p[best]) break;
    if (p[i] > p[best] || p[i] != p[i]) best = i;
  }
  return best;
}

// sum, mean or max of x over the node's axes, shaped as the node's output.
template <class T> Tensor reduce_forward(const Reduce& n, const Tensor& x, const Shape& out_shape) {
  const Layout l = layout_of(n, x.shape());
  const Tensor rows = rows_of(x, l);
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.backend());
  const T* src = rows.data<T>();
  T* dst = out.data<T>();
  if (n.op == ReduceOp::max) {
    if constexpr (!is_complex_v<T>) {
      cpu::parallel_for(l.outer, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t r = b; r < e; ++r) dst[r] = src[r * l.inner + row_argmax(src + r * l.inner, l.inner)];
      }, std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(l.inner, 1)));
      return out;
    }
    throw DTypeError("max: complex numbers have no order");
  }
  row_sums<T>(src, l.outer, l.inner, dst);
  if (n.op == ReduceOp::mean) {
    // mean of nothing is 0/0 = NaN, as NumPy
    using R = decltype(std::abs(T{}));
    const R scale = R(1) / R(l.inner);
    for (std::int64_t r = 0; r < l.outer; ++r) dst[r] *= scale;
  }
  return out;
}

struct ReduceCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    const Shape out_shape = n.infer(std::span<const TensorSpec>(std::array{spec_of(x)}))[0].shape;
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      c.outputs[0] = reduce_forward<T>(n, x, out_shape);
    });
  }

  void vjp(const VjpCall& c) const override {
    const Tensor& g = c.output_cotangents[0];
    if (!c.wanted[0] || !g.defined()) return;
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    const Layout l = layout_of(n, x.shape());
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor gk = g.contiguous().reshape(l.keep_shape);
      if (n.op == ReduceOp::sum) {
        // x̄ = ȳ broadcast back over the reduced axes
        c.input_cotangents[0] = gk.expand(x.shape()).contiguous();
      } else if (n.op == ReduceOp::mean) {
        // x̄ = ȳ / n broadcast back over the reduced axes
        using R = decltype(std::abs(T{}));
        const R scale = R(1) / R(l.inner);
        c.input_cotangents[0] = cpu::map_unary<T, T>(gk.expand(x.shape()), [scale](T v) { return v * scale; });
      } else if constexpr (!is_complex_v<T>) {
        // x̄ = ȳ at the first argmax of each reduced row, 0 elsewhere
        const Tensor rows = rows_of(x, l);
        Tensor grad_rows = Tensor::zeros(rows.shape(), x.dtype(), x.backend());
        const T* src = rows.data<T>();
        const T* gy = gk.data<T>();
        T* dst = grad_rows.data<T>();
        for (std::int64_t r = 0; r < l.outer; ++r) dst[r * l.inner + row_argmax(src + r * l.inner, l.inner)] = gy[r];
        c.input_cotangents[0] =
            l.identity ? grad_rows : grad_rows.permute(std::span<const int>(l.inverse.data(), l.rank)).contiguous();
      }
    });
  }

  void jvp(const JvpCall& c) const override {
    const Tensor& t = c.input_tangents[0];
    if (!t.defined()) return;
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    const Shape& out_shape = c.outputs[0].shape();
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (n.op != ReduceOp::max) {
        // ẏ = sum(ẋ) or mean(ẋ): the reduction is linear
        c.output_tangents[0] = reduce_forward<T>(n, t, out_shape);
      } else if constexpr (!is_complex_v<T>) {
        // ẏ = ẋ at the first argmax of each reduced row
        const Layout l = layout_of(n, x.shape());
        const Tensor rows = rows_of(x, l), t_rows = rows_of(t, l);
        Tensor out = Tensor::empty(out_shape, x.dtype(), x.backend());
        const T* src = rows.data<T>();
        const T* tan = t_rows.data<T>();
        T* dst = out.data<T>();
        for (std::int64_t r = 0; r < l.outer; ++r) dst[r] = tan[r * l.inner + row_argmax(src + r * l.inner, l.inner)];
        c.output_tangents[0] = out;
      }
    });
  }
};

NODAL_REGISTER_IMPL("sum", Backend::cpu, ReduceCpu);
NODAL_REGISTER_IMPL("mean", Backend::cpu, ReduceCpu);
NODAL_REGISTER_IMPL("max", Backend::cpu, ReduceCpu);

}  // namespace
}  // namespace nodal
