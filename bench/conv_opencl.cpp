// conv2d on an OpenCL device (NODAL_DEVICE, else the first GPU, else the first device): forward
// and forward + backward (to x, weight and bias through a graph, as a training step runs them) on
// the convolution issue's six layers and the LeNet-5 layers at batch 64 and 1024. Each forward is
// first checked against the CPU backend (normwise error below 1e-4 of max|y|) — a fast wrong
// answer fails the benchmark. Times: median of repetitions, each ending in clFinish, after a
// warm-up (which also compiles the kernels); "pipelined": median over 5 rounds of 10 calls back to
// back and one clFinish, per call (launch latency hidden behind the kernels, as the CUDA events
// of the PyTorch peer measure it). The PyTorch/CUDA peer is bench/peers/torch_cuda.py,
// run beside it on the GPU machine (bench/gpu-run.sh).
//
//   conv_opencl [--markdown] [--reps 20] [--small] [--algorithm auto|direct|gemm|fft|fft_tiled]
//   (NODAL_OPENCL_PROFILE=1: also each layer's forward+backward kernels with their device times, on stderr)
//   (--small: only layers that PoCL runs quickly; --algorithm: the conv nodes' attribute, default auto)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "conv_shapes.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/kernel_profile.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/reduce.hpp"

using namespace nodal;
using nodal::bench::ConvShape;

namespace {

template <class F> double median_ms(int reps, F&& run) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    run();
    opencl::current_context().finish();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The same, pipelined: `batch` calls back to back and one finish, per call (the queue kept full, so
// launch latency overlaps the kernels: what CUDA-event timing of a peer measures).
template <class F> double pipelined_ms(int reps, int batch, F&& run) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = std::chrono::steady_clock::now();
    for (int k = 0; k < batch; ++k) run();
    opencl::current_context().finish();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count() / batch);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double normwise_error(const Tensor& a, const Tensor& e) {
  const auto av = a.to(Backend::cpu).to_vector<double>(), ev = e.to_vector<double>();
  double diff = 0, scale = 1e-300;
  for (std::size_t i = 0; i < av.size(); ++i) {
    diff = std::max(diff, std::abs(av[i] - ev[i]));
    scale = std::max(scale, std::abs(ev[i]));
  }
  return diff / scale;
}

}  // namespace

int run(int argc, char** argv) {
  bool markdown = false, small = false;
  int reps = 20;
  std::string algorithm = "auto";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--markdown") markdown = true;
    else if (a == "--small") small = true;
    else if (a == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else if (a == "--algorithm" && i + 1 < argc) algorithm = argv[++i];
    else {
      fmt::print(stderr, "usage: conv_opencl [--markdown] [--reps 20] [--small] [--algorithm NAME]\n");
      return 2;
    }
  }
  std::vector<ConvShape> layers = {
      {64, 1, 32, 28, 28, 5, 2}, {64, 32, 64, 14, 14, 5, 2}, {32, 16, 16, 64, 64, 3, 1},
      {8, 16, 16, 64, 64, 11, 5}, {4, 8, 8, 256, 256, 15, 7}, {1, 1, 1, 1024, 1024, 31, 15},
      {64, 1, 6, 28, 28, 5, 2},   {64, 6, 16, 14, 14, 5, 0},  {1024, 1, 6, 28, 28, 5, 2}, {1024, 6, 16, 14, 14, 5, 0}};
  if (small) layers = {{64, 1, 6, 28, 28, 5, 2}, {64, 6, 16, 14, 14, 5, 0}, {8, 4, 4, 32, 32, 3, 1}};
  const auto& device = opencl::current_context().device();
  fmt::print("conv2d on OpenCL: {} ({}), float32, algorithm {}, median of {} repetitions\n\n", device.name,
             device.platform_name, algorithm, reps);
  const char* sep = markdown ? "|" : " ";
  fmt::print("{0} layer {0} fwd ms {0} f+b ms {0} fwd ms pipelined {0} f+b ms pipelined {0} fwd GFLOP/s {0} max err / max|y| {0}\n",
             sep);
  if (markdown) fmt::print("|---|---:|---:|---:|---:|---:|---:|\n");
  int failures = 0;
  for (const ConvShape& s : layers) {
    const Tensor x = Tensor::randn(Shape{s.n, s.cin, s.h, s.w}, 1);
    const Tensor w = Tensor::randn(Shape{s.cout, s.cin, s.k, s.k}, 2);
    const Tensor b = Tensor::randn(Shape{s.cout}, 3);
    ConvOptions o;
    o.padding = ConvPadding::all(s.pad);
    o.algorithm = algorithm;
    const Tensor xd = x.to(Backend::opencl), wd = w.to(Backend::opencl), bd = b.to(Backend::opencl);
    double err = 0;
    {
      NoGradGuard no_grad;
      err = normwise_error(conv2d(xd, wd, bd, o), conv2d(x, w, b, o));
    }
    if (!(err < 1e-4)) ++failures;
    const double fwd = median_ms(reps + 2, [&] {
      NoGradGuard no_grad;
      conv2d(xd, wd, bd, o);
    });
    Graph g;
    const Value vx = g.input("x", x.shape()), vw = g.input("w", w.shape()), vb = g.input("b", b.shape());
    const Value loss = sum(conv2d(vx, vw, vb, o));
    const double fb = median_ms(reps + 2, [&] {
      Execution run = g.forward({loss}, {{vx, xd}, {vw, wd}, {vb, bd}});
      run.backward(loss, {vx, vw, vb});
    });
    const double fwd_pipe = pipelined_ms(5, 10, [&] {
      NoGradGuard no_grad;
      conv2d(xd, wd, bd, o);
    });
    const double fb_pipe = pipelined_ms(5, 10, [&] {
      Execution run = g.forward({loss}, {{vx, xd}, {vw, wd}, {vb, bd}});
      run.backward(loss, {vx, vw, vb});
    });
    fmt::print("{0} {1} p{2} {0} {3:.3f} {0} {4:.3f} {0} {5:.3f} {0} {6:.3f} {0} {7:.1f} {0} {8:.1e}{9} {0}\n", sep,
               s.label(), s.pad, fwd, fb, fwd_pipe, fb_pipe, s.forward_flops() / fwd_pipe * 1e-6, err,
               err < 1e-4 ? "" : " WRONG");
    if (opencl::kernel_profiling()) {  // the layer's forward + backward kernels, per call
      opencl::reset_kernel_times();
      Execution run = g.forward({loss}, {{vx, xd}, {vw, wd}, {vb, bd}});
      run.backward(loss, {vx, vw, vb});
      opencl::current_context().finish();
      for (const opencl::KernelTime& k : opencl::kernel_times())
        fmt::print(stderr, "    {:<28} {:>3}x {:>9.1f} µs\n", k.name, k.launches, k.total_us);
      opencl::reset_kernel_times();
    }
  }
  return failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "conv_opencl: error: {}\n", e.what());
    return 2;
  }
}
