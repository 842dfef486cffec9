// Host side of kernels/copy.cl: programs per element size, the launches, and reshape as a view
// where strides allow.
#include "nodal/backends/opencl/copy.hpp"

#include <complex>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_sources.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/program_cache.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

// The word type that moves one element of `dtype` (see kernels/copy.cl).
std::string_view word_type(DType dtype) {
  switch (dtype_size(dtype)) {
    case 4: return "uint";
    case 8: return "ulong";
    case 16: return "ulong2";
    default: break;
  }
  throw DTypeError(fmt::format("opencl copy: no word type for {} ({} bytes)", dtype_name(dtype), dtype_size(dtype)));
}

cl_kernel copy_kernel(Context& context, DType dtype, std::string_view name) {
  return context.programs().kernel("copy.cl", kernel_source("copy"),
                                   fmt::format("-cl-std=CL1.2 -DT={}", word_type(dtype)), name);
}

// `value` in `dtype`'s bytes (16 at most), for the fill kernels' T argument.
struct Pattern {
  unsigned char bytes[16] = {};
  std::size_t size = 0;
};
Pattern pattern_of(DType dtype, std::complex<double> value) {
  Pattern p;
  p.size = dtype_size(dtype);
  const auto put = [&](const auto& v) { std::memcpy(p.bytes, &v, sizeof(v)); };
  switch (dtype) {
    case DType::float32: put(float(value.real())); break;
    case DType::float64: put(value.real()); break;
    case DType::complex64: put(std::complex<float>(value)); break;
    case DType::complex128: put(value); break;
  }
  return p;
}

// The OpenCL C type of one element of `dtype`.
std::string_view element_type(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float";
    case DType::float64: return "double";
    case DType::complex64: return "float2";
    case DType::complex128: return "double2";
  }
  return "float";
}

cl_long8 long8_of(std::span<const std::int64_t> v, std::int64_t pad) {
  cl_long8 out{};
  for (std::size_t d = 0; d < 8; ++d) out.s[d] = d < v.size() ? v[d] : pad;
  return out;
}

}  // namespace

void copy_into(const Tensor& src, Tensor& dst, std::string_view op) {
  if (src.dtype() != dst.dtype())
    throw DTypeError(fmt::format("{} (opencl): cannot copy {} into {}", op, dtype_name(src.dtype()), dtype_name(dst.dtype())));
  Context& context = context_of({&src, &dst}, op);
  if (dst.numel() == 0) return;
  const Tensor views[] = {src, dst};
  const StridedLayout l = strided_layout(dst.shape(), views);
  Launch launch(context, copy_kernel(context, dst.dtype(), "strided_copy"), "strided_copy");
  launch.shape(l).operand(l.operands[0]).operand(l.operands[1]).run_elements(l.numel);
}

Tensor contiguous_copy(const Tensor& src, std::string_view op) {
  Context& context = context_of({&src}, op);
  Tensor out = device_empty(context, src.shape(), src.dtype());
  copy_into(src, out, op);
  return out;
}

Tensor reshape_on_device(const Tensor& src, const Shape& shape, std::string_view op) {
  if (shape.numel() != src.numel())
    throw ShapeError(fmt::format("{}: cannot reshape {} ({} elements) into {} ({} elements)", op, to_string(src.shape()),
                                 src.numel(), to_string(shape), shape.numel()));
  if (src.is_contiguous()) return src.reshape(shape);
  if (src.numel() <= 1) return Tensor(src.buffer(), shape, contiguous_strides(shape), src.offset(), src.dtype());
  // NumPy's no-copy rule (_attempt_nocopy_reshape): with src's extent-1 axes dropped, match runs
  // of old axes with runs of new axes of equal product; a run of old axes must be contiguous
  // within itself, and the new axes of the run get row-major strides from its innermost stride.
  std::vector<std::int64_t> old_ext, old_str;
  for (int d = 0; d < src.rank(); ++d)
    if (src.shape()[d] != 1) old_ext.push_back(src.shape()[d]), old_str.push_back(src.strides()[d]);
  Strides strides = contiguous_strides(shape);
  const int old_rank = int(old_ext.size()), new_rank = shape.rank();
  bool viewable = true;
  for (int oi = 0, oj = 1, ni = 0, nj = 1; viewable && ni < new_rank && oi < old_rank; ni = nj++, oi = oj++) {
    std::int64_t np = shape[ni], op_ = old_ext[oi];
    while (np != op_) {
      if (np < op_) np *= shape[nj++];
      else op_ *= old_ext[oj++];
    }
    for (int ok = oi; ok < oj - 1; ++ok) viewable = viewable && old_str[ok] == old_ext[ok + 1] * old_str[ok + 1];
    strides[nj - 1] = old_str[oj - 1];
    for (int nk = nj - 1; nk > ni; --nk) strides[nk - 1] = strides[nk] * shape[nk];
  }
  if (viewable) return Tensor(src.buffer(), shape, strides, src.offset(), src.dtype());
  return contiguous_copy(src, op).reshape(shape);
}

