// Training on OpenCL against the CPU backend: the optimizers' fused device updates (SGD with
// momentum, Nesterov, weight decay and parameter groups; Adam; AdamW), clip_grad_norm, the
// engine's device zeros, Module::to, what a device training step transfers (activity counters),
// and a small CNN with BatchNorm2d and dropout trained on both backends. The training nodes
// themselves are in test_opencl_nn.cpp. Each check states its tolerance.
#include <doctest/doctest.h>

#ifndef NODAL_HAS_OPENCL
TEST_CASE("OpenCL training tests are skipped: this build has no OpenCL backend") {
  MESSAGE("skipped: configured with -DNODAL_OPENCL=OFF");
}
#else

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "elementwise_test_util.hpp"
#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/registry.hpp"
#include "nodal/nn/adam.hpp"
#include "nodal/nn/clip.hpp"
#include "nodal/nn/device_training.hpp"
#include "nodal/nn/init.hpp"
#include "nodal/nn/layers.hpp"
#include "nodal/nn/sgd.hpp"
#include "nodal/nodes/loss.hpp"
#include "opencl_parity_util.hpp"
#include "opencl_test_util.hpp"

using namespace nodal;
using nodal::test::max_error;
using nodal::test::max_norm_error;
using nodal::test::opencl_present;
using nodal::test::sample;

namespace {
const DType real_dtypes[] = {DType::float32, DType::float64};
}  // namespace

namespace {

// Parameters of a few shapes (odd sizes, a scalar) on the host, and per-step gradients.
nn::NamedTensors host_parameters(DType dtype, std::uint64_t seed) {
  nn::NamedTensors p;
  int k = 0;
  for (const Shape& shape : {Shape{6, 1, 5, 5}, Shape{120, 400}, Shape{10}, Shape{}, Shape{3, 7}})
    p.emplace_back(fmt::format("p{}", k++), sample(shape, -1, 1, seed++).astype(dtype));
  return p;
}

nn::NamedTensors clone_to(const nn::NamedTensors& params, Backend backend) {
  nn::NamedTensors out;
  for (const auto& [name, t] : params) out.emplace_back(name, backend == Backend::cpu ? t.clone() : t.to(backend));
  return out;
}

std::unique_ptr<nn::Optimizer> make_optimizer(const std::string& kind, nn::NamedTensors params) {
  if (kind == "sgd") return std::make_unique<nn::Sgd>(std::move(params), nn::SgdOptions{.lr = 0.05});
  if (kind == "sgd-momentum")
    return std::make_unique<nn::Sgd>(std::move(params),
                                     nn::SgdOptions{.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-3});
  if (kind == "sgd-nesterov")
    return std::make_unique<nn::Sgd>(std::move(params),
                                     nn::SgdOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-2, .nesterov = true});
  if (kind == "sgd-groups") {  // two groups with their own lr and weight decay: two fused runs
    std::vector<nn::ParameterGroup> groups(2);
    for (std::size_t i = 0; i < params.size(); ++i) groups[i < 2 ? 0 : 1].parameters.push_back(params[i]);
    groups[0].lr = 0.2;
    groups[0].weight_decay = 0.0;
    return std::make_unique<nn::Sgd>(std::move(groups), nn::SgdOptions{.lr = 0.05, .momentum = 0.5, .weight_decay = 1e-3});
  }
  if (kind == "adam") return std::make_unique<nn::Adam>(std::move(params), nn::AdamOptions{.lr = 1e-2, .weight_decay = 1e-3});
  return std::make_unique<nn::AdamW>(std::move(params), nn::AdamOptions{.lr = 1e-2, .weight_decay = 0.05});
}

}  // namespace

