// Host side of kernels/conv_direct.cl: argument packing, the choice of forward kernel, work-group
// shapes, and the two-stage weight gradient. See conv_direct.hpp for the passes.
#include "nodal/backends/opencl/conv_direct.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/conv_gemm.hpp"
#include "nodal/backends/opencl/conv_weight_planes.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/backends/opencl/reduce_ops.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

ConvKernel initial_kernel() {
  const char* v = std::getenv("NODAL_CONV_KERNEL");
  const std::string s = v ? v : "";
  if (s == "general") return ConvKernel::general;
  if (s == "tiled") return ConvKernel::tiled;
  if (s == "image") return ConvKernel::image;
  return ConvKernel::automatic;
}
ConvWeightKernel initial_weight_kernel() {
  const char* v = std::getenv("NODAL_CONV_WEIGHT_KERNEL");
  const std::string s = v ? v : "";
  if (s == "rows") return ConvWeightKernel::rows;
  if (s == "tree") return ConvWeightKernel::tree;
  if (s == "planes") return ConvWeightKernel::planes;
  return ConvWeightKernel::automatic;
}
std::atomic<ConvKernel> forced{initial_kernel()};
std::atomic<ConvWeightKernel> forced_weight{initial_weight_kernel()};
std::atomic<bool> constant_weights_allowed{true};

cl_mem mem_of(const Tensor& t) { return device_buffer(*t.buffer(), "conv").mem(); }

// Device limits the backend's DeviceInfo does not carry, queried once per device.
struct ExtraLimits {
  cl_ulong constant_bytes = 0;
  std::size_t image_width = 0, image_height = 0, image_layers = 0;
};
const ExtraLimits& extra_limits(const DeviceInfo& device) {
  static std::mutex mutex;
  static std::map<cl_device_id, ExtraLimits> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(device.id);
  if (it != cache.end()) return it->second;
  ExtraLimits e;
  clGetDeviceInfo(device.id, CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE, sizeof(e.constant_bytes), &e.constant_bytes, nullptr);
  if (device.image_support) {
    clGetDeviceInfo(device.id, CL_DEVICE_IMAGE2D_MAX_WIDTH, sizeof(std::size_t), &e.image_width, nullptr);
    clGetDeviceInfo(device.id, CL_DEVICE_IMAGE2D_MAX_HEIGHT, sizeof(std::size_t), &e.image_height, nullptr);
    clGetDeviceInfo(device.id, CL_DEVICE_IMAGE_MAX_ARRAY_SIZE, sizeof(std::size_t), &e.image_layers, nullptr);
  }
  return cache.emplace(device.id, e).first->second;
}

bool is_cpu(const Context& context) { return context.device().type.find("cpu") != std::string::npos; }

// The kernels index with int: refuse what does not fit (with the node's name and the shapes).
void check_int_range(const ConvPass& p, std::initializer_list<const Tensor*> tensors) {
  constexpr std::int64_t limit = std::numeric_limits<cl_int>::max();
  for (const Tensor* t : tensors)
    if (t && t->defined() && (t->numel() >= limit || t->offset() >= limit - t->numel()))
      throw BackendError(fmt::format("{} (opencl): tensor {} has 2^31 elements or more; the OpenCL convolution "
                                     "kernels index with 32-bit integers ({})",
                                     p.node, to_string(t->shape()), p.g.key()));
}

void check_dense(const ConvPass& p, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (t && t->defined() && t->numel() > 0 && !t->is_contiguous())
      throw BackendError(fmt::format("{} (opencl): internal error: a non-contiguous operand {} reached the "
                                     "convolution kernels",
                                     p.node, to_string(t->shape())));
}

// Weights fit the constant buffer: the __constant variant of a forward kernel ("_cw").
bool weights_fit_constant(Context& context, const Tensor& w) {
  return constant_weights_allowed.load() && std::uint64_t(w.numel()) * dtype_size(w.dtype()) <= extra_limits(context.device()).constant_bytes;
}

