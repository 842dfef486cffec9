// NdPlan: 2-D / 3-D transforms by the row–column method (see nd_plan.hpp).
#include "nodal/fft/nd_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "nodal/core/error.hpp"
#include "nodal/fft/thread_scratch.hpp"
#include "nodal/fft/transpose.hpp"

namespace nodal::fft {

namespace {

const char* kind_name(NdKind kind) {
  switch (kind) {
    case NdKind::c2c: return "c2c";
    case NdKind::r2c: return "r2c";
    case NdKind::c2r: return "c2r";
  }
  return "?";
}

std::size_t product(const std::vector<std::size_t>& v, std::size_t from, std::size_t to) {
  std::size_t p = 1;
  for (std::size_t i = from; i < to; ++i) p *= v[i];
  return p;
}

void validate(const NdSpec& s) {
  const char* op = "fft::NdPlan";
  if (s.shape.empty() || s.shape.size() > 3)
    throw ValueError(fmt::format("{}: shape must have 1 to 3 axes, got {} ({})", op, s.shape.size(),
                                 s.shape));
  for (std::size_t d : s.shape)
    if (d == 0) throw ValueError(fmt::format("{}: zero length in shape {}", op, s.shape));
  if (s.batch == 0) throw ValueError(fmt::format("{}: batch = 0 (shape {})", op, s.shape));
  if (s.kind == NdKind::r2c && s.direction != Direction::forward)
    throw ValueError(fmt::format("{}: r2c is a forward transform (shape {})", op, s.shape));
  if (s.kind == NdKind::c2r && s.direction != Direction::inverse)
    throw ValueError(fmt::format("{}: c2r is an inverse transform (shape {})", op, s.shape));
}

// Panel width: 256 bytes of each row per panel (4 cache lines), so each tile row of the transposes
// moves whole lines, and enough rows per 1-D plan call to amortise its overhead.
template <class Real>
constexpr std::size_t panel_width_for() {
  return 256 / sizeof(std::complex<Real>);
}

}  // namespace

template <class Real>
NdPlan<Real>::NdPlan(const NdSpec& spec) : spec_(spec) {
  validate(spec_);
  const auto& shape = spec_.shape;
  const std::size_t dims = shape.size(), last = shape[dims - 1];
  std::vector<std::size_t> complex_shape = shape;
  if (spec_.kind != NdKind::c2c) complex_shape[dims - 1] = last / 2 + 1;
  const std::size_t real_size = product(shape, 0, dims);
  complex_size_ = product(complex_shape, 0, dims);
  in_size_ = spec_.kind == NdKind::r2c ? real_size : complex_size_;
  out_size_ = spec_.kind == NdKind::c2r ? real_size : complex_size_;
  in_distance_ = spec_.in_distance != 0 ? spec_.in_distance : static_cast<std::ptrdiff_t>(in_size_);
  out_distance_ = spec_.out_distance != 0 ? spec_.out_distance : static_cast<std::ptrdiff_t>(out_size_);
  if (static_cast<std::size_t>(std::abs(in_distance_)) < in_size_ && spec_.batch > 1)
    throw ValueError(fmt::format("fft::NdPlan: in_distance {} is smaller than the sample size {} "
                                 "(shape {}), so samples would overlap",
                                 in_distance_, in_size_, shape));
  if (static_cast<std::size_t>(std::abs(out_distance_)) < out_size_ && spec_.batch > 1)
    throw ValueError(fmt::format("fft::NdPlan: out_distance {} is smaller than the sample size {} "
                                 "(shape {}), so samples would overlap",
                                 out_distance_, out_size_, shape));

  const std::size_t rows = product(shape, 0, dims - 1);
  if (spec_.kind == NdKind::c2c) {
    Spec row;
    row.n = last;
    row.batch = rows;
    row.direction = spec_.direction;
    row.scaling = spec_.scaling;
    row.planning = spec_.planning;
    rows_ = Plan<Real>::cached(row);
  } else {
    RealSpec row;
    row.n = last;
    row.batch = rows;
    row.direction = spec_.direction;
    row.scaling = spec_.scaling;
    row.planning = spec_.planning;
    real_rows_ = std::make_shared<const RealPlan<Real>>(row);
  }

  // Column passes, innermost axis first (any order is correct; this one touches the shortest
  // strides first). c2r runs them before the rows, r2c and c2c after.
  for (std::size_t axis = dims - 1; axis-- > 0;) {
    const std::size_t block_bytes = product(complex_shape, axis, dims) * sizeof(Complex);
    AxisPass pass;
    if (spec_.column_method != ColumnMethod::automatic) {
      pass = make_pass(axis, complex_shape, spec_.column_method);
    } else if (spec_.planning == Planning::measure) {
      double best = 0;
      for (ColumnMethod method : {ColumnMethod::strided, ColumnMethod::panel, ColumnMethod::buffered}) {
        AxisPass candidate = make_pass(axis, complex_shape, method);
        const double seconds = time_pass(candidate);
        if (method == ColumnMethod::strided || seconds < best) pass = std::move(candidate), best = seconds;
      }
    } else {
      const bool large = block_bytes > 32 * 1024 && complex_shape[axis] > 1;
      pass = make_pass(axis, complex_shape, large ? ColumnMethod::panel : ColumnMethod::strided);
    }
    passes_.push_back(std::move(pass));
  }
}

template <class Real>
typename NdPlan<Real>::AxisPass NdPlan<Real>::make_pass(std::size_t axis,
                                                         const std::vector<std::size_t>& complex_shape,
                                                         ColumnMethod method) const {
  AxisPass pass;
  pass.axis = axis;
  pass.length = complex_shape[axis];
  pass.inner = product(complex_shape, axis + 1, complex_shape.size());
  pass.outer = product(complex_shape, 0, axis);
  pass.method = method;
  Spec column;
  column.n = pass.length;
  column.direction = spec_.direction;
  column.scaling = spec_.scaling;
  column.planning = spec_.planning;
  if (method == ColumnMethod::strided) {
    column.batch = pass.inner;
    column.in_stride = column.out_stride = static_cast<std::ptrdiff_t>(pass.inner);
    column.in_distance = column.out_distance = 1;
    pass.strided = Plan<Real>::cached(column);
  } else {
    // panel: w contiguous rows of length L; buffered: an L×w block transformed along its columns.
    const bool buffered = method == ColumnMethod::buffered;
    pass.panel_width = std::min(pass.inner, panel_width_for<Real>());
    auto panel_plan = [&](std::size_t width) {
      column.batch = width;
      if (buffered) {
        column.in_stride = column.out_stride = static_cast<std::ptrdiff_t>(width);
        column.in_distance = column.out_distance = 1;
      }
      return Plan<Real>::cached(column);
    };
    pass.panel = panel_plan(pass.panel_width);
    if (const std::size_t rest = pass.inner % pass.panel_width; rest != 0)
      pass.panel_rest = panel_plan(rest);
  }
  return pass;
}

// Transforms the columns of every L×inner matrix of one sample, reading src and writing dst
// (which may be equal).
template <class Real>
void NdPlan<Real>::run_pass(const AxisPass& pass, const Complex* src, Complex* dst) const {
  const std::size_t block = pass.length * pass.inner;
  if (pass.method == ColumnMethod::strided) {
    for (std::size_t o = 0; o < pass.outer; ++o) pass.strided->execute(src + o * block, dst + o * block);
    return;
  }
  const std::size_t width = pass.panel_width;
  // Two panel buffers, so the 1-D plan runs out of place (its in-place path copies every row).
  Complex* panel = detail::thread_scratch<Complex>(detail::ScratchSlot::nd_panel, 2 * width * pass.length);
  Complex* transformed = panel + width * pass.length;
  for (std::size_t o = 0; o < pass.outer; ++o) {
    for (std::size_t c0 = 0; c0 < pass.inner; c0 += width) {
      const std::size_t w = std::min(width, pass.inner - c0);
      const Plan<Real>& plan = w == width ? *pass.panel : *pass.panel_rest;
      const Complex* from = src + o * block + c0;
      Complex* to = dst + o * block + c0;
      if (pass.method == ColumnMethod::panel) {
        // L×w panel (leading dimension inner) → w contiguous rows of length L, and back.
        transpose(from, panel, pass.length, w, pass.inner, pass.length);
        plan.execute(panel, transformed);
        transpose(transformed, to, w, pass.length, pass.length, pass.inner);
      } else {
        // The same panel copied row by row into an L×w block, transformed down its columns.
        for (std::size_t r = 0; r < pass.length; ++r)
          std::copy(from + r * pass.inner, from + r * pass.inner + w, panel + r * w);
        plan.execute(panel, transformed);
        for (std::size_t r = 0; r < pass.length; ++r)
          std::copy(transformed + r * w, transformed + (r + 1) * w, to + r * pass.inner);
      }
    }
  }
}

// Seconds per run of one pass on a sample-sized scratch buffer (best of a few runs).
template <class Real>
double NdPlan<Real>::time_pass(const AxisPass& pass) const {
  std::vector<Complex> data(complex_size_, Complex(1, 0));
  double best = 1e300;
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    run_pass(pass, data.data(), data.data());
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count());
  }
  return best;
}

