#pragma once
// What the node implementations use to run kernels: the context their tensors live in, device
// tensors, strided-view arguments (collapsed so kernels index as little as possible), and a
// launcher that sets arguments by position and enqueues a 1-D range.
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "nodal/backends/opencl/cl.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::opencl {

constexpr int max_kernel_rank = 8;  // the kernels' long8 shape and stride arguments

// The context every defined tensor in `tensors` lives in; BackendError naming `op` when one lives
// elsewhere (host memory or another device). Undefined tensors are skipped.
Context& context_of(std::initializer_list<const Tensor*> tensors, std::string_view op);

// A new contiguous tensor in `context`'s pool.
Tensor device_empty(Context& context, const Shape& shape, DType dtype);

// DTypeError for dtypes the kernels do not cover (complex), or float64 on a device without fp64.
void check_kernel_dtype(const Context& context, DType dtype, std::string_view op);

// For kernels that take complex values as (re, im) pairs of T (kernels/fft.cl): accepts float32,
// float64, complex64 and complex128; DTypeError for 64-bit types on a device without fp64.
// Such kernels are built with typed_kernel(real_dtype(dtype)): complex64 → T = float.
void check_complex_kernel_dtype(const Context& context, DType dtype, std::string_view op);

// A kernel of program kernels/<program>.cl built for `dtype` on `context`'s device.
cl_kernel typed_kernel(Context& context, std::string_view program, DType dtype, std::string_view kernel);

struct StridedOperand {
  cl_mem mem = nullptr;
  cl_long offset = 0;
  cl_long8 strides{};
};
struct StridedLayout {
  cl_int rank = 1;
  cl_long8 shape{};
  std::int64_t numel = 0;
  std::vector<StridedOperand> operands;  // in the order given
};
// Views `views` (each broadcast to `shape`) as arguments for one kernel over `shape`: extent-1
// axes dropped, then neighbouring axes merged where every operand is contiguous across them.
// BackendError when more than max_kernel_rank axes remain.
StridedLayout strided_layout(const Shape& shape, std::span<const Tensor> views);
// The same for one view whose axes are taken in the order given by `axes` (a permutation).
StridedLayout permuted_layout(const Tensor& view, std::span<const int> axes);

// Holds the context's launch mutex from construction to run(): arguments go by position.
class Launch {
 public:
  Launch(Context& context, cl_kernel kernel, std::string_view name);
  template <class V> Launch& arg(const V& value) { return raw(sizeof(V), &value); }
  Launch& mem(cl_mem m) { return raw(sizeof(cl_mem), &m); }
  // A number as the kernel's real type T: double for float64/complex128 programs, else float.
  Launch& real(DType dtype, double value) {
    return dtype == DType::float64 || dtype == DType::complex128 ? arg(cl_double(value)) : arg(cl_float(value));
  }
  Launch& operand(const StridedOperand& o) { return mem(o.mem).arg(o.offset).arg(o.strides); }
  Launch& shape(const StridedLayout& l) { return arg(cl_long(l.numel)).arg(l.rank).arg(l.shape); }
  Launch& local_bytes(std::size_t bytes) { return raw(bytes, nullptr); }
  // Enqueues global = groups · local work-items (1-D).
  void run(std::size_t groups, std::size_t local);
  // Enqueues enough groups of `local` (capped; kernels loop with a grid stride) for n items.
  void run_elements(std::int64_t n);

 private:
  Launch& raw(std::size_t size, const void* value);
  Context& context_;
  cl_kernel kernel_;
  std::string_view name_;
  std::unique_lock<std::mutex> lock_;
  cl_uint index_ = 0;
};

// out = program.kernel(op, constant, shape, views..., out) over the first view's shape, one launch:
// the form of the unary and tensor-and-constant kernels, forward (views x) and chain rule (x, y, g).
// The constant is passed as the kernel's T; the result is a new contiguous tensor on `context`.
Tensor pointwise_launch(Context& context, std::string_view program, std::string_view kernel, int op, double constant,
                        std::span<const Tensor> views);

// The 1-D work-group size for elementwise launches on `context`'s device.
std::size_t elementwise_group_size(const Context& context);

}  // namespace nodal::opencl