// The 2-D tiled kernel's tile: TW × TH outputs, at most 128 items and the device's limit.
struct Tile {
  int tw = 16, th = 8;
  std::size_t local_bytes = 0;
};
int pow2_at_least(std::int64_t n, int cap) {
  int p = 1;
  while (p < n && p < cap) p *= 2;
  return p;
}
Tile tile_for(const Context& context, const ConvGeometry& g, DType dtype) {
  Tile t;
  const int items = int(std::min<std::size_t>(128, context.device().max_work_group_size));
  t.tw = pow2_at_least(g.out[2], std::min(16, items));
  if (g.out[1] == 1) t.tw = pow2_at_least(g.out[2], items);  // conv1d: one row of up to 128 outputs
  t.th = pow2_at_least(g.out[1], std::max(1, items / t.tw));
  t.th = std::max(t.th, std::min(32, items) / t.tw);  // at least 32 items: few distinct local sizes (tile8_for)
  const std::int64_t rows = (t.th - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  const std::int64_t cols = (t.tw - 1) * g.stride[2] + (g.kernel[2] - 1) * g.dilation[2] + 1;
  t.local_bytes = std::size_t(rows * (cols | 1)) * dtype_size(dtype);
  return t;
}

// The 8-wide tiled kernel's tile (column stride 1): TH rows of 8·TWV outputs, at most 64 items.
struct Tile8 {
  int twv = 1, th = 1;
  std::size_t local_bytes = 0;
};
Tile8 tile8_for(const Context& context, const ConvGeometry& g, DType dtype) {
  Tile8 t;
  const int limit = int(std::min<std::size_t>(64, context.device().max_work_group_size));
  // Work-group sizes from a short list, {8, 16, 24, 32, 48, 64} items: PoCL compiles a kernel
  // anew for every local size it meets (a second or so each), so exact tile extents would cost
  // a compilation per image size; the list keeps idle rows few (a 10×10 output: 12 rows × 2
  // items, where a power of two would be 16 rows).
  t.twv = pow2_at_least((g.out[2] + 7) / 8, std::min(8, limit));
  const std::int64_t want = t.twv * std::max<std::int64_t>(1, g.out[1]);
  int items = limit;
  for (int size : {8, 16, 24, 32, 48, 64})
    if (size >= want && size % t.twv == 0 && size <= limit) {
      items = size;
      break;
    }
  t.th = std::max(1, items / t.twv);
  const std::int64_t rows = (t.th - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  const std::int64_t cols = 8 * t.twv + (g.kernel[2] - 1) * g.dilation[2];
  t.local_bytes = std::size_t(rows * (cols | 1)) * dtype_size(dtype);
  return t;
}

bool tiled_applies(const Context& context, const ConvGeometry& g, DType dtype, Boundary boundary) {
  const std::size_t bytes = g.stride[2] == 1 ? tile8_for(context, g, dtype).local_bytes : tile_for(context, g, dtype).local_bytes;
  return boundary == Boundary::zero && g.in[0] == 1 && g.kernel[0] == 1 && g.out[0] == 1 &&
         bytes <= context.device().local_memory / 2;
}

bool image_applies(Context& context, const ConvGeometry& g, DType dtype, Boundary boundary) {
  const ExtraLimits& e = extra_limits(context.device());
  return context.device().image_support && dtype == DType::float32 && boundary == Boundary::zero && g.in[0] == 1 &&
         g.kernel[0] == 1 && std::size_t(g.in[2]) <= e.image_width && std::size_t(g.in[1]) <= e.image_height &&
         std::size_t(g.batch * g.in_channels) <= e.image_layers && g.batch * g.in_channels > 0;
}

// x's planes as a 2-D image array (one layer per (n, c) plane): a device-side copy.
MemHandle planes_as_image(Context& context, const ConvGeometry& g, const Tensor& x) {
  cl_image_format format{CL_R, CL_FLOAT};
  cl_image_desc desc{};
  desc.image_type = CL_MEM_OBJECT_IMAGE2D_ARRAY;
  desc.image_width = std::size_t(g.in[2]);
  desc.image_height = std::size_t(g.in[1]);
  desc.image_array_size = std::size_t(g.batch * g.in_channels);
  cl_int err = CL_SUCCESS;
  MemHandle image(clCreateImage(context.get(), CL_MEM_READ_ONLY, &format, &desc, nullptr, &err));
  check(err, "clCreateImage", fmt::format("{}x{}x{} float image array for conv", desc.image_width, desc.image_height,
                                          desc.image_array_size));
  const std::size_t origin[3] = {0, 0, 0};
  const std::size_t region[3] = {desc.image_width, desc.image_height, desc.image_array_size};
  check(clEnqueueCopyBufferToImage(context.queue(), mem_of(x), image.get(), std::size_t(x.offset()) * sizeof(float),
                                   origin, region, 0, nullptr, nullptr),
        "clEnqueueCopyBufferToImage", "conv input planes");
  return image;
}

// The 8-wide tiled forward kernel (see kernels/conv_direct.cl) on geometry g; `wl` the weight's
// channel strides ((cin_g, 1) for a forward pass; exchanged for a backward input pass).
void launch_tiled8(Context& context, const ConvGeometry& g, bool flip, const Tensor& x, const Tensor& w,
                   const Tensor& bias, cl_int has_bias, Tensor& y, cl_int accumulate, cl_int2 wl) {
  ConvPass q;
  q.g = g;
  q.flip = flip;
  const PackedGeometry k = pack(q);
  const Tile8 t = tile8_for(context, g, x.dtype());
  const std::int64_t tiles_x = (g.out[2] + 8 * t.twv - 1) / (8 * t.twv), tiles_y = (g.out[1] + t.th - 1) / t.th;
  const std::int64_t blocks = (g.out_per_group() + 3) / 4;  // OB = 4 in the kernel
  const std::int64_t groups = tiles_x * tiles_y * g.groups * blocks * g.batch;
  const char* name = weights_fit_constant(context, w) ? "conv2d_tiled8_cw" : "conv2d_tiled8_gw";
  Launch launch(context, typed_kernel(context, "conv_direct", x.dtype(), name), name);
  launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(w)).arg(cl_int(w.offset()));
  launch.mem(mem_of(bias)).arg(cl_int(bias.offset())).mem(mem_of(y)).arg(has_bias).arg(accumulate);
  geometry_args(launch, k).local_bytes(t.local_bytes);
  launch.arg(cl_int(t.twv)).arg(cl_int(t.th)).arg(cl_int(tiles_x)).arg(cl_int(tiles_y)).arg(wl);
  launch.run(std::size_t(groups), std::size_t(t.twv * t.th));
}

// The backward input pass of a stride-1 2-D problem as a forward correlation of dy (C' below)
// when the tiled kernel is in use: the 8-wide kernel instead of the gather. Returns false when
// it does not apply.
bool backward_input_as_forward(Context& context, const ConvPass& p, const Tensor& dy, const Tensor& w, const Tensor& b,
                               Tensor& dx, bool accumulate) {
  const ConvGeometry& g = p.g;
  if (g.stride[0] != 1 || g.stride[1] != 1 || g.stride[2] != 1 || g.in[0] != 1 || g.kernel[0] != 1) return false;
  // C': input dy [N, Cout, O], output dx [N, Cin, S], the same kernel read flipped, with channel
  // roles exchanged, padded by (K − 1)·d − pad before.
  ConvGeometry c = g;
  c.in = g.out;
  c.out = g.in;
  c.in_channels = g.out_channels;
  c.out_channels = g.in_channels;
  for (int a = 0; a < 3; ++a) {
    c.pad_before[a] = (g.kernel[a] - 1) * g.dilation[a] - g.pad_before[a];
    c.pad_after[a] = 0;  // not read by the kernels
  }
  if (chosen_conv_kernel(context, c, dy.dtype(), 0) != ConvKernel::tiled) return false;
  const Tensor& bias = b.defined() ? b : w;
  launch_tiled8(context, c, !p.flip, dy, w, bias, cl_int(b.defined()), dx, cl_int(accumulate),
                {{1, cl_int(g.in_per_group())}});
  return true;
}

}  // namespace

