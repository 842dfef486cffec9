#pragma once
// Optimizers: update named parameter tensors in place from their gradients.
//
//   nn::Adam opt(net->named_parameters(), {.lr = 1e-3});
//   auto run = g.forward({loss}, feeds);
//   auto grads = run.backward(loss, net->parameter_values(g));  // same order as the parameters
//   opt.step(grads.tensors());
//
// Parameters are (name, Tensor) pairs whose buffers are updated in place: the tensors a Module
// or a Graph holds, so the next forward pass sees the new values. Parameters must be contiguous
// CPU float32 or float64 tensors; a gradient must have its parameter's shape and dtype (a
// non-contiguous gradient is copied once to contiguous memory).
//
// Parameter groups: each group may override the learning rate and the weight decay; step()
// takes the gradients of all groups' parameters in order, groups concatenated.
//
// zero_grad: there is none, because nothing accumulates. Each Execution::backward returns fresh
// gradient tensors, so a step always uses exactly the gradients handed to it. To accumulate
// over several micro-batches, add their gradients before calling step().
//
// State (momentum buffers, Adam's moments, per-parameter step counts, hyper-parameters and
// group learning rates) goes to and comes from named tensors + string metadata, which
// nn/safetensors.hpp stores next to the model:
//   tensors   optimizer.state.<i>.<slot>   (slot: momentum_buffer, exp_avg, exp_avg_sq: PyTorch's names)
//   metadata  optimizer.type, optimizer.param.<i>.name, optimizer.state.<i>.step,
//             optimizer.group.<g>.lr, optimizer.group.<g>.weight_decay, optimizer.<hyper-parameter>
// The prefix "optimizer." can be changed (two optimizers in one file).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/nn/safetensors.hpp"

namespace nodal::nn {

struct ParameterGroup {
  NamedTensors parameters;
  std::optional<double> lr;            // default: the optimizer's
  std::optional<double> weight_decay;  // default: the optimizer's
};

// All parameters in one group with the optimizer's lr and weight decay.
inline std::vector<ParameterGroup> one_group(NamedTensors parameters) {
  std::vector<ParameterGroup> groups(1);
  groups[0].parameters = std::move(parameters);
  return groups;
}

struct OptimizerState {
  NamedTensors tensors;
  Metadata metadata;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string_view type() const = 0;  // "sgd", "adam", "adamw"

  // grads[i] is the gradient of parameters()[i]. All gradients are checked (count, shapes,
  // dtypes: ValueError / ShapeError / DTypeError naming the parameter) before any update.
  void step(std::span<const Tensor> grads);
  // Gradients by parameter name, in any order. A parameter without a gradient is left as it is
  // (its state and step count too), as PyTorch skips parameters whose .grad is None; a name that
  // is not a parameter is a ValueError.
  void step(const NamedTensors& grads);

  const NamedTensors& parameters() const { return params_; }
  std::size_t group_count() const { return groups_.size(); }
  std::size_t group_of(std::size_t parameter) const { return group_index_.at(parameter); }
  double lr(std::size_t group = 0) const { return groups_.at(group).lr; }
  void set_lr(double lr);  // every group
  void set_lr(std::size_t group, double lr);
  double weight_decay(std::size_t group = 0) const { return groups_.at(group).weight_decay; }
  // Steps taken by parameter `i` (all parameters alike unless step(NamedTensors) skipped some).
  std::int64_t steps(std::size_t parameter = 0) const { return steps_.at(parameter); }

  OptimizerState state_dict(std::string_view prefix = "optimizer.") const;
  // Restores what state_dict saved: checks the type, the parameter names and the state tensors'
  // shapes and dtypes (IoError / ShapeError naming the entry), then copies. The checkpoint may
  // hold other tensors (the model's) besides those under `prefix`.
  void load_state_dict(const Checkpoint& checkpoint, std::string_view prefix = "optimizer.");

 protected:
  struct Group {
    double lr = 0;
    double weight_decay = 0;
  };
  Optimizer(std::vector<ParameterGroup> groups, double lr, double weight_decay, std::vector<std::string> slot_names,
            std::string_view op);
  // One parameter's update. `slots` are its state tensors (slot_names order; zeros before the
  // first step), `step` its step count including this one (1 on the first step).
  virtual void update(Tensor& param, const Tensor& grad, std::span<Tensor> slots, std::int64_t step,
                      const Group& group) = 0;
  // The updates of one step, all parameters at once: what update() does for each, in order. A
  // device optimizer overrides it to fuse the parameters' updates into few kernel launches.
  struct Update {
    Tensor* param;
    Tensor grad;
    std::span<Tensor> slots;
    std::int64_t step;
    const Group* group;
  };
  virtual void update_many(std::span<const Update> updates) {
    for (const Update& u : updates) update(*u.param, u.grad, u.slots, u.step, *u.group);
  }
  // For update_many overrides: host parameters go through update() one by one; device parameters
  // in runs of consecutive ones with one backend, dtype and group for which `same_scalars(first,
  // other)` holds, each run handed to `fused(run)` (one launch for many tensors).
  template <class SameScalars, class Fused>
  void for_each_device_run(std::span<const Update> updates, SameScalars same_scalars, Fused fused) {
    std::size_t first = 0;
    while (first < updates.size()) {
      const Update& u = updates[first];
      if (u.param->backend() == Backend::cpu) {
        update(*u.param, u.grad, u.slots, u.step, *u.group);
        ++first;
        continue;
      }
      std::size_t last = first + 1;
      while (last < updates.size() && updates[last].param->backend() == u.param->backend() &&
             updates[last].param->dtype() == u.param->dtype() && updates[last].group == u.group &&
             same_scalars(u, updates[last]))
        ++last;
      fused(updates.subspan(first, last - first));
      first = last;
    }
  }
  // Hyper-parameters other than lr and weight decay, as metadata (key without prefix).
  virtual void save_hyper(Metadata& out, std::string_view prefix) const = 0;
  virtual void load_hyper(const Metadata& in, std::string_view prefix, std::string_view source) = 0;

 private:
  void check_gradient(std::size_t index, const Tensor& grad) const;  // shape, dtype, backend
  Update prepare(std::size_t index, const Tensor& grad);  // state allocated, step counted

  NamedTensors params_;
  std::vector<Group> groups_;
  std::vector<std::size_t> group_index_;  // parameter → group
  std::vector<std::string> slot_names_;
  std::vector<std::vector<Tensor>> slots_;  // [parameter][slot], allocated on the first step
  std::vector<std::int64_t> steps_;
  std::string op_;
};

// Metadata values are decimal text; these parse them strictly (IoError naming key and source).
double metadata_number(const Metadata& m, const std::string& key, std::string_view source);
std::string format_number(double v);  // shortest text that reads back to exactly v

}  // namespace nodal::nn