template <class Real>
void NdPlan<Real>::execute(const Complex* in, Complex* out) const {
  if (spec_.kind != NdKind::c2c)
    throw ValueError(fmt::format("fft::NdPlan::execute: complex→complex call on a {} plan (shape {})",
                                 kind_name(spec_.kind), spec_.shape));
  for (std::size_t b = 0; b < spec_.batch; ++b) {
    const Complex* x = in + static_cast<std::ptrdiff_t>(b) * in_distance_;
    Complex* y = out + static_cast<std::ptrdiff_t>(b) * out_distance_;
    rows_->execute(x, y);
    for (const AxisPass& pass : passes_) run_pass(pass, y, y);
  }
}

template <class Real>
void NdPlan<Real>::execute(const Real* in, Complex* out) const {
  if (spec_.kind != NdKind::r2c)
    throw ValueError(fmt::format("fft::NdPlan::execute: real→complex call on a {} plan (shape {})",
                                 kind_name(spec_.kind), spec_.shape));
  if (static_cast<const void*>(in) == static_cast<const void*>(out))
    throw ValueError(fmt::format("fft::NdPlan::execute: r2c is out-of-place only (shape {})",
                                 spec_.shape));
  for (std::size_t b = 0; b < spec_.batch; ++b) {
    Complex* y = out + static_cast<std::ptrdiff_t>(b) * out_distance_;
    real_rows_->execute(in + static_cast<std::ptrdiff_t>(b) * in_distance_, y);
    for (const AxisPass& pass : passes_) run_pass(pass, y, y);
  }
}