PackedGeometry pack(const ConvPass& p) {
  const ConvGeometry& g = p.g;
  PackedGeometry k{};
  for (int a = 0; a < 3; ++a) {
    k.in.s[a] = cl_int(g.in[a]);
    k.out.s[a] = cl_int(g.out[a]);
    k.ksize.s[a] = cl_int(g.kernel[a]);
    k.step.s[a] = cl_int(g.stride[a]);
    k.dil.s[a] = cl_int(g.dilation[a]);
    k.pad.s[a] = cl_int(g.pad_before[a]);
  }
  k.in.s[3] = cl_int(g.in_channels);
  k.out.s[3] = cl_int(g.out_channels);
  k.ksize.s[3] = cl_int(g.groups);
  k.step.s[3] = cl_int(g.batch);
  k.dil.s[3] = p.flip ? 1 : 0;
  k.pad.s[3] = cl_int(p.boundary);
  return k;
}
Launch& geometry_args(Launch& launch, const PackedGeometry& k) {
  return launch.arg(k.in).arg(k.out).arg(k.ksize).arg(k.step).arg(k.dil).arg(k.pad);
}

void set_conv_kernel(ConvKernel kernel) { forced.store(kernel); }
void set_conv_weight_kernel(ConvWeightKernel kernel) { forced_weight.store(kernel); }
void set_conv_constant_weights(bool allowed) { constant_weights_allowed.store(allowed); }
ConvKernel conv_kernel() { return forced.load(); }

