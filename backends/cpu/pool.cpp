// CPU pooling kernels. Every kernel works on one H×W plane at a time and the planes (N·C of
// them) are spread over the cores; within a plane the innermost loop runs along an output row
// (one window offset (a, b) at a time) so it is a contiguous, vectorisable sweep for stride 1.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/pool.hpp"

namespace nodal {
namespace {

// The output columns ow whose input column ow·s + offset lies in [0, W).
struct ColumnRange {
  std::int64_t begin, end;
};
ColumnRange valid_columns(std::int64_t offset, std::int64_t stride, std::int64_t in_w, std::int64_t out_w) {
  const std::int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t last = in_w - 1 - offset;  // ow·s ≤ last
  const std::int64_t end = last < 0 ? 0 : std::min(out_w, last / stride + 1);
  return {begin, std::max(begin, end)};
}

// Runs f(plane) for every plane, several planes per thread when a plane is little work.
template <class F> void for_each_plane(const PoolGeometry& g, std::int64_t work_per_plane, F&& f) {
  const std::int64_t grain = std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(work_per_plane, 1));
  cpu::parallel_for(g.planes, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) f(p);
  }, grain);
}

// ---------------------------------------------------------------- max pooling

// y[o] = max_{i ∈ window(o)} x[i], idx[o] = argmax (first in row-major window order; NaN wins).
// The running maximum and its position are updated together by selects on a row of outputs, with
// the position in an integer of the value's width (int32 for float, int64 for double) so the
// compare and both selects vectorise as one mask. Visiting the taps in row-major order with a
// strict `>` keeps the first maximum; `v != v` lets a NaN in (and a later NaN replace it), as
// PyTorch's `val > max || isnan(val)` does. A window of −∞ only keeps position −1 through the
// sweep and then points at its first element, again as PyTorch.
template <class T, class I> void max_pool_plane(const PoolGeometry& g, const T* x, T* y, double* idx, I* at) {
  const std::int64_t W = g.in_w, OW = g.out_w;
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    T* yr = y + oh * OW;
    std::fill(yr, yr + OW, -std::numeric_limits<T>::infinity());
    std::fill(at, at + OW, I(-1));
    std::int64_t first_row = -1;
    for (std::int64_t a = 0; a < g.kernel[0]; ++a) {
      const std::int64_t ih = oh * g.stride[0] - g.padding[0] + a * g.dilation[0];
      if (ih < 0 || ih >= g.in_h) continue;
      if (first_row < 0) first_row = ih;
      const T* xr = x + ih * W;
      for (std::int64_t b = 0; b < g.kernel[1]; ++b) {
        const std::int64_t off = b * g.dilation[1] - g.padding[1];
        const ColumnRange cols = valid_columns(off, g.stride[1], W, OW);
        const I base = I(ih * W + off), step = I(g.stride[1]);
        for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) {
          const T v = xr[ow * g.stride[1] + off];
          const bool take = v > yr[ow] || v != v;
          yr[ow] = take ? v : yr[ow];
          at[ow] = take ? I(base + I(ow) * step) : at[ow];
        }
      }
    }
    double* ir = idx + oh * OW;
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      if (at[ow] >= 0) {
        ir[ow] = double(at[ow]);
        continue;
      }
      // All −∞: the first input element of the window (the first valid row and column).
      std::int64_t iw = ow * g.stride[1] - g.padding[1];
      while (iw < 0) iw += g.dilation[1];
      ir[ow] = double(first_row * W + iw);
    }
  }
}

