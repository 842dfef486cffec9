// conv2d: every registered CPU algorithm, `auto` (and with --measure, `measure`) on the issue's
// layers, forward (no-grad) and forward + backward to x, weight and bias through a graph, as a
// training step runs them; beside libtorch on the same data in the same run when it was found.
// Times are the minimum over interleaved rounds after a warm-up (bench/conv_runner.hpp). Every forward
// is checked at sampled outputs against a float64 sum before its time counts: a fast wrong
// answer fails the benchmark.
//
//   conv [--markdown] [--threads 2] [--budget S] [--layers 0,2] [--measure] [--calibrate]
//        [--crossover] [--direct-calls] [--cpu-time] [--extra] [--no-torch] [--no-reexec]
//
// --direct-calls times the algorithms through the ConvAlgorithm interface instead of the graph
// (no bias, no node dispatch): what the cost model estimates, hence what --calibrate should use.
// --extra times other layers instead (pointwise, strided, depthwise, ...) to check `auto` on them.
// --cpu-time measures process CPU time instead of wall time (bench/conv_runner.hpp): with
// --threads 1, the calibration that a busy machine cannot disturb.
//
// For a fair peer, the bench re-executes itself once with the glibc malloc settings the issue
// prescribes (large mmap/trim thresholds, a top pad: libtorch's allocations stop going back to
// the kernel between runs) and with OpenBLAS single-threaded, so that its threads do not fight
// the 2 OpenMP threads.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <omp.h>

#include "conv_runner.hpp"
#include "conv_shapes.hpp"
#include "conv_table.hpp"
#include "conv_torch.hpp"
#include "nodal/backends/cpu/conv_select.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/nodes/conv.hpp"

using namespace nodal;
using namespace nodal::bench;

namespace {

struct Options {
  bool markdown = false, measure = false, calibrate = false, crossover = false, torch = true, reexec = true;
  bool direct_calls = false, extra = false;
  int threads = 2;
  double budget_s = 2.0;  // skip an algorithm whose calibrated forward+backward estimate exceeds this (or 20x the best)
  std::vector<std::size_t> layers;  // empty: all
};

// With --extra: layers beyond the issue's, to check `auto` on pointwise, strided, depthwise and
// small-image convolutions.
const std::vector<ConvShape> extra_layers = {
    {32, 64, 64, 32, 32, 1, 0},           {32, 32, 64, 32, 32, 3, 1, 2},      {16, 64, 64, 32, 32, 3, 1, 1, 64},
    {8, 3, 16, 128, 128, 7, 3},           {64, 64, 64, 8, 8, 3, 1},           {8, 16, 16, 64, 64, 7, 3},
};

const std::vector<ConvShape> issue_layers = {
    {64, 1, 32, 28, 28, 5, 2},   {64, 32, 64, 14, 14, 5, 2},  {32, 16, 16, 64, 64, 3, 1},
    {8, 16, 16, 64, 64, 11, 5},  {4, 8, 8, 256, 256, 15, 7},  {1, 1, 1, 1024, 1024, 31, 15},
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::runtime_error(fmt::format("{} needs a value", a));
      return std::string(argv[++i]);
    };
    if (a == "--markdown") o.markdown = true;
    else if (a == "--measure") o.measure = true;
    else if (a == "--calibrate") o.calibrate = true;
    else if (a == "--crossover") o.crossover = true;
    else if (a == "--no-torch") o.torch = false;
    else if (a == "--direct-calls") o.direct_calls = true;
    else if (a == "--extra") o.extra = true;
    else if (a == "--cpu-time") cpu_time() = true;
    else if (a == "--no-reexec") o.reexec = false;
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--budget") o.budget_s = std::stod(value());
    else if (a == "--layers") {
      const std::string list = value();
      for (std::size_t start = 0; start < list.size();) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        o.layers.push_back(std::stoul(list.substr(start, comma - start)));
        start = comma + 1;
      }
    } else throw std::runtime_error(fmt::format("unknown option '{}' (see the comment at the top of bench/conv.cpp)", a));
  }
  return o;
}

