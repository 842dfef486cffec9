// CPU rules for the Fourier nodes (nodes/fourier.hpp), on fft::NdPlan.
//
// Every transform here is linear, so jvp applies the node itself to the tangent. The vjp is the
// adjoint, with PyTorch's convention for complex cotangents (z̄ = ∂L/∂Re z + i ∂L/∂Im z), under
// which a C-linear map y = A·x pulls back as x̄ = Aᴴ·ȳ, and a real input keeps Re(Aᴴ·ȳ):
//   fft   y = s·F x                    x̄ = s·Fᴴ ȳ        (Fᴴ = the unscaled inverse DFT)
//   ifft  y = s·Fᴴ x                   x̄ = s·F ȳ
//   rfft  y = P(s·F x), P keeps bins 0..n/2       x̄ = Re(s·Fᴴ Pᵀ ȳ) = s·c2r(ȳ with interior bins halved)
//          (c2r sums each interior bin twice, once as itself and once as its mirror; the padded
//           adjoint Pᵀȳ has no mirror, hence the halving; bins 0 and n/2 appear once in both)
//   irfft x = s·c2r(h)                 h̄ = s·r2c(x̄) with interior bins doubled
//          (interior bins enter x twice, through h_k and its mirror conj(h_k))
// The adjoint keeps the node's scale s and runs the opposite direction.
#include <map>
#include <mutex>

#include "nodal/backends/cpu/elementwise.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/fft/nd_plan.hpp"
#include "nodal/nodes/fourier.hpp"

namespace nodal {
namespace {

using fft::Direction;
using fft::NdKind;
using fft::Scaling;

Scaling scaling_of(const Fourier& f) {
  const bool forward = f.kind == FourierKind::fft || f.kind == FourierKind::rfft;
  if (f.norm == "ortho") return Scaling::ortho;
  if (f.norm == "backward") return forward ? Scaling::none : Scaling::by_n;
  return forward ? Scaling::by_n : Scaling::none;  // "forward"
}

template <class Real> std::shared_ptr<const fft::NdPlan<Real>> cached_plan(const fft::NdSpec& spec) {
  using Key = std::tuple<std::vector<std::size_t>, std::size_t, int, int, int>;
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const fft::NdPlan<Real>>> plans;
  const Key key{spec.shape, spec.batch, int(spec.kind), int(spec.direction), int(spec.scaling)};
  std::lock_guard lock(mutex);
  auto& plan = plans[key];
  if (!plan) plan = std::make_shared<const fft::NdPlan<Real>>(spec);
  return plan;
}

// One transform of the trailing `rank` axes of `x`. `real_last` is the real length of the last
// axis for r2c/c2r (the complex side has real_last/2+1 bins).
Tensor transform(const Tensor& input, int rank, NdKind kind, Direction direction, Scaling scaling, std::int64_t real_last) {
  Tensor x = input.contiguous();
  if (kind == NdKind::c2c && !is_complex(x.dtype())) x = x.astype(complex_dtype(x.dtype()));
  const Shape& s = x.shape();
  std::vector<std::size_t> dims;
  for (int a = s.rank() - rank; a < s.rank(); ++a) dims.push_back(std::size_t(s[a]));
  if (kind != NdKind::c2c) dims.back() = std::size_t(real_last);
  std::int64_t batch = 1;
  for (int a = 0; a < s.rank() - rank; ++a) batch *= s[a];
  Shape out_shape = s;
  if (kind == NdKind::r2c) out_shape[s.rank() - 1] = real_last / 2 + 1;
  if (kind == NdKind::c2r) out_shape[s.rank() - 1] = real_last;
  const DType out_dtype = kind == NdKind::c2r ? real_dtype(x.dtype()) : complex_dtype(x.dtype());
  Tensor out = Tensor::empty(out_shape, out_dtype);
  if (batch == 0) return out;
  visit_real_dtype(real_dtype(x.dtype()), "fft", [&](auto tag) {
    using Real = typename decltype(tag)::type;
    using Complex = std::complex<Real>;
    const auto plan = cached_plan<Real>(
        {.shape = dims, .batch = std::size_t(batch), .kind = kind, .direction = direction, .scaling = scaling});
    if (kind == NdKind::c2c) plan->execute(x.data<Complex>(), out.data<Complex>());
    else if (kind == NdKind::r2c) plan->execute(x.data<Real>(), out.data<Complex>());
    else plan->execute(x.data<Complex>(), out.data<Real>());
  });
  return out;
}

// Multiplies the interior bins (1 .. ⌈n/2⌉−1) of the last axis of a half spectrum by `factor`.
Tensor scale_interior_bins(const Tensor& half, std::int64_t n, double factor) {
  Tensor out = half.contiguous().clone();
  const std::int64_t m = out.shape().back(), last_interior = (n % 2 == 0) ? m - 2 : m - 1;
  visit_dtype(out.dtype(), [&](auto tag) {
    using C = typename decltype(tag)::type;
    if constexpr (is_complex_v<C>) {
      C* p = out.data<C>();
      const std::int64_t rows = out.numel() / m;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t k = 1; k <= last_interior; ++k) p[r * m + k] *= typename C::value_type(factor);
    }
  });
  return out;
}

Tensor real_part(const Tensor& z) {
  return visit_dtype(z.dtype(), [&](auto tag) -> Tensor {
    using C = typename decltype(tag)::type;
    if constexpr (is_complex_v<C>) {
      using R = typename C::value_type;
      return cpu::map_unary<C, R>(z, [](C v) { return v.real(); });
    } else {
      return z;
    }
  });
}

struct FourierCpu final : NodeImpl {
  // y = the node's transform of x
  static Tensor run(const Fourier& f, const Tensor& x) {
    const Scaling s = scaling_of(f);
    switch (f.kind) {
      case FourierKind::fft: return transform(x, f.rank, NdKind::c2c, Direction::forward, s, 0);
      case FourierKind::ifft: return transform(x, f.rank, NdKind::c2c, Direction::inverse, s, 0);
      case FourierKind::rfft: return transform(x, f.rank, NdKind::r2c, Direction::forward, s, x.shape().back());
      case FourierKind::irfft: return transform(x, f.rank, NdKind::c2r, Direction::inverse, s, f.real_length(x.shape()));
    }
    return {};
  }
  void forward(const ForwardCall& c) const override { c.outputs[0] = run(c.as<Fourier>(), c.inputs[0]); }

