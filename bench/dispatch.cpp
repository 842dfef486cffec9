// Dispatch overhead: what the graph engine costs per node when the arithmetic is negligible.
//
// A chain of N pointwise nodes on a 16-element float32 tensor (relu, add-a-parameter, tanh,
// repeating) is built once; then forward and forward+backward (gradients of every parameter)
// run many times. Reported: median µs per node for forward, backward and both, and the CPU
// buffer pool's counters over the timed runs (in steady state every buffer should come from the
// pool: zero system allocations per step).
//
//   dispatch [--nodes N] [--reps R] [--markdown]
//
// Target on the 2-core development machine: total (forward + backward) < 1 µs per node.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <nodal/nodal.hpp>

#include "nodal/nodes/unary.hpp"

using namespace nodal;

namespace {

struct Options {
  int nodes = 1000;
  int reps = 300;
  bool markdown = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--nodes" && i + 1 < argc) o.nodes = std::atoi(argv[++i]);
    else if (arg == "--reps" && i + 1 < argc) o.reps = std::atoi(argv[++i]);
    else if (arg == "--markdown") o.markdown = true;
    else {
      fmt::print(stderr, "usage: dispatch [--nodes N] [--reps R] [--markdown]\n");
      std::exit(2);
    }
  }
  o.nodes = std::max(o.nodes, 3);
  o.reps = std::max(o.reps, 5);
  return o;
}

// The chain: relu, + parameter, tanh, relu, + parameter, ... (`nodes` operations in all).
struct Chain {
  Graph graph;
  Value x, y;
  std::vector<Value> parameters;
};

void build(Chain& c, int nodes) {
  constexpr std::int64_t width = 16;
  c.x = c.graph.input("x", Shape{width});
  Value v = c.x;
  for (int i = 0; i < nodes; ++i) {
    switch (i % 3) {
      case 0: v = relu(v); break;
      case 1: {
        Value p = c.graph.parameter(fmt::format("p{}", i), Tensor::randn(Shape{width}, std::uint64_t(i), DType::float32, 0.0, 0.1));
        c.parameters.push_back(p);
        v = v + p;
        break;
      }
      default: v = tanh(v); break;
    }
  }
  c.y = v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Chain c;
  build(c, o.nodes);
  const Tensor xv = Tensor::randn(Shape{16}, 1, DType::float32);
  const Tensor seed = Tensor::ones(Shape{16}, DType::float32);

  // One step: forward, then backward to every parameter. Returns (forward s, backward s).
  auto step = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    Execution run = c.graph.forward({c.y}, {{c.x, xv}});
    const double forward = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    Gradients grads = run.backward(c.y, c.parameters, {.cotangent = seed});
    const double backward = seconds_since(t1);
    return std::pair{forward, backward};
  };
  // Forward alone, under no-grad (inference): intermediates released as soon as they are used.
  auto inference = [&] {
    NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    Execution run = c.graph.forward({c.y}, {{c.x, xv}});
    return seconds_since(t0);
  };

  for (int i = 0; i < 10; ++i) step(), inference();  // warm-up: schedule cached, pool filled

  const CpuPoolStats before = cpu_pool_stats();
  std::vector<double> forward, backward, total, no_grad;
  for (int r = 0; r < o.reps; ++r) {
    const auto [f, b] = step();
    forward.push_back(f);
    backward.push_back(b);
    total.push_back(f + b);
  }
  const CpuPoolStats after = cpu_pool_stats();
  for (int r = 0; r < o.reps; ++r) no_grad.push_back(inference());

  const double per_node = 1e6 / o.nodes;
  const double total_us = median(total) * per_node;
  fmt::print("dispatch: chain of {} pointwise nodes (relu, +parameter, tanh) on float32[16], {} parameters, "
             "median of {} steps\n\n", o.nodes, c.parameters.size(), o.reps);
  if (o.markdown) fmt::print("| pass | µs per node | ms per pass |\n|---|---:|---:|\n");
  else fmt::print("{:<28} {:>12} {:>12}\n", "pass", "us per node", "ms per pass");
  auto row = [&](std::string_view name, double seconds) {
    if (o.markdown) fmt::print("| {} | {:.3f} | {:.3f} |\n", name, seconds * per_node, seconds * 1e3);
    else fmt::print("{:<28} {:>12.3f} {:>12.3f}\n", name, seconds * per_node, seconds * 1e3);
  };
  row("forward (grad kept)", median(forward));
  row("backward", median(backward));
  row("forward + backward", median(total));
  row("forward (no-grad)", median(no_grad));

  const double steps = o.reps;
  fmt::print("\nCPU pool over the {} timed steps: {:.2f} system allocations and {:.1f} reuses per step, "
             "{} KiB cached\n", o.reps, double(after.system_allocations - before.system_allocations) / steps,
             double(after.reuses - before.reuses) / steps, after.cached_bytes / 1024);
  fmt::print("target: forward + backward < 1 us per node: {} ({:.3f} us)\n", total_us < 1.0 ? "met" : "MISSED", total_us);
  return 0;
}