// Re-executes this program once with the peer-fairness environment; returns when already done
// (or when exec fails, saying so).
void reexec_with_fair_environment(char** argv, int threads) {
  if (std::getenv("NODAL_BENCH_CONV_ENV")) return;
  setenv("MALLOC_MMAP_THRESHOLD_", "4294967296", 1);
  setenv("MALLOC_TRIM_THRESHOLD_", "4294967296", 1);
  setenv("MALLOC_TOP_PAD_", "268435456", 1);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  setenv("MKL_NUM_THREADS", "1", 1);
  setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  setenv("NODAL_BENCH_CONV_ENV", "1", 1);
  execv("/proc/self/exe", argv);
  fmt::print(stderr, "conv: could not re-execute with the malloc settings ({}); running without them\n", std::strerror(errno));
}

const char* env_or(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "unset";
}

// The first three fields of /proc/loadavg: on a shared machine, the context every timing needs.
std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "unknown";
  double a = 0, b = 0, c = 0;
  const int got = std::fscanf(f, "%lf %lf %lf", &a, &b, &c);
  std::fclose(f);
  return got == 3 ? fmt::format("{:.2f} {:.2f} {:.2f} (1, 5, 15 min)", a, b, c) : "unknown";
}

std::string ms(double s) { return s > 0 ? fmt::format("{:.3g}", s * 1e3) : "-"; }
std::string ratio(double a, double b) { return a > 0 && b > 0 ? fmt::format("{:.2f}", a / b) : "-"; }

double geomean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double log_sum = 0;
  for (double x : v) log_sum += std::log(x);
  return std::exp(log_sum / double(v.size()));
}

// The data of one layer, shared by every method and by libtorch.
struct LayerData {
  ConvShape s;
  ConvGeometry g;
  Tensor x, w, b, dy;
  explicit LayerData(const ConvShape& shape) : s(shape) {
    x = Tensor::randn(Shape{s.n, s.cin, s.h, s.w}, 11, DType::float32);
    w = Tensor::randn(Shape{s.cout, s.cin_per_group(), s.k, s.k}, 12, DType::float32, 0.0,
                      1.0 / double(s.k * std::sqrt(double(s.cin_per_group()))));
    b = Tensor::randn(Shape{s.cout}, 13, DType::float32);
    dy = Tensor::randn(Shape{s.n, s.cout, s.out_h(), s.out_w()}, 14, DType::float32);
    g = ConvGeometry::resolve("conv2d", 2, x.shape(), w.shape(), options());
  }
  ConvOptions options() const {
    ConvOptions o;
    o.padding = ConvPadding::all(s.pad);
    o.stride = {s.stride};
    o.groups = s.groups;
    return o;
  }
};

// max over 64 sampled outputs of |y − y64| / Σ|terms|: the float64 sum (the terms' magnitude is
// the scale float32 rounding works against, so the ratio is comparable across layers).
double sampled_error(const LayerData& d, const Tensor& y) {
  const ConvShape& s = d.s;
  const float* x = d.x.data<float>();
  const float* w = d.w.data<float>();
  const float* b = d.b.data<float>();
  const float* yv = y.data<float>();
  std::mt19937_64 rng(5);
  double worst = 0;
  for (int sample = 0; sample < 64; ++sample) {
    const std::int64_t n = std::int64_t(rng() % std::uint64_t(s.n)), o = std::int64_t(rng() % std::uint64_t(s.cout));
    const std::int64_t i = std::int64_t(rng() % std::uint64_t(s.out_h())), j = std::int64_t(rng() % std::uint64_t(s.out_w()));
    double sum = b[o], magnitude = std::abs(double(b[o]));
    const std::int64_t cg = s.cin_per_group(), c0 = o / (s.cout / s.groups) * cg;  // o's group's first input channel
    for (std::int64_t c = 0; c < cg; ++c)
      for (std::int64_t p = 0; p < s.k; ++p)
        for (std::int64_t q = 0; q < s.k; ++q) {
          const std::int64_t r = i * s.stride + p - s.pad, t = j * s.stride + q - s.pad;
          if (r < 0 || r >= s.h || t < 0 || t >= s.w) continue;
          const double term =
              double(x[((n * s.cin + c0 + c) * s.h + r) * s.w + t]) * double(w[((o * cg + c) * s.k + p) * s.k + q]);
          sum += term;
          magnitude += std::abs(term);
        }
    const double got = yv[((n * s.cout + o) * s.out_h() + i) * s.out_w() + j];
    worst = std::max(worst, std::abs(got - sum) / std::max(magnitude, 1e-30));
  }
  return worst;
}

