// bench/fft --opencl: batched 1-D complex-to-complex float32 FFTs on the current OpenCL device
// (NODAL_DEVICE picks it), nodal's plans (backends/opencl/fft_plan.hpp) against a device-to-device
// copy of the same bytes measured in the same run, and against VkFFT's OpenCL backend when the
// build found its header (NODAL_VKFFT_INCLUDE_DIR; never committed, see bench/fft.cmake).
//
// batch · N = 2^total_log2 (26 on a GPU, 22 on a CPU device unless --total-log2 says otherwise).
// Bandwidth counts each value read and written once per transform: 2 · 8 · N · batch / time;
// "of copy" is that over clEnqueueCopyBuffer's bandwidth (2 · bytes / time) for the same bytes.
// nodal runs out of place, VkFFT in place (its natural mode; same bytes either way).
//
// --convolve: batched circular convolution with one filter (backends/opencl/fft_convolve.hpp, the
// permutation-free path) against the same two transforms in natural order (nodal's forward and
// inverse, no product) and against VkFFT's forward and inverse (no product either: the peers'
// columns leave out the product pass that nodal's time includes).
#include "fft_opencl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <functional>
#include <random>
#include <string_view>
#include <vector>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/fft_convolve.hpp"
#include "nodal/backends/opencl/fft_stockham.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/fft_plan.hpp"
#include "nodal/backends/opencl/launch.hpp"

#if defined(NODAL_HAVE_VKFFT)
#define VKFFT_BACKEND 3
#include <vkFFT.h>
#endif

namespace {

using namespace nodal;
namespace offt = nodal::opencl::fft;

// Seconds per call: repeated until ~0.2 s (or 3 calls) have run, after one warm-up, clFinish around.
double device_seconds(opencl::Context& context, const std::function<void()>& call, bool quick) {
  using clock = std::chrono::steady_clock;
  call();
  context.finish();
  auto start = clock::now();
  call();
  context.finish();
  const double once = std::max(1e-7, std::chrono::duration<double>(clock::now() - start).count());
  const int reps = std::clamp(int((quick ? 0.05 : 0.2) / once), 3, 2000);
  start = clock::now();
  for (int r = 0; r < reps; ++r) call();
  context.finish();
  return std::chrono::duration<double>(clock::now() - start).count() / reps;
}

// Each length starts from an empty buffer pool, as VkFFT's own buffers are created per length: the
// pool otherwise keeps every earlier length's blocks (up to a quarter of the device memory), and
// on the H100 the three-launch plans measured late in a sweep ran up to 1.4x slower than in a
// process of their own. NODAL_BENCH_KEEP_POOL=1 keeps it (measuring the effect).
void fresh_pool() {
  static const bool keep = [] {
    const char* v = std::getenv("NODAL_BENCH_KEEP_POOL");
    return v && std::string_view(v) == "1";
  }();
  if (!keep) opencl::release_cached_device_memory();
}

cl_mem mem_of(const Tensor& t) { return opencl::device_buffer(*t.buffer(), "bench").mem(); }

// log2 of batch·N: as asked, else 2^26 on a GPU and 2^22 on a CPU device; at most 2^20 when quick
int values_log2(int asked, bool cpu_device, bool quick) {
  const int log2 = asked > 0 ? asked : cpu_device ? 22 : 26;
  return quick ? std::min(log2, 20) : log2;
}

// plain rows of n complex values from t's first element
offt::Side rows_of(const Tensor& t, std::int64_t n) {
  offt::Side s;
  s.mem = mem_of(t);
  s.offset = t.offset();
  s.s_outer = n;
  return s;
}

// Seconds per clEnqueueCopyBuffer of `bytes` from `from` to `to` (the bandwidth reference).
double copy_seconds(opencl::Context& context, const Tensor& from, const Tensor& to, std::size_t bytes, bool quick) {
  return device_seconds(
      context,
      [&] {
        opencl::check(clEnqueueCopyBuffer(context.queue(), mem_of(from), mem_of(to), 0, 0, bytes, 0, nullptr, nullptr),
                      "clEnqueueCopyBuffer", "bench");
      },
      quick);
}

std::vector<std::complex<float>> download(const Tensor& t) {
  return t.to(Backend::cpu).to_vector<std::complex<float>>();
}

double relative_l2(const std::vector<std::complex<float>>& a, const std::vector<std::complex<float>>& b) {
  long double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += std::norm(std::complex<long double>(a[i]) - std::complex<long double>(b[i]));
    n += std::norm(std::complex<long double>(b[i]));
  }
  return n > 0 ? double(std::sqrt(d / n)) : 0.0;
}

