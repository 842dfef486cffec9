// Device sums (kernels/reduce.cl) and the OpenCL forward, vjp and jvp of the sum and mean nodes.
//   sum/mean forward: y = scale · Σ_axes x           (scale 1, or 1/n for mean)
//   vjp:              x̄ = scale · broadcast(ȳ)       (one scaled_copy launch)
//   jvp:              ẏ = scale · Σ_axes ẋ            (one reduction launch)
#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/reduce.hpp"

namespace nodal::opencl {
namespace {

// Rows at most this long are summed by one work-item each: a work-group per output would leave
// most of its items idle, and short rows are the case with many outputs.
constexpr std::int64_t serial_row_limit = 32;

template <class T> void set_scale(Launch& launch, double scale) { launch.arg(T(scale)); }

std::atomic<ReduceStrategy> strategy{ReduceStrategy::automatic};

// CPU devices (PoCL) take the serial kernel for every row: see kernels/reduce.cl.
bool prefers_serial(const Context& context) {
  const ReduceStrategy s = strategy.load(std::memory_order_relaxed);
  if (s != ReduceStrategy::automatic) return s == ReduceStrategy::serial;
  return context.device().type.find("cpu") != std::string::npos;
}

// One reduction launch: out[u] = scale · Σ over piece u of the rows (see kernels/reduce.cl).
void launch_sum(Context& context, const StridedLayout& layout, DType dtype, std::int64_t outputs, std::int64_t row,
                std::int64_t chunk, std::int64_t chunks, double scale, const Tensor& out) {
  const bool forced_tree = strategy.load(std::memory_order_relaxed) == ReduceStrategy::tree;
  const bool serial = (row <= serial_row_limit && chunks == 1 && !forced_tree) || prefers_serial(context);
  const std::string_view name = serial ? "reduce_sum_serial" : "reduce_sum_tree";
  Launch launch(context, typed_kernel(context, "reduce", dtype, name), name);
  launch.arg(cl_long(outputs)).arg(cl_long(row)).arg(layout.rank).arg(layout.shape);
  launch.mem(layout.operands[0].mem).arg(layout.operands[0].offset).arg(layout.operands[0].strides);
  if (dtype == DType::float64) set_scale<double>(launch, scale);
  else set_scale<float>(launch, scale);
  launch.mem(device_buffer(*out.buffer(), "sum").mem());
  if (serial) {
    launch.arg(cl_long(chunk)).arg(cl_long(chunks)).run_elements(outputs * chunks);
    return;
  }
  const std::size_t local = tree_group_size(context, std::min(row, chunk));
  launch.local_bytes(local * dtype_size(dtype)).arg(cl_long(chunk)).arg(cl_long(chunks));
  launch.run(std::size_t(std::min<std::int64_t>(outputs * chunks, 4096)), local);
}

}  // namespace

void set_reduce_strategy(ReduceStrategy s) { strategy.store(s, std::memory_order_relaxed); }
ReduceStrategy reduce_strategy() { return strategy.load(std::memory_order_relaxed); }

std::size_t tree_group_size(const Context& context, std::int64_t row) {
  // a power of two ≤ 256, ≤ the device's work-group limit, no larger than the row needs
  std::size_t local = 1;
  const std::size_t limit = std::min<std::size_t>(256, context.device().max_work_group_size);
  while (local * 2 <= limit && std::int64_t(local) < row) local *= 2;
  return local;
}

Tensor sum_axes(Context& context, const Tensor& x, std::span<const std::uint8_t> reduced, double scale) {
  check_kernel_dtype(context, x.dtype(), "sum");
  std::vector<int> axes;
  std::vector<std::int64_t> kept_extents;
  std::int64_t outputs = 1, row = 1;
  for (int pass = 0; pass < 2; ++pass)
    for (int a = 0; a < x.rank(); ++a)
      if (bool(reduced[a]) == bool(pass)) {
        axes.push_back(a);
        if (pass) row *= x.shape()[a];
        else kept_extents.push_back(x.shape()[a]), outputs *= x.shape()[a];
      }
  const Shape out_shape(kept_extents);
  Tensor out = device_empty(context, out_shape, x.dtype());
  if (outputs == 0) return out;
  const StridedLayout layout = permuted_layout(x, axes);
  // Too few units to occupy the device (a full sum, say): cut each row into pieces, sum the
  // pieces in parallel, then sum the pieces' results in a second launch. On a GPU a unit is a
  // work-group and we want 4 per compute unit, pieces of at least 4·L elements; on a CPU device a
  // unit is one work-item and we want 64 per core, pieces of at least 1024 elements.
  const bool serial = prefers_serial(context);
  const std::int64_t target_units = (serial ? 64 : 4) * std::int64_t(context.device().compute_units);
  const std::int64_t min_piece = serial ? 1024 : 4 * std::int64_t(tree_group_size(context, row));
  std::int64_t chunks = 1;
  if (row > serial_row_limit && outputs < target_units)
    chunks = std::max<std::int64_t>(1, std::min((target_units + outputs - 1) / outputs, row / min_piece));
  if (chunks == 1) {
    launch_sum(context, layout, x.dtype(), outputs, row, row, 1, scale, out);
    return out;
  }
  const std::int64_t chunk = (row + chunks - 1) / chunks;
  const Tensor pieces = device_empty(context, Shape{outputs, chunks}, x.dtype());
  launch_sum(context, layout, x.dtype(), outputs, row, chunk, chunks, 1.0, pieces);
  const Tensor both[] = {pieces};
  launch_sum(context, strided_layout(pieces.shape(), both), x.dtype(), outputs, chunks, chunks, 1, scale, out);
  return out;
}

Tensor sum_to(Context& context, const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int lead = g.rank() - shape.rank();
  std::vector<std::uint8_t> reduced(std::size_t(g.rank()), 0);
  for (int a = 0; a < g.rank(); ++a)
    reduced[a] = a < lead || (shape[a - lead] == 1 && g.shape()[a] != 1);
  return sum_axes(context, g, reduced, 1.0).reshape(shape);
}

Tensor scaled_copy(Context& context, const Tensor& x, const Shape& shape, double scale) {
  check_kernel_dtype(context, x.dtype(), "copy");
  Tensor out = device_empty(context, shape, x.dtype());
  if (shape.numel() == 0) return out;
  const StridedLayout layout = strided_layout(shape, std::span<const Tensor>(&x, 1));
  Launch launch(context, typed_kernel(context, "elementwise", x.dtype(), "scaled_copy"), "scaled_copy");
  launch.shape(layout).operand(layout.operands[0]);
  if (x.dtype() == DType::float64) set_scale<double>(launch, scale);
  else set_scale<float>(launch, scale);
  launch.mem(device_buffer(*out.buffer(), "copy").mem()).run_elements(layout.numel);
  return out;
}

namespace {

struct ReduceShape {
  std::vector<std::uint8_t> reduced;
  Shape keep_shape, out_shape;
  double scale = 1.0;
};

ReduceShape reduce_shape(const Reduce& n, const Shape& x) {
  ReduceShape r;
  r.reduced = reduced_axes(n.axes, x.rank(), n.type());
  r.keep_shape = reduced_shape(x, r.reduced, true);
  r.out_shape = reduced_shape(x, r.reduced, n.keepdims);
  if (n.op == ReduceOp::mean) {
    std::int64_t count = 1;
    for (int a = 0; a < x.rank(); ++a)
      if (r.reduced[a]) count *= x[a];
    r.scale = count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / double(count);
  }
  return r;
}

struct SumMeanOpenCl final : NodeImpl {
  void forward(const ForwardCall& c) const override {
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x}, n.type());
    const ReduceShape r = reduce_shape(n, x.shape());
    c.outputs[0] = sum_axes(context, x, r.reduced, r.scale).reshape(r.out_shape);
  }
  void vjp(const VjpCall& c) const override {
    if (!c.wanted[0] || !c.output_cotangents[0].defined()) return;
    const Reduce& n = c.as<Reduce>();
    const Tensor& g = c.output_cotangents[0];
    Context& context = context_of({&g}, n.type());
    const ReduceShape r = reduce_shape(n, c.inputs[0].shape());
    c.input_cotangents[0] = scaled_copy(context, g.reshape(r.keep_shape), c.inputs[0].shape(), r.scale);
  }
  void jvp(const JvpCall& c) const override {
    const Tensor& t = c.input_tangents[0];
    if (!t.defined()) return;
    const Reduce& n = c.as<Reduce>();
    Context& context = context_of({&t}, n.type());
    const ReduceShape r = reduce_shape(n, t.shape());
    c.output_tangents[0] = sum_axes(context, t, r.reduced, r.scale).reshape(r.out_shape);
  }
};

