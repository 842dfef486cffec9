// The training nodes on OpenCL against the CPU backend (softmax, log_softmax, cross_entropy, mse,
// batch_norm, dropout: forward, vjp and jvp, float32 and float64, contiguous inputs and
// non-contiguous device views). The optimizers and training steps on the device are in
// test_opencl_training.cpp.
//
// Tolerances, in units of the dtype's ε. The device reduces in T with trees (a private partial
// per work-item over ⌈n/L⌉ terms, then log2 L halvings), the CPU serially in T (softmax) or in
// double (losses, batch_norm). A sum of n terms computed serially has rounding ≤ (n − 1)·ε·Σ|terms|
// (first order), the device's tree ≤ (⌈n/L⌉ + log2 L)·ε·Σ|terms|; exp, log, division and square
// root add a few ulp each (PoCL's libm ≤ 2 ulp measured in test_opencl_parity). Each check below
// states which sum it bounds; `reduction_bound(n)` is that sum of both backends' orders plus 16ε for
// the pointwise functions around it. Every largest measured error is printed.
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL training-node tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "elementwise_test_util.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nodes/batch_norm.hpp"
#include "nodal/nodes/dropout.hpp"
#include "nodal/nodes/loss.hpp"
#include "nodal/nodes/softmax.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using nodal::test::max_error;
using nodal::test::max_norm_error;
using nodal::test::NodeOutcome;
using nodal::test::opencl_present;
using nodal::test::run_node;
using nodal::test::sample;

namespace {

const DType real_dtypes[] = {DType::float32, DType::float64};

// (n − 1) serial + ⌈n/256⌉ + 8 tree + 16 pointwise: see the header.
double reduction_bound(std::int64_t n) { return double(n - 1) + double((n + 255) / 256) + 8.0 + 16.0; }

std::string where(const Node& node, DType dtype, const Shape& shape, bool strided) {
  return fmt::format("{} {} {}{} on {}", node.type(), dtype_name(dtype), to_string(shape),
                     strided ? " (strided views)" : "", opencl::current_context().device().name);
}

// Σ|a| over all elements, on the host.
double abs_sum(const Tensor& t) {
  double s = 0;
  for (double v : t.to(Backend::cpu).to_vector<double>()) s += std::abs(v);
  return s;
}

}  // namespace

TEST_CASE("softmax and log_softmax on OpenCL match the CPU along any axis: forward vjp jvp") {
  if (!opencl_present()) return;
  struct Case {
    Shape shape;
    std::int64_t axis;
  };
  const std::vector<Case> cases = {{Shape{64, 10}, -1}, {Shape{7, 37}, 1},  {Shape{5, 3, 4}, 1},
                                   {Shape{3, 300}, -1}, {Shape{2, 4, 9}, 0}, {Shape{1, 1}, 0}};
  for (DType dtype : real_dtypes)
    for (bool log : {false, true}) {
      double worst = 0;
      std::uint64_t seed = 11;
      for (const Case& k : cases)
        for (bool strided : {false, true}) {
          const std::unique_ptr<Node> node =
              log ? std::unique_ptr<Node>(new LogSoftmax(k.axis)) : std::unique_ptr<Node>(new Softmax(k.axis));
          const Tensor x = sample(k.shape, -8, 8, seed++).astype(dtype);
          const Tensor g = sample(k.shape, -1, 1, seed++).astype(dtype);
          const Tensor t = sample(k.shape, -1, 1, seed++).astype(dtype);
          const NodeOutcome cpu = run_node(*node, {x}, g, {t}, Backend::cpu);
          const NodeOutcome cl = run_node(*node, {x}, g, {t}, Backend::opencl, strided);
          INFO(where(*node, dtype, k.shape, strided));
          const std::int64_t n = k.shape[k.axis < 0 ? k.shape.rank() + int(k.axis) : int(k.axis)];
          // forward: each value carries Σ exp's relative rounding (a sum of n positive terms) plus
          // exp/log/division ulps, relative to max(|y|, 1)
          const double fwd = max_error(cl.outputs[0], cpu.outputs[0]);
          CHECK(cl.outputs[0].backend() == Backend::opencl);
          CHECK(fwd <= reduction_bound(n));
          // vjp / jvp: y ⊙ (g − Σ g⊙y) and the log forms: one dot product of n terms with
          // Σ|g⊙y| ≤ max|g| (Σ y = 1), measured against the largest result, which for unit-scale
          // random g is of the order of max|g|·max|y|
          const double back = std::max(max_norm_error(cl.cotangents[0], cpu.cotangents[0]),
                                       max_norm_error(cl.tangent, cpu.tangent));
          CHECK(back <= reduction_bound(n));
          worst = std::max({worst, fwd, back});
        }
      MESSAGE(fmt::format("{} {}: largest difference {:.2f} eps", log ? "log_softmax" : "softmax", dtype_name(dtype),
                          worst));
    }
}

