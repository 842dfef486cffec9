// CPU kernels of separable_conv2d: per H×W plane, a column pass into an OH×W scratch plane t,
// then a row pass into y. Both passes sweep along the contiguous W axis in their innermost
// loop (one tap at a time), so they vectorise; planes (N·C) are spread over the cores, each
// thread with its own scratch planes and its own float64 accumulators for the filter gradients.
#include <algorithm>
#include <vector>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/separable_conv.hpp"

namespace nodal {
namespace {

// The geometry of one plane (spatial axes 1 = H and 2 = W of ConvGeometry).
struct Plane {
  std::int64_t H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
  explicit Plane(const ConvGeometry& g)
      : H(g.in[1]), W(g.in[2]), OH(g.out[1]), OW(g.out[2]), kh(g.kernel[1]), kw(g.kernel[2]), sh(g.stride[1]),
        sw(g.stride[2]), ph(g.pad_before[1]), pw(g.pad_before[2]), dh(g.dilation[1]), dw(g.dilation[2]) {}
  std::int64_t input_row(std::int64_t oh, std::int64_t a) const { return oh * sh - ph + a * dh; }
  // Output columns whose input column ow·sw + off lies inside [0, W).
  std::pair<std::int64_t, std::int64_t> columns(std::int64_t off) const {
    const std::int64_t begin = off >= 0 ? 0 : (-off + sw - 1) / sw;
    const std::int64_t last = W - 1 - off;
    const std::int64_t end = last < 0 ? 0 : std::min(OW, last / sw + 1);
    return {begin, std::max(begin, end)};
  }
};

// Σ_k a[k]·b[k·stride] with sixteen independent partial sums: without -ffast-math one accumulator
// is a serial chain the compiler may neither reorder nor vectorise; sixteen lanes are one
// AVX-512 vector of float (two of double) and give the same result on every run.
template <class T> T dot_lanes(const T* a, const T* b, std::int64_t n, std::int64_t stride = 1) {
  T lane[16] = {};
  std::int64_t k = 0;
  if (stride == 1) {
    for (; k + 16 <= n; k += 16)
      for (int l = 0; l < 16; ++l) lane[l] += a[k + l] * b[k + l];
  } else {
    for (; k + 16 <= n; k += 16)
      for (int l = 0; l < 16; ++l) lane[l] += a[k + l] * b[(k + l) * stride];
  }
  T s = 0;
  for (; k < n; ++k) s += a[k] * b[k * stride];
  for (T v : lane) s += v;
  return s;
}

// t[i, w] = Σ_a x[i·sh − ph + a·dh, w] · col[a]
template <class T> void column_pass(const Plane& p, const T* x, const T* col, T* t) {
  for (std::int64_t oh = 0; oh < p.OH; ++oh) {
    T* tr = t + oh * p.W;
    std::fill(tr, tr + p.W, T(0));
    for (std::int64_t a = 0; a < p.kh; ++a) {
      const std::int64_t ih = p.input_row(oh, a);
      if (ih < 0 || ih >= p.H) continue;
      const T c = col[a];
      const T* xr = x + ih * p.W;
      for (std::int64_t w = 0; w < p.W; ++w) tr[w] += c * xr[w];
    }
  }
}

// y[i, j] = Σ_b t[i, j·sw − pw + b·dw] · row[b]
template <class T> void row_pass(const Plane& p, const T* t, const T* row, T* y) {
  for (std::int64_t oh = 0; oh < p.OH; ++oh) {
    T* yr = y + oh * p.OW;
    const T* tr = t + oh * p.W;
    std::fill(yr, yr + p.OW, T(0));
    for (std::int64_t b = 0; b < p.kw; ++b) {
      const std::int64_t off = b * p.dw - p.pw;
      const auto [j0, j1] = p.columns(off);
      const T r = row[b];
      for (std::int64_t j = j0; j < j1; ++j) yr[j] += r * tr[j * p.sw + off];
    }
  }
}

// dt = dy ⋆ᵀ row (scatter through the row pass) and drow[b] += Σ dy[i, j] · t[i, j·sw + off_b].
template <class T> void row_pass_adjoint(const Plane& p, const T* dy, const T* t, const T* row, T* dt, double* drow) {
  if (dt) std::fill(dt, dt + p.OH * p.W, T(0));
  for (std::int64_t oh = 0; oh < p.OH; ++oh) {
    const T* gr = dy + oh * p.OW;
    for (std::int64_t b = 0; b < p.kw; ++b) {
      const std::int64_t off = b * p.dw - p.pw;
      const auto [j0, j1] = p.columns(off);
      if (dt) {
        T* dr = dt + oh * p.W;
        const T r = row[b];
        for (std::int64_t j = j0; j < j1; ++j) dr[j * p.sw + off] += r * gr[j];
      }
      if (drow) {
        const T* tr = t + oh * p.W;
        if (j1 > j0) drow[b] += double(dot_lanes(gr + j0, tr + j0 * p.sw + off, j1 - j0, p.sw));
      }
    }
  }
}

// dx = dt ⋆ᵀ col (scatter through the column pass) and dcol[a] += Σ dt[i, w] · x[i·sh − ph + a·dh, w].
template <class T> void column_pass_adjoint(const Plane& p, const T* dt, const T* x, const T* col, T* dx, double* dcol) {
  if (dx) std::fill(dx, dx + p.H * p.W, T(0));
  for (std::int64_t oh = 0; oh < p.OH; ++oh) {
    const T* gr = dt + oh * p.W;
    for (std::int64_t a = 0; a < p.kh; ++a) {
      const std::int64_t ih = p.input_row(oh, a);
      if (ih < 0 || ih >= p.H) continue;
      if (dx) {
        T* dr = dx + ih * p.W;
        const T c = col[a];
        for (std::int64_t w = 0; w < p.W; ++w) dr[w] += c * gr[w];
      }
      if (dcol) {
        dcol[a] += double(dot_lanes(gr, x + ih * p.W, p.W));
      }
    }
  }
}

// The filter vectors as the passes read them: reversed for flip = true (a true convolution).
template <class T> std::vector<T> taps(const Tensor& v, bool flip) {
  std::vector<T> out = v.contiguous().to_vector<T>();
  if (flip) {
    const std::int64_t c = v.dim(0), k = v.dim(1);
    for (std::int64_t i = 0; i < c; ++i) std::reverse(out.begin() + i * k, out.begin() + (i + 1) * k);
  }
  return out;
}

template <class F> void for_each_plane_chunk(const ConvGeometry& g, const Plane& p, F&& f) {
  const std::int64_t work = p.OH * (p.W * p.kh + p.OW * p.kw);
  cpu::parallel_for(g.batch * g.in_channels, f, std::max<std::int64_t>(1, cpu::parallel_grain / std::max<std::int64_t>(work, 1)));
}

Tensor separable_forward(const SeparableConv2d& node, const Tensor& x_in, const Tensor& col_in, const Tensor& row_in) {
  const ConvGeometry g = node.geometry(x_in.shape(), col_in.shape(), row_in.shape());
  const Plane p(g);
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(g.output_shape(), x.dtype());
  visit_real_dtype(x.dtype(), "separable_conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const std::vector<T> col = taps<T>(col_in, node.options().flip), row = taps<T>(row_in, node.options().flip);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_plane_chunk(g, p, [&](std::int64_t q0, std::int64_t q1) {
      std::vector<T> t(std::size_t(p.OH * p.W));  // one scratch plane per thread
      for (std::int64_t q = q0; q < q1; ++q) {
        const std::int64_t c = q % g.in_channels;
        column_pass(p, px + q * p.H * p.W, col.data() + c * p.kh, t.data());
        row_pass(p, t.data(), row.data() + c * p.kw, py + q * p.OH * p.OW);
      }
    });
  });
  return y;
}

