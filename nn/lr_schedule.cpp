#include "nodal/nn/lr_schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "nodal/core/error.hpp"

namespace nodal::nn {

LrSchedule::LrSchedule(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.group_count(); ++g) base_.push_back(optimizer.lr(g));
}

void LrSchedule::apply() {
  for (std::size_t g = 0; g < base_.size(); ++g) optimizer_.set_lr(g, lr_at(base_[g], epoch_));
}

void LrSchedule::step() {
  ++epoch_;
  apply();
}

Metadata LrSchedule::state(std::string_view prefix) const {
  Metadata m{{fmt::format("{}epoch", prefix), std::to_string(epoch_)}};
  for (std::size_t g = 0; g < base_.size(); ++g) m[fmt::format("{}base_lr.{}", prefix, g)] = format_number(base_[g]);
  return m;
}

void LrSchedule::load_state(const Metadata& m, std::string_view prefix) {
  const double epoch = metadata_number(m, fmt::format("{}epoch", prefix), "scheduler");
  std::vector<double> base(base_.size());
  for (std::size_t g = 0; g < base.size(); ++g)
    base[g] = metadata_number(m, fmt::format("{}base_lr.{}", prefix, g), "scheduler");
  if (!(epoch >= 0) || epoch != std::floor(epoch))
    throw IoError(fmt::format("load_state: scheduler epoch {} is not a count", epoch));
  epoch_ = std::int64_t(epoch);
  base_ = std::move(base);
  apply();
}

// ---- StepLr ----

StepLr::StepLr(Optimizer& optimizer, StepLrOptions options) : LrSchedule(optimizer), options_(options) {
  if (options.step_size < 1) throw ValueError(fmt::format("StepLr: step_size must be >= 1, got {}", options.step_size));
  apply();
}

double StepLr::lr_at(double base, std::int64_t t) const {
  return base * std::pow(options_.gamma, double(t / options_.step_size));
}

// ---- MultiStepLr ----

MultiStepLr::MultiStepLr(Optimizer& optimizer, MultiStepLrOptions options)
    : LrSchedule(optimizer), options_(std::move(options)) {
  if (!std::is_sorted(options_.milestones.begin(), options_.milestones.end()))
    throw ValueError(
        fmt::format("MultiStepLr: milestones must be increasing, got [{}]", fmt::join(options_.milestones, ", ")));
  apply();
}

double MultiStepLr::lr_at(double base, std::int64_t t) const {
  // PyTorch's bisect_right: milestones ≤ t have been passed.
  const auto passed =
      std::upper_bound(options_.milestones.begin(), options_.milestones.end(), t) - options_.milestones.begin();
  return base * std::pow(options_.gamma, double(passed));
}

// ---- WarmupCosineLr ----

WarmupCosineLr::WarmupCosineLr(Optimizer& optimizer, WarmupCosineLrOptions options)
    : LrSchedule(optimizer), options_(options) {
  if (options.warmup_steps < 0 || options.total_steps <= options.warmup_steps)
    throw ValueError(fmt::format("WarmupCosineLr: need 0 <= warmup_steps < total_steps, got {} and {}",
                                 options.warmup_steps, options.total_steps));
  apply();
}

double WarmupCosineLr::lr_at(double base, std::int64_t t) const {
  const auto& o = options_;
  if (t < o.warmup_steps)
    return base * (o.warmup_start_factor + (1 - o.warmup_start_factor) * double(t) / double(o.warmup_steps));
  if (t >= o.total_steps) return o.min_lr;
  const double progress = double(t - o.warmup_steps) / double(o.total_steps - o.warmup_steps);
  return o.min_lr + (base - o.min_lr) * (1 + std::cos(std::numbers::pi * progress)) / 2;
}

// ---- ReduceLrOnPlateau ----

ReduceLrOnPlateau::ReduceLrOnPlateau(Optimizer& optimizer, ReduceLrOnPlateauOptions options)
    : optimizer_(optimizer), options_(options) {
  if (!(options.factor < 1.0 && options.factor >= 0))
    throw ValueError(fmt::format("ReduceLrOnPlateau: factor must be in [0, 1), got {}", options.factor));
  if (options.patience < 0 || options.cooldown < 0)
    throw ValueError(
        fmt::format("ReduceLrOnPlateau: patience {} and cooldown {} must be >= 0", options.patience, options.cooldown));
  // The worst value of the mode: any first metric is an improvement.
  best_ = options.mode_max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

bool ReduceLrOnPlateau::better(double a) const {
  const double t = options_.threshold;
  if (!options_.mode_max) return options_.threshold_abs ? a < best_ - t : a < best_ * (1 - t);
  return options_.threshold_abs ? a > best_ + t : a > best_ * (1 + t);
}

void ReduceLrOnPlateau::step(double metric) {
  ++epoch_;
  if (better(metric)) {
    best_ = metric;
    bad_ = 0;
  } else {
    ++bad_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    bad_ = 0;  // bad epochs in cooldown do not count
  }
  if (bad_ > options_.patience) {
    for (std::size_t g = 0; g < optimizer_.group_count(); ++g) {
      const double old_lr = optimizer_.lr(g);
      const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
      if (old_lr - new_lr > options_.eps) optimizer_.set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown;
    bad_ = 0;
  }
}

Metadata ReduceLrOnPlateau::state(std::string_view prefix) const {
  return {{fmt::format("{}epoch", prefix), std::to_string(epoch_)},
          {fmt::format("{}best", prefix), format_number(best_)},
          {fmt::format("{}bad_epochs", prefix), std::to_string(bad_)},
          {fmt::format("{}cooldown_counter", prefix), std::to_string(cooldown_counter_)}};
}

void ReduceLrOnPlateau::load_state(const Metadata& m, std::string_view prefix) {
  const double epoch = metadata_number(m, fmt::format("{}epoch", prefix), "scheduler");
  const double best = metadata_number(m, fmt::format("{}best", prefix), "scheduler");
  const double bad = metadata_number(m, fmt::format("{}bad_epochs", prefix), "scheduler");
  const double cooldown = metadata_number(m, fmt::format("{}cooldown_counter", prefix), "scheduler");
  epoch_ = std::int64_t(epoch);
  best_ = best;
  bad_ = std::int64_t(bad);
  cooldown_counter_ = std::int64_t(cooldown);
}

}  // namespace nodal::nn