TEST_CASE("softmax on OpenCL is stable for large logits and propagates NaN as the CPU does") {
  if (!opencl_present()) return;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : real_dtypes) {
    const Tensor x = Tensor::from_vector(std::vector<double>{1000, 999, -1000, 0, 5, nan, 1, 2}, Shape{2, 4}).astype(dtype);
    for (bool log : {false, true}) {
      const Tensor cpu = log ? log_softmax(x) : softmax(x);
      const Tensor cl = log ? log_softmax(x.to(Backend::opencl)) : softmax(x.to(Backend::opencl));
      INFO((log ? "log_softmax " : "softmax "), dtype_name(dtype));
      CHECK(max_error(cl, cpu) <= 16.0);  // NaN in one result only would fail (max_error gives NaN)
    }
  }
}

TEST_CASE("cross_entropy on OpenCL matches the CPU with label smoothing: forward vjp jvp") {
  if (!opencl_present()) return;
  struct Case {
    std::int64_t n, c;
    double smoothing;
  };
  const std::vector<Case> cases = {{64, 10, 0.0}, {64, 10, 0.1}, {37, 5, 0.0}, {3, 300, 0.2}, {1, 1, 0.0}, {513, 10, 0.05}};
  for (DType dtype : real_dtypes) {
    double worst = 0;
    std::uint64_t seed = 101;
    for (const Case& k : cases)
      for (bool strided : {false, true}) {
        const CrossEntropy node(k.smoothing);
        const Shape shape{k.n, k.c};
        const Tensor z = sample(shape, -6, 6, seed++).astype(dtype);
        std::vector<double> label_values;
        for (std::int64_t i = 0; i < k.n; ++i) label_values.push_back(double((i * 7 + seed) % std::uint64_t(k.c)));
        const Tensor labels = Tensor::from_vector(label_values, Shape{k.n}).astype(dtype);
        const Tensor g = Tensor::scalar(0.75, dtype);
        const Tensor t = sample(shape, -1, 1, seed++).astype(dtype);
        const NodeOutcome cpu = run_node(node, {z, labels}, g, {t, Tensor()}, Backend::cpu);
        const NodeOutcome cl = run_node(node, {z, labels}, g, {t, Tensor()}, Backend::opencl, strided);
        INFO(where(node, dtype, shape, strided), " smoothing ", k.smoothing);
        // forward: per row a logsumexp over C terms (Σ exp relative error (C−1 + tree)ε, absolute
        // in lse) and the smoothing mean over C terms, then the batch mean of N row losses
        // (reduction_bound(N) relative to Σ|loss_i|); relative to |L| = Σ loss_i / N (losses > 0)
        const double fwd = max_error(cl.outputs[0], cpu.outputs[0], nullptr);
        const double fwd_bound = reduction_bound(k.c) * 8 /* |z| ≤ 6 < 8 scales the mean's rounding */ +
                                 reduction_bound(k.n);
        CHECK(fwd <= fwd_bound);
        // vjp: ȳ/N·(p − q), p from a Σ exp of C terms: relative to the largest |z̄|
        const double vjp = max_norm_error(cl.cotangents[0], cpu.cotangents[0]);
        CHECK(vjp <= reduction_bound(k.c));
        CHECK(!cl.cotangents[1].defined());
        // jvp: (1/N)·Σ (p − q)·ż, cancelling: measured against S = (1/N)·Σ|ż|·(1 + ε), which bounds
        // Σ|p − q||ż|/N, times the dot product's and the batch sum's orders
        const Tensor scale = Tensor::scalar(abs_sum(t) / double(k.n), DType::float64).astype(dtype);
        const double jvp = max_error(cl.tangent, cpu.tangent, &scale);
        CHECK(jvp <= reduction_bound(k.c) + reduction_bound(k.n));
        worst = std::max({worst, fwd, vjp, jvp});
      }
    MESSAGE(fmt::format("cross_entropy {}: largest difference {:.2f} eps", dtype_name(dtype), worst));
  }
}