template <class Real>
void NdPlan<Real>::execute(const Complex* in, Real* out) const {
  if (spec_.kind != NdKind::c2r)
    throw ValueError(fmt::format("fft::NdPlan::execute: complex→real call on a {} plan (shape {})",
                                 kind_name(spec_.kind), spec_.shape));
  Complex* sample = detail::thread_scratch<Complex>(detail::ScratchSlot::nd_sample, complex_size_);
  for (std::size_t b = 0; b < spec_.batch; ++b) {
    const Complex* x = in + static_cast<std::ptrdiff_t>(b) * in_distance_;
    if (passes_.empty()) {
      std::copy(x, x + complex_size_, sample);
    } else {
      // The first pass reads the caller's input and writes scratch, so the input is preserved.
      run_pass(passes_.front(), x, sample);
      for (std::size_t p = 1; p < passes_.size(); ++p) run_pass(passes_[p], sample, sample);
    }
    real_rows_->execute(sample, out + static_cast<std::ptrdiff_t>(b) * out_distance_);
  }
}

template <class Real>
std::string NdPlan<Real>::describe() const {
  std::string text = fmt::format("{} {} shape {} batch {}: axis {} rows [{}]", kind_name(spec_.kind),
                                 spec_.direction == Direction::forward ? "forward" : "inverse",
                                 spec_.shape, spec_.batch, spec_.shape.size() - 1,
                                 rows_ ? rows_->describe() : real_rows_->describe());
  for (const AxisPass& pass : passes_) {
    if (pass.method == ColumnMethod::strided)
      text += fmt::format("; axis {} strided (stride {}) [{}]", pass.axis, pass.inner,
                          pass.strided->describe());
    else if (pass.method == ColumnMethod::panel)
      text += fmt::format("; axis {} panel of {} columns by tiled transpose [{}]", pass.axis,
                          pass.panel_width, pass.panel->describe());
    else
      text += fmt::format("; axis {} buffered panel of {} columns [{}]", pass.axis,
                          pass.panel_width, pass.panel->describe());
  }
  return text;
}

template class NdPlan<float>;
template class NdPlan<double>;

}  // namespace nodal::fft
