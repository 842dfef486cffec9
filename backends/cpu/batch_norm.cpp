// batch_norm on the CPU: x viewed as [N, C, S] (S = product of the spatial extents); every
// channel's statistics are sums over N·S elements, accumulated in double so float32 batches of
// any size keep full precision. Channels run in parallel.
#include <cmath>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/batch_norm.hpp"

namespace nodal {
namespace {

struct Layout {
  std::int64_t n, c, s;
  explicit Layout(const Shape& x) : n(x[0]), c(x[1]), s(x.numel() / std::max<std::int64_t>(x[0] * x[1], 1)) {}
  std::int64_t per_channel() const { return n * s; }
};

// Σ over one channel's N·S elements of f(value) for the channel `ch` of a contiguous [N, C, S] array.
template <class T, class F> double channel_sum(const T* p, const Layout& l, std::int64_t ch, F&& f) {
  double total = 0;
  for (std::int64_t i = 0; i < l.n; ++i) {
    const T* row = p + (i * l.c + ch) * l.s;
    double part = 0;
    for (std::int64_t k = 0; k < l.s; ++k) part += f(double(row[k]));
    total += part;
  }
  return total;
}

// Per-channel mean and 1/√(σ² + ε): from the batch (training) or the running statistics.
template <class T> struct Statistics {
  std::vector<double> mean, inv_std;
};
template <class T> Statistics<T> statistics(const T* x, const Layout& l, const BatchNormState& st, bool update) {
  Statistics<T> out{std::vector<double>(std::size_t(l.c)), std::vector<double>(std::size_t(l.c))};
  const std::int64_t m = l.per_channel();
  if (!st.training) {
    const Tensor rm = st.running_mean.contiguous(), rv = st.running_var.contiguous();
    for (std::int64_t ch = 0; ch < l.c; ++ch) {
      out.mean[ch] = double(rm.data<T>()[ch]);
      out.inv_std[ch] = 1.0 / std::sqrt(double(rv.data<T>()[ch]) + st.eps);
    }
    return out;
  }
  if (m == 0) throw ShapeError("batch_norm: training needs at least one element per channel");
  std::vector<double> var(std::size_t(l.c));
  cpu::parallel_for(l.c, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t ch = b; ch < e; ++ch) {
      const double mu = channel_sum(x, l, ch, [](double v) { return v; }) / double(m);
      // Two passes: Σ(x − μ)² does not cancel catastrophically the way Σx² − Mμ² does.
      var[ch] = channel_sum(x, l, ch, [mu](double v) { return (v - mu) * (v - mu); }) / double(m);
      out.mean[ch] = mu;
      out.inv_std[ch] = 1.0 / std::sqrt(var[ch] + st.eps);
    }
  }, 1);
  if (update) {
    // Tensor handles share their buffer: copies of the handles write the state's statistics.
    Tensor running_mean = st.running_mean, running_var = st.running_var;
    T* rm = running_mean.data<T>();
    T* rv = running_var.data<T>();
    const double unbiased = m > 1 ? double(m) / double(m - 1) : 1.0;
    for (std::int64_t ch = 0; ch < l.c; ++ch) {
      rm[ch] = T((1 - st.momentum) * double(rm[ch]) + st.momentum * out.mean[ch]);
      rv[ch] = T((1 - st.momentum) * double(rv[ch]) + st.momentum * var[ch] * unbiased);
    }
  }
  return out;
}

// y = γ·(x − μ)·inv_std + β, channel by channel.
template <class T>
void normalize(const T* x, const T* gamma, const T* beta, const Statistics<T>& s, const Layout& l, T* y) {
  cpu::parallel_for(l.n * l.c, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t row = b; row < e; ++row) {
      const std::int64_t ch = row % l.c;
      const T scale = T(double(gamma[ch]) * s.inv_std[ch]);
      const T shift = T(double(beta ? beta[ch] : T(0)) - s.mean[ch] * double(scale));
      const T* xr = x + row * l.s;
      T* yr = y + row * l.s;
      for (std::int64_t k = 0; k < l.s; ++k) yr[k] = xr[k] * scale + shift;
    }
  }, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(l.s, 1)));
}