// A method that runs nodal: through a graph (the node: bias, dispatch, the algorithm), or with
// --direct-calls through the algorithm's own interface (what the cost model estimates). The first
// forward is checked against the sampled float64 reference; `out` receives it.
struct GraphState {
  Graph graph;
  Value y;
  std::vector<Value> wrt;
};

Runner nodal_runner(const LayerData& d, const std::string& method, Tensor* out) {
  Runner r{method};
  auto state = std::make_shared<GraphState>();
  const Value px = state->graph.parameter("x", d.x), pw = state->graph.parameter("w", d.w), pb = state->graph.parameter("b", d.b);
  ConvOptions o = d.options();
  o.algorithm = method;
  state->y = conv2d(px, pw, pb, o);
  state->wrt = {px, pw, pb};
  Tensor y;
  {
    NoGradGuard no_grad;
    Execution run = state->graph.forward({state->y});
    y = run[state->y];
  }
  r.error = sampled_error(d, y);
  if (out) *out = y;
  r.forward = [state] {
    NoGradGuard no_grad;
    Execution run = state->graph.forward({state->y});
  };
  r.train = [state, dy = d.dy] {
    Execution run = state->graph.forward({state->y});
    Gradients grads = run.backward(state->y, state->wrt, {.cotangent = dy});
  };
  return r;
}

struct DirectState {
  ConvGeometry g;
  const cpu::ConvAlgorithm* a;
  Tensor x, w, dy, y, dx, dw;
};

Runner direct_runner(const LayerData& d, const std::string& method, Tensor* out) {
  Runner r{method};
  auto st = std::make_shared<DirectState>(DirectState{d.g, cpu::choose_conv_algorithm(d.g, DType::float32, method).algorithm,
                                                      d.x, d.w, d.dy, Tensor::empty(d.g.output_shape(), DType::float32),
                                                      Tensor::empty(d.g.input_shape(), DType::float32),
                                                      Tensor::empty(d.g.weight_shape(), DType::float32)});
  st->a->forward(st->g, st->x, st->w, st->y, false);
  // The sampled reference includes the bias: add it here, as the node would.
  Tensor with_bias = st->y.clone();
  float* yb = with_bias.data<float>();
  const std::int64_t plane = d.g.out_pixels();
  for (std::int64_t i = 0; i < with_bias.numel(); ++i) yb[i] += d.b.data<float>()[(i / plane) % d.s.cout];
  r.error = sampled_error(d, with_bias);
  if (out) *out = with_bias;
  r.forward = [st] { st->a->forward(st->g, st->x, st->w, st->y, false); };
  r.train = [st] {
    std::unique_ptr<cpu::ConvSaved> saved = st->a->forward(st->g, st->x, st->w, st->y, true);
    st->a->backward(st->g, st->x, st->w, st->dy, &st->dx, &st->dw, saved.get());
  };
  return r;
}