TEST_CASE("optimizers update device parameters as the CPU does: SGD (momentum / Nesterov / weight decay) Adam AdamW") {
  if (!opencl_present()) return;
  // Both backends run the same operations in the same order on the same rounded scalars, and
  // division and √ are correctly rounded on both. The one difference: the CPU build (GCC -O3
  // -march=native, whose default -ffp-contract=fast) fuses some a·b + c into FMAs, while
  // kernels/optimizer.cl switches FP_CONTRACT off (the same result on every device). Each fused
  // operation differs by at most one rounding (ε relative to its result); an update has at most
  // two (μ·b + (1 − d)·g, p − lr·g), so 4 steps stay within 8ε of the parameter's scale.
  // Measured on PoCL: ≤ 3ε.
  for (DType dtype : real_dtypes)
    for (const std::string kind : {"sgd", "sgd-momentum", "sgd-nesterov", "sgd-groups", "adam", "adamw"}) {
      const nn::NamedTensors start = host_parameters(dtype, 900);
      nn::NamedTensors cpu_params = clone_to(start, Backend::cpu), cl_params = clone_to(start, Backend::opencl);
      const auto cpu_opt = make_optimizer(kind, cpu_params);
      const auto cl_opt = make_optimizer(kind, cl_params);
      for (int step = 0; step < 4; ++step) {
        std::vector<Tensor> cpu_grads, cl_grads;
        for (const auto& [name, t] : start) {
          cpu_grads.push_back(sample(t.shape(), -1, 1, 1000 + step * 17 + cpu_grads.size()).astype(dtype));
          cl_grads.push_back(cpu_grads.back().to(Backend::opencl));
        }
        cpu_opt->step(cpu_grads);
        const opencl::Activity before = opencl::activity();
        cl_opt->step(cl_grads);
        // the 5 parameters' updates fused into one launch per group (kernels/optimizer.cl); the first
        // step also creates the state slots on the device, one fill launch each and no upload
        const std::uint64_t fused = kind == "sgd-groups" ? 2u : 1u;
        const std::uint64_t per_parameter = kind == "sgd" ? 0u : kind.starts_with("adam") ? 2u : 1u;
        const opencl::Activity d = opencl::activity_since(before);
        CHECK(d.launches == fused + (step == 0 ? per_parameter * start.size() : 0u));
        CHECK(d.uploads == 0);
      }
      double worst = 0;
      for (std::size_t i = 0; i < start.size(); ++i) {
        CHECK(cl_params[i].second.backend() == Backend::opencl);
        worst = std::max(worst, max_error(cl_params[i].second, cpu_params[i].second));
      }
      // the state (momentum buffers, moments) as saved: downloaded by state_dict
      const nn::OptimizerState cpu_state = cpu_opt->state_dict(), cl_state = cl_opt->state_dict();
      REQUIRE(cpu_state.tensors.size() == cl_state.tensors.size());
      for (std::size_t i = 0; i < cpu_state.tensors.size(); ++i) {
        CHECK(cl_state.tensors[i].second.backend() == Backend::cpu);
        worst = std::max(worst, max_error(cl_state.tensors[i].second, cpu_state.tensors[i].second));
      }
      INFO(kind, " ", dtype_name(dtype));
      CHECK(worst <= 8.0);
      MESSAGE(fmt::format("{} {}: largest difference after 4 steps {:.2f} eps", kind, dtype_name(dtype), worst));
    }
}

TEST_CASE("optimizers refuse a gradient on another backend than its parameter") {
  if (!opencl_present()) return;
  nn::NamedTensors params{{"w", Tensor::zeros(Shape{3}, DType::float32, Backend::opencl)}};
  nn::Sgd opt(params, {.lr = 0.1});
  const std::vector<Tensor> host_grad{Tensor::ones(Shape{3})};
  CHECK_THROWS_WITH_AS(opt.step(host_grad), doctest::Contains("is on backend 'cpu', the parameter on 'opencl'"), BackendError);
}

TEST_CASE("clip_grad_norm on device gradients matches the CPU and keeps the norm on the device") {
  if (!opencl_present()) return;
  for (DType dtype : real_dtypes)
    for (double max_norm : {0.5, 1e6}) {
      const nn::NamedTensors start = host_parameters(dtype, 950);
      std::vector<Tensor> cpu_grads, cl_grads, async_grads;
      for (const auto& [name, t] : start) {
        cpu_grads.push_back(t.clone());
        cl_grads.push_back(t.to(Backend::opencl));
        async_grads.push_back(t.to(Backend::opencl));
      }
      const double cpu_norm = nn::clip_grad_norm(cpu_grads, max_norm);
      const double cl_norm = nn::clip_grad_norm(cl_grads, max_norm);
      const Tensor device_norm = nn::clip_grad_norm_on_device(async_grads, max_norm);
      CHECK(device_norm.backend() == Backend::opencl);
      // Σ g² over 48k terms: the device sums in T by a 256-item tree per gradient (⌈n/256⌉ + 8
      // roundings, ≤ 197 for the 120×400 gradient, plus one per gradient), the CPU in double;
      // the norm's relative error is half the sum's. Scaled gradients add the coefficient's.
      const double eps = nodal::test::epsilon(dtype);
      const double sum_order = double((120 * 400 + 255) / 256) + 8 + 5;
      CHECK(std::abs(cl_norm - cpu_norm) <= sum_order * eps * cpu_norm);
      CHECK(std::abs(device_norm.to(Backend::cpu).to_vector<double>()[0] - cpu_norm) <= sum_order * eps * cpu_norm);
      double worst = 0;
      for (std::size_t i = 0; i < cpu_grads.size(); ++i) {
        worst = std::max(worst, max_error(cl_grads[i], cpu_grads[i]));
        worst = std::max(worst, max_error(async_grads[i], cpu_grads[i]));
      }
      CHECK(worst <= sum_order + 2);
      MESSAGE(fmt::format("clip_grad_norm {} max_norm {}: norm {} (cpu {}), gradients within {:.2f} eps", dtype_name(dtype),
                          max_norm, cl_norm, cpu_norm, worst));
    }
}

