#pragma once
// Device data movement (kernels/copy.cl): strided copies, fills and the pad/scatter embedding used
// by the structural nodes, and by Tensor::contiguous()/clone() of device tensors. Elements move as
// raw words of their size, so every dtype works (complex too) and float64 needs no cl_khr_fp64.
#include <complex>
#include <cstdint>
#include <span>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl {

// dst ← src, both device views of one device and one dtype; src broadcast to dst's shape. dst must
// not overlap src. One launch (none when empty).
void copy_into(const Tensor& src, Tensor& dst, std::string_view op = "copy");

// A new contiguous copy of `src` in src's context.
Tensor contiguous_copy(const Tensor& src, std::string_view op = "copy");

// src viewed with `shape` (same element count, row-major order): a view when the strides allow
// it (as NumPy's reshape: contiguous runs of src that map onto runs of the new shape), otherwise
// a contiguous copy first. Never a host round trip.
Tensor reshape_on_device(const Tensor& src, const Shape& shape, std::string_view op = "reshape");

// Whether `context`'s device can convert `from` into `to` (float64 on either side needs cl_khr_fp64).
bool can_cast(const Context& context, DType from, DType to);

// dst ← src converted to dst's dtype (Tensor::astype on the device): same shape and device, real →
// complex with imaginary part 0; DTypeError for complex → real, BackendError where float64 is
// involved and the device lacks cl_khr_fp64. One launch (none when empty).
void cast_into(const Tensor& src, Tensor& dst, std::string_view op = "astype");

// dst ← value (converted to dst's dtype) at every element of the view; a complex value only for a
// complex dst (DTypeError otherwise).
void fill(Tensor& dst, std::complex<double> value, std::string_view op = "fill");

// A new zero-filled (or value-filled) contiguous device tensor.
Tensor device_full(Context& context, const Shape& shape, DType dtype, double value, std::string_view op = "fill");

// A new contiguous tensor of `shape` holding src at positions start[d] + step[d]·j (j < src's
// extent on axis d) and `value` elsewhere: pad (step 1) and the vjp of slice, one launch.
Tensor embed(Context& context, const Tensor& src, const Shape& shape, std::span<const std::int64_t> start,
             std::span<const std::int64_t> step, double value, std::string_view op);

}  // namespace nodal::opencl