Runner torch_runner(const LayerData& d, const Tensor& nodal_output) {
  Runner r{"libtorch"};
  std::shared_ptr<TorchConv> t = make_torch_conv(d.s, d.x.data<float>(), d.w.data<float>(), d.b.data<float>(), d.dy.data<float>());
  if (nodal_output.defined()) r.note = fmt::format("max Δy vs auto: {:.1e} of max y", t->max_error(nodal_output.data<float>()));
  r.forward = [t] { t->forward(); };
  r.train = [t] { t->train(); };
  return r;
}

// float32 forward with Cin·k² terms summed: blocked sums and FFT round-off stay well below 1e-4
// of Σ|terms| (ε = 6e-8 times a growth of at most a few hundred for these sizes); beyond 1e-3 the
// algorithm is wrong, not imprecise.
constexpr double error_limit = 1e-3;

struct LayerSummary {
  std::string label, auto_pick, best;
  double auto_forward = 0, auto_train = 0, best_train = 0, torch_forward = 0, torch_train = 0;
};

double finite_or_zero(double s) { return std::isfinite(s) ? s : 0.0; }

}  // namespace

int main(int argc, char** argv) try {
  Options o = parse(argc, argv);
  if (o.reexec) reexec_with_fair_environment(argv, o.threads);
  omp_set_num_threads(o.threads);
  const bool torch = o.torch && torch_available();
  if (torch) torch_set_threads(o.threads);

  fmt::print("conv2d benchmark, float32, {} threads; times in ms: minimum over ≥ 3 interleaved rounds (every method once per "
             "round) after a warm-up\n",
             o.threads);
  fmt::print("environment: MALLOC_MMAP_THRESHOLD_={} MALLOC_TRIM_THRESHOLD_={} MALLOC_TOP_PAD_={} OPENBLAS_NUM_THREADS={} "
             "OMP_NUM_THREADS={}{}\n",
             env_or("MALLOC_MMAP_THRESHOLD_"), env_or("MALLOC_TRIM_THRESHOLD_"),
             env_or("MALLOC_TOP_PAD_"), env_or("OPENBLAS_NUM_THREADS"),
             env_or("OMP_NUM_THREADS"),
             std::getenv("NODAL_BENCH_CONV_ENV") ? " (set by re-executing this bench, for libtorch's fairness)" : "");
  fmt::print("machine load before the run (/proc/loadavg): {}\n", load_average());
  fmt::print("peer: {}\n", !o.torch ? "libtorch disabled (--no-torch)" : torch_description());
  if (cpu_time()) fmt::print("times are process CPU time (--cpu-time), not wall time\n");
  if (o.direct_calls) fmt::print("nodal timed through the ConvAlgorithm interface (--direct-calls): no graph, no bias in the timings\n");
  fmt::print("GFLOP/s = 2·N·Cout·Cin·Ho·Wo·k² / forward time; err = max |y − y64| / Σ|terms| at 64 sampled outputs\n\n");

  std::vector<std::string> algorithms;
  for (const cpu::ConvAlgorithm* a : cpu::conv_algorithms()) algorithms.emplace_back(a->name());
  std::vector<std::string> methods = algorithms;
  methods.push_back("auto");
  if (o.measure) methods.push_back("measure");

  const RoundPolicy policy;
  Table table({"layer", "method", "fwd ms", "fwd GFLOP/s", "fwd+bwd ms", "torch/this fwd", "torch/this f+b", "err", "note"});
  Table calibration({"algorithm", "layer", "estimate ms", "measured f+b ms", "measured/estimate"});
  std::map<std::string, std::vector<double>> calibration_ratios;
  std::vector<LayerSummary> summaries;
  bool failed = false;
  auto make_runner = [&](const LayerData& d, const std::string& method, Tensor* out) {
    return o.direct_calls ? direct_runner(d, method, out) : nodal_runner(d, method, out);
  };

  const std::vector<ConvShape>& layers = o.extra ? extra_layers : issue_layers;
  for (std::size_t li = 0; li < layers.size(); ++li) {
    if (!o.layers.empty() && std::find(o.layers.begin(), o.layers.end(), li) == o.layers.end()) continue;
    const LayerData d(layers[li]);
    const std::string label = d.s.label();
    fmt::print(stderr, "  {} ...\n", label);
    const cpu::ConvExplanation e = cpu::explain_conv_choice(d.g, DType::float32, "auto");
    LayerSummary sum{label, e.chosen};

    std::vector<Runner> runners;
    Tensor auto_output;  // handed to libtorch for its cross-check
    for (const std::string& method : methods) {
      const auto c = std::find_if(e.candidates.begin(), e.candidates.end(), [&](const auto& c) { return c.name == method; });
      if (c != e.candidates.end() && !c->supported) {
        runners.push_back({method, {}, {}, 0, 0, 0, fmt::format("cannot run: {}", c->why_not)});
        continue;
      }
      // Hopeless and slow: an estimate beyond the budget, or beyond 20x the best and 0.25 s.
      const double best = e.candidates.front().estimate_s;
      if (c != e.candidates.end() && (c->estimate_s > o.budget_s || (c->estimate_s > 20 * best && c->estimate_s > 0.25))) {
        runners.push_back({method, {}, {}, 0, 0, 0,
                           fmt::format("skipped: estimate {:.3g} s ({:.0f}x the best; budget {:g} s)", c->estimate_s,
                                       c->estimate_s / best, o.budget_s)});
        continue;
      }
      runners.push_back(make_runner(d, method, method == "auto" ? &auto_output : nullptr));
    }
    if (torch) runners.push_back(torch_runner(d, auto_output));
    std::vector<Runner*> timed;
    for (Runner& r : runners)
      if (r.forward) timed.push_back(&r);
    time_interleaved(timed, policy);

    for (Runner& r : runners) {
      const auto c = std::find_if(e.candidates.begin(), e.candidates.end(), [&](const auto& c) { return c.name == r.method; });
      r.forward_s = finite_or_zero(r.forward_s), r.train_s = finite_or_zero(r.train_s);
      if (r.error > error_limit) {
        r.note = fmt::format("WRONG: error {:.2g} > {:g}", r.error, error_limit);
        failed = true;
      }
      if (r.method == "libtorch") {
        sum.torch_forward = r.forward_s, sum.torch_train = r.train_s;
      } else if (r.method == "auto") {
        r.note = fmt::format("→ {}", e.chosen);
        sum.auto_forward = r.forward_s, sum.auto_train = r.train_s;
      } else if (r.method == "measure") {
        r.note = fmt::format("→ {}", cpu::explain_conv_choice(d.g, DType::float32, "measure").chosen);
      } else if (c != e.candidates.end() && r.train_s > 0) {
        if (sum.best.empty() || r.train_s < sum.best_train) sum.best = r.method, sum.best_train = r.train_s;
        calibration.add({r.method, label, ms(c->raw_estimate_s), ms(r.train_s), ratio(r.train_s, c->raw_estimate_s)});
        calibration_ratios[r.method].push_back(r.train_s / c->raw_estimate_s);
      }
    }
    for (const Runner& r : runners) {
      const bool ran = r.forward_s > 0;
      const bool peer = r.method == "libtorch";
      table.add({label, r.method, ms(r.forward_s), ran ? fmt::format("{:.1f}", d.s.forward_flops() / r.forward_s * 1e-9) : "-",
                 ms(r.train_s), peer ? "" : ratio(sum.torch_forward, r.forward_s), peer ? "" : ratio(sum.torch_train, r.train_s),
                 ran && !peer ? fmt::format("{:.1e}", r.error) : "", r.note});
    }
    summaries.push_back(sum);
  }

  table.print(o.markdown);
  fmt::print("machine load after the run: {}\n", load_average());
  fmt::print("\n");
  Table summary({"layer", "auto picks", "fastest f+b", "auto/fastest f+b", "auto fwd", "auto f+b", "torch fwd", "torch f+b",
                 "torch/auto fwd", "torch/auto f+b"});
  std::vector<double> forward_ratios, train_ratios, pick_ratios;
  for (const LayerSummary& s : summaries) {
    summary.add({s.label, s.auto_pick, s.best, ratio(s.auto_train, s.best_train), ms(s.auto_forward), ms(s.auto_train),
                 ms(s.torch_forward), ms(s.torch_train), ratio(s.torch_forward, s.auto_forward), ratio(s.torch_train, s.auto_train)});
    if (s.torch_forward > 0 && s.auto_forward > 0) forward_ratios.push_back(s.torch_forward / s.auto_forward);
    if (s.torch_train > 0 && s.auto_train > 0) train_ratios.push_back(s.torch_train / s.auto_train);
    if (s.best_train > 0 && s.auto_train > 0) pick_ratios.push_back(s.auto_train / s.best_train);
  }
  summary.add({"geomean", "", "", pick_ratios.empty() ? "-" : fmt::format("{:.2f}", geomean(pick_ratios)), "", "", "", "",
               forward_ratios.empty() ? "-" : fmt::format("{:.2f}", geomean(forward_ratios)),
               train_ratios.empty() ? "-" : fmt::format("{:.2f}", geomean(train_ratios))});
  summary.print(o.markdown);

  if (o.calibrate) {
    fmt::print("\ncost model: measured forward+backward (through the graph, bias included) / the algorithm's raw estimate\n");
    calibration.print(o.markdown);
    for (const auto& [name, ratios] : calibration_ratios) fmt::print("  {}: geomean measured/estimate {:.3g}\n", name, geomean(ratios));
  }

  if (o.crossover) {
    // One typical layer, kernels 1..15 odd with same padding: where the spectral path overtakes GEMM.
    fmt::print("\ncrossover: 8x16->16 64x64, forward+backward ms by kernel size\n");
    std::vector<std::string> pair;
    for (const char* n : {"gemm", "fft"})
      if (cpu::find_conv_algorithm(n)) pair.emplace_back(n);
    Table cross({"k", pair.size() > 0 ? pair[0] + " f+b" : "-", pair.size() > 1 ? pair[1] + " f+b" : "-", "fft/gemm", "auto picks"});
    std::int64_t crossover_k = -1;
    for (std::int64_t k = 1; k <= 15; k += 2) {
      const LayerData d({8, 16, 16, 64, 64, k, k / 2});
      fmt::print(stderr, "  crossover k{} ...\n", k);
      std::vector<Runner> runners;
      for (const std::string& m : pair) runners.push_back(make_runner(d, m, nullptr));
      std::vector<Runner*> timed;
      for (Runner& r : runners) {
        if (r.error > error_limit) failed = true;
        timed.push_back(&r);
      }
      time_interleaved(timed, policy);
      std::vector<double> t;
      for (const Runner& r : runners) t.push_back(r.train_s);
      const std::string pick = cpu::explain_conv_choice(d.g, DType::float32, "auto").chosen;
      cross.add({fmt::format("{}", k), t.size() > 0 ? ms(t[0]) : "-", t.size() > 1 ? ms(t[1]) : "-",
                 t.size() > 1 ? ratio(t[1], t[0]) : "-", pick});
      if (t.size() > 1) {
        if (t[1] < t[0] && crossover_k < 0) crossover_k = k;
        if (t[1] >= t[0]) crossover_k = -1;  // "starts beating": from this k on, not just once
      }
    }
    cross.print(o.markdown);
    if (crossover_k > 0) fmt::print("fft beats gemm (forward+backward) from k = {} on\n", crossover_k);
    else fmt::print("fft does not stay ahead of gemm up to k = 15 on this layer\n");
  }
  if (failed) {
    fmt::print(stderr, "conv: some algorithm gave a wrong forward result (see err)\n");
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "conv: {}\n", e.what());
  return 2;
}
