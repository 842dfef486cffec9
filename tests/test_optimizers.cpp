// Optimizers, learning-rate schedules and gradient clipping against steps computed by hand from
// PyTorch's documented update rules (the arithmetic is in the comments), and the optimizer state
// carried through a safetensors checkpoint.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <unistd.h>

#include "nodal/core/error.hpp"
#include "nodal/core/tensor.hpp"
#include "nodal/core/execution.hpp"
#include "nodal/core/graph.hpp"
#include "nodal/nn/adam.hpp"
#include "nodal/nn/checkpoint.hpp"
#include "nodal/nn/clip.hpp"
#include "nodal/nn/layers.hpp"
#include "nodal/nn/loader.hpp"
#include "nodal/nn/lr_schedule.hpp"
#include "nodal/nn/safetensors.hpp"
#include "nodal/nn/sgd.hpp"
#include "nodal/nodes/loss.hpp"

using namespace nodal;
namespace fs = std::filesystem;

namespace {

template <class T> Tensor vec(std::vector<T> v) { return Tensor::from_vector(v, Shape{std::int64_t(v.size())}); }

template <class T> void check_values(const Tensor& t, std::vector<double> expected, double tolerance) {
  const auto got = t.to_vector<T>();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(double(got[i]) == doctest::Approx(expected[i]).epsilon(tolerance));
}

// float32 values are checked to 1e-6 relative, float64 to 1e-12.
template <class T> constexpr double tol = sizeof(T) == 4 ? 1e-6 : 1e-12;

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / fmt::format("nodal_test_opt_{}_{}_{}", ::getpid(), counter++, std::random_device{}());
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE_TEMPLATE("sgd plain steps", T, float, double) {
  Tensor p = vec<T>({1, -2});
  nn::Sgd opt({{"p", p}}, {.lr = 0.1});
  // p − lr·g with g = [0.5, 1]: [1 − 0.05, −2 − 0.1] = [0.95, −2.1], then [0.9, −2.2]
  opt.step(std::vector<Tensor>{vec<T>({0.5, 1})});
  check_values<T>(p, {0.95, -2.1}, tol<T>);
  opt.step(std::vector<Tensor>{vec<T>({0.5, 1})});
  check_values<T>(p, {0.9, -2.2}, tol<T>);
  CHECK(opt.steps() == 2);
}

TEST_CASE_TEMPLATE("sgd momentum three steps", T, float, double) {
  Tensor p = vec<T>({1, 2});
  nn::Sgd opt({{"p", p}}, {.lr = 0.1, .momentum = 0.9});
  // step 1: b = g1 = [1, −1] (no dampening on the first step); p = [1 − 0.1, 2 + 0.1] = [0.9, 2.1]
  opt.step(std::vector<Tensor>{vec<T>({1, -1})});
  check_values<T>(p, {0.9, 2.1}, tol<T>);
  // step 2: b = 0.9·[1, −1] + [0.5, 0.5] = [1.4, −0.4]; p = [0.9 − 0.14, 2.1 + 0.04] = [0.76, 2.14]
  opt.step(std::vector<Tensor>{vec<T>({0.5, 0.5})});
  check_values<T>(p, {0.76, 2.14}, tol<T>);
  // step 3: b = 0.9·[1.4, −0.4] + [0, 1] = [1.26, 0.64]; p = [0.76 − 0.126, 2.14 − 0.064] = [0.634, 2.076]
  opt.step(std::vector<Tensor>{vec<T>({0, 1})});
  check_values<T>(p, {0.634, 2.076}, tol<T>);
}

TEST_CASE("sgd nesterov and dampening") {
  Tensor p = vec<double>({1, 2});
  nn::Sgd nesterov({{"p", p}}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  // step 1: b = [1, −1]; g = g1 + 0.9·b = [1.9, −1.9]; p = [1 − 0.19, 2 + 0.19] = [0.81, 2.19]
  nesterov.step(std::vector<Tensor>{vec<double>({1, -1})});
  check_values<double>(p, {0.81, 2.19}, 1e-12);
  // step 2: b = 0.9·[1, −1] + [0.5, 0.5] = [1.4, −0.4]; g = [0.5, 0.5] + 0.9·b = [1.76, 0.14];
  //         p = [0.81 − 0.176, 2.19 − 0.014] = [0.634, 2.176]
  nesterov.step(std::vector<Tensor>{vec<double>({0.5, 0.5})});
  check_values<double>(p, {0.634, 2.176}, 1e-12);

  Tensor q = vec<double>({1, 2});
  nn::Sgd damped({{"q", q}}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  // step 1: b = g1 = [1, −1] (dampening does not apply to the first step); q = [0.9, 2.1]
  damped.step(std::vector<Tensor>{vec<double>({1, -1})});
  // step 2: b = 0.9·[1, −1] + 0.5·[0.5, 0.5] = [1.15, −0.65]; q = [0.9 − 0.115, 2.1 + 0.065] = [0.785, 2.165]
  damped.step(std::vector<Tensor>{vec<double>({0.5, 0.5})});
  check_values<double>(q, {0.785, 2.165}, 1e-12);

  CHECK_THROWS_AS(nn::Sgd({{"q", q}}, {.lr = 0.1, .nesterov = true}), ValueError);  // nesterov without momentum
}

TEST_CASE("sgd weight decay adds wd times p to the gradient") {
  Tensor p = vec<float>({1, 2});
  nn::Sgd opt({{"p", p}}, {.lr = 0.1, .weight_decay = 0.1});
  // step 1: g = [1 + 0.1·1, −1 + 0.1·2] = [1.1, −0.8]; p = [1 − 0.11, 2 + 0.08] = [0.89, 2.08]
  opt.step(std::vector<Tensor>{vec<float>({1, -1})});
  check_values<float>(p, {0.89, 2.08}, 1e-6);
  // step 2: g = [1 + 0.089, −1 + 0.208] = [1.089, −0.792]; p = [0.89 − 0.1089, 2.08 + 0.0792] = [0.7811, 2.1592]
  opt.step(std::vector<Tensor>{vec<float>({1, -1})});
  check_values<float>(p, {0.7811, 2.1592}, 1e-6);
}

TEST_CASE_TEMPLATE("adam three steps", T, float, double) {
  Tensor p = vec<T>({1, 2});
  nn::Adam opt({{"p", p}}, {.lr = 0.1});  // β1 0.9, β2 0.999, ε 1e-8
  // step 1, g = [1, −2]: m = 0.1·g = [0.1, −0.2]; v = 0.001·g² = [0.001, 0.004];
  //   bias corrections 1 − 0.9 = 0.1 and 1 − 0.999 = 0.001; step size 0.1/0.1 = 1;
  //   denominator √v/√0.001 + ε = [1, 2] + 1e-8; p = [1 − 0.1/(1 + 1e-8), 2 + 0.2/(2 + 1e-8)] ≈ [0.9, 2.1]
  opt.step(std::vector<Tensor>{vec<T>({1, -2})});
  check_values<T>(p, {0.900000001, 2.0999999995}, tol<T>);
  // step 2, g = [0.5, 0.5]: m = 0.9·[0.1, −0.2] + 0.1·0.5 = [0.14, −0.13];
  //   v = 0.999·[0.001, 0.004] + 0.001·0.25 = [0.001249, 0.004246];
  //   corrections 1 − 0.81 = 0.19 and 1 − 0.998001 = 0.001999; step size 0.1/0.19 = 0.5263158;
  //   √(v/0.001999) = [0.7904510, 1.4574160];
  //   p = [0.9 − 0.5263158·0.14/0.7904510, 2.1 + 0.5263158·0.13/1.4574160] = [0.8067820, 2.1469468]
  opt.step(std::vector<Tensor>{vec<T>({0.5, 0.5})});
  check_values<T>(p, {0.8067820383, 2.1469468163}, sizeof(T) == 4 ? 1e-6 : 1e-9);
  // step 3, g = [−1, 0.25]: m = 0.9·[0.14, −0.13] + 0.1·[−1, 0.25] = [0.026, −0.092];
  //   v = 0.999·[0.001249, 0.004246] + 0.001·[1, 0.0625] = [0.002247751, 0.004304254];
  //   corrections 1 − 0.729 = 0.271 and 1 − 0.997002999 = 0.002997001;
  //   p = [0.8067820 − (0.1/0.271)·0.026/√(0.002247751/0.002997001),
  //        2.1469468 + (0.1/0.271)·0.092/√(0.004304254/0.002997001)] = [0.7957037, 2.1752746]
  opt.step(std::vector<Tensor>{vec<T>({-1, 0.25})});
  check_values<T>(p, {0.7957037313, 2.1752746283}, sizeof(T) == 4 ? 1e-6 : 1e-9);
}

TEST_CASE("adamw decays the parameter while adam decays the gradient") {
  Tensor a = vec<double>({1, 2}), w = vec<double>({1, 2});
  nn::Adam adam({{"a", a}}, {.lr = 0.1, .weight_decay = 0.1});
  nn::AdamW adamw({{"w", w}}, {.lr = 0.1, .weight_decay = 0.1});
  CHECK(adam.type() == "adam");
  CHECK(adamw.type() == "adamw");
  const std::vector<Tensor> g{vec<double>({1, -2})};
  adam.step(g);
  adamw.step(g);
  // Adam: g + 0.1·p = [1.1, −1.8]; the first Adam step moves by lr·sign: [0.9, 2.1]
  //   (exactly: 1 − 0.1·1.1/(1.1 + 1e-8), 2 + 0.1·1.8/(1.8 + 1e-8))
  check_values<double>(a, {1 - 0.1 * 1.1 / (1.1 + 1e-8), 2 + 0.1 * 1.8 / (1.8 + 1e-8)}, 1e-12);
  // AdamW: p·(1 − 0.1·0.1) = [0.99, 1.98], then the Adam step of g: [0.89, 2.08]
  check_values<double>(w, {0.99 - 0.1 / (1 + 1e-8), 1.98 + 0.2 / (2 + 1e-8)}, 1e-12);
  nn::AdamW defaults({{"w", w}});
  CHECK(defaults.weight_decay() == 0.01);  // PyTorch's AdamW default
}

TEST_CASE("parameter groups have their own lr and weight decay") {
  Tensor a = vec<float>({1}), b = vec<float>({2});
  std::vector<nn::ParameterGroup> groups(2);
  groups[0].parameters = {{"a", a}};
  groups[1].parameters = {{"b", b}};
  groups[1].lr = 0.01;
  groups[1].weight_decay = 0.5;
  nn::Sgd opt(groups, {.lr = 0.1});
  CHECK(opt.group_count() == 2);
  CHECK(opt.group_of(1) == 1);
  opt.step(std::vector<Tensor>{vec<float>({1}), vec<float>({1})});
  // a: 1 − 0.1·1 = 0.9;  b: g = 1 + 0.5·2 = 2, b = 2 − 0.01·2 = 1.98
  check_values<float>(a, {0.9}, 1e-6);
  check_values<float>(b, {1.98}, 1e-6);
  // By name, in any order; a parameter without gradient is skipped.
  opt.step(nn::NamedTensors{{"b", vec<float>({0})}});
  check_values<float>(a, {0.9}, 1e-6);
  // b: g = 0 + 0.5·1.98 = 0.99, b = 1.98 − 0.01·0.99 = 1.9701
  check_values<float>(b, {1.9701}, 1e-6);
  CHECK(opt.steps(0) == 1);
  CHECK(opt.steps(1) == 2);
  CHECK_THROWS_AS(opt.step(nn::NamedTensors{{"c", vec<float>({0})}}), ValueError);
  CHECK_THROWS_AS(opt.step(std::vector<Tensor>{vec<float>({1})}), ValueError);
  CHECK_THROWS_AS(opt.step(std::vector<Tensor>{vec<float>({1, 2}), vec<float>({1})}), ShapeError);
  CHECK_THROWS_AS(opt.step(std::vector<Tensor>{vec<double>({1}), vec<float>({1})}), DTypeError);
  // A bad second gradient: the first parameter is not updated either.
  CHECK_THROWS_AS(opt.step(std::vector<Tensor>{vec<float>({1}), vec<float>({1, 1})}), ShapeError);
  check_values<float>(a, {0.9}, 1e-6);
  CHECK(opt.steps(0) == 1);
}

TEST_CASE("sgd accepts a non-contiguous gradient") {
  Tensor p = Tensor::zeros(Shape{2, 2}, DType::float64);
  nn::Sgd opt({{"p", p}}, {.lr = 1});
  // grad = [[1, 2], [3, 4]]ᵀ = [[1, 3], [2, 4]] as a transposed view; p = −grad
  const Tensor g = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, Shape{2, 2}).transpose(0, 1);
  opt.step(std::vector<Tensor>{g});
  check_values<double>(p, {-1, -3, -2, -4}, 1e-15);
}

TEST_CASE("step and multistep schedules") {
  Tensor p = vec<float>({0});
  std::vector<nn::ParameterGroup> groups(2);
  groups[0].parameters = {{"p", p}};
  groups[1].parameters = {{"q", vec<float>({0})}};
  groups[1].lr = 0.1;
  nn::Sgd opt(groups, {.lr = 1.0});
  nn::StepLr step(opt, {.step_size = 2, .gamma = 0.5});
  // 1·0.5^⌊t/2⌋ for t = 0..5: 1, 1, 0.5, 0.5, 0.25, 0.25; the second group is 0.1 times that
  const std::vector<double> expected{1, 1, 0.5, 0.5, 0.25, 0.25};
  for (std::size_t t = 0; t < expected.size(); ++t) {
    CHECK(opt.lr(0) == doctest::Approx(expected[t]));
    CHECK(opt.lr(1) == doctest::Approx(0.1 * expected[t]));
    step.step();
  }

  nn::Sgd opt2({{"p", p}}, {.lr = 1.0});
  nn::MultiStepLr multi(opt2, {.milestones = {2, 5}, .gamma = 0.1});
  // milestones passed (≤ t) for t = 0..6: 0, 0, 1, 1, 1, 2, 2
  const std::vector<double> expected_multi{1, 1, 0.1, 0.1, 0.1, 0.01, 0.01};
  for (double e : expected_multi) {
    CHECK(opt2.lr() == doctest::Approx(e));
    multi.step();
  }
}

TEST_CASE("warmup cosine schedule") {
  Tensor p = vec<float>({0});
  nn::Sgd opt({{"p", p}}, {.lr = 1.0});
  nn::WarmupCosineLr schedule(opt, {.warmup_steps = 2, .total_steps = 6, .min_lr = 0.1});
  // warm-up t/2: 0, 0.5; then 0.1 + 0.9·(1 + cos(π·(t − 2)/4))/2 for t = 2..5:
  //   t=2: 1;  t=3: 0.1 + 0.9·(1 + 0.7071068)/2 = 0.8681981;  t=4: 0.1 + 0.9·0.5 = 0.55;
  //   t=5: 0.1 + 0.9·(1 − 0.7071068)/2 = 0.2318019;  t ≥ 6: 0.1
  const std::vector<double> expected{0, 0.5, 1, 0.8681981, 0.55, 0.2318019, 0.1, 0.1};
  for (double e : expected) {
    CHECK(opt.lr() == doctest::Approx(e).epsilon(1e-6));
    schedule.step();
  }
  CHECK_THROWS_AS(nn::WarmupCosineLr(opt, {.warmup_steps = 5, .total_steps = 5}), ValueError);
}

TEST_CASE("reduce on plateau follows patience threshold and cooldown") {
  Tensor p = vec<float>({0});
  nn::Sgd opt({{"p", p}}, {.lr = 1.0});
  nn::ReduceLrOnPlateau plateau(opt, {.factor = 0.5, .patience = 2, .threshold = 0.1, .cooldown = 1});
  // best·(1 − 0.1) must be beaten to count as better:
  //  10   better (best 10)                bad 0  lr 1
  //  9.5  not < 9                         bad 1  lr 1
  //  9.2                                  bad 2  lr 1
  //  9.1                                  bad 3 > 2: lr 0.5, cooldown 1, bad 0
  //  9.0  not < 9: bad 1, in cooldown →   bad 0  lr 0.5
  //  9.05                                 bad 1  lr 0.5
  //  8.0  < 9: better (best 8)            bad 0  lr 0.5
  //  8, 8                                 bad 1, 2
  //  8                                    bad 3: lr 0.25
  const std::vector<double> metrics{10, 9.5, 9.2, 9.1, 9.0, 9.05, 8.0, 8, 8, 8};
  const std::vector<double> lrs{1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25};
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    plateau.step(metrics[i]);
    CHECK(opt.lr() == doctest::Approx(lrs[i]));
  }
  CHECK(plateau.best() == 8.0);

  // Mode max with an absolute threshold and a floor: accuracy 0.5, 0.55 (not > 0.5 + 0.1), ...
  nn::Sgd opt2({{"p", p}}, {.lr = 1.0});
  nn::ReduceLrOnPlateau acc(opt2, {.mode_max = true, .factor = 0.1, .patience = 0, .threshold = 0.1,
                                   .threshold_abs = true, .min_lr = 0.05});
  acc.step(0.5);  // better than −inf
  CHECK(opt2.lr() == 1.0);
  acc.step(0.55);  // not > 0.6: bad 1 > 0 → lr max(0.1, 0.05) = 0.1
  CHECK(opt2.lr() == doctest::Approx(0.1));
  acc.step(0.7);  // > 0.6: better
  CHECK(opt2.lr() == doctest::Approx(0.1));
  acc.step(0.7);  // bad → max(0.01, 0.05) = 0.05
  CHECK(opt2.lr() == doctest::Approx(0.05));
  acc.step(0.7);  // 0.05 − max(0.005, 0.05) = 0 ≤ eps: unchanged
  CHECK(opt2.lr() == doctest::Approx(0.05));
}

TEST_CASE("clip grad norm uses the global norm") {
  std::vector<Tensor> grads{vec<float>({3, 4}), vec<double>({12})};
  // ‖g‖ = √(9 + 16 + 144) = 13; under max 20 nothing changes
  CHECK(nn::clip_grad_norm(grads, 20) == doctest::Approx(13));
  check_values<float>(grads[0], {3, 4}, 1e-7);
  // max 6.5: c = 6.5/(13 + 1e-6) → [1.5, 2] and [6] (up to the 1e-6)
  CHECK(nn::clip_grad_norm(grads, 6.5) == doctest::Approx(13));
  const double c = 6.5 / (13 + 1e-6);
  check_values<float>(grads[0], {3 * c, 4 * c}, 1e-6);
  check_values<double>(grads[1], {12 * c}, 1e-12);
  CHECK(nn::grad_norm(grads) == doctest::Approx(6.5).epsilon(1e-6));

  // A broadcast view (4 elements aliasing one): norm √4 = 2; clipped to 1 by a contiguous copy.
  const Tensor one = vec<double>({1});
  std::vector<Tensor> expanded{one.expand(Shape{4})};
  CHECK(nn::clip_grad_norm(expanded, 1.0) == doctest::Approx(2));
  check_values<double>(expanded[0], {0.5, 0.5, 0.5, 0.5}, 1e-6);
  CHECK(one.item<double>() == 1.0);  // the source of the view is untouched
}

namespace {

// Runs 2 steps, checkpoints parameters and optimizer state, runs a 3rd; then rebuilds from the
// checkpoint and runs the 3rd step again: the parameters must agree exactly.
template <class Opt, class Options> void check_resume(Options options) {
  TempDir dir;
  const std::vector<std::vector<double>> grads{{1, -2, 0.5}, {0.5, 0.5, -1}, {-1, 0.25, 2}};
  Tensor p = vec<double>({1, 2, 3});
  Opt opt({{"w", p}}, options);
  opt.step(std::vector<Tensor>{vec<double>(grads[0])});
  opt.step(std::vector<Tensor>{vec<double>(grads[1])});
  const nn::OptimizerState state = opt.state_dict();
  nn::NamedTensors all{{"w", p}};
  all.insert(all.end(), state.tensors.begin(), state.tensors.end());
  nn::save_safetensors(dir.path / "ckpt.safetensors", all, state.metadata);
  opt.step(std::vector<Tensor>{vec<double>(grads[2])});

  const nn::Checkpoint c = nn::load_safetensors(dir.path / "ckpt.safetensors");
  Tensor q = Tensor::zeros(Shape{3}, DType::float64);
  nn::load_into(c, {{"w", q}}, "ckpt", /*allow_unexpected=*/true);
  Opt resumed({{"w", q}}, options);
  resumed.load_state_dict(c);
  CHECK(resumed.steps() == 2);
  resumed.step(std::vector<Tensor>{vec<double>(grads[2])});
  CHECK(q.to_vector<double>() == p.to_vector<double>());
}

}  // namespace

TEST_CASE("optimizer state round trip through safetensors continues identically") {
  check_resume<nn::Sgd>(nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
  check_resume<nn::Adam>(nn::AdamOptions{.lr = 0.1});
  check_resume<nn::AdamW>(nn::AdamOptions{.lr = 0.1, .weight_decay = 0.1});

  // The tensors carry PyTorch's slot names.
  Tensor p = vec<float>({1, 2});
  nn::Adam adam({{"w", p}}, {.lr = 0.1});
  adam.step(std::vector<Tensor>{vec<float>({1, 1})});
  const nn::OptimizerState s = adam.state_dict();
  REQUIRE(s.tensors.size() == 2);
  CHECK(s.tensors[0].first == "optimizer.state.0.exp_avg");
  CHECK(s.tensors[1].first == "optimizer.state.0.exp_avg_sq");
  check_values<float>(s.tensors[0].second, {0.1, 0.1}, 1e-6);  // m = 0.1·g
  CHECK(s.metadata.at("optimizer.type") == "adam");
  CHECK(s.metadata.at("optimizer.state.0.step") == "1");
  CHECK(s.metadata.at("optimizer.group.0.lr") == "0.1");

  // Mismatches are refused and leave the optimizer as it was.
  nn::Checkpoint c{s.tensors, s.metadata};
  Tensor r = vec<float>({0, 0});
  nn::Sgd sgd({{"w", r}}, {.lr = 0.1});
  CHECK_THROWS_AS(sgd.load_state_dict(c), IoError);  // an Adam state
  nn::Adam other({{"v", r}}, {.lr = 0.1});
  CHECK_THROWS_AS(other.load_state_dict(c), IoError);  // another parameter name
  Tensor wrong = vec<float>({0, 0, 0});
  nn::Adam shaped({{"w", wrong}}, {.lr = 0.1});
  CHECK_THROWS_AS(shaped.load_state_dict(c), ShapeError);
  CHECK(shaped.steps() == 0);
}

TEST_CASE("schedule state round trip") {
  Tensor p = vec<float>({0});
  nn::Sgd opt({{"p", p}}, {.lr = 1.0});
  nn::StepLr a(opt, {.step_size = 2, .gamma = 0.5});
  for (int i = 0; i < 3; ++i) a.step();
  const nn::Metadata m = a.state();
  nn::Sgd opt2({{"p", p}}, {.lr = 1.0});
  nn::StepLr b(opt2, {.step_size = 2, .gamma = 0.5});
  b.load_state(m);
  CHECK(b.epoch() == 3);
  CHECK(opt2.lr() == doctest::Approx(0.5));  // 0.5^⌊3/2⌋
  b.step();
  CHECK(opt2.lr() == doctest::Approx(0.25));
}

TEST_CASE("large parameters take the threaded path and update every element") {
  // 2·65536 + 37 elements: above the threading threshold, not a multiple of any block size.
  const std::int64_t n = 2 * 65536 + 37;
  Tensor p = Tensor::zeros(Shape{n}), q = Tensor::zeros(Shape{n});
  nn::Adam adam({{"p", p}}, {.lr = 0.1});
  nn::Sgd sgd({{"q", q}}, {.lr = 0.1, .momentum = 0.9});
  const std::vector<Tensor> ones{Tensor::ones(Shape{n})};
  adam.step(ones);
  sgd.step(ones);
  // Adam's first step with g = 1: m = 0.1, v = 0.001, p = −(0.1/0.1)·0.1/(1 + 1e-8) ≈ −0.1
  // SGD: b = g = 1, q = −0.1·1 = −0.1. The 1e-7 bound also requires float(1 − β2) = float(0.001)
  // as PyTorch uses, not 1 − float(0.999) (which gives −0.1000007).
  const auto pv = p.to_vector<float>(), qv = q.to_vector<float>();
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) wrong += std::abs(pv[i] + 0.1f) > 1e-7f || std::abs(qv[i] + 0.1f) > 1e-7f;
  CHECK(wrong == 0);
}

namespace {

// Runs `opt` on p = [1, 2] (float32) with the given gradients; returns p after each step.
std::vector<std::vector<float>> trajectory(nn::Optimizer& opt, Tensor& p, const std::vector<std::vector<float>>& grads) {
  std::vector<std::vector<float>> out;
  for (const auto& g : grads) {
    opt.step(std::vector<Tensor>{vec<float>(g)});
    out.push_back(p.to_vector<float>());
  }
  return out;
}

}  // namespace

TEST_CASE("optimizers match PyTorch bit for bit in float32") {
  // Expected values printed by PyTorch 2.11 (torch.optim.*, foreach=False) for the same float32
  // parameter [1, 2] and gradients: an independent implementation of the same formulas, whose
  // float32 rounding nodal reproduces exactly (scalars in double, rounded once, same operation
  // order).
  const std::vector<std::vector<float>> g3{{1, -2}, {0.5f, 0.5f}, {-1, 0.25f}};
  const auto run = [&](auto make, const std::vector<std::vector<float>>& grads) {
    Tensor p = vec<float>({1, 2});
    auto opt = make(nn::NamedTensors{{"p", p}});
    return trajectory(opt, p, grads);
  };
  using V = std::vector<std::vector<float>>;
  CHECK(run([](nn::NamedTensors p) { return nn::Adam(p, {.lr = 0.1}); }, g3) ==
        V{{0.9000000357627869f, 2.0999999046325684f}, {0.806782066822052f, 2.146946668624878f},
          {0.7957037687301636f, 2.17527437210083f}});
  CHECK(run([](nn::NamedTensors p) { return nn::Adam(p, {.lr = 0.1, .weight_decay = 0.1}); }, g3) ==
        V{{0.8999999761581421f, 2.0999999046325684f}, {0.8057717680931091f, 2.1350111961364746f},
          {0.7850507497787476f, 2.146434783935547f}});
  CHECK(run([](nn::NamedTensors p) { return nn::AdamW(p, {.lr = 0.1, .weight_decay = 0.1}); }, g3) ==
        V{{0.89000004529953f, 2.0799999237060547f}, {0.7878820896148682f, 2.106146812438965f},
          {0.7689249515533447f, 2.113413095474243f}});
  CHECK(run([](nn::NamedTensors p) { return nn::Sgd(p, {.lr = 0.1, .momentum = 0.9}); }, {{1, -1}, {0.5f, 0.5f}, {0, 1}}) ==
        V{{0.8999999761581421f, 2.0999999046325684f}, {0.7599999904632568f, 2.1399998664855957f},
          {0.6340000033378601f, 2.0759999752044678f}});
  CHECK(run([](nn::NamedTensors p) { return nn::Sgd(p, {.lr = 0.1, .momentum = 0.9, .nesterov = true}); },
            {{1, -1}, {0.5f, 0.5f}}) == V{{0.8100000023841858f, 2.190000057220459f}, {0.6340000033378601f, 2.1760001182556152f}});
  CHECK(run([](nn::NamedTensors p) { return nn::Sgd(p, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5}); },
            {{1, -1}, {0.5f, 0.5f}}) == V{{0.8999999761581421f, 2.0999999046325684f}, {0.7849999666213989f, 2.1649999618530273f}});
  CHECK(run([](nn::NamedTensors p) { return nn::Sgd(p, {.lr = 0.1, .weight_decay = 0.1}); }, {{1, -1}, {1, -1}}) ==
        V{{0.8899999856948853f, 2.0799999237060547f}, {0.7810999751091003f, 2.1591999530792236f}});
  // torch.nn.utils.clip_grad_norm_([3, 4] float32, [12] float64; 6.5): 13, [1.4999998807907104,
  // 1.9999998807907104], [5.999999538461575]
  std::vector<Tensor> grads{vec<float>({3, 4}), vec<double>({12})};
  CHECK(nn::clip_grad_norm(grads, 6.5) == 13.0);
  CHECK(grads[0].to_vector<float>() == std::vector<float>{1.4999998807907104f, 1.9999998807907104f});
  CHECK(grads[1].item<double>() == doctest::Approx(5.999999538461575).epsilon(1e-15));
}