// max over axes: x arranged as [kept..., reduced...] (a permutation of strides, no copy), merged
// together with the other operand of the launch (ẋ or x̄) so both index alike.
struct MaxArrangement {
  std::vector<int> axes;  // kept axes, then reduced axes
  Shape arranged;         // x's shape in that order
  std::int64_t outputs = 1, row = 1;
};
MaxArrangement arrange(const Reduce& n, const Shape& x) {
  const std::vector<std::uint8_t> reduced = reduced_axes(n.axes, x.rank(), n.type());
  MaxArrangement m;
  std::vector<std::int64_t> extents;
  for (int pass = 0; pass < 2; ++pass)
    for (int a = 0; a < x.rank(); ++a)
      if (bool(reduced[a]) == bool(pass)) {
        m.axes.push_back(a);
        extents.push_back(x[a]);
        (pass ? m.row : m.outputs) *= x[a];
      }
  m.arranged = Shape(extents);
  return m;
}

struct MaxOpenCl final : NodeImpl {
  static Shape out_shape(const Reduce& n, const Tensor& x) { return n.infer(std::array{spec_of(x)})[0].shape; }
  // y = max over the axes (the first argmax's value)
  void forward(const ForwardCall& c) const override {
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x}, "max");
    const Shape shape = out_shape(n, x);  // DTypeError for complex, ValueError for an empty reduced axis
    check_kernel_dtype(context, x.dtype(), "max");
    const MaxArrangement m = arrange(n, x.shape());
    Tensor y = device_empty(context, shape, x.dtype());
    if (m.outputs > 0) {
      const Tensor views[] = {x.permute(m.axes)};
      const StridedLayout l = strided_layout(m.arranged, views);
      Launch launch(context, typed_kernel(context, "reduce", x.dtype(), "reduce_max"), "reduce_max");
      launch.arg(cl_long(m.outputs)).arg(cl_long(m.row)).arg(l.rank).arg(l.shape).operand(l.operands[0]);
      launch.mem(device_buffer(*y.buffer(), "max").mem()).run_elements(m.outputs);
    }
    c.outputs[0] = y;
  }
  // x̄ = ȳ at the first argmax of each reduced row, 0 elsewhere (one launch writes all of x̄)
  void vjp(const VjpCall& c) const override {
    const Tensor& g = c.output_cotangents[0];
    if (!c.wanted[0] || !g.defined()) return;
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x, &g}, "max");
    check_kernel_dtype(context, x.dtype(), "max");
    const MaxArrangement m = arrange(n, x.shape());
    Tensor dx = device_empty(context, x.shape(), x.dtype());
    if (m.outputs > 0 && m.row > 0) {
      const Tensor gc = g.is_contiguous() ? g : g.contiguous();
      const Tensor views[] = {x.permute(m.axes), dx.permute(m.axes)};
      const StridedLayout l = strided_layout(m.arranged, views);
      Launch launch(context, typed_kernel(context, "reduce", x.dtype(), "reduce_max_scatter"), "reduce_max_scatter");
      launch.arg(cl_long(m.outputs)).arg(cl_long(m.row)).arg(l.rank).arg(l.shape).operand(l.operands[0]);
      launch.mem(device_buffer(*gc.buffer(), "max").mem()).arg(cl_long(gc.offset()));
      launch.operand(l.operands[1]).run_elements(m.outputs);
    }
    c.input_cotangents[0] = dx;
  }
  // ẏ = ẋ at the first argmax of each reduced row
  void jvp(const JvpCall& c) const override {
    const Tensor& t = c.input_tangents[0];
    if (!t.defined()) return;
    const Reduce& n = c.as<Reduce>();
    const Tensor& x = c.inputs[0];
    Context& context = context_of({&x, &t}, "max");
    check_kernel_dtype(context, x.dtype(), "max");
    const MaxArrangement m = arrange(n, x.shape());
    Tensor y = device_empty(context, c.outputs[0].shape(), x.dtype());
    if (m.outputs > 0) {
      const Tensor views[] = {x.permute(m.axes), t.permute(m.axes)};
      const StridedLayout l = strided_layout(m.arranged, views);
      Launch launch(context, typed_kernel(context, "reduce", x.dtype(), "reduce_max_select"), "reduce_max_select");
      launch.arg(cl_long(m.outputs)).arg(cl_long(m.row)).arg(l.rank).arg(l.shape).operand(l.operands[0]);
      launch.operand(l.operands[1]).mem(device_buffer(*y.buffer(), "max").mem()).run_elements(m.outputs);
    }
    c.output_tangents[0] = y;
  }
};

NODAL_REGISTER_IMPL("sum", Backend::opencl, SumMeanOpenCl);
NODAL_REGISTER_IMPL("max", Backend::opencl, MaxOpenCl);
NODAL_REGISTER_IMPL("mean", Backend::opencl, SumMeanOpenCl);

}  // namespace
}  // namespace nodal::opencl