TEST_CASE("backward gives device zeros for device parameters that no cotangent reaches") {
  if (!opencl_present()) return;
  Graph g;
  const Value x = g.input("x", Shape{4});
  const Value used = g.parameter("used", Tensor::ones(Shape{4}, DType::float32, Backend::opencl));
  const Value unused = g.parameter("unused", Tensor::ones(Shape{3}, DType::float32, Backend::opencl));
  const Value loss = mse(x, used);
  Execution run = g.forward({loss}, {{x, Tensor::zeros(Shape{4}, DType::float32, Backend::opencl)}});
  const std::vector<Value> wrt{used, unused};
  const Gradients grads = run.backward(loss, wrt);
  CHECK(grads[used].backend() == Backend::opencl);
  CHECK(grads[unused].backend() == Backend::opencl);
  CHECK(grads[unused].to(Backend::cpu).to_vector<float>() == std::vector<float>(3, 0.0f));
}

TEST_CASE("Module::to moves parameters and buffers and BatchNorm2d's running statistics follow") {
  if (!opencl_present()) return;
  nn::manual_seed(3);
  auto net = nn::sequential({nn::linear(5, 4), nn::relu()});
  auto bn = std::make_shared<nn::BatchNorm2d>(3);
  net->push_back(bn);
  const nn::NamedTensors before = net->state();
  net->to(Backend::opencl);
  const nn::NamedTensors after = net->state();
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    CHECK(after[i].first == before[i].first);
    CHECK(after[i].second.backend() == Backend::opencl);
    CHECK(max_error(after[i].second, before[i].second) == 0);
  }
  CHECK(bn->state().running_mean.buffer() == bn->named_buffers()[0].second.buffer());
  // and back
  net->to(Backend::cpu);
  for (const auto& [name, t] : net->state()) CHECK(t.backend() == Backend::cpu);
}

TEST_CASE("a training step on OpenCL transfers its batch once and downloads nothing") {
  if (!opencl_present()) return;
  nn::manual_seed(5);
  auto net = nn::sequential({nn::linear(12, 16), nn::relu(), nn::linear(16, 4)});
  net->to(Backend::opencl);
  Graph g;
  const Value x = g.input("x", Shape{8, 12});
  const Value y = g.input("y", Shape{8});
  const Value logits = (*net)(x);
  const Value loss = cross_entropy(logits, y, 0.1);
  const std::vector<Value> params = net->parameter_values(g);
  nn::Adam opt(net->named_parameters(), {.lr = 1e-2});
  nn::DeviceTrainingKernels& kernels = nn::device_training_kernels(Backend::opencl, "test");
  const Tensor seed = Tensor::ones(Shape{}, DType::float32, Backend::opencl);
  Tensor sums = Tensor::zeros(Shape{2}, DType::float32, Backend::opencl);
  std::vector<float> losses;
  for (int step = 0; step < 4; ++step) {
    // images and labels packed in one host tensor, as the trainer does
    Tensor packed = sample(Shape{8 * 13}, -1, 1, 40 + step).astype(DType::float32);
    for (int i = 0; i < 8; ++i) packed.data<float>()[8 * 12 + i] = float((i + step) % 4);
    const opencl::Activity before = opencl::activity();
    const Tensor device = kernels.upload(packed);
    const Tensor xd = device.slice(0, 0, 96).reshape(Shape{8, 12}), yd = device.slice(0, 96, 104);
    Execution run = g.forward({loss, logits}, {{x, xd}, {y, yd}});
    const Gradients grads = run.backward(loss, params, {.cotangent = seed});
    opt.step(grads.tensors());
    kernels.accumulate_classification(run[logits], yd, run[loss], sums);
    const opencl::Activity used = opencl::activity_since(before);
    INFO("step ", step);
    if (step > 0) {  // the first step allocates the optimizer's state (zeros, uploaded)
      CHECK(used.uploads == 1);
      CHECK(used.upload_bytes == 104 * sizeof(float));
      CHECK(used.downloads == 0);
    }
    losses.push_back(run[loss].to(Backend::cpu).item<float>());  // outside the measured step
  }
  const std::vector<float> s = sums.to(Backend::cpu).to_vector<float>();
  float expected = 0;
  for (float l : losses) expected += 8 * l;
  CHECK(s[0] == doctest::Approx(expected).epsilon(1e-6));  // Σ loss·n, 4 float32 additions
  CHECK(s[1] >= 0);
  CHECK(s[1] <= 32);
  CHECK(s[1] == std::floor(s[1]));
}