struct MaxPool2dCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const PoolGeometry g = c.as<MaxPool2d>().geometry(c.inputs[0].shape());
    const Tensor x = c.inputs[0].contiguous();
    Tensor y = Tensor::empty(g.output_shape, x.dtype());
    Tensor idx = Tensor::empty(g.output_shape, DType::float64);
    visit_real_dtype(x.dtype(), "max_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = y.data<T>();
      double* pi = idx.data<double>();
      const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
      // Positions in an integer as wide as T (one vector mask for value and position); a float
      // plane too large for int32 positions falls back to int64.
      using Narrow = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
      const auto run = [&]<class I>(TypeTag<I>) {
        const std::int64_t grain = std::max<std::int64_t>(
            1, cpu::parallel_grain / std::max<std::int64_t>(out_plane * g.kernel[0] * g.kernel[1], 1));
        cpu::parallel_for(g.planes, [&](std::int64_t p0, std::int64_t p1) {
          std::vector<I> at(std::size_t(g.out_w));  // once per thread, not per plane
          for (std::int64_t p = p0; p < p1; ++p)
            max_pool_plane<T, I>(g, px + p * in_plane, py + p * out_plane, pi + p * out_plane, at.data());
        }, grain);
      };
      if (in_plane < (std::int64_t(1) << 31)) run(TypeTag<Narrow>{});
      else run(TypeTag<std::int64_t>{});
    });
    c.outputs[0] = y;
    c.outputs[1] = idx;
  }
  // x̄[idx[o]] += ȳ[o]; the indices output carries no gradient, so its cotangent is ignored.
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const PoolGeometry g = c.as<MaxPool2d>().geometry(c.inputs[0].shape());
    const Tensor gy = c.output_cotangents[0].contiguous();
    const Tensor idx = c.outputs[1].contiguous();
    Tensor dx = Tensor::zeros(c.inputs[0].shape(), c.inputs[0].dtype());
    visit_real_dtype(dx.dtype(), "max_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = gy.data<T>();
      const double* pi = idx.data<double>();
      T* pdx = dx.data<T>();
      const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
      for_each_plane(g, out_plane, [&](std::int64_t p) {
        T* d = pdx + p * in_plane;
        for (std::int64_t o = p * out_plane; o < (p + 1) * out_plane; ++o) d[std::int64_t(pi[o])] += pg[o];
      });
    });
    c.input_cotangents[0] = dx;
  }
  // ẏ[o] = ẋ[idx[o]]; the indices' tangent is zero (left undefined).
  void jvp(const JvpCall& c) const override {
    const PoolGeometry g = c.as<MaxPool2d>().geometry(c.inputs[0].shape());
    const Tensor dx = c.input_tangents[0].contiguous();
    const Tensor idx = c.outputs[1].contiguous();
    Tensor dy = Tensor::empty(g.output_shape, dx.dtype());
    visit_real_dtype(dx.dtype(), "max_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pdx = dx.data<T>();
      const double* pi = idx.data<double>();
      T* pdy = dy.data<T>();
      const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
      for_each_plane(g, out_plane, [&](std::int64_t p) {
        const T* s = pdx + p * in_plane;
        for (std::int64_t o = p * out_plane; o < (p + 1) * out_plane; ++o) pdy[o] = s[std::int64_t(pi[o])];
      });
    });
    c.output_tangents[0] = dy;
  }
};

// ---------------------------------------------------------------- average pooling

// PyTorch's divisor: the window clipped to the padded input (ceil_mode may run past it), counted
// with padding (count_include_pad) or without (only the input elements it covers). Either way it
// is a product of a row extent and a column extent, so 1/divisor = inv_h[oh]·inv_w[ow] is
// computed once per call, and the per-output division becomes a vectorisable multiply.
struct AvgDivisor {
  std::vector<double> inv_h, inv_w;
  AvgDivisor(const PoolGeometry& g, bool include_pad) {
    const auto extent = [&](std::size_t i, std::int64_t in, std::int64_t o) {
      const std::int64_t start = o * g.stride[i] - g.padding[i];
      const std::int64_t end = std::min(start + g.kernel[i], in + g.padding[i]);
      return include_pad ? end - start : std::min(end, in) - std::max<std::int64_t>(start, 0);
    };
    for (std::int64_t o = 0; o < g.out_h; ++o) inv_h.push_back(1.0 / double(extent(0, g.in_h, o)));
    for (std::int64_t o = 0; o < g.out_w; ++o) inv_w.push_back(1.0 / double(extent(1, g.in_w, o)));
  }
};

// y[o] = Σ_{i ∈ window(o)} x[i] / divisor(o)
template <class T> void avg_pool_plane(const PoolGeometry& g, const AvgDivisor& div, const T* x, T* y) {
  const std::int64_t W = g.in_w, OW = g.out_w;
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    T* yr = y + oh * OW;
    std::fill(yr, yr + OW, T(0));
    for (std::int64_t a = 0; a < g.kernel[0]; ++a) {
      const std::int64_t ih = oh * g.stride[0] - g.padding[0] + a;
      if (ih < 0 || ih >= g.in_h) continue;
      const T* xr = x + ih * W;
      for (std::int64_t b = 0; b < g.kernel[1]; ++b) {
        const std::int64_t off = b - g.padding[1];
        const ColumnRange cols = valid_columns(off, g.stride[1], W, OW);
        for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) yr[ow] += xr[ow * g.stride[1] + off];
      }
    }
    const double ih = div.inv_h[std::size_t(oh)];
    for (std::int64_t ow = 0; ow < OW; ++ow) yr[ow] = T(double(yr[ow]) * (ih * div.inv_w[std::size_t(ow)]));
  }
}

// x̄[i] += ȳ[o] / divisor(o) for every i in window(o); `scaled` is one output row of scratch.
template <class T> void avg_pool_plane_vjp(const PoolGeometry& g, const AvgDivisor& div, const T* gy, T* dx, T* scaled) {
  const std::int64_t W = g.in_w, OW = g.out_w;
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const double ih = div.inv_h[std::size_t(oh)];
    for (std::int64_t ow = 0; ow < OW; ++ow) scaled[ow] = T(double(gy[oh * OW + ow]) * (ih * div.inv_w[std::size_t(ow)]));
    for (std::int64_t a = 0; a < g.kernel[0]; ++a) {
      const std::int64_t ih = oh * g.stride[0] - g.padding[0] + a;
      if (ih < 0 || ih >= g.in_h) continue;
      T* dr = dx + ih * W;
      for (std::int64_t b = 0; b < g.kernel[1]; ++b) {
        const std::int64_t off = b - g.padding[1];
        const ColumnRange cols = valid_columns(off, g.stride[1], W, OW);
        for (std::int64_t ow = cols.begin; ow < cols.end; ++ow) dr[ow * g.stride[1] + off] += scaled[ow];
      }
    }
  }
}