  // x̄ = adjoint(ȳ), see the table at the top of this file
  void vjp(const VjpCall& c) const override {
    const auto& f = c.as<Fourier>();
    const Tensor& x = c.inputs[0];
    const Tensor& g = c.output_cotangents[0];
    const Scaling s = scaling_of(f);
    Tensor xbar;
    switch (f.kind) {
      case FourierKind::fft:
        xbar = transform(g, f.rank, NdKind::c2c, Direction::inverse, s, 0);
        if (!is_complex(x.dtype())) xbar = real_part(xbar);
        break;
      case FourierKind::ifft:
        xbar = transform(g, f.rank, NdKind::c2c, Direction::forward, s, 0);
        if (!is_complex(x.dtype())) xbar = real_part(xbar);
        break;
      case FourierKind::rfft: {
        const std::int64_t n = x.shape().back();
        xbar = transform(scale_interior_bins(g, n, 0.5), f.rank, NdKind::c2r, Direction::inverse, s, n);
        break;
      }
      case FourierKind::irfft: {
        const std::int64_t n = f.real_length(x.shape());
        xbar = scale_interior_bins(transform(g, f.rank, NdKind::r2c, Direction::forward, s, n), n, 2.0);
        break;
      }
    }
    c.input_cotangents[0] = xbar;
  }
  // ẏ = the same linear transform of ẋ
  void jvp(const JvpCall& c) const override { c.output_tangents[0] = run(c.as<Fourier>(), c.input_tangents[0]); }
};

[[maybe_unused]] const bool registered = [] {
  for (const char* name : {"fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2"})
    Registry::instance().add_impl(name, Backend::cpu, std::make_unique<FourierCpu>());
  return true;
}();

}  // namespace
}  // namespace nodal