bool can_cast(const Context& context, DType from, DType to) {
  return context.device().fp64 || (real_dtype(from) != DType::float64 && real_dtype(to) != DType::float64);
}

void cast_into(const Tensor& src, Tensor& dst, std::string_view op) {
  if (src.dtype() == dst.dtype()) return copy_into(src, dst, op);
  if (!(src.shape() == dst.shape()))
    throw ShapeError(fmt::format("{} (opencl): source shape {} differs from destination shape {}", op,
                                 to_string(src.shape()), to_string(dst.shape())));
  if (is_complex(src.dtype()) && !is_complex(dst.dtype()))
    throw DTypeError(fmt::format("{} (opencl): cannot convert complex {} to real {}", op, dtype_name(src.dtype()),
                                 dtype_name(dst.dtype())));
  Context& context = context_of({&src, &dst}, op);
  if (!can_cast(context, src.dtype(), dst.dtype()))
    throw BackendError(fmt::format("{} (opencl): {} to {} needs cl_khr_fp64, which {} lacks", op,
                                   dtype_name(src.dtype()), dtype_name(dst.dtype()), context.device().name));
  if (dst.numel() == 0) return;
  const std::string options =
      fmt::format("-cl-std=CL1.2 -DT=uint -DS={} -DD={} -DDR={} -DSRC_COMPLEX={} -DDST_COMPLEX={}{}",
                  element_type(src.dtype()), element_type(dst.dtype()), element_type(real_dtype(dst.dtype())),
                  is_complex(src.dtype()) ? 1 : 0, is_complex(dst.dtype()) ? 1 : 0,
                  real_dtype(src.dtype()) == DType::float64 || real_dtype(dst.dtype()) == DType::float64
                      ? " -DNODAL_FP64"
                      : "");
  const Tensor views[] = {src, dst};
  const StridedLayout l = strided_layout(dst.shape(), views);
  Launch launch(context, context.programs().kernel("copy.cl", kernel_source("copy"), options, "strided_cast"),
                "strided_cast");
  launch.shape(l).operand(l.operands[0]).operand(l.operands[1]).run_elements(l.numel);
}

void fill(Tensor& dst, std::complex<double> value, std::string_view op) {
  if (!is_complex(dst.dtype()) && value.imag() != 0.0)
    throw DTypeError(fmt::format("{} (opencl): complex value {}+{}i for real dtype {}", op, value.real(), value.imag(),
                                 dtype_name(dst.dtype())));
  Context& context = context_of({&dst}, op);
  if (dst.numel() == 0) return;
  const StridedLayout l = strided_layout(dst.shape(), std::span<const Tensor>(&dst, 1));
  const Pattern p = pattern_of(dst.dtype(), value);
  Launch launch(context, copy_kernel(context, dst.dtype(), "fill"), "fill");
  launch.shape(l).operand(l.operands[0]);
  switch (p.size) {
    case 4: { cl_uint w; std::memcpy(&w, p.bytes, 4); launch.arg(w); break; }
    case 8: { cl_ulong w; std::memcpy(&w, p.bytes, 8); launch.arg(w); break; }
    default: { cl_ulong2 w; std::memcpy(&w, p.bytes, 16); launch.arg(w); break; }
  }
  launch.run_elements(l.numel);
}

Tensor device_full(Context& context, const Shape& shape, DType dtype, double value, std::string_view op) {
  Tensor out = device_empty(context, shape, dtype);
  fill(out, value, op);
  return out;
}

Tensor embed(Context& context, const Tensor& src, const Shape& shape, std::span<const std::int64_t> start,
             std::span<const std::int64_t> step, double value, std::string_view op) {
  Tensor out = device_empty(context, shape, src.dtype());
  if (out.numel() == 0) return out;
  if (src.numel() == 0) {
    fill(out, value, op);
    return out;
  }
  const int rank = shape.rank();
  const std::vector<std::int64_t> out_shape(shape.begin(), shape.end()), src_shape(src.shape().begin(), src.shape().end()),
      src_strides(src.strides().begin(), src.strides().end());
  const Pattern p = pattern_of(src.dtype(), value);
  Launch launch(context, copy_kernel(context, src.dtype(), "embed"), "embed");
  launch.arg(cl_long(out.numel())).arg(cl_int(std::max(rank, 1)));
  launch.arg(long8_of(out_shape, 1)).arg(long8_of(start, 0)).arg(long8_of(step, 1)).arg(long8_of(src_shape, 1));
  launch.mem(device_buffer(*src.buffer(), op).mem()).arg(cl_long(src.offset())).arg(long8_of(src_strides, 0));
  switch (p.size) {
    case 4: { cl_uint w; std::memcpy(&w, p.bytes, 4); launch.arg(w); break; }
    case 8: { cl_ulong w; std::memcpy(&w, p.bytes, 8); launch.arg(w); break; }
    default: { cl_ulong2 w; std::memcpy(&w, p.bytes, 16); launch.arg(w); break; }
  }
  launch.mem(device_buffer(*out.buffer(), op).mem()).run_elements(out.numel());
  return out;
}

}  // namespace nodal::opencl