Tensor avg_pool_forward(const PoolGeometry& g, bool include_pad, const Tensor& input) {
  const Tensor x = input.contiguous();
  Tensor y = Tensor::empty(g.output_shape, x.dtype());
  const AvgDivisor div(g, include_pad);
  visit_real_dtype(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
    for_each_plane(g, out_plane * g.kernel[0] * g.kernel[1], [&](std::int64_t p) {
      avg_pool_plane<T>(g, div, px + p * in_plane, py + p * out_plane);
    });
  });
  return y;
}

struct AvgPool2dCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const auto& node = c.as<AvgPool2d>();
    c.outputs[0] = avg_pool_forward(node.geometry(c.inputs[0].shape()), node.options().count_include_pad, c.inputs[0]);
  }
  // x̄ = Σ_o ȳ[o]/divisor(o) over the inputs of window(o): the adjoint of the averaging.
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const auto& node = c.as<AvgPool2d>();
    const PoolGeometry g = node.geometry(c.inputs[0].shape());
    const AvgDivisor div(g, node.options().count_include_pad);
    const Tensor gy = c.output_cotangents[0].contiguous();
    Tensor dx = Tensor::zeros(c.inputs[0].shape(), c.inputs[0].dtype());
    visit_real_dtype(dx.dtype(), "avg_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = gy.data<T>();
      T* pdx = dx.data<T>();
      const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
      const std::int64_t grain =
          std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(out_plane * g.kernel[0] * g.kernel[1], 1));
      cpu::parallel_for(g.planes, [&](std::int64_t p0, std::int64_t p1) {
        std::vector<T> scaled(std::size_t(g.out_w));  // once per thread, not per plane
        for (std::int64_t p = p0; p < p1; ++p)
          avg_pool_plane_vjp<T>(g, div, pg + p * out_plane, pdx + p * in_plane, scaled.data());
      }, grain);
    });
    c.input_cotangents[0] = dx;
  }
  // ẏ = avg_pool2d(ẋ): the pool is linear in x.
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<AvgPool2d>();
    c.output_tangents[0] =
        avg_pool_forward(node.geometry(c.inputs[0].shape()), node.options().count_include_pad, c.input_tangents[0]);
  }
};

// ---------------------------------------------------------------- global average pooling

Tensor plane_means(const Tensor& input) {
  const Tensor x = input.contiguous();
  Shape s = x.shape();
  const std::int64_t plane = s[s.rank() - 2] * s[s.rank() - 1];
  s[s.rank() - 2] = s[s.rank() - 1] = 1;
  Tensor y = Tensor::empty(s, x.dtype());
  visit_real_dtype(x.dtype(), "global_avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const std::int64_t grain = std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(plane, 1));
    cpu::parallel_for(y.numel(), [&](std::int64_t p0, std::int64_t p1) {
      for (std::int64_t p = p0; p < p1; ++p) {
        // float64 accumulators (a float32 sum of a large plane would lose digits), eight
        // independent lanes so the additions pipeline and vectorise without reassociation.
        const T* q = px + p * plane;
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::int64_t i = 0;
        for (; i + 8 <= plane; i += 8)
          for (int l = 0; l < 8; ++l) lane[l] += double(q[i + l]);
        double sum = 0;
        for (; i < plane; ++i) sum += double(q[i]);
        for (double v : lane) sum += v;
        py[p] = T(sum / double(plane));
      }
    }, grain);
  });
  return y;
}

struct GlobalAvgPool2dCpu final : NodeImpl {
  // y = mean_{h,w} x
  void forward(const ForwardCall& c) const override { c.outputs[0] = plane_means(c.inputs[0]); }
  // x̄[h, w] = ȳ / (H·W)
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const Shape& s = c.inputs[0].shape();
    const std::int64_t plane = s[s.rank() - 2] * s[s.rank() - 1];
    const Tensor gy = c.output_cotangents[0].contiguous();
    Tensor dx = Tensor::empty(s, c.inputs[0].dtype());
    visit_real_dtype(dx.dtype(), "global_avg_pool2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = gy.data<T>();
      T* pdx = dx.data<T>();
      const double inv = 1.0 / double(plane);
      cpu::parallel_for(dx.numel(), [&](std::int64_t i0, std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i) pdx[i] = T(double(pg[i / plane]) * inv);
      });
    });
    c.input_cotangents[0] = dx;
  }
  // ẏ = mean_{h,w} ẋ
  void jvp(const JvpCall& c) const override { c.output_tangents[0] = plane_means(c.input_tangents[0]); }
};

NODAL_REGISTER_IMPL("max_pool2d", Backend::cpu, MaxPool2dCpu);
NODAL_REGISTER_IMPL("avg_pool2d", Backend::cpu, AvgPool2dCpu);
NODAL_REGISTER_IMPL("global_avg_pool2d", Backend::cpu, GlobalAvgPool2dCpu);

}  // namespace
}  // namespace nodal