#if defined(NODAL_HAVE_VKFFT)
// VkFFT in place on `buffer`; seconds per transform (0 when VkFFT refused the size).
double vkfft_seconds(opencl::Context& context, cl_mem buffer, std::int64_t n, std::int64_t batch, bool quick,
                     bool pair = false) {
  VkFFTConfiguration config{};
  VkFFTApplication app{};
  cl_device_id device = context.device().id;
  cl_context cl_ctx = context.get();
  cl_command_queue queue = context.queue();
  cl_platform_id platform = context.device().platform;
  std::uint64_t bytes = std::uint64_t(8 * n * batch);
  config.FFTdim = 1;
  config.size[0] = std::uint64_t(n);
  config.numberBatches = std::uint64_t(batch);
  config.platform = &platform;
  config.device = &device;
  config.context = &cl_ctx;
  config.buffer = &buffer;
  config.bufferSize = &bytes;
  if (initializeVkFFT(&app, config) != VKFFT_SUCCESS) return 0;
  VkFFTLaunchParams params{};
  params.commandQueue = &queue;
  params.buffer = &buffer;
  // pair: a forward and an inverse transform per call (the transforms of a convolution)
  const double s = device_seconds(
      context,
      [&] {
        VkFFTAppend(&app, -1, &params);
        if (pair) VkFFTAppend(&app, 1, &params);
      },
      quick);
  deleteVkFFT(&app);
  return s;
}
#endif

}  // namespace