ConvKernel chosen_conv_kernel(Context& context, const ConvGeometry& g, DType dtype, int boundary) {
  const Boundary b = Boundary(boundary);
  const ConvKernel want = forced.load();
  if (want == ConvKernel::image) return image_applies(context, g, dtype, b) ? ConvKernel::image : ConvKernel::general;
  if (want == ConvKernel::tiled) return tiled_applies(context, g, dtype, b) ? ConvKernel::tiled : ConvKernel::general;
  if (want == ConvKernel::general) return ConvKernel::general;
  // automatic: the local tile wherever it applies (on PoCL too: 1.3-2x faster than the general
  // kernel for LeNet's layers); the image kernel only when asked for (PoCL samples images in
  // software: 3-4x slower than the general kernel there; docs/opencl.md).
  return tiled_applies(context, g, dtype, b) ? ConvKernel::tiled : ConvKernel::general;
}

Tensor dense(Context& context, const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  return scaled_copy(context, t, t.shape(), 1.0);
}

Tensor device_zeros(Context& context, const Shape& shape, DType dtype) {
  Tensor t = device_empty(context, shape, dtype);
  if (t.numel() == 0) return t;
  const cl_uchar zero = 0;
  std::lock_guard lock(context.launch_mutex());
  check(clEnqueueFillBuffer(context.queue(), mem_of(t), &zero, 1, 0, std::size_t(t.numel()) * dtype_size(dtype), 0,
                            nullptr, nullptr),
        "clEnqueueFillBuffer", "conv zeros");
  return t;
}

void check_conv_algorithm(std::string_view node, std::string_view algorithm) {
  if (algorithm == "auto" || algorithm == "measure" || algorithm == "direct" || algorithm == "gemm") return;
  throw BackendError(fmt::format("{}: algorithm '{}' is not available on backend 'opencl' (it has 'direct', 'gemm', and 'fft' "
                                 "and 'fft_tiled' for conv1d/2d/3d; 'auto' picks direct or fft, 'measure' runs direct); run "
                                 "this node on the CPU backend or set algorithm=direct",
                                 node, algorithm));
}