namespace {

// A small CNN with every layer this file ports (conv, BatchNorm2d, relu, dropout, linear, loss),
// trained 3 SGD steps on `backend`; returns the losses, the final state and eval-mode logits.
struct SmallRun {
  std::vector<double> losses;
  nn::NamedTensors state;
  Tensor eval_logits;
};
SmallRun train_small(Backend backend) {
  nn::manual_seed(11);  // same weights and dropout seed on both backends
  auto net = nn::sequential({nn::conv2d(1, 4, {3}), nn::batch_norm2d(4), nn::relu(), nn::dropout(0.25), nn::flatten(),
                             nn::linear(4 * 6 * 6, 3)});
  if (backend != Backend::cpu) net->to(backend);
  Graph g;
  const Value x = g.input("x", Shape{8, 1, 8, 8});
  const Value y = g.input("y", Shape{8});
  const Value logits = (*net)(x);
  const Value loss = cross_entropy(logits, y);
  const std::vector<Value> params = net->parameter_values(g);
  nn::Sgd opt(net->named_parameters(), {.lr = 0.1, .momentum = 0.9});
  SmallRun r;
  std::vector<float> labels;
  for (int i = 0; i < 8; ++i) labels.push_back(float(i % 3));
  const Tensor yb = Tensor::from_vector(labels, Shape{8}).to(backend);
  for (int step = 0; step < 3; ++step) {
    const Tensor xb = sample(Shape{8, 1, 8, 8}, -1, 2, 60 + step).astype(DType::float32).to(backend);
    Execution run = g.forward({loss}, {{x, xb}, {y, yb}});
    const Gradients grads = run.backward(loss, params);
    opt.step(grads.tensors());
    r.losses.push_back(run[loss].to(Backend::cpu).item<float>());
  }
  net->eval();
  NoGradGuard no_grad;
  const Tensor xb = sample(Shape{8, 1, 8, 8}, -1, 2, 99).astype(DType::float32).to(backend);
  r.eval_logits = g.forward({logits}, {{x, xb}, {y, yb}})[logits].to(Backend::cpu);
  for (const auto& [name, t] : net->state()) r.state.emplace_back(name, t.to(Backend::cpu));
  return r;
}

}  // namespace

TEST_CASE("a CNN with BatchNorm2d and dropout trains on OpenCL as on the CPU: losses running statistics eval") {
  if (!opencl_present()) return;
  const SmallRun cpu = train_small(Backend::cpu), cl = train_small(Backend::opencl);
  // Same weights, batches and dropout masks (bit-identical); the backends differ by rounding only
  // (a few ε per node above), which 3 steps at lr 0.1 carry along: 1e-4 relative on the losses
  // and on every parameter, running statistic and eval logit is ~100x float32 rounding yet far
  // below what a wrong mask, statistic or gradient would change (≥ 1e-2).
  for (std::size_t i = 0; i < 3; ++i) CHECK(cl.losses[i] == doctest::Approx(cpu.losses[i]).epsilon(1e-4));
  REQUIRE(cl.state.size() == cpu.state.size());
  double worst = 0;
  for (std::size_t i = 0; i < cpu.state.size(); ++i) {
    INFO(cpu.state[i].first);
    CHECK(cl.state[i].first == cpu.state[i].first);
    const double e = max_norm_error(cl.state[i].second, cpu.state[i].second) * nodal::test::epsilon(DType::float32);
    CHECK(e <= 1e-4);
    worst = std::max(worst, e);
  }
  const double logits = max_norm_error(cl.eval_logits, cpu.eval_logits) * nodal::test::epsilon(DType::float32);
  CHECK(logits <= 1e-4);
  MESSAGE(fmt::format("small CNN, 3 steps: losses {:.6f} {:.6f} {:.6f} (cpu {:.6f} {:.6f} {:.6f}); state within {:.2e}, "
                      "eval logits within {:.2e} (relative to the largest)",
                      cl.losses[0], cl.losses[1], cl.losses[2], cpu.losses[0], cpu.losses[1], cpu.losses[2], worst, logits));
}

#endif  // NODAL_HAS_OPENCL
