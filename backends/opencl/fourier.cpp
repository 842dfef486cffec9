// OpenCL forward, vjp and jvp of the Fourier nodes (nodes/fourier.hpp) on the batched FFTs of
// fft_plan.hpp, with the CPU backend's rules (backends/cpu/fourier.cpp):
//   fft   y = s·F x          x̄ = s·Fᴴ ȳ   (real x: its real part, stored directly as real)
//   ifft  y = s·Fᴴ x         x̄ = s·F ȳ
//   rfft  y = P(s·F x)       x̄ = s·c2r(ȳ with interior bins halved)   (halving fused into the load)
//   irfft x = s·c2r(h)       h̄ = s·r2c(x̄) with interior bins doubled  (doubling fused into the store)
//   jvp: the node's own (linear) transform of the tangent.
// 2-D transforms are row–column: the column pass (axis −2) reads and writes strided columns in
// the same local kernel (several columns per work-group, loaded batch-fastest, so coalesced);
// columns too long for one local transform are transposed (fft_gather), transformed as rows and
// transposed back. Real inputs are read as real and complex outputs of real data are never
// materialised twice: rfft stores only bins 0..n/2, irfft reads only them (Hermitian load).
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/fourier.hpp"

namespace nodal::opencl {
namespace {

namespace ocl_fft = opencl::fft;
using ocl_fft::Side;

enum class Kind { c2c, r2c, c2r };

struct Request {
  int rank = 1;
  Kind kind = Kind::c2c;
  bool inverse = false;
  std::string_view norm_mode;   // scaling: "none", "by_n", "ortho"
  std::int64_t real_last = 0;   // r2c/c2r: the real length of the last axis
  double hermitian_scale = 1;   // c2r: factor of the interior bins on load (rfft's adjoint: ½)
  double interior_scale = 1;    // r2c: factor of the interior bins on store (irfft's adjoint: 2)
  bool real_output = false;     // c2c: keep the real part (adjoint of a real input)
  std::string_view op;
};

// The scaling of the CPU backend's scaling_of(), as a factor of the transformed size N.
double scale_factor(std::string_view mode, double size) {
  if (mode == "by_n") return 1.0 / size;
  if (mode == "ortho") return 1.0 / std::sqrt(size);
  return 1.0;
}
std::string_view scaling_of(const Fourier& f, bool forward_transform) {
  if (f.norm == "ortho") return "ortho";
  if (f.norm == "backward") return forward_transform ? "none" : "by_n";
  return forward_transform ? "by_n" : "none";
}

// The batch axes of `t` (every axis but `axis`) as at most two levels (outer, inner), after
// dropping extent-1 axes and merging contiguous neighbours; nullopt when more remain.
std::optional<Side> axis_side(const Tensor& t, int axis) {
  std::vector<std::int64_t> extents, strides;
  for (int a = 0; a < t.rank(); ++a) {
    if (a == axis || t.shape()[a] == 1) continue;
    if (!extents.empty() && strides.back() == t.strides()[a] * t.shape()[a]) {
      extents.back() *= t.shape()[a];
      strides.back() = t.strides()[a];
    } else {
      extents.push_back(t.shape()[a]);
      strides.push_back(t.strides()[a]);
    }
  }
  if (extents.size() > 2) return std::nullopt;
  Side s;
  s.mem = device_buffer(*t.buffer(), "fft").mem();
  s.offset = t.offset();
  s.s_elem = t.strides()[axis];
  if (extents.size() == 1) s.s_outer = strides[0];
  if (extents.size() == 2) {
    s.I = extents[1];
    s.s_inner = strides[1];
    s.s_outer = strides[0];
  }
  return s;
}

// One pass of 1-D transforms along `axis` of `src` into a new contiguous tensor of `out_shape`
// (complex, or real when `store_flags` has store_real).
Tensor run_axis(Context& context, const Tensor& src, int axis, std::int64_t length, const Shape& out_shape,
                DType out_dtype, bool inverse, int load_flags, const ocl_fft::LoadOps& lops, int store_flags,
                const ocl_fft::StoreOps& sops) {
  const DType real = real_dtype(src.dtype());
  const auto plan = ocl_fft::plan_for(context, length, real);
  Tensor out = device_empty(context, out_shape, out_dtype);
  const std::int64_t count = src.numel() / src.shape()[axis];
  if (count == 0) return out;
  const bool last = axis == src.rank() - 1;
  auto load = axis_side(src, axis);
  auto store = axis_side(out, axis);
  const bool local = ocl_fft::is_local(*plan);
  if (load && store && (local || (load->plain() && store->plain()))) {
    load->flags = load_flags;
    store->flags = store_flags;
    ocl_fft::execute(context, *plan, real, count, inverse, *load, lops, *store, sops);
    return out;
  }
  if (last) {  // an unusual batch layout: one contiguous copy first
    const Tensor packed = ocl_fft::gather_contiguous(context, src);
    return run_axis(context, packed, axis, length, out_shape, out_dtype, inverse, load_flags, lops, store_flags, sops);
  }
  // a long column: transpose, transform as rows, transpose back
  const int r = src.rank();
  const Tensor rows = ocl_fft::gather_contiguous(context, src.transpose(axis, r - 1));
  Shape t_shape = out_shape;
  std::swap(t_shape[axis], t_shape[r - 1]);
  const Tensor done =
      run_axis(context, rows, r - 1, length, t_shape, out_dtype, inverse, load_flags, lops, store_flags, sops);
  return ocl_fft::gather_contiguous(context, done.transpose(axis, r - 1));
}

Tensor transform(const Tensor& x, const Request& q) {
  Context& context = context_of({&x}, q.op);
  check_complex_kernel_dtype(context, x.dtype(), q.op);
  const int r = x.rank(), last = r - 1;
  const DType complex = complex_dtype(x.dtype()), real = real_dtype(x.dtype());
  const std::int64_t n_last = q.kind == Kind::c2c ? x.shape()[last] : q.real_last;
  const double size = double(n_last) * (q.rank == 2 ? double(x.shape()[r - 2]) : 1.0);
  ocl_fft::StoreOps final_ops;
  final_ops.scale = scale_factor(q.norm_mode, size);
  const int real_in = is_complex(x.dtype()) ? 0 : ocl_fft::load_real;
  Shape out_shape = x.shape();

  if (q.kind == Kind::c2c) {
    const int store = q.real_output ? ocl_fft::store_real : 0;
    const DType out_dtype = q.real_output ? real : complex;
    if (q.rank == 1) return run_axis(context, x, last, n_last, out_shape, out_dtype, q.inverse, real_in, {}, store, final_ops);
    const Tensor cols = run_axis(context, x, r - 2, x.shape()[r - 2], out_shape, complex, q.inverse, real_in, {}, 0, {});
    return run_axis(context, cols, last, n_last, out_shape, out_dtype, q.inverse, 0, {}, store, final_ops);
  }
  if (q.kind == Kind::r2c) {
    out_shape[last] = n_last / 2 + 1;
    ocl_fft::StoreOps row_ops = q.rank == 1 ? final_ops : ocl_fft::StoreOps{};
    row_ops.store_count = n_last / 2 + 1;
    int store = 0;
    if (q.interior_scale != 1) {
      store |= ocl_fft::store_interior;
      row_ops.interior_scale = q.interior_scale;
      row_ops.interior_n = n_last;
    }
    const Tensor rows = run_axis(context, x, last, n_last, out_shape, complex, false, ocl_fft::load_real, {}, store, row_ops);
    if (q.rank == 1) return rows;
    return run_axis(context, rows, r - 2, x.shape()[r - 2], out_shape, complex, false, 0, {}, 0, final_ops);
  }
  // c2r: columns (2-D) on the half spectrum, then the Hermitian row pass
  Tensor half = x;
  if (q.rank == 2) half = run_axis(context, x, r - 2, x.shape()[r - 2], x.shape(), complex, true, 0, {}, 0, {});
  out_shape[last] = n_last;
  const ocl_fft::LoadOps lops{.hermitian_n = n_last, .hermitian_scale = q.hermitian_scale};
  return run_axis(context, half, last, n_last, out_shape, real, true, ocl_fft::load_hermitian, lops,
                  ocl_fft::store_real, final_ops);
}

struct FourierOpenCl final : NodeImpl {
  // y = the node's transform of x
  static Tensor run(const Fourier& f, const Tensor& x) {
    Request q;
    q.rank = f.rank;
    q.op = f.type();
    switch (f.kind) {
      case FourierKind::fft: q.norm_mode = scaling_of(f, true); break;
      case FourierKind::ifft:
        q.inverse = true;
        q.norm_mode = scaling_of(f, false);
        break;
      case FourierKind::rfft:
        q.kind = Kind::r2c;
        q.norm_mode = scaling_of(f, true);
        q.real_last = x.shape().back();
        break;
      case FourierKind::irfft:
        q.kind = Kind::c2r;
        q.inverse = true;
        q.norm_mode = scaling_of(f, false);
        q.real_last = f.real_length(x.shape());
        break;
    }
    if (q.kind == Kind::r2c && is_complex(x.dtype()))
      throw DTypeError(fmt::format("{} (opencl): input must be real, got {}", f.type(), dtype_name(x.dtype())));
    if (q.kind == Kind::c2r && !is_complex(x.dtype()))
      throw DTypeError(fmt::format("{} (opencl): input must be complex, got {}", f.type(), dtype_name(x.dtype())));
    return transform(x, q);
  }
  void forward(const ForwardCall& c) const override { c.outputs[0] = run(c.as<Fourier>(), c.inputs[0]); }