void conv_forward(Context& context, const ConvPass& p, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y,
                  bool accumulate) {
  if (p.gemm) return gemm_conv_forward(context, p, x, w, b, y, accumulate);
  check_kernel_dtype(context, x.dtype(), p.node);
  check_dense(p, {&x, &w, &b, &y});
  check_int_range(p, {&x, &w, &y});
  if (y.numel() == 0) return;
  const PackedGeometry k = pack(p);
  const ConvKernel kind = chosen_conv_kernel(context, p.g, x.dtype(), int(p.boundary));
  const bool constant = weights_fit_constant(context, w);
  const Tensor& bias = b.defined() ? b : w;  // a never-read placeholder when there is no bias
  const cl_int has_bias = b.defined(), acc = accumulate;
  if (kind == ConvKernel::image) {
    const MemHandle image = planes_as_image(context, p.g, x);
    const char* name = constant ? "conv2d_image_cw" : "conv2d_image_gw";
    Launch launch(context, typed_kernel(context, "conv_direct", x.dtype(), name), name);
    launch.mem(image.get()).mem(mem_of(w)).arg(cl_int(w.offset())).mem(mem_of(bias)).arg(cl_int(bias.offset()));
    launch.mem(mem_of(y)).arg(has_bias).arg(acc);
    geometry_args(launch, k).run_elements(y.numel());
    return;  // the image is released after the launch is enqueued: OpenCL keeps it alive while in use
  }
  if (kind == ConvKernel::tiled && p.g.stride[2] == 1) {
    launch_tiled8(context, p.g, p.flip, x, w, bias, has_bias, y, acc, {{cl_int(p.g.in_per_group()), 1}});
    return;
  }
  if (kind == ConvKernel::tiled) {
    const Tile t = tile_for(context, p.g, x.dtype());
    const std::int64_t tiles_x = (p.g.out[2] + t.tw - 1) / t.tw, tiles_y = (p.g.out[1] + t.th - 1) / t.th;
    const std::int64_t blocks = (p.g.out_per_group() + 3) / 4;  // OB = 4 in the kernel
    const std::int64_t groups = tiles_x * tiles_y * p.g.groups * blocks * p.g.batch;
    const char* name = constant ? "conv2d_tiled_cw" : "conv2d_tiled_gw";
    Launch launch(context, typed_kernel(context, "conv_direct", x.dtype(), name), name);
    launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(w)).arg(cl_int(w.offset()));
    launch.mem(mem_of(bias)).arg(cl_int(bias.offset())).mem(mem_of(y)).arg(has_bias).arg(acc);
    geometry_args(launch, k).local_bytes(t.local_bytes);
    launch.arg(cl_int(t.tw)).arg(cl_int(t.th)).arg(cl_int(tiles_x)).arg(cl_int(tiles_y));
    launch.run(std::size_t(groups), std::size_t(t.tw * t.th));
    return;
  }
  const char* name = constant ? "conv_forward_cw" : "conv_forward_gw";
  Launch launch(context, typed_kernel(context, "conv_direct", x.dtype(), name), name);
  launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(w)).arg(cl_int(w.offset()));
  launch.mem(mem_of(bias)).arg(cl_int(bias.offset())).mem(mem_of(y)).arg(has_bias).arg(acc);
  geometry_args(launch, k).run_elements(y.numel());
}