TEST_CASE("cross_entropy on OpenCL gives NaN (not a crash) for labels that are not class indices") {
  if (!opencl_present()) return;
  const Tensor z = sample(Shape{3, 4}, -1, 1, 5).to(Backend::opencl);
  for (double bad : {4.0, -1.0, 1.5, 1e30}) {
    const Tensor labels = Tensor::from_vector(std::vector<double>{0, bad, 2}, Shape{3}).astype(DType::float32);
    const Tensor loss = cross_entropy(z, labels.to(Backend::opencl));
    CHECK(std::isnan(loss.to(Backend::cpu).item<float>()));
    CHECK_THROWS_AS(cross_entropy(z.to(Backend::cpu), labels), ValueError);  // the CPU checks on the host
  }
}

TEST_CASE("mse on OpenCL matches the CPU for mean and sum: forward vjp jvp") {
  if (!opencl_present()) return;
  for (DType dtype : real_dtypes) {
    double worst = 0;
    std::uint64_t seed = 301;
    for (const std::string reduction : {"mean", "sum"})
      for (const Shape& shape : {Shape{64, 10}, Shape{1013}, Shape{3, 5, 7}, Shape{}})
        for (bool strided : {false, true}) {
          const Mse node(reduction);
          const Tensor a = sample(shape, -2, 2, seed++).astype(dtype), b = sample(shape, -2, 2, seed++).astype(dtype);
          const Tensor ta = sample(shape, -1, 1, seed++).astype(dtype), tb = sample(shape, -1, 1, seed++).astype(dtype);
          const Tensor g = Tensor::scalar(1.25, dtype);
          const NodeOutcome cpu = run_node(node, {a, b}, g, {ta, tb}, Backend::cpu);
          const NodeOutcome cl = run_node(node, {a, b}, g, {ta, tb}, Backend::opencl, strided);
          INFO(where(node, dtype, shape, strided), " ", reduction);
          const std::int64_t n = shape.numel();
          // forward: a sum of n squares (no cancellation): the device tree's order, relative; the
          // CPU sums in double, so only its final rounding (1ε) adds
          const double fwd = max_error(cl.outputs[0], cpu.outputs[0], &cpu.outputs[0]);
          CHECK(fwd <= double((n + 255) / 256) + 8 + 2);
          // vjp: k·(a − b) with k = T(2s)·ȳ, the CPU's operations in its order: ≤ 1ε (bit-identical
          // on PoCL)
          const double vjp = std::max(max_error(cl.cotangents[0], cpu.cotangents[0]),
                                      max_error(cl.cotangents[1], cpu.cotangents[1]));
          CHECK(vjp <= 1.0);
          // jvp: 2s·Σ (a − b)(ȧ − ḃ), cancelling: against 2s·Σ|a − b|(|ȧ| + |ḃ|), which also bounds
          // the terms of the one-tangent jvps (ȧ alone, ḃ alone)
          const double s = reduction == "sum" ? 1.0 : 1.0 / double(std::max<std::int64_t>(n, 1));
          double terms = 0;
          const auto av = a.to_vector<double>(), bv = b.to_vector<double>(), tav = ta.to_vector<double>(),
                     tbv = tb.to_vector<double>();
          for (std::size_t i = 0; i < av.size(); ++i)
            terms += std::abs(av[i] - bv[i]) * (std::abs(tav[i]) + std::abs(tbv[i]));
          const Tensor scale = Tensor::scalar(2 * s * terms + 1e-300, DType::float64).astype(dtype);
          double jvp = max_error(cl.tangent, cpu.tangent, &scale);
          REQUIRE(cl.partial_tangents.size() == 2);
          for (std::size_t k = 0; k < 2; ++k)
            jvp = std::max(jvp, max_error(cl.partial_tangents[k], cpu.partial_tangents[k], &scale));
          CHECK(jvp <= double((n + 255) / 256) + 8 + 4);
          worst = std::max({worst, fwd, vjp, jvp});
        }
    MESSAGE(fmt::format("mse {}: largest difference {:.2f} eps", dtype_name(dtype), worst));
  }
}