  // x̄ = adjoint(ȳ): the opposite direction with the node's own scale (table at the top)
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const auto& f = c.as<Fourier>();
    const Tensor& x = c.inputs[0];
    const Tensor& g = c.output_cotangents[0];
    const bool forward_node = f.kind == FourierKind::fft || f.kind == FourierKind::rfft;
    Request q{.rank = f.rank, .norm_mode = scaling_of(f, forward_node), .op = f.type()};
    switch (f.kind) {
      case FourierKind::fft:
      case FourierKind::ifft:
        q.inverse = f.kind == FourierKind::fft;
        q.real_output = !is_complex(x.dtype());
        break;
      case FourierKind::rfft:
        q.kind = Kind::c2r;
        q.inverse = true;
        q.real_last = x.shape().back();
        q.hermitian_scale = 0.5;
        break;
      case FourierKind::irfft:
        q.kind = Kind::r2c;
        q.real_last = f.real_length(x.shape());
        q.interior_scale = 2.0;
        break;
    }
    c.input_cotangents[0] = transform(g, q);
  }
  // ẏ = the same linear transform of ẋ
  void jvp(const JvpCall& c) const override {
    if (!c.input_tangents[0].defined()) return;
    c.output_tangents[0] = run(c.as<Fourier>(), c.input_tangents[0]);
  }
};

[[maybe_unused]] const bool registered = [] {
  for (const char* name : {"fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2"})
    Registry::instance().add_impl(name, Backend::opencl, std::make_unique<FourierOpenCl>());
  return true;
}();

}  // namespace
}  // namespace nodal::opencl
