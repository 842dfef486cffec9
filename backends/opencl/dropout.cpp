// OpenCL forward, vjp and jvp of dropout (nodes/dropout.hpp). The forward draws the same mask as
// the CPU backend, bit for bit (kernels/dropout.cl explains how); the test compares them.
//   forward  dropout_forward             mask and y = x·mask in one pass     1 launch
//   vjp      binary_forward (mul)        x̄ = ȳ·mask                         1 launch
//   jvp      binary_forward (mul)        ẏ = ẋ·mask                         1 launch
#include <cmath>

#include <fmt/format.h>

#include "nodal/backends/opencl/nn_common.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/binary.hpp"
#include "nodal/nodes/dropout.hpp"

namespace nodal::opencl {
namespace {

// These three mirror backends/cpu/dropout.cpp (pass_seed) and core/tensor_random.cpp (mix64, the
// key of CounterHash, keep_below_high); test_opencl_nn checks that the masks are identical.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
std::uint64_t pass_seed(std::uint64_t seed, std::uint64_t pass) {
  return mix64(seed * 0x9E3779B97F4A7C15ULL + pass + 0x632BE59BD9B4E019ULL);
}
std::uint64_t stream_key(std::uint64_t seed) { return mix64(seed ^ 0x6A09E667F3BCC909ULL); }

// The CPU's uniform for 53-bit value k, rounded to T and kept below 1 (Tensor::rand(…, 0, 1)).
template <class T> T uniform_as(std::uint64_t k) {
  const double v = double(k) * 0x1.0p-53;
  T r = T(v);
  if (double(r) >= 1.0) r = std::nextafter(T(1), T(0));
  if (double(r) < 0.0) r = T(0);
  return r;
}

// The smallest k in [0, 2^53] with uniform_as<T>(k) ≥ T(p) (2^53: nothing is kept). Rounding is
// monotonic in k, so bisection finds the exact boundary of the CPU's test.
template <class T> std::uint64_t keep_threshold(double p) {
  const T pt = T(p);
  std::uint64_t lo = 0, hi = std::uint64_t(1) << 53;  // the answer lies in [lo, hi]
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (uniform_as<T>(mid) >= pt) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// out = a · b on the device (elementwise.cl's binary_forward, op mul = 2).
Tensor multiply(Context& context, const Tensor& a, const Tensor& b) {
  Tensor out = device_empty(context, b.shape(), b.dtype());
  if (out.numel() == 0) return out;
  const Tensor views[] = {a, b};
  const StridedLayout l = strided_layout(b.shape(), views);
  Launch launch(context, typed_kernel(context, "elementwise", b.dtype(), "binary_forward"), "binary_forward");
  launch.arg(cl_int(int(BinaryOp::mul))).shape(l).operand(l.operands[0]).operand(l.operands[1]);
  launch.mem(mem_of(out, "dropout")).run_elements(l.numel);
  return out;
}

struct DropoutOpenCl final : NodeImpl {
  // y = x·mask
  void forward(const ForwardCall& c) const override {
    DropoutState& st = c.as<Dropout>().state();
    const Tensor& x_in = c.inputs[0];
    Context& context = context_of({&x_in}, "dropout");
    check_kernel_dtype(context, x_in.dtype(), "dropout");
    if (!st.training || st.p == 0) {
      c.outputs[0] = x_in;
      c.outputs[1] = Tensor::ones(x_in.shape(), x_in.dtype(), Backend::opencl);
      return;
    }
    const std::uint64_t pass = st.advance ? st.step.fetch_add(1) : st.step.load();
    const DType dt = x_in.dtype();
    Tensor y = device_empty(context, x_in.shape(), dt), mask = device_empty(context, x_in.shape(), dt);
    if (y.numel() > 0) {
      const Tensor x = contiguous_on(context, x_in);
      const std::uint64_t threshold = dt == DType::float64 ? keep_threshold<double>(st.p) : keep_threshold<float>(st.p);
      const double keep_scale = dt == DType::float64 ? 1.0 / (1.0 - st.p) : double(float(1.0 / (1.0 - st.p)));
      Launch launch(context, typed_kernel(context, "dropout", dt, "dropout_forward"), "dropout_forward");
      launch.arg(cl_long(y.numel())).arg(cl_ulong(stream_key(pass_seed(st.seed, pass)))).arg(cl_ulong(threshold));
      typed_arg(launch, dt, keep_scale);
      launch.mem(mem_of(x, "dropout")).arg(cl_long(x.offset())).mem(mem_of(y, "dropout")).mem(mem_of(mask, "dropout"));
      launch.run_elements(y.numel());
    }
    c.outputs[0] = y;
    c.outputs[1] = mask;
  }
  // x̄ = ȳ·mask  (the mask output carries no gradient)
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0]) return;
    const Tensor& mask = c.outputs[1];
    const Tensor& g = c.output_cotangents[0];
    Context& context = context_of({&mask, &g}, "dropout");
    c.input_cotangents[0] = g.defined() ? multiply(context, g, mask)
                                        : Tensor::zeros(mask.shape(), mask.dtype(), Backend::opencl);
  }
  // ẏ = ẋ·mask
  void jvp(const JvpCall& c) const override {
    const Tensor& mask = c.outputs[1];
    const Tensor& dx = c.input_tangents[0];
    Context& context = context_of({&mask, &dx}, "dropout");
    c.output_tangents[0] = dx.defined() ? multiply(context, dx, mask)
                                        : Tensor::zeros(mask.shape(), mask.dtype(), Backend::opencl);
    c.output_tangents[1] = Tensor::zeros(mask.shape(), mask.dtype(), Backend::opencl);
  }
};

NODAL_REGISTER_IMPL("dropout", Backend::opencl, DropoutOpenCl);

}  // namespace
}  // namespace nodal::opencl