namespace {

// A fresh state with the given statistics on `backend`.
std::shared_ptr<BatchNormState> bn_state(const Tensor& mean, const Tensor& var, bool training, Backend backend) {
  auto st = BatchNormState::make(mean.numel(), mean.dtype(), 0.1, 1e-5);
  st->running_mean = mean.to(backend).clone();
  st->running_var = var.to(backend).clone();
  if (backend == Backend::opencl) {  // clone goes through the host: make sure both are device tensors
    st->running_mean = st->running_mean.to(Backend::opencl);
    st->running_var = st->running_var.to(Backend::opencl);
  }
  st->training = training;
  return st;
}

}  // namespace

TEST_CASE("batch_norm on OpenCL matches the CPU in training and evaluation including running statistics") {
  if (!opencl_present()) return;
  for (DType dtype : real_dtypes) {
    double worst = 0, worst_stats = 0;
    std::uint64_t seed = 501;
    for (const Shape& shape : {Shape{4, 3, 5, 7}, Shape{16, 2}, Shape{8, 6, 12, 12}, Shape{2, 5, 33}})
      for (bool training : {true, false})
        for (bool strided : {false, true}) {
          const std::int64_t c = shape[1];
          const Tensor x = sample(shape, -3, 5, seed++).astype(dtype);
          const Tensor gamma = sample(Shape{c}, 0.5, 2, seed++).astype(dtype), beta = sample(Shape{c}, -1, 1, seed++).astype(dtype);
          const Tensor mean0 = sample(Shape{c}, -0.5, 0.5, seed++).astype(dtype), var0 = sample(Shape{c}, 0.5, 2, seed++).astype(dtype);
          const Tensor g = sample(shape, -1, 1, seed++).astype(dtype), tx = sample(shape, -1, 1, seed++).astype(dtype);
          const Tensor tg = sample(Shape{c}, -1, 1, seed++).astype(dtype), tb = sample(Shape{c}, -1, 1, seed++).astype(dtype);
          auto cpu_state = bn_state(mean0, var0, training, Backend::cpu);
          auto cl_state = bn_state(mean0, var0, training, Backend::opencl);
          const BatchNorm cpu_node(cpu_state), cl_node(cl_state);
          const NodeOutcome cpu = run_node(cpu_node, {x, gamma, beta}, g, {tx, tg, tb}, Backend::cpu);
          const NodeOutcome cl = run_node(cl_node, {x, gamma, beta}, g, {tx, tg, tb}, Backend::opencl, strided);
          INFO(where(cl_node, dtype, shape, strided), training ? " training" : " evaluation");
          const std::int64_t m = shape.numel() / c;
          // Every result is a normalised value (x − μ)·inv_std scaled by γ ≤ 2 or a sum of M such
          // terms; μ and σ² are sums of M terms (device tree in T, CPU in double): their relative
          // error reaches the results through x̂ = (x − μ)/σ, with |x − μ|/σ ≤ √M. Normwise
          // against the largest result, the bound is the sums' order.
          const double bound = reduction_bound(m) + double((m + 255) / 256) + 8;
          const double e = nodal::test::worst_norm_error(cl, cpu);
          CHECK(e <= bound);
          worst = std::max(worst, e);
          // the running statistics: updated once, by the forward (training) or left as they were
          const double stats = std::max(max_error(cl_state->running_mean, cpu_state->running_mean),
                                        max_error(cl_state->running_var, cpu_state->running_var));
          CHECK(cl_state->running_mean.backend() == Backend::opencl);
          CHECK(stats <= bound);
          if (!training) CHECK(stats == 0);
          worst_stats = std::max(worst_stats, stats);
        }
    MESSAGE(fmt::format("batch_norm {}: largest difference {:.2f} eps (results), {:.2f} eps (running statistics)",
                        dtype_name(dtype), worst, worst_stats));
  }
}