void conv_backward_input(Context& context, const ConvPass& p, const Tensor& dy, const Tensor& w, const Tensor& b,
                         Tensor& dx, bool accumulate) {
  if (p.gemm) return gemm_conv_backward_input(context, p, dy, w, b, dx, accumulate);
  check_kernel_dtype(context, dy.dtype(), p.node);
  check_dense(p, {&dy, &w, &b, &dx});
  check_int_range(p, {&dy, &w, &dx});
  if (p.boundary != Boundary::zero)
    throw BackendError(fmt::format("{} (opencl): internal error: backward input with a non-zero boundary", p.node));
  if (dx.numel() == 0) return;
  if (backward_input_as_forward(context, p, dy, w, b, dx, accumulate)) return;
  const Tensor& bias = b.defined() ? b : w;
  Launch launch(context, typed_kernel(context, "conv_direct", dy.dtype(), "conv_backward_input"), "conv_backward_input");
  launch.mem(mem_of(dy)).arg(cl_int(dy.offset())).mem(mem_of(w)).arg(cl_int(w.offset()));
  launch.mem(mem_of(bias)).arg(cl_int(bias.offset())).mem(mem_of(dx)).arg(cl_int(b.defined())).arg(cl_int(accumulate));
  geometry_args(launch, pack(p)).run_elements(dx.numel());
}

Tensor conv_backward_weight(Context& context, const ConvPass& p, const Tensor& x, const Tensor& dy,
                            const Shape& w_shape) {
  if (p.gemm) return gemm_conv_backward_weight(context, p, x, dy, w_shape);
  check_kernel_dtype(context, x.dtype(), p.node);
  check_dense(p, {&x, &dy});
  check_int_range(p, {&x, &dy});
  const std::int64_t weights = w_shape.numel();
  const std::int64_t R = p.g.batch * p.g.out_pixels();
  if (weights == 0) return device_empty(context, w_shape, x.dtype());
  if (R == 0) return device_zeros(context, w_shape, x.dtype());
  const ConvWeightKernel want = forced_weight.load();
  // GPUs: every tap of a block of weights from planes staged in local memory, where it applies.
  if (want == ConvWeightKernel::planes || (want == ConvWeightKernel::automatic && !is_cpu(context)))
    if (const auto plan = plan_weight_planes(context, p, x.dtype()))
      return weight_gradient_planes(context, p, *plan, x, dy, w_shape);
  // Enough units to occupy the device (as the reduce kernels). On a CPU a unit is one work-item
  // (conv_weight_rows) summing a range of samples, and we want 64 per core; on a GPU a unit is a
  // work-group of L items (conv_weight_tree) and we want 4 per compute unit, pieces of at least
  // 4·L terms.
  const bool serial = want == ConvWeightKernel::automatic ? is_cpu(context) : want == ConvWeightKernel::rows;
  // Two group sizes only (64 for short sums, else the reduce kernels' 256): PoCL and some GPU
  // drivers compile a kernel again for every local size.
  const std::size_t L = serial ? 1 : tree_group_size(context, R <= 256 ? 64 : 256);
  const std::int64_t target = (serial ? 64 : 4) * std::int64_t(std::max(1u, context.device().compute_units));
  const std::int64_t span = serial ? p.g.batch : R;  // what pieces cut: samples, or terms
  const std::int64_t min_piece = serial ? 1 : 4 * std::int64_t(L);
  std::int64_t pieces = 1;
  if (weights < target) pieces = std::max<std::int64_t>(1, std::min((target + weights - 1) / weights, span / min_piece));
  const std::int64_t chunk = (span + pieces - 1) / pieces;
  pieces = (span + chunk - 1) / chunk;  // no empty piece
  if (weights * pieces >= std::numeric_limits<cl_int>::max())
    throw BackendError(fmt::format("{} (opencl): {} weights × {} pieces exceed the kernels' 32-bit indices ({})", p.node,
                                   weights, pieces, p.g.key()));
  Tensor partial = device_empty(context, Shape{weights, pieces}, x.dtype());
  const bool rows8 = p.boundary == Boundary::zero && p.g.stride[2] == 1;
  const char* name = !serial ? "conv_weight_tree" : rows8 ? "conv_weight_rows8" : "conv_weight_rows";
  Launch launch(context, typed_kernel(context, "conv_direct", x.dtype(), name), name);
  launch.mem(mem_of(x)).arg(cl_int(x.offset())).mem(mem_of(dy)).arg(cl_int(dy.offset())).mem(mem_of(partial));
  launch.arg(cl_int(chunk)).arg(cl_int(pieces));
  geometry_args(launch, pack(p));
  if (serial) launch.run_elements(weights * pieces);
  else launch.local_bytes(L * dtype_size(x.dtype())).run(std::size_t(std::min<std::int64_t>(weights * pieces, 1 << 16)), L);
  if (pieces == 1) return partial.reshape(w_shape);
  const std::uint8_t reduced[] = {0, 1};
  return sum_axes(context, partial, reduced, 1.0).reshape(w_shape);
}