TEST_CASE("training checkpoint holds model optimizer and metadata") {
  TempDir dir;
  const fs::path path = dir.path / "last.safetensors";
  Tensor w = vec<float>({1, 2}), b = vec<float>({0.5});
  nn::Sgd opt({{"w", w}, {"b", b}}, {.lr = 0.1, .momentum = 0.9});
  opt.step(std::vector<Tensor>{vec<float>({1, 1}), vec<float>({2})});
  nn::save_checkpoint(path, {{"w", w}, {"b", b}}, &opt, {{"epoch", "3"}});
  // w = [1, 2] − 0.1·[1, 1] = [0.9, 1.9]; b = 0.5 − 0.1·2 = 0.3; momentum buffers = the gradients

  Tensor w2 = vec<float>({0, 0}), b2 = vec<float>({0});
  nn::Sgd opt2({{"w", w2}, {"b", b2}}, {.lr = 0.1, .momentum = 0.9});
  const nn::Checkpoint c = nn::load_checkpoint(path, {{"w", w2}, {"b", b2}}, &opt2);
  check_values<float>(w2, {0.9, 1.9}, 1e-6);
  check_values<float>(b2, {0.3}, 1e-6);
  CHECK(c.metadata.at("epoch") == "3");
  CHECK(opt2.steps(1) == 1);
  check_values<float>(c.at("optimizer.state.1.momentum_buffer"), {2}, 1e-7);
  // The model alone must match exactly (the optimizer's tensors are not "unexpected").
  Tensor extra = vec<float>({0});
  CHECK_THROWS_AS(nn::load_checkpoint(path, {{"w", w2}}), IoError);                           // b unexpected
  CHECK_THROWS_AS(nn::load_checkpoint(path, {{"w", w2}, {"b", b2}, {"c", extra}}), IoError);  // c missing
  CHECK_THROWS_AS(nn::save_checkpoint(path, {{"optimizer.x", w}}), ValueError);
}

