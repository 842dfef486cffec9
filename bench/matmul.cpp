// 1024 x 1024 float32 matmul: nodal (eager matmul(Tensor, Tensor) and a graph forward) against
// Eigen's GEMM called directly on the same buffers, with 1 and 2 threads; and, in a build with
// the OpenCL backend and a device present, nodal's OpenCL GEMM (matmul of device tensors: inputs
// resident on the device, the result left there, each run waited for with clFinish) in its own
// table, since the device's threads do not follow the host's thread count. Runs are interleaved
// (one of each method per round) so drifting machine load affects all methods alike; the table
// shows the median of each. Results are compared (max |difference|) before any time is printed:
// a fast wrong answer fails the benchmark.
//
//   matmul [n] [rounds]      defaults: 1024, 15
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>
#include <omp.h>

#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/nodes/matmul.hpp"
#ifdef NODAL_HAS_OPENCL
#include "nodal/backends/opencl/context.hpp"
#include "nodal/backends/opencl/devices.hpp"
#include "nodal/backends/opencl/gemm.hpp"
#endif

using namespace nodal;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double max_abs_diff(const float* a, const float* b, std::int64_t n) {
  double m = 0;
  for (std::int64_t i = 0; i < n; ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 1024;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
  const Tensor a = Tensor::randn(Shape{n, n}, 1, DType::float32);
  const Tensor b = Tensor::randn(Shape{n, n}, 2, DType::float32);
  const ConstMap ea(a.data<float>(), n, n), eb(b.data<float>(), n, n);
  RowMatrix ec(n, n);

  Graph graph;
  const Value x = graph.input("a", Shape{n, n});
  const Value w = graph.input("b", Shape{n, n});
  const Value y = matmul(x, w);
  const std::vector<Feed> feeds{{x, a}, {w, b}};

  // Correctness first: nodal (both paths) against Eigen, and Eigen against float64 dot products
  // on a sample of entries (so that the peer itself is checked too).
  ec.noalias() = ea * eb;
  const Tensor eager = matmul(a, b);
  Tensor graphed;
  {
    NoGradGuard no_grad;
    graphed = graph.forward(std::span<const Value>(&y, 1), feeds)[y];
  }
  double ref_err = 0, ref_scale = 0;
  for (std::int64_t s = 0; s < 64; ++s) {
    const std::int64_t i = (s * 7919) % n, j = (s * 104729) % n;
    double dot = 0;
    for (std::int64_t k = 0; k < n; ++k) dot += double(ea(i, k)) * double(eb(k, j));
    ref_err = std::max(ref_err, std::abs(dot - double(ec(i, j))));
    ref_scale = std::max(ref_scale, std::abs(dot));
  }
  const double d_eager = max_abs_diff(eager.data<float>(), ec.data(), n * n);
  const double d_graph = max_abs_diff(graphed.data<float>(), ec.data(), n * n);
  // float32 accumulation of n products of N(0,1) values: errors of order sqrt(n)·eps·|terms|.
  const double tol = 1e-4 * std::sqrt(double(n)) * 8;
  fmt::print("check: max|nodal eager − Eigen| = {:.3g}, max|nodal graph − Eigen| = {:.3g}, "
             "max|Eigen − float64| (64 sampled entries, |ref| ≤ {:.3g}) = {:.3g}; tolerance {:.3g}\n",
             d_eager, d_graph, ref_scale, ref_err, tol);
  if (!(d_eager <= tol && d_graph <= tol && ref_err <= tol)) {
    fmt::print(stderr, "matmul benchmark: results disagree; no timings reported\n");
    return 1;
  }

  const double flops = 2.0 * double(n) * double(n) * double(n);
  fmt::print("\n{} x {} float32 matmul, median of {} interleaved rounds\n\n", n, n, rounds);
  fmt::print("| threads | method              |      ms | GFLOP/s | vs Eigen |\n");
  fmt::print("|--------:|---------------------|--------:|--------:|---------:|\n");
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);  // nodal's loops and Eigen's GEMM both read this
    Eigen::setNbThreads(threads);
    struct Method {
      std::string name;
      std::function<void()> run;
      std::vector<double> ms;
    };
    std::vector<Method> methods;
    methods.push_back({"Eigen (direct)", [&] { ec.noalias() = ea * eb; }, {}});
    methods.push_back({"nodal eager", [&] { (void)matmul(a, b); }, {}});
    methods.push_back({"nodal graph forward", [&] {
                         NoGradGuard no_grad;
                         (void)graph.forward(std::span<const Value>(&y, 1), feeds);
                       }, {}});
    for (Method& m : methods) m.run();  // warm-up: pools, caches, thread teams
    for (int r = 0; r < rounds; ++r)
      for (Method& m : methods) {
        const auto t0 = std::chrono::steady_clock::now();
        m.run();
        m.ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
    const double eigen_ms = median(methods[0].ms);
    for (const Method& m : methods) {
      const double ms = median(m.ms);
      fmt::print("| {:7} | {:19} | {:7.2f} | {:7.1f} | {:7.3f}x |\n", threads, m.name, ms, flops / (ms * 1e6),
                 eigen_ms / ms);
    }
  }
  fmt::print("\n(vs Eigen = Eigen time / nodal time: 1.0 is parity, above 1 nodal is faster)\n");
#ifdef NODAL_HAS_OPENCL
  if (!opencl::devices().empty()) {
    opencl::Context& context = opencl::current_context();
    const Tensor da = a.to(Backend::opencl), db = b.to(Backend::opencl);
    const Tensor dc = matmul(da, db).to(Backend::cpu);
    const double d_device = max_abs_diff(dc.data<float>(), ec.data(), n * n);
    fmt::print("\nOpenCL: {} ({}), max|nodal OpenCL − Eigen| = {:.3g} (tolerance {:.3g})\n", context.device().name,
               context.device().platform_name, d_device, tol);
    if (!(d_device <= tol)) {
      fmt::print(stderr, "matmul benchmark: the OpenCL result disagrees; no OpenCL timings reported\n");
      return 1;
    }
    const opencl::GemmTiles t = opencl::gemm_tiles(context, DType::float32);
    std::vector<double> device_ms, eigen_ms;
    omp_set_num_threads(2);
    Eigen::setNbThreads(2);
    for (int r = 0; r <= rounds; ++r) {  // round 0 warms up (program build, pool)
      auto t0 = std::chrono::steady_clock::now();
      (void)matmul(da, db);
      context.finish();
      const double d = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      t0 = std::chrono::steady_clock::now();
      ec.noalias() = ea * eb;
      const double e = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r > 0) device_ms.push_back(d), eigen_ms.push_back(e);
    }
    const double ms = median(device_ms), e_ms = median(eigen_ms);
    fmt::print("\n| {:<44} |      ms | GFLOP/s | vs Eigen (2 threads) |\n", "method");
    fmt::print("|{:-<46}|--------:|--------:|---------------------:|\n", "");
    const std::string device_name =
        fmt::format("nodal OpenCL GEMM ({}x{}x{} tiles{})", t.tile_m, t.tile_n, t.tile_k, t.vector_n ? ", vector" : "");
    fmt::print("| {:<44} | {:7.2f} | {:7.1f} | {:19.3f}x |\n", "Eigen (direct, 2 threads)", e_ms, flops / (e_ms * 1e6), 1.0);
    fmt::print("| {:<44} | {:7.2f} | {:7.1f} | {:19.3f}x |\n", device_name, ms, flops / (ms * 1e6), e_ms / ms);
  } else {
    fmt::print("\nOpenCL: no device, no OpenCL column\n");
  }
#endif
  return 0;
}
