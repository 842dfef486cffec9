#include "nodal/nn/optimizer.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "nodal/core/error.hpp"
#include "nodal/nn/device_training.hpp"

namespace nodal::nn {

double metadata_number(const Metadata& m, const std::string& key, std::string_view source) {
  const auto it = m.find(key);
  if (it == m.end()) throw IoError(fmt::format("load_state_dict: '{}': metadata \"{}\" is missing", source, key));
  const std::string& text = it->second;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw IoError(fmt::format("load_state_dict: '{}': metadata \"{}\" = \"{}\" is not a number", source, key, text));
  return v;
}

std::string format_number(double v) { return fmt::format("{}", v); }

Optimizer::Optimizer(std::vector<ParameterGroup> groups, double lr, double weight_decay,
                     std::vector<std::string> slot_names, std::string_view op)
    : slot_names_(std::move(slot_names)), op_(op) {
  if (!(lr >= 0)) throw ValueError(fmt::format("{}: learning rate must be >= 0, got {}", op, lr));
  if (!(weight_decay >= 0)) throw ValueError(fmt::format("{}: weight_decay must be >= 0, got {}", op, weight_decay));
  for (std::size_t g = 0; g < groups.size(); ++g) {
    Group group{groups[g].lr.value_or(lr), groups[g].weight_decay.value_or(weight_decay)};
    if (!(group.lr >= 0) || !(group.weight_decay >= 0))
      throw ValueError(
          fmt::format("{}: group {}: lr {} and weight_decay {} must be >= 0", op, g, group.lr, group.weight_decay));
    groups_.push_back(group);
    for (auto& [name, t] : groups[g].parameters) {
      if (!t.defined()) throw ValueError(fmt::format("{}: parameter '{}' is undefined", op, name));
      if (!t.is_contiguous() || (t.backend() != Backend::cpu && !has_device_training_kernels(t.backend())))
        throw ValueError(fmt::format("{}: parameter '{}' ({}) must be a contiguous tensor on the CPU or on a device "
                                     "with optimizer kernels: it is updated in place",
                                     op, name, describe(t)));
      if (t.dtype() != DType::float32 && t.dtype() != DType::float64)
        throw DTypeError(fmt::format("{}: parameter '{}' is {}; optimizers update float32 and float64", op, name,
                                     dtype_name(t.dtype())));
      for (const auto& [other, u] : params_)
        if (other == name) throw ValueError(fmt::format("{}: parameter name '{}' appears twice", op, name));
      params_.emplace_back(name, t);
      group_index_.push_back(g);
    }
  }
  slots_.resize(params_.size());
  steps_.assign(params_.size(), 0);
}

void Optimizer::set_lr(double lr) {
  for (std::size_t g = 0; g < groups_.size(); ++g) set_lr(g, lr);
}

void Optimizer::set_lr(std::size_t group, double lr) {
  if (!(lr >= 0)) throw ValueError(fmt::format("{}: learning rate must be >= 0, got {}", op_, lr));
  groups_.at(group).lr = lr;
}

void Optimizer::check_gradient(std::size_t i, const Tensor& grad) const {
  const auto& [name, param] = params_[i];
  if (!grad.defined()) throw ValueError(fmt::format("{}.step: the gradient of '{}' is undefined", op_, name));
  if (!(grad.shape() == param.shape()))
    throw ShapeError(fmt::format("{}.step: the gradient of '{}' has shape {}, the parameter {}", op_, name,
                                 to_string(grad.shape()), to_string(param.shape())));
  if (grad.dtype() != param.dtype())
    throw DTypeError(fmt::format("{}.step: the gradient of '{}' is {}, the parameter {}", op_, name,
                                 dtype_name(grad.dtype()), dtype_name(param.dtype())));
  if (grad.backend() != param.backend())
    throw BackendError(fmt::format("{}.step: the gradient of '{}' is on backend '{}', the parameter on '{}'", op_, name,
                                   backend_name(grad.backend()), backend_name(param.backend())));
}

Optimizer::Update Optimizer::prepare(std::size_t i, const Tensor& grad) {
  Tensor& param = params_[i].second;
  std::vector<Tensor>& slots = slots_[i];
  if (slots.size() != slot_names_.size()) {  // first step: allocate the state once
    slots.clear();
    for (std::size_t k = 0; k < slot_names_.size(); ++k)
      slots.push_back(Tensor::zeros(param.shape(), param.dtype(), param.backend()));  // state lives with the parameter
  }
  // device kernels take views (they copy a non-contiguous gradient on the device themselves)
  const Tensor g = grad.is_contiguous() || param.backend() != Backend::cpu ? grad : grad.contiguous();
  return Update{&param, g, std::span<Tensor>(slots), ++steps_[i], &groups_[group_of(i)]};
}

void Optimizer::step(std::span<const Tensor> grads) {
  if (grads.size() != params_.size())
    throw ValueError(fmt::format("{}.step: {} gradients for {} parameters", op_, grads.size(), params_.size()));
  // Every gradient is checked before any parameter changes: a bad one leaves the model as it was.
  for (std::size_t i = 0; i < params_.size(); ++i) check_gradient(i, grads[i]);
  std::vector<Update> updates;
  for (std::size_t i = 0; i < params_.size(); ++i) updates.push_back(prepare(i, grads[i]));
  update_many(updates);
}

void Optimizer::step(const NamedTensors& grads) {
  std::vector<const Tensor*> by_index(params_.size(), nullptr);
  for (const auto& [name, g] : grads) {
    std::size_t i = 0;
    while (i < params_.size() && params_[i].first != name) ++i;
    if (i == params_.size())
      throw ValueError(fmt::format("{}.step: '{}' is not a parameter of this optimizer", op_, name));
    by_index[i] = &g;
  }
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (by_index[i]) check_gradient(i, *by_index[i]);
  std::vector<Update> updates;
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (by_index[i]) updates.push_back(prepare(i, *by_index[i]));
  update_many(updates);
}

OptimizerState Optimizer::state_dict(std::string_view prefix) const {
  OptimizerState s;
  s.metadata[fmt::format("{}type", prefix)] = std::string(type());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    s.metadata[fmt::format("{}group.{}.lr", prefix, g)] = format_number(groups_[g].lr);
    s.metadata[fmt::format("{}group.{}.weight_decay", prefix, g)] = format_number(groups_[g].weight_decay);
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    s.metadata[fmt::format("{}param.{}.name", prefix, i)] = params_[i].first;
    s.metadata[fmt::format("{}state.{}.step", prefix, i)] = std::to_string(steps_[i]);
    if (steps_[i] > 0)
      for (std::size_t k = 0; k < slot_names_.size(); ++k)
        s.tensors.emplace_back(fmt::format("{}state.{}.{}", prefix, i, slot_names_[k]),
                               slots_[i][k].to(Backend::cpu));  // device state: one download (a no-op on the CPU)
  }
  save_hyper(s.metadata, prefix);
  return s;
}