TEST_CASE("adam trains a module on loader batches end to end") {
  // 512 points in the square [−1, 1]², class 1 when x0 > x1: linearly separable.
  const std::int64_t n = 512, batch = 32;
  const Tensor points = Tensor::rand(Shape{n, 2}, 7, DType::float32, -1.0, 1.0);
  const auto xy = points.to_vector<float>();
  std::vector<float> classes(n);
  for (std::int64_t i = 0; i < n; ++i) classes[std::size_t(i)] = xy[std::size_t(2 * i)] > xy[std::size_t(2 * i + 1)] ? 1.0f : 0.0f;
  nn::Dataset data;
  data.images = points;
  data.labels = Tensor::from_vector(classes, Shape{n});
  data.classes = 2;
  nn::Loader loader(data, {.batch_size = batch, .drop_last = true, .seed = 3});

  auto net = nn::linear(2, 2);
  Graph g;
  const Value x = g.input("x", Shape{batch, 2});
  const Value labels = g.input("labels", Shape{batch});
  const Value loss = cross_entropy((*net)(x), labels);
  const std::vector<Value> params = net->parameter_values(g);
  nn::Adam opt(net->named_parameters(), {.lr = 0.05});

  double first_epoch = 0, last_epoch = 0;
  for (int epoch = 0; epoch < 15; ++epoch) {
    double sum = 0;
    for (const nn::Batch& b : loader.epoch(std::uint64_t(epoch))) {
      Execution run = g.forward({loss}, {{x, b.images}, {labels, b.labels}});
      sum += run[loss].item<float>();
      opt.step(run.backward(loss, params).tensors());
    }
    (epoch == 0 ? first_epoch : last_epoch) = sum / double(loader.batches_per_epoch());
  }
  // The loss starts near log 2 ≈ 0.69 and must fall well below it once the boundary is learned.
  CHECK(last_epoch < 0.5 * first_epoch);
  CHECK(last_epoch < 0.25);
}
