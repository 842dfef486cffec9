// RealPlan: r2c / c2r by the half-length complex transform (even n), a length-n complex transform
// (odd n), or two real sequences per complex transform (pairs). See real_plan.hpp for the math.
#include "nodal/fft/real_plan.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nodal/core/error.hpp"
#include "nodal/fft/real_split.hpp"
#include "nodal/fft/thread_scratch.hpp"

namespace nodal::fft {

namespace {

long double scale_factor(Scaling scaling, std::size_t n) {
  switch (scaling) {
    case Scaling::none: return 1.0L;
    case Scaling::by_n: return 1.0L / static_cast<long double>(n);
    case Scaling::ortho: return 1.0L / std::sqrt(static_cast<long double>(n));
  }
  return 1.0L;
}

const char* method_name(RealMethod method) {
  return method == RealMethod::half_length ? "half_length" : "pairs";
}

void validate(const RealSpec& s) {
  const char* op = "fft::RealPlan";
  if (s.n == 0) throw ValueError(fmt::format("{}: transform length n = 0", op));
  if (s.batch == 0) throw ValueError(fmt::format("{}: batch = 0 (n = {})", op, s.n));
  if (s.real_stride == 0 || s.complex_stride == 0)
    throw ValueError(fmt::format("{}: zero stride (real_stride = {}, complex_stride = {}, n = {})",
                                 op, s.real_stride, s.complex_stride, s.n));
}

// Contiguous plan on scratch: `batch` transforms of length n, rows of n complex, in place.
template <class Real>
std::shared_ptr<const Plan<Real>> contiguous_plan(std::size_t n, std::size_t batch,
                                                  Direction direction, Planning planning) {
  Spec spec;
  spec.n = n;
  spec.batch = batch;
  spec.direction = direction;
  spec.planning = planning;
  return Plan<Real>::cached(spec);
}

}  // namespace

template <class Real>
RealPlan<Real>::RealPlan(const RealSpec& spec) : spec_(spec) {
  validate(spec_);
  const std::size_t n = spec_.n, bins = n / 2 + 1;
  real_distance_ = spec_.real_distance != 0 ? spec_.real_distance
                                             : static_cast<std::ptrdiff_t>(n) * spec_.real_stride;
  complex_distance_ = spec_.complex_distance != 0
                          ? spec_.complex_distance
                          : static_cast<std::ptrdiff_t>(bins) * spec_.complex_stride;
  scale_ = static_cast<Real>(scale_factor(spec_.scaling, n));
  const bool even = n % 2 == 0;
  const bool forward = spec_.direction == Direction::forward;

  // How many samples go through the half-length path: all of them, or the odd one out of pairs.
  std::size_t half_batch = spec_.batch;
  std::size_t pair_count = 0;
  if (spec_.method == RealMethod::pairs) {
    // Odd n: the odd last sample is paired with zeros (a length-n transform is what it would cost
    // alone anyway). Even n: it goes through the cheaper half-length path.
    pair_count = even ? spec_.batch / 2 : (spec_.batch + 1) / 2;
    half_batch = even ? spec_.batch % 2 : 0;
  }
  if (pair_count > 0)
    full_plan_ = contiguous_plan<Real>(n, pair_count, spec_.direction, spec_.planning);
  if (half_batch > 0) {
    if (even) {
      const std::size_t m = n / 2;
      Spec half;
      half.n = m;
      half.batch = half_batch;
      half.direction = spec_.direction;
      half.planning = spec_.planning;
      // Direct path: with unit real stride and an even real distance, the packed sequence
      // z_j = a_{2j} + i·a_{2j+1} already lies in memory as complex numbers (std::complex's layout
      // is two Reals), so r2c reads it straight from the input and c2r writes it straight into the
      // output: no pack or unpack pass. Otherwise r2c packs into its output rows and c2r works in
      // contiguous scratch rows.
      direct_ = spec_.real_stride == 1 && real_distance_ % 2 == 0;
      if (forward) {  // real input (viewed as complex) or packed output rows → output rows
        half.in_stride = direct_ ? 1 : spec_.complex_stride;
        half.in_distance = direct_ ? real_distance_ / 2 : complex_distance_;
        half.out_stride = spec_.complex_stride;
        half.out_distance = complex_distance_;
      } else if (direct_) {  // contiguous scratch rows → output viewed as complex
        half.out_distance = real_distance_ / 2;
      }  // else contiguous scratch → contiguous scratch
      half_plan_ = Plan<Real>::cached(half);
      // w_k = e^{−2πik/n} for k = 0..m/2, in long double, rounded once to Real.
      const long double two_pi = 6.283185307179586476925286766559005768L;
      twiddles_.resize(m / 2 + 1);
      for (std::size_t k = 0; k < twiddles_.size(); ++k) {
        const long double angle = -two_pi * static_cast<long double>(k) / static_cast<long double>(n);
        twiddles_[k] = Complex(static_cast<Real>(std::cos(angle)), static_cast<Real>(std::sin(angle)));
      }
    } else {
      full_plan_ = contiguous_plan<Real>(n, half_batch, spec_.direction, spec_.planning);
    }
  }
}

template <class Real>
void RealPlan<Real>::execute(const Real* in, Complex* out) const {
  if (spec_.direction != Direction::forward)
    throw ValueError(fmt::format("fft::RealPlan::execute: real input given to a c2r plan (n = {})",
                                 spec_.n));
  if (static_cast<const void*>(in) == static_cast<const void*>(out) &&
      (spec_.real_stride != 1 || spec_.complex_stride != 1 ||
       real_distance_ != 2 * complex_distance_))
    throw ValueError(fmt::format(
        "fft::RealPlan::execute: in-place r2c needs unit strides and real_distance = "
        "2·complex_distance (got real_stride {}, complex_stride {}, distances {} and {})",
        spec_.real_stride, spec_.complex_stride, real_distance_, complex_distance_));
  const bool even = spec_.n % 2 == 0;
  if (spec_.method == RealMethod::pairs) {
    r2c_pairs(in, out);
    if (even && spec_.batch % 2 == 1) r2c_half_length(in, out, spec_.batch - 1, 1);
  } else if (even) {
    r2c_half_length(in, out, 0, spec_.batch);
  } else {
    r2c_complex(in, out, 0, spec_.batch);
  }
}

template <class Real>
void RealPlan<Real>::execute(const Complex* in, Real* out) const {
  if (spec_.direction != Direction::inverse)
    throw ValueError(fmt::format(
        "fft::RealPlan::execute: complex input given to an r2c plan (n = {})", spec_.n));
  const bool even = spec_.n % 2 == 0;
  if (spec_.method == RealMethod::pairs) {
    c2r_pairs(in, out);
    if (even && spec_.batch % 2 == 1) c2r_half_length(in, out, spec_.batch - 1, 1);
  } else if (even) {
    c2r_half_length(in, out, 0, spec_.batch);
  } else {
    c2r_complex(in, out, 0, spec_.batch);
  }
}

// Even n, forward: Z = FFT_{n/2}(z), read directly or packed into the output rows, then the split
// butterfly in place on the output rows.
template <class Real>
void RealPlan<Real>::r2c_half_length(const Real* in, Complex* out, std::size_t first,
                                     std::size_t count) const {
  const std::size_t m = spec_.n / 2;
  const std::ptrdiff_t rs = spec_.real_stride, cs = spec_.complex_stride;
  Complex* first_row = out + static_cast<std::ptrdiff_t>(first) * complex_distance_;
  if (direct_) {
    half_plan_->execute(
        reinterpret_cast<const Complex*>(in + static_cast<std::ptrdiff_t>(first) * real_distance_),
        first_row);
  } else {
    for (std::size_t b = first; b < first + count; ++b) {
      const Real* x = in + static_cast<std::ptrdiff_t>(b) * real_distance_;
      Complex* y = out + static_cast<std::ptrdiff_t>(b) * complex_distance_;
      for (std::size_t j = 0; j < m; ++j) {
        const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(j);
        y[i * cs] = Complex(x[2 * i * rs], x[(2 * i + 1) * rs]);
      }
    }
    half_plan_->execute(first_row, first_row);
  }
  const Real half = Real(0.5), scale = scale_;
  for (std::size_t b = first; b < first + count; ++b) {
    Complex* y = out + static_cast<std::ptrdiff_t>(b) * complex_distance_;
    const Complex z0 = y[0];
    y[0] = Complex((z0.real() + z0.imag()) * scale, 0);
    y[static_cast<std::ptrdiff_t>(m) * cs] = Complex((z0.real() - z0.imag()) * scale, 0);
    std::size_t k = cs == 1 ? detail::split_forward_vector(y, twiddles_.data(), m, scale) : 1;
    for (; 2 * k < m; ++k) {
      const std::ptrdiff_t lo = static_cast<std::ptrdiff_t>(k) * cs;
      const std::ptrdiff_t hi = static_cast<std::ptrdiff_t>(m - k) * cs;
      const Complex zk = y[lo], zm = y[hi];
      // E = (Z_k + conj Z_{m−k})/2,  O = (Z_k − conj Z_{m−k})/(2i),  t = w_k·O
      const Real er = half * (zk.real() + zm.real()), ei = half * (zk.imag() - zm.imag());
      const Real or_ = half * (zk.imag() + zm.imag()), oi = -half * (zk.real() - zm.real());
      const Real wr = twiddles_[k].real(), wi = twiddles_[k].imag();
      const Real tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
      y[lo] = Complex((er + tr) * scale, (ei + ti) * scale);
      y[hi] = Complex((er - tr) * scale, -(ei - ti) * scale);
    }
    // m even: bin m/2 pairs with itself; w = −i there, so F = E + w·O = conj Z.
    if (2 * k == m) {
      const std::ptrdiff_t mid = static_cast<std::ptrdiff_t>(k) * cs;
      y[mid] = std::conj(y[mid]) * scale;
    }
  }
}

// Even n, inverse: Z_k = s·(P + i·conj(w_k)·Q) (P = X_k + conj X_{m−k}, Q = X_k − conj X_{m−k}, s the
// output scaling), written directly into the output viewed as complex or into scratch, one
// n/2-point inverse in place, then (scratch only) x_{2j} = Re z_j, x_{2j+1} = Im z_j.
template <class Real>
void RealPlan<Real>::c2r_half_length(const Complex* in, Real* out, std::size_t first,
                                     std::size_t count) const {
  const std::size_t m = spec_.n / 2;
  const std::ptrdiff_t rs = spec_.real_stride, cs = spec_.complex_stride;
  // Z goes to contiguous scratch rows; the inverse then runs out of place (the plan's in-place
  // path would copy each row), straight into the output when it can be viewed as complex.
  Complex* z_base = detail::thread_scratch<Complex>(detail::ScratchSlot::real_plan, 2 * count * m);
  const Real scale = scale_;
  for (std::size_t b = 0; b < count; ++b) {
    const Complex* x = in + static_cast<std::ptrdiff_t>(first + b) * complex_distance_;
    Complex* z = z_base + b * m;
    const Real x0 = x[0].real(), xm = x[static_cast<std::ptrdiff_t>(m) * cs].real();
    z[0] = Complex((x0 + xm) * scale, (x0 - xm) * scale);
    std::size_t k = cs == 1 ? detail::split_inverse_vector(x, z, twiddles_.data(), m, scale) : 1;
    for (; 2 * k < m; ++k) {
      const Complex xk = x[static_cast<std::ptrdiff_t>(k) * cs];
      const Complex xm_k = x[static_cast<std::ptrdiff_t>(m - k) * cs];
      const Real pr = xk.real() + xm_k.real(), pi = xk.imag() - xm_k.imag();
      const Real qr = xk.real() - xm_k.real(), qi = xk.imag() + xm_k.imag();
      // u = i·conj(w)·Q with conj(w) = (wr, −wi)
      const Real wr = twiddles_[k].real(), wi = -twiddles_[k].imag();
      const Real cr = wr * qr - wi * qi, ci = wr * qi + wi * qr;
      const Real ur = -ci, ui = cr;
      z[k] = Complex((pr + ur) * scale, (pi + ui) * scale);
      z[m - k] = Complex((pr - ur) * scale, -(pi - ui) * scale);  // conj(P − u)
    }
    // m even: the self-paired bin m/2 gives Z = 2·conj(X).
    if (2 * k == m) z[k] = std::conj(x[static_cast<std::ptrdiff_t>(k) * cs]) * (2 * scale);
  }
  if (direct_) {
    half_plan_->execute(
        z_base, reinterpret_cast<Complex*>(out + static_cast<std::ptrdiff_t>(first) * real_distance_));
    return;
  }
  Complex* zt = z_base + count * m;
  half_plan_->execute(z_base, zt);
  for (std::size_t b = 0; b < count; ++b) {
    const Complex* z = zt + b * m;
    Real* y = out + static_cast<std::ptrdiff_t>(first + b) * real_distance_;
    for (std::size_t j = 0; j < m; ++j) {
      const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(j);
      y[2 * i * rs] = z[j].real();
      y[(2 * i + 1) * rs] = z[j].imag();
    }
  }
}

// Odd n (no half-length split exists): a complex transform of length n of the real data.
template <class Real>
void RealPlan<Real>::r2c_complex(const Real* in, Complex* out, std::size_t first,
                                 std::size_t count) const {
  const std::size_t n = spec_.n, bins = n / 2 + 1;
  const std::ptrdiff_t rs = spec_.real_stride, cs = spec_.complex_stride;
  Complex* scratch = detail::thread_scratch<Complex>(detail::ScratchSlot::real_plan, 2 * count * n);
  for (std::size_t b = 0; b < count; ++b) {
    const Real* x = in + static_cast<std::ptrdiff_t>(first + b) * real_distance_;
    for (std::size_t j = 0; j < n; ++j)
      scratch[b * n + j] = Complex(x[static_cast<std::ptrdiff_t>(j) * rs], 0);
  }
  // Out of place into the second half: the plan's in-place path would copy every row.
  full_plan_->execute(scratch, scratch + count * n);
  scratch += count * n;
  for (std::size_t b = 0; b < count; ++b) {
    Complex* y = out + static_cast<std::ptrdiff_t>(first + b) * complex_distance_;
    for (std::size_t k = 0; k < bins; ++k)
      y[static_cast<std::ptrdiff_t>(k) * cs] = scratch[b * n + k] * scale_;
    y[0].imag(0);  // bin 0 of real data is real; drop the transform's rounding residue
  }
}

template <class Real>
void RealPlan<Real>::c2r_complex(const Complex* in, Real* out, std::size_t first,
                                 std::size_t count) const {
  const std::size_t n = spec_.n, bins = n / 2 + 1;
  const std::ptrdiff_t rs = spec_.real_stride, cs = spec_.complex_stride;
  Complex* scratch = detail::thread_scratch<Complex>(detail::ScratchSlot::real_plan, 2 * count * n);
  for (std::size_t b = 0; b < count; ++b) {
    const Complex* x = in + static_cast<std::ptrdiff_t>(first + b) * complex_distance_;
    Complex* s = scratch + b * n;
    s[0] = Complex(x[0].real(), 0);
    for (std::size_t k = 1; k < bins; ++k) {
      s[k] = x[static_cast<std::ptrdiff_t>(k) * cs];
      s[n - k] = std::conj(s[k]);
    }
  }
  // Out of place into the second half: the plan's in-place path would copy every row.
  full_plan_->execute(scratch, scratch + count * n);
  scratch += count * n;
  for (std::size_t b = 0; b < count; ++b) {
    Real* y = out + static_cast<std::ptrdiff_t>(first + b) * real_distance_;
    for (std::size_t j = 0; j < n; ++j)
      y[static_cast<std::ptrdiff_t>(j) * rs] = scratch[b * n + j].real() * scale_;
  }
}

// Two reals per transform: C = A + iB; A_k = (C_k + conj C_{n−k})/2, B_k = (C_k − conj C_{n−k})/(2i).
// For odd n an odd last sample is paired with zeros (its B is simply not written).
template <class Real>
void RealPlan<Real>::r2c_pairs(const Real* in, Complex* out) const {
  if (!full_plan_) return;
  const std::size_t n = spec_.n, bins = n / 2 + 1, pairs = full_plan_->spec().batch;
  const std::ptrdiff_t rs = spec_.real_stride, cs = spec_.complex_stride;
  Complex* scratch = detail::thread_scratch<Complex>(detail::ScratchSlot::real_plan_pairs, 2 * pairs * n);
  for (std::size_t p = 0; p < pairs; ++p) {
    const Real* a = in + static_cast<std::ptrdiff_t>(2 * p) * real_distance_;
    const bool has_b = 2 * p + 1 < spec_.batch;
    const Real* b = a + real_distance_;
    for (std::size_t j = 0; j < n; ++j) {
      const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(j) * rs;
      scratch[p * n + j] = Complex(a[i], has_b ? b[i] : Real(0));
    }
  }
  // Out of place into the second half: the plan's in-place path would copy every row.
  full_plan_->execute(scratch, scratch + pairs * n);
  scratch += pairs * n;
  const Real half_scale = Real(0.5) * scale_;
  for (std::size_t p = 0; p < pairs; ++p) {
    const Complex* c = scratch + p * n;
    Complex* ya = out + static_cast<std::ptrdiff_t>(2 * p) * complex_distance_;
    const bool has_b = 2 * p + 1 < spec_.batch;
    Complex* yb = ya + complex_distance_;
    for (std::size_t k = 0; k < bins; ++k) {
      const Complex ck = c[k], cn = c[(n - k) % n];
      const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(k) * cs;
      ya[o] = Complex((ck.real() + cn.real()) * half_scale, (ck.imag() - cn.imag()) * half_scale);
      // (C_k − conj C_{n−k})/(2i): multiply (dr + i·di) by −i/2 → (di, −dr)/2
      if (has_b)
        yb[o] = Complex((ck.imag() + cn.imag()) * half_scale, -(ck.real() - cn.real()) * half_scale);
    }
  }
}

template <class Real>
void RealPlan<Real>::c2r_pairs(const Complex* in, Real* out) const {
  if (!full_plan_) return;
  const std::size_t n = spec_.n, bins = n / 2 + 1, pairs = full_plan_->spec().batch;
  const std::ptrdiff_t rs = spec_.real_stride, cs = spec_.complex_stride;
  Complex* scratch = detail::thread_scratch<Complex>(detail::ScratchSlot::real_plan_pairs, 2 * pairs * n);
  // Bin k of a real sequence's spectrum, extended to all n bins by Hermitian symmetry; the
  // imaginary parts of bin 0 and (even n) bin n/2 are dropped, as they must be zero.
  auto bin = [&](const Complex* x, std::size_t k) -> Complex {
    if (k == 0 || 2 * k == n) return Complex(x[static_cast<std::ptrdiff_t>(k) * cs].real(), 0);
    if (k < bins) return x[static_cast<std::ptrdiff_t>(k) * cs];
    return std::conj(x[static_cast<std::ptrdiff_t>(n - k) * cs]);
  };
  for (std::size_t p = 0; p < pairs; ++p) {
    const Complex* a = in + static_cast<std::ptrdiff_t>(2 * p) * complex_distance_;
    const bool has_b = 2 * p + 1 < spec_.batch;
    const Complex* b = a + complex_distance_;
    for (std::size_t k = 0; k < n; ++k) {
      const Complex ak = bin(a, k);
      const Complex bk = has_b ? bin(b, k) : Complex(0);
      scratch[p * n + k] = Complex(ak.real() - bk.imag(), ak.imag() + bk.real());  // A + iB
    }
  }
  // Out of place into the second half: the plan's in-place path would copy every row.
  full_plan_->execute(scratch, scratch + pairs * n);
  scratch += pairs * n;
  for (std::size_t p = 0; p < pairs; ++p) {
    const Complex* c = scratch + p * n;
    Real* ya = out + static_cast<std::ptrdiff_t>(2 * p) * real_distance_;
    const bool has_b = 2 * p + 1 < spec_.batch;
    Real* yb = ya + real_distance_;
    for (std::size_t j = 0; j < n; ++j) {
      const std::ptrdiff_t o = static_cast<std::ptrdiff_t>(j) * rs;
      ya[o] = c[j].real() * scale_;
      if (has_b) yb[o] = c[j].imag() * scale_;
    }
  }
}

template <class Real>
std::string RealPlan<Real>::describe() const {
  std::string text = fmt::format("{} n={} batch={} method={}",
                                 spec_.direction == Direction::forward ? "r2c" : "c2r", spec_.n,
                                 spec_.batch, method_name(spec_.method));
  if (full_plan_)
    text += fmt::format("; {}: [{}]", spec_.method == RealMethod::pairs ? "pairs" : "odd n, complex",
                        full_plan_->describe());
  if (half_plan_)
    text += fmt::format("; half-length {} + split butterfly: [{}]", spec_.n / 2,
                        half_plan_->describe());
  return text;
}

template class RealPlan<float>;
template class RealPlan<double>;

}  // namespace nodal::fft