struct BatchNormCpu final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    BatchNormState& st = c.as<BatchNorm>().state();
    visit_real_dtype(c.inputs[0].dtype(), "batch_norm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor x = c.inputs[0].contiguous(), g = c.inputs[1].contiguous(), b = c.inputs[2].contiguous();
      const Layout l(x.shape());
      const Statistics<T> s = statistics<T>(x.data<T>(), l, st, /*update=*/true);
      Tensor y = Tensor::empty(x.shape(), x.dtype());
      if (y.numel() > 0) normalize<T>(x.data<T>(), g.data<T>(), b.data<T>(), s, l, y.data<T>());
      c.outputs[0] = y;
    });
  }

  // With x̂ = (x − μ)·inv_std and ȳ the cotangent (sums over each channel's N·S elements):
  //   β̄ = Σ ȳ,   γ̄ = Σ ȳ·x̂
  //   training:   x̄ = γ·inv_std·(ȳ − β̄/M − x̂·γ̄/M)     (μ and σ² depend on x)
  //   evaluation: x̄ = γ·inv_std·ȳ
  void vjp(const VjpCall& c) const override {
    const BatchNormState& st = c.as<BatchNorm>().state();
    visit_real_dtype(c.inputs[0].dtype(), "batch_norm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor x = c.inputs[0].contiguous(), g = c.inputs[1].contiguous();
      const Tensor dy = c.output_cotangents[0].contiguous();
      const Layout l(x.shape());
      const Statistics<T> s = statistics<T>(x.data<T>(), l, st, /*update=*/false);
      const T* px = x.data<T>();
      const T* pdy = dy.data<T>();
      std::vector<double> dbeta(std::size_t(l.c)), dgamma(std::size_t(l.c));
      cpu::parallel_for(l.c, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t ch = b; ch < e; ++ch) {
          double sb = 0, sg = 0;
          for (std::int64_t i = 0; i < l.n; ++i) {
            const T* xr = px + (i * l.c + ch) * l.s;
            const T* gr = pdy + (i * l.c + ch) * l.s;
            for (std::int64_t k = 0; k < l.s; ++k) {
              sb += double(gr[k]);
              sg += double(gr[k]) * (double(xr[k]) - s.mean[ch]);
            }
          }
          dbeta[ch] = sb;
          dgamma[ch] = sg * s.inv_std[ch];
        }
      }, 1);
      if (c.wanted[0]) {
        Tensor dx = Tensor::empty(x.shape(), x.dtype());
        T* pdx = dx.data<T>();
        const T* pg = g.data<T>();
        const double m = double(std::max<std::int64_t>(l.per_channel(), 1));
        cpu::parallel_for(l.n * l.c, [&](std::int64_t b, std::int64_t e) {
          for (std::int64_t row = b; row < e; ++row) {
            const std::int64_t ch = row % l.c;
            const double k = double(pg[ch]) * s.inv_std[ch];
            const T* xr = px + row * l.s;
            const T* gr = pdy + row * l.s;
            T* out = pdx + row * l.s;
            if (st.training) {
              const double mean_dy = dbeta[ch] / m, mean_dy_xhat = dgamma[ch] / m;
              for (std::int64_t q = 0; q < l.s; ++q) {
                const double xhat = (double(xr[q]) - s.mean[ch]) * s.inv_std[ch];
                out[q] = T(k * (double(gr[q]) - mean_dy - xhat * mean_dy_xhat));
              }
            } else {
              for (std::int64_t q = 0; q < l.s; ++q) out[q] = T(k * double(gr[q]));
            }
          }
        }, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(l.s, 1)));
        c.input_cotangents[0] = dx;
      }
      auto vector_of = [&](const std::vector<double>& v) {
        Tensor t = Tensor::empty(Shape{l.c}, x.dtype());
        for (std::int64_t ch = 0; ch < l.c; ++ch) t.data<T>()[ch] = T(v[ch]);
        return t;
      };
      if (c.wanted[1]) c.input_cotangents[1] = vector_of(dgamma);
      if (c.wanted[2]) c.input_cotangents[2] = vector_of(dbeta);
    });
  }

  // ẏ = γ̇·x̂ + β̇ + γ·inv_std·ẋ_c, with ẋ_c = ẋ − mean(ẋ) − x̂·mean(x̂·ẋ) in training (the tangent of
  // x̂ through μ and σ²) and ẋ_c = ẋ in evaluation.
  void jvp(const JvpCall& c) const override {
    const BatchNormState& st = c.as<BatchNorm>().state();
    visit_real_dtype(c.inputs[0].dtype(), "batch_norm", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor x = c.inputs[0].contiguous(), g = c.inputs[1].contiguous();
      const Layout l(x.shape());
      const Statistics<T> s = statistics<T>(x.data<T>(), l, st, /*update=*/false);
      const Tensor zero_x = Tensor::zeros(x.shape(), x.dtype()), zero_c = Tensor::zeros(Shape{l.c}, x.dtype());
      auto tangent = [&](std::size_t i, const Tensor& zero) {
        return c.input_tangents[i].defined() ? c.input_tangents[i].contiguous() : zero;
      };
      const Tensor dx = tangent(0, zero_x), dg = tangent(1, zero_c), db = tangent(2, zero_c);
      const T* px = x.data<T>();
      const T* pdx = dx.data<T>();
      std::vector<double> mean_dx(std::size_t(l.c)), mean_xhat_dx(std::size_t(l.c));
      const double m = double(std::max<std::int64_t>(l.per_channel(), 1));
      if (st.training)
        for (std::int64_t ch = 0; ch < l.c; ++ch) {
          double a = 0, b = 0;
          for (std::int64_t i = 0; i < l.n; ++i)
            for (std::int64_t q = 0; q < l.s; ++q) {
              const std::int64_t at = (i * l.c + ch) * l.s + q;
              a += double(pdx[at]);
              b += (double(px[at]) - s.mean[ch]) * s.inv_std[ch] * double(pdx[at]);
            }
          mean_dx[ch] = a / m;
          mean_xhat_dx[ch] = b / m;
        }
      Tensor y = Tensor::empty(x.shape(), x.dtype());
      T* py = y.data<T>();
      for (std::int64_t row = 0; row < l.n * l.c; ++row) {
        const std::int64_t ch = row % l.c;
        for (std::int64_t q = 0; q < l.s; ++q) {
          const std::int64_t at = row * l.s + q;
          const double xhat = (double(px[at]) - s.mean[ch]) * s.inv_std[ch];
          const double centered = st.training ? double(pdx[at]) - mean_dx[ch] - xhat * mean_xhat_dx[ch] : double(pdx[at]);
          py[at] = T(double(dg.data<T>()[ch]) * xhat + double(db.data<T>()[ch]) +
                     double(g.data<T>()[ch]) * s.inv_std[ch] * centered);
        }
      }
      c.output_tangents[0] = y;
    });
  }
};

NODAL_REGISTER_IMPL("batch_norm", Backend::cpu, BatchNormCpu);

}  // namespace
}  // namespace nodal