Tensor conv_bias_gradient(Context& context, const Tensor& dy, std::int64_t batch, std::int64_t channels,
                          std::int64_t pixels) {
  const Tensor g = dense(context, dy).reshape(Shape{batch, channels, pixels});
  const bool fits = g.numel() < std::numeric_limits<cl_int>::max() && g.offset() < std::numeric_limits<cl_int>::max() - g.numel();
  const ConvWeightKernel want = forced_weight.load();  // the rows family covers b̄ too
  const bool rows = want == ConvWeightKernel::automatic ? is_cpu(context) : want == ConvWeightKernel::rows;
  if (!rows || !fits || channels == 0 || batch == 0) {
    const std::uint8_t reduced[] = {1, 0, 1};
    return sum_axes(context, g, reduced, 1.0);
  }
  // CPU devices: conv_bias_rows over (channel, piece of samples) units, 64 per core, then the
  // pieces summed (the reduce kernels' strided sum over [batch, pixels] per channel was 10x slower).
  check_kernel_dtype(context, g.dtype(), "conv bias gradient");
  const std::int64_t target = 64 * std::int64_t(std::max(1u, context.device().compute_units));
  std::int64_t pieces = std::clamp<std::int64_t>((target + channels - 1) / channels, 1, batch);
  const std::int64_t chunk = (batch + pieces - 1) / pieces;
  pieces = (batch + chunk - 1) / chunk;
  Tensor partial = device_empty(context, Shape{channels, pieces}, g.dtype());
  Launch launch(context, typed_kernel(context, "conv_direct", g.dtype(), "conv_bias_rows"), "conv_bias_rows");
  launch.mem(mem_of(g)).arg(cl_int(g.offset())).mem(mem_of(partial)).arg(cl_int(chunk)).arg(cl_int(pieces));
  launch.arg(cl_int(batch)).arg(cl_int(channels)).arg(cl_int(pixels)).run_elements(channels * pieces);
  if (pieces == 1) return partial.reshape(Shape{channels});
  const std::uint8_t reduced[] = {0, 1};
  return sum_axes(context, partial, reduced, 1.0);
}

Tensor signal_fold(Context& context, const Tensor& dxe, std::int64_t rows, std::int64_t n, std::int64_t padded,
                   std::int64_t start, Boundary boundary, const Shape& x_shape) {
  Tensor dx = device_empty(context, x_shape, dxe.dtype());
  if (dx.numel() == 0) return dx;
  const Tensor src = dense(context, dxe);
  if (src.offset() != 0) throw BackendError("signal fold (opencl): internal error: offset operand");
  Launch launch(context, typed_kernel(context, "conv_direct", dxe.dtype(), "signal_fold"), "signal_fold");
  launch.mem(mem_of(src)).mem(mem_of(dx)).arg(cl_int(rows)).arg(cl_int(n)).arg(cl_int(padded)).arg(cl_int(start));
  launch.arg(cl_int(boundary)).run_elements(rows * n);
  return dx;
}

}  // namespace nodal::opencl
