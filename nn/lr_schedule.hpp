#pragma once
// Learning-rate schedules: each sets the learning rate of every parameter group of an optimizer
// from that group's initial ("base") learning rate, as PyTorch's lr_scheduler classes do.
//
//   nn::StepLr schedule(opt, {.step_size = 10, .gamma = 0.5});
//   for (epoch ...) { train(); schedule.step(); }
//
// Construction applies epoch 0; step() advances one epoch (or one iteration: the unit is yours)
// and applies it. With t the epoch count and base the group's initial lr:
//
//   StepLr          lr = base · γ^⌊t / step_size⌋
//   MultiStepLr     lr = base · γ^(number of milestones ≤ t)
//   WarmupCosineLr  t < w:      lr = base · (s + (1 − s) · t / w)                 (linear warm-up)
//                   w ≤ t < T:  lr = min + (base − min) · (1 + cos(π (t − w) / (T − w))) / 2
//                   t ≥ T:      lr = min
//                   (w warmup_steps, s warmup_start_factor, T total_steps, min min_lr)
//   ReduceLrOnPlateau  step(metric): PyTorch's ReduceLROnPlateau (below).
//
// Closed forms rather than PyTorch's chained products: the same numbers up to rounding.
// state()/load_state() carry the position (and the plateau counters) through a checkpoint's
// metadata under the prefix "scheduler.".
#include <cstdint>
#include <vector>

#include "nodal/nn/optimizer.hpp"

namespace nodal::nn {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  void step();  // t ← t + 1, then set every group's lr
  std::int64_t epoch() const { return epoch_; }
  const std::vector<double>& base_lrs() const { return base_; }
  // The lr of a group whose initial lr is `base`, at epoch t.
  virtual double lr_at(double base, std::int64_t t) const = 0;
  virtual Metadata state(std::string_view prefix = "scheduler.") const;
  virtual void load_state(const Metadata& m, std::string_view prefix = "scheduler.");

 protected:
  explicit LrSchedule(Optimizer& optimizer);
  void apply();  // sets the lrs of epoch_ (derived constructors call it once they are complete)
  Optimizer& optimizer_;
  std::vector<double> base_;
  std::int64_t epoch_ = 0;
};

struct StepLrOptions {
  std::int64_t step_size = 1;
  double gamma = 0.1;
};
class StepLr final : public LrSchedule {
 public:
  StepLr(Optimizer& optimizer, StepLrOptions options);
  double lr_at(double base, std::int64_t t) const override;

 private:
  StepLrOptions options_;
};

struct MultiStepLrOptions {
  std::vector<std::int64_t> milestones;  // increasing
  double gamma = 0.1;
};
class MultiStepLr final : public LrSchedule {
 public:
  MultiStepLr(Optimizer& optimizer, MultiStepLrOptions options);
  double lr_at(double base, std::int64_t t) const override;

 private:
  MultiStepLrOptions options_;
};

struct WarmupCosineLrOptions {
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;  // warm-up included; > warmup_steps
  double min_lr = 0.0;
  double warmup_start_factor = 0.0;
};
class WarmupCosineLr final : public LrSchedule {
 public:
  WarmupCosineLr(Optimizer& optimizer, WarmupCosineLrOptions options);
  double lr_at(double base, std::int64_t t) const override;

 private:
  WarmupCosineLrOptions options_;
};

// PyTorch's ReduceLROnPlateau. After each step(metric):
//   better = metric < best·(1 − threshold)  (mode min, rel)   metric < best − threshold  (min, abs)
//            metric > best·(1 + threshold)  (mode max, rel)   metric > best + threshold  (max, abs)
//   better → best = metric, bad = 0; else bad += 1
//   in cooldown (counter > 0) → counter −= 1, bad = 0
//   bad > patience → every group: new = max(lr·factor, min_lr), applied if lr − new > eps;
//                    counter = cooldown, bad = 0
struct ReduceLrOnPlateauOptions {
  bool mode_max = false;  // false: "min" (a loss), true: "max" (an accuracy)
  double factor = 0.1;
  std::int64_t patience = 10;
  double threshold = 1e-4;
  bool threshold_abs = false;  // false: "rel"
  std::int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};
class ReduceLrOnPlateau final {
 public:
  ReduceLrOnPlateau(Optimizer& optimizer, ReduceLrOnPlateauOptions options);
  void step(double metric);
  double best() const { return best_; }
  std::int64_t bad_epochs() const { return bad_; }
  Metadata state(std::string_view prefix = "scheduler.") const;
  void load_state(const Metadata& m, std::string_view prefix = "scheduler.");

 private:
  bool better(double metric) const;
  Optimizer& optimizer_;
  ReduceLrOnPlateauOptions options_;
  double best_;
  std::int64_t bad_ = 0, cooldown_counter_ = 0, epoch_ = 0;
};

}  // namespace nodal::nn