int run_opencl_fft_bench(int total_log2, bool quick, bool markdown, bool peer_wanted,
                         const std::vector<std::int64_t>& only) {
  opencl::Context& context = opencl::current_context();
  const bool cpu_device = context.device().type.find("cpu") != std::string::npos;
  total_log2 = values_log2(total_log2, cpu_device, quick);
  const std::int64_t total = std::int64_t(1) << total_log2;
  fmt::print("OpenCL FFT benchmark on {} ({}, {}), batched C2C float32, batch·N = 2^{}\n", context.device().name,
             context.device().platform_name, context.device().driver_version, total_log2);
#if defined(NODAL_HAVE_VKFFT)
  const bool have_vkfft = peer_wanted;
  if (have_vkfft) fmt::print("peer: VkFFT {} (OpenCL backend, in place)\n", VkFFTGetVersion());
  else fmt::print("peer: none (--no-peer)\n");
#else
  (void)peer_wanted;
  const bool have_vkfft = false;
  fmt::print("peer: none (VkFFT's header not found at build time: NODAL_VKFFT_INCLUDE_DIR)\n");
#endif
  std::vector<std::int64_t> sizes;
  for (std::int64_t n = 256; n <= (std::int64_t(1) << 22) && n <= total; n *= 2) sizes.push_back(n);
  for (std::int64_t n : {1009, 4099, 65537}) sizes.push_back(n);
  if (quick) sizes = {256, 4096, 65536, 1009, 4099};
  if (!only.empty()) sizes = only;

  if (markdown)
    fmt::print("\n| N | batch | nodal µs | nodal GB/s | of copy | VkFFT µs | VkFFT GB/s | of copy | nodal/VkFFT | rel. Δ | plan |\n"
               "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  else
    fmt::print("\n{:>8} {:>7} {:>10} {:>8} {:>7} {:>10} {:>8} {:>7} {:>7} {:>9}  {}\n", "N", "batch", "nodal us",
               "GB/s", "copy%", "VkFFT us", "GB/s", "copy%", "ratio", "rel.diff", "plan");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const std::int64_t n : sizes) {
    fresh_pool();
    const std::int64_t batch = std::max<std::int64_t>(1, total / n);
    std::vector<std::complex<float>> host(std::size_t(n * batch));
    for (auto& v : host) v = {u(rng), u(rng)};
    const Tensor in = Tensor::from_vector(host, Shape{batch, n}).to(Backend::opencl);
    const Tensor out = opencl::device_empty(context, Shape{batch, n}, DType::complex64);
    const auto plan = offt::plan_for(context, n, DType::float32);
    std::string plan_text = offt::describe(*plan);
    if (offt::stockham_enabled(context))
      if (const auto fast = offt::stockham_plan(context, n, DType::float32)) plan_text = offt::describe(*fast);
    const offt::Side load = rows_of(in, n), store = rows_of(out, n);
    const double ours = device_seconds(
        context, [&] { offt::execute(context, *plan, DType::float32, batch, false, load, {}, store, {}); }, quick);
    const std::size_t bytes = std::size_t(8 * n * batch);
    const double copy = copy_seconds(context, in, out, bytes, quick);
    offt::execute(context, *plan, DType::float32, batch, false, load, {}, store, {});
    const auto ours_values = download(out);
    double peer = 0, diff = 0;
#if defined(NODAL_HAVE_VKFFT)
    // VkFFT 1.2.26 crashes (SIGSEGV) on PoCL 3.1 from N = 131072 on: CPU devices skip it there.
    if (have_vkfft && !(cpu_device && n > 65536)) {
      const Tensor work = Tensor::from_vector(host, Shape{batch, n}).to(Backend::opencl);
      peer = vkfft_seconds(context, mem_of(work), n, batch, quick);
      // one transform of fresh data for the comparison
      const Tensor check = Tensor::from_vector(host, Shape{batch, n}).to(Backend::opencl);
      if (peer > 0) {
        VkFFTConfiguration config{};
        VkFFTApplication app{};
        cl_device_id device = context.device().id;
        cl_context cl_ctx = context.get();
        cl_command_queue queue = context.queue();
        cl_mem buffer = mem_of(check);
        std::uint64_t vbytes = bytes;
        config.FFTdim = 1;
        config.size[0] = std::uint64_t(n);
        config.numberBatches = std::uint64_t(batch);
        config.device = &device;
        config.context = &cl_ctx;
        config.buffer = &buffer;
        config.bufferSize = &vbytes;
        if (initializeVkFFT(&app, config) == VKFFT_SUCCESS) {
          VkFFTLaunchParams params{};
          params.commandQueue = &queue;
          params.buffer = &buffer;
          VkFFTAppend(&app, -1, &params);
          context.finish();
          diff = relative_l2(ours_values, download(check));
          deleteVkFFT(&app);
        }
      }
    }
#endif
    const double gbs = 16.0 * double(n * batch) / ours / 1e9, copy_gbs = 2.0 * double(bytes) / copy / 1e9;
    const double peer_gbs = peer > 0 ? 16.0 * double(n * batch) / peer / 1e9 : 0;
    const std::string peer_us = peer > 0 ? fmt::format("{:.1f}", peer * 1e6) : "-";
    const std::string peer_bw = peer > 0 ? fmt::format("{:.1f}", peer_gbs) : "-";
    const std::string peer_share = peer > 0 ? fmt::format("{:.0f}%", 100 * peer_gbs / copy_gbs) : "-";
    const std::string ratio = peer > 0 ? fmt::format("{:.2f}", peer / ours) : "-";
    const std::string delta = have_vkfft && peer > 0 ? fmt::format("{:.1e}", diff) : "-";
    if (markdown)
      fmt::print("| {} | {} | {:.1f} | {:.1f} | {:.0f}% | {} | {} | {} | {} | {} | {} |\n", n, batch, ours * 1e6, gbs,
                 100 * gbs / copy_gbs, peer_us, peer_bw, peer_share, ratio, delta, plan_text);
    else
      fmt::print("{:>8} {:>7} {:>10.1f} {:>8.1f} {:>6.0f}% {:>10} {:>8} {:>7} {:>7} {:>9}  {}\n", n, batch, ours * 1e6,
                 gbs, 100 * gbs / copy_gbs, peer_us, peer_bw, peer_share, ratio, delta, plan_text);
    std::fflush(stdout);
  }
  fmt::print("\nratio = VkFFT time / nodal time (above 1: nodal faster); copy = clEnqueueCopyBuffer of the same bytes, "
             "counted as read + write\n");
  return 0;
}

