// Host side of the device's circular convolution (fft_convolve.hpp): the plan choice, the three
// small kernels of kernels/fft_convolve.cl, argument checks.
#include "nodal/backends/opencl/fft_convolve.hpp"

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl::fft {
namespace {

constexpr const char* op = "fft convolve (opencl)";

cl_mem mem_of(const Tensor& t) { return device_buffer(*t.buffer(), op).mem(); }

void check_index_range(std::int64_t values) {
  if (values >= (std::int64_t(1) << 31))
    throw ValueError(fmt::format("{}: {} values in one launch exceed the kernels' 32-bit indices", op, values));
}

// The single-launch specialised plan of length n, where it is the one execute would use.
std::shared_ptr<const StockhamPlan> one_launch_plan(Context& context, std::int64_t n, DType real) {
  if (!stockham_enabled(context)) return nullptr;
  auto plan = stockham_plan(context, n, real);
  return plan && is_single(*plan) ? plan : nullptr;
}

Side rows_side(const Tensor& t, std::int64_t n) {
  Side s;
  s.mem = mem_of(t);
  s.offset = t.offset();
  s.s_outer = n;
  return s;
}

// z [groups, n] complex ← real x [rows, n] in pairs (rows == 1: x as complex with zero imaginary parts)
Tensor pair_rows(Context& context, const Tensor& x, std::int64_t rows, std::int64_t n, DType real) {
  const std::int64_t groups = (rows + 1) / 2;
  Tensor z = device_empty(context, Shape{groups, n}, complex_dtype(real));
  check_index_range(groups * n);
  Launch launch(context, typed_kernel(context, "fft_convolve", real, "fft_pair_rows"), "fft_pair_rows");
  launch.arg(cl_int(groups * n)).arg(cl_int(n)).arg(cl_int(rows)).mem(mem_of(x)).arg(cl_long(x.offset()));
  launch.mem(mem_of(z)).arg(cl_long(z.offset())).run_elements(groups * n);
  return z;
}

}  // namespace

CircularConvolver::CircularConvolver(Context& context, std::int64_t n, DType real)
    : context_(context), n_(n), real_(real) {
  if (n < 1) throw ValueError(fmt::format("{}: length must be positive, got {}", op, n));
  if (real != DType::float32 && real != DType::float64)
    throw DTypeError(fmt::format("{}: precision must be float32 or float64, got {}", op, dtype_name(real)));
  check_complex_kernel_dtype(context, real, op);
  // planned once: the filter's spectrum and every convolution then agree on the order
  plan_ = plan_for(context, n, real);
  one_launch_ = one_launch_plan(context, n, real);
}

std::string CircularConvolver::describe() const {
  if (one_launch_) return fmt::format("one launch ({})", fft::describe(*one_launch_));
  std::string plan = fft::describe(*plan_);
  if (stockham_enabled(context_))
    if (const auto fast = stockham_plan(context_, n_, real_)) plan = fft::describe(*fast);
  return fmt::format("forward, x spectrum, inverse ({}{})", plan,
                     scrambled_split(context_, n_, real_).first > 1 ? ", scrambled" : "");
}

FilterSpectrum CircularConvolver::filter(const Tensor& h) const {
  context_of({&h}, op);
  const bool real = h.dtype() == real_;
  if (!real && h.dtype() != complex_dtype(real_))
    throw DTypeError(fmt::format("{}: filter of dtype {} for a {} convolver (expected {} or {})", op,
                                 dtype_name(h.dtype()), dtype_name(real_), dtype_name(real_),
                                 dtype_name(complex_dtype(real_))));
  if (h.numel() != n_ || h.shape().rank() < 1 || h.shape()[h.shape().rank() - 1] != n_)
    throw ValueError(fmt::format("{}: filter of shape {} for length {} (expected [{}])", op, to_string(h.shape()), n_, n_));
  const Tensor hc = h.contiguous();
  Tensor z = real ? pair_rows(context_, hc, 1, n_, real_) : hc;
  Tensor bins = device_empty(context_, Shape{n_}, complex_dtype(real_));
  // the one-launch convolution multiplies in natural order; the others in execute's scrambled order
  execute(context_, *plan_, real_, 1, false, rows_side(z, n_), {}, rows_side(bins, n_), {},
          one_launch_ ? Order::natural : Order::scrambled);
  return {bins, n_, real};
}

void CircularConvolver::convolve_rows(const Tensor& in, Tensor& out, std::int64_t rows, const FilterSpectrum& h) const {
  if (rows == 0) return;
  const double scale = 1.0 / double(n_);
  if (one_launch_) {
    convolve_in_one_launch(context_, *one_launch_, real_, rows, mem_of(in), in.offset(), mem_of(out), out.offset(),
                           mem_of(h.bins), scale);
    return;
  }
  // the product fused into the forward's last store where the plan allows (execute)
  const Side side = rows_side(out, n_);
  execute(context_, *plan_, real_, rows, false, rows_side(in, n_), {}, side, {.multiply = mem_of(h.bins)},
          Order::scrambled);
  execute(context_, *plan_, real_, rows, true, side, {}, side, {.scale = scale}, Order::scrambled);
}

void multiply_rows(Context& context, cl_mem z, std::int64_t offset, std::int64_t rows, std::int64_t n, cl_mem spectrum,
                   DType real) {
  if (rows * n == 0) return;
  check_index_range(rows * n);
  Launch launch(context, typed_kernel(context, "fft_convolve", real, "fft_multiply_rows"), "fft_multiply_rows");
  launch.arg(cl_int(rows * n)).arg(cl_int(n)).mem(z).arg(cl_long(offset)).mem(spectrum).run_elements(rows * n);
}

namespace {

void check_rows(const Tensor& x, const FilterSpectrum& h, std::int64_t n, DType expected, const char* what) {
  if (h.n != n || !h.bins.defined())
    throw ValueError(fmt::format("{}: a filter spectrum of length {} for length {}", op, h.n, n));
  if (x.dtype() != expected)
    throw DTypeError(fmt::format("{}: {} input of dtype {} (expected {})", op, what, dtype_name(x.dtype()),
                                 dtype_name(expected)));
  if (x.shape().rank() < 1 || x.shape()[x.shape().rank() - 1] != n)
    throw ValueError(fmt::format("{}: input of shape {} for length {} (the last axis must be {})", op, to_string(x.shape()), n, n));
}

}  // namespace

Tensor CircularConvolver::convolve(const Tensor& x, const FilterSpectrum& h) const {
  context_of({&x, &h.bins}, op);
  check_rows(x, h, n_, complex_dtype(real_), "complex");
  Tensor y = device_empty(context_, x.shape(), x.dtype());
  if (x.numel() == 0) return y;
  convolve_rows(x.contiguous(), y, x.numel() / n_, h);
  return y;
}

Tensor CircularConvolver::convolve_real(const Tensor& x, const FilterSpectrum& h) const {
  context_of({&x, &h.bins}, op);
  check_rows(x, h, n_, real_, "real");
  if (!h.real)
    throw ValueError(fmt::format("{}: convolve_real needs a real filter (a complex one would mix the paired rows)", op));
  Tensor y = device_empty(context_, x.shape(), x.dtype());
  if (x.numel() == 0) return y;
  const std::int64_t rows = x.numel() / n_;
  Tensor z = pair_rows(context_, x.contiguous(), rows, n_, real_);
  convolve_rows(z, z, (rows + 1) / 2, h);
  Launch launch(context_, typed_kernel(context_, "fft_convolve", real_, "fft_unpair_rows"), "fft_unpair_rows");
  launch.arg(cl_int(z.numel())).arg(cl_int(n_)).arg(cl_int(rows)).mem(mem_of(z)).arg(cl_long(z.offset()));
  launch.mem(mem_of(y)).arg(cl_long(y.offset())).run_elements(z.numel());
  return y;
}

}  // namespace nodal::opencl::fft