TEST_CASE("batch_norm on OpenCL refuses running statistics that live on the host") {
  if (!opencl_present()) return;
  auto st = BatchNormState::make(3);
  const Tensor x = Tensor::ones(Shape{2, 3, 4}, DType::float32, Backend::opencl);
  const Tensor g = Tensor::ones(Shape{3}, DType::float32, Backend::opencl), b = Tensor::zeros(Shape{3}, DType::float32, Backend::opencl);
  CHECK_THROWS_WITH_AS(batch_norm(x, g, b, st), doctest::Contains("Module::to(Backend::opencl)"), BackendError);
}

TEST_CASE("dropout on OpenCL draws the CPU's masks bit for bit") {
  if (!opencl_present()) return;
  std::int64_t kept_total = 0, total = 0;
  for (DType dtype : real_dtypes)
    for (double p : {0.1, 0.5, 0.9, 1.0 / 3.0, 0.999})
      for (const Shape& shape : {Shape{64, 120}, Shape{3, 5, 7}, Shape{1}, Shape{1000003}})
        for (bool strided : {false, true}) {
          auto cpu_state = std::make_shared<DropoutState>();
          cpu_state->p = p;
          cpu_state->seed = 12345;
          cpu_state->step = 7;
          auto cl_state = std::make_shared<DropoutState>();
          cl_state->p = p;
          cl_state->seed = 12345;
          cl_state->step = 7;
          const Dropout cpu_node(cpu_state), cl_node(cl_state);
          const Tensor x = sample(shape, -2, 2, 77).astype(dtype), g = sample(shape, -1, 1, 78).astype(dtype);
          const Tensor t = sample(shape, -1, 1, 79).astype(dtype);
          const NodeOutcome cpu = run_node(cpu_node, {x}, g, {t}, Backend::cpu, false, 2);
          const NodeOutcome cl = run_node(cl_node, {x}, g, {t}, Backend::opencl, strided, 2);
          INFO(where(cl_node, dtype, shape, strided), " p ", p);
          const Tensor mask_cpu = cpu.outputs[1], mask_cl = cl.outputs[1].to(Backend::cpu);
          REQUIRE(mask_cl.numel() == mask_cpu.numel());
          // exactly equal (float → double is exact, and mask values are 0 or 1/(1 − p), never NaN)
          CHECK(mask_cl.to_vector<double>() == mask_cpu.to_vector<double>());
          // y = x·mask, x̄ = ȳ·mask, ẏ = ẋ·mask: one rounded product each, identical
          CHECK(max_error(cl.outputs[0], cpu.outputs[0]) == 0);
          CHECK(max_error(cl.cotangents[0], cpu.cotangents[0]) == 0);
          CHECK(max_error(cl.tangent, cpu.tangent) == 0);
          CHECK(cl_state->step.load() == cpu_state->step.load());  // one pass drawn by each
          if (dtype == DType::float32 && !strided) {
            for (double v : mask_cpu.to_vector<double>()) kept_total += v != 0;
            total += mask_cpu.numel();
          }
        }
  MESSAGE(fmt::format("dropout: masks bit-identical over {} float32 elements ({} kept)", total, kept_total));
}

#endif  // NODAL_HAS_OPENCL