int run_opencl_convolve_bench(int total_log2, bool quick, bool markdown, bool peer_wanted,
                              const std::vector<std::int64_t>& only) {
  opencl::Context& context = opencl::current_context();
  const bool cpu_device = context.device().type.find("cpu") != std::string::npos;
  total_log2 = values_log2(total_log2, cpu_device, quick);
  const std::int64_t total = std::int64_t(1) << total_log2;
  fmt::print("OpenCL circular convolution benchmark on {} ({}), complex64 rows, one filter, batch·N = 2^{}\n",
             context.device().name, context.device().driver_version, total_log2);
#if defined(NODAL_HAVE_VKFFT)
  const bool have_vkfft = peer_wanted;
#else
  (void)peer_wanted;
  const bool have_vkfft = false;
#endif
  std::vector<std::int64_t> sizes = {256, 1024, 4096, 8192, 16384, 65536, 1 << 20, 1000, 1009};
  if (quick) sizes = {1024, 16384};
  if (!only.empty()) sizes = only;
  if (markdown)
    fmt::print("\n| N | batch | convolve µs | of copy | natural fwd + inv µs | VkFFT fwd + inv µs | natural / convolve | "
               "VkFFT / convolve | how |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  else
    fmt::print("\n{:>8} {:>7} {:>12} {:>7} {:>12} {:>12} {:>9} {:>9}  {}\n", "N", "batch", "convolve us", "copy%",
               "natural us", "VkFFT us", "nat/conv", "Vk/conv", "how");
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const std::int64_t n : sizes) {
    fresh_pool();
    const std::int64_t batch = std::max<std::int64_t>(1, total / n);
    std::vector<std::complex<float>> host(std::size_t(n * batch)), filter(static_cast<std::size_t>(n));
    for (auto& v : host) v = {u(rng), u(rng)};
    for (auto& v : filter) v = {u(rng), u(rng)};
    const Tensor in = Tensor::from_vector(host, Shape{batch, n}).to(Backend::opencl);
    const offt::CircularConvolver conv(context, n, DType::float32);
    const auto spectrum = conv.filter(Tensor::from_vector(filter, Shape{n}).to(Backend::opencl));
    const double ours = device_seconds(context, [&] { (void)conv.convolve(in, spectrum); }, quick);
    const Tensor out = opencl::device_empty(context, Shape{batch, n}, DType::complex64);
    const auto plan = offt::plan_for(context, n, DType::float32);
    const offt::Side load = rows_of(in, n), store = rows_of(out, n);
    const double natural = device_seconds(
        context,
        [&] {
          offt::execute(context, *plan, DType::float32, batch, false, load, {}, store, {});
          offt::execute(context, *plan, DType::float32, batch, true, store, {}, store, {});
        },
        quick);
    const double copy = copy_seconds(context, in, out, std::size_t(8 * n * batch), quick);
    double peer = 0;
#if defined(NODAL_HAVE_VKFFT)
    if (have_vkfft && !(cpu_device && n > 65536)) peer = vkfft_seconds(context, mem_of(out), n, batch, quick, true);
#endif
    // "of copy": a convolution reads and writes each value once at the least, as a copy does
    const double share = copy / ours;
    const std::string peer_us = peer > 0 ? fmt::format("{:.1f}", peer * 1e6) : "-";
    const std::string peer_ratio = peer > 0 ? fmt::format("{:.2f}", peer / ours) : "-";
    if (markdown)
      fmt::print("| {} | {} | {:.1f} | {:.0f}% | {:.1f} | {} | {:.2f} | {} | {} |\n", n, batch, ours * 1e6, 100 * share,
                 natural * 1e6, peer_us, natural / ours, peer_ratio, conv.describe());
    else
      fmt::print("{:>8} {:>7} {:>12.1f} {:>6.0f}% {:>12.1f} {:>12} {:>9.2f} {:>9}  {}\n", n, batch, ours * 1e6,
                 100 * share, natural * 1e6, peer_us, natural / ours, peer_ratio, conv.describe());
    std::fflush(stdout);
  }
  fmt::print("\nconvolve = nodal's whole convolution (transforms and product); natural = nodal's forward and inverse in "
             "natural order; VkFFT = its forward and inverse in place; ratios above 1: the convolution is faster\n");
  return 0;
}