struct SeparableConv2dCpu final : NodeImpl {
  // y = (x ⋆_H col) ⋆_W row
  void forward(const ForwardCall& c) const override {
    c.outputs[0] = separable_forward(c.as<SeparableConv2d>(), c.inputs[0], c.inputs[1], c.inputs[2]);
  }
  // Row pass first (it ran last): dt = dy ⋆ᵀ row, drow = Σ dy·t; then dx = dt ⋆ᵀ col, dcol = Σ dt·x.
  void vjp(const VjpCall& c) const override {
    const auto& node = c.as<SeparableConv2d>();
    const ConvGeometry g = node.geometry(c.inputs[0].shape(), c.inputs[1].shape(), c.inputs[2].shape());
    const Plane p(g);
    const bool flip = node.options().flip;
    const Tensor x = c.inputs[0].contiguous();
    const Tensor dy = c.output_cotangents[0].contiguous();
    const bool want_x = c.wanted[0], want_col = c.wanted[1], want_row = c.wanted[2];
    const std::int64_t C = g.in_channels;
    visit_real_dtype(x.dtype(), "separable_conv2d", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const std::vector<T> col = taps<T>(c.inputs[1], flip), row = taps<T>(c.inputs[2], flip);
      Tensor dx = want_x ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
      std::vector<double> dcol(want_col ? std::size_t(C * p.kh) : 0, 0.0), drow(want_row ? std::size_t(C * p.kw) : 0, 0.0);
      const T* px = x.data<T>();
      const T* pg = dy.data<T>();
      T* pdx = want_x ? dx.data<T>() : nullptr;
      for_each_plane_chunk(g, p, [&](std::int64_t q0, std::int64_t q1) {
        std::vector<T> t(want_row ? std::size_t(p.OH * p.W) : 0), dt(std::size_t(p.OH * p.W));
        std::vector<double> my_col(dcol.size(), 0.0), my_row(drow.size(), 0.0);
        for (std::int64_t q = q0; q < q1; ++q) {
          const std::int64_t ch = q % C;
          const T* xq = px + q * p.H * p.W;
          if (want_row) column_pass(p, xq, col.data() + ch * p.kh, t.data());  // recomputed, not stored
          row_pass_adjoint(p, pg + q * p.OH * p.OW, t.data(), row.data() + ch * p.kw, dt.data(),
                           want_row ? my_row.data() + ch * p.kw : nullptr);
          if (want_x || want_col)
            column_pass_adjoint(p, dt.data(), xq, col.data() + ch * p.kh, want_x ? pdx + q * p.H * p.W : nullptr,
                                want_col ? my_col.data() + ch * p.kh : nullptr);
        }
#pragma omp critical(nodal_separable_taps)
        {
          for (std::size_t i = 0; i < dcol.size(); ++i) dcol[i] += my_col[i];
          for (std::size_t i = 0; i < drow.size(); ++i) drow[i] += my_row[i];
        }
      });
      // Back to the user's orientation: the gradient of a reversed vector is reversed.
      const auto to_tensor = [&](std::vector<double>& v, const Tensor& like, std::int64_t k) {
        if (flip)
          for (std::int64_t i = 0; i < C; ++i) std::reverse(v.begin() + i * k, v.begin() + (i + 1) * k);
        return Tensor::from_vector(v, like.shape()).astype(like.dtype());
      };
      if (want_x) c.input_cotangents[0] = dx;
      if (want_col) c.input_cotangents[1] = to_tensor(dcol, c.inputs[1], p.kh);
      if (want_row) c.input_cotangents[2] = to_tensor(drow, c.inputs[2], p.kw);
    });
  }
  // ẏ = sep(ẋ, col, row) + sep(x, ċol, row) + sep(x, col, ṙow)
  void jvp(const JvpCall& c) const override {
    const auto& node = c.as<SeparableConv2d>();
    Tensor out;
    for (int i = 0; i < 3; ++i) {
      if (!c.input_tangents[i].defined()) continue;
      Tensor args[3] = {c.inputs[0], c.inputs[1], c.inputs[2]};
      args[i] = c.input_tangents[i];
      Tensor part = separable_forward(node, args[0], args[1], args[2]);
      if (!out.defined()) {
        out = part;
        continue;
      }
      visit_real_dtype(out.dtype(), "separable_conv2d", [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* o = out.data<T>();
        const T* q = part.data<T>();
        for (std::int64_t k = 0; k < out.numel(); ++k) o[k] += q[k];
      });
    }
    c.output_tangents[0] = out;
  }
};

NODAL_REGISTER_IMPL("separable_conv2d", Backend::cpu, SeparableConv2dCpu);

}  // namespace
}  // namespace nodal