void Optimizer::load_state_dict(const Checkpoint& c, std::string_view prefix) {
  const std::string source = fmt::format("{} state", op_);
  const auto text = [&](const std::string& key) -> const std::string& {
    const auto it = c.metadata.find(key);
    if (it == c.metadata.end()) throw IoError(fmt::format("load_state_dict: metadata \"{}\" is missing", key));
    return it->second;
  };
  if (text(fmt::format("{}type", prefix)) != type())
    throw IoError(fmt::format("load_state_dict: the checkpoint holds a '{}' optimizer state, this optimizer is '{}'",
                              text(fmt::format("{}type", prefix)), type()));
  // Validate everything first, then assign: a failed load leaves the optimizer as it was.
  std::vector<std::int64_t> steps(params_.size());
  std::vector<std::vector<Tensor>> slots(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = text(fmt::format("{}param.{}.name", prefix, i));
    if (name != params_[i].first)
      throw IoError(fmt::format("load_state_dict: parameter {} is '{}' in the checkpoint but '{}' here", i, name,
                                params_[i].first));
    const double step = metadata_number(c.metadata, fmt::format("{}state.{}.step", prefix, i), source);
    if (!(step >= 0) || step != std::floor(step))
      throw IoError(fmt::format("load_state_dict: step count {} of parameter '{}' is not a count", step, name));
    steps[i] = std::int64_t(step);
    if (steps[i] == 0) continue;
    for (const std::string& slot : slot_names_) {
      const std::string key = fmt::format("{}state.{}.{}", prefix, i, slot);
      const Tensor* t = c.find(key);
      if (!t) throw IoError(fmt::format("load_state_dict: tensor '{}' (state of '{}') is missing", key, name));
      if (!(t->shape() == params_[i].second.shape()) || t->dtype() != params_[i].second.dtype())
        throw ShapeError(fmt::format("load_state_dict: tensor '{}' is {} {}, parameter '{}' is {} {}", key,
                                     to_string(t->shape()), dtype_name(t->dtype()), name,
                                     to_string(params_[i].second.shape()), dtype_name(params_[i].second.dtype())));
      const Backend home = params_[i].second.backend();  // the state lives with its parameter
      slots[i].push_back(home == Backend::cpu ? t->clone() : t->to(home));
    }
  }
  if (c.metadata.count(fmt::format("{}param.{}.name", prefix, params_.size())))
    throw IoError(fmt::format("load_state_dict: the checkpoint has more than the {} parameters of this optimizer",
                              params_.size()));
  std::vector<Group> groups = groups_;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    groups[g].lr = metadata_number(c.metadata, fmt::format("{}group.{}.lr", prefix, g), source);
    groups[g].weight_decay = metadata_number(c.metadata, fmt::format("{}group.{}.weight_decay", prefix, g), source);
  }
  load_hyper(c.metadata, prefix, source);
  groups_ = std::move(groups);
  steps_ = std::move(steps);
  slots_ = std::move(slots);
}

}  // namespace nodal::nn
