#include "nodal/nn/module.hpp"

#include <optional>

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {

// The parameter vertex of g named `name` whose tensor is `t` itself (same buffer), or none.
std::optional<std::uint32_t> vertex_of(const Graph& g, const std::string& name, const Tensor& t) {
  for (std::uint32_t v = 0; v < g.vertex_count(); ++v) {
    const VertexData& d = g.vertex(v);
    if (d.kind == VertexKind::parameter && d.name == name && d.value.buffer() == t.buffer()) return v;
  }
  return std::nullopt;
}

}  // namespace

Tensor& Module::register_parameter(std::string name, Tensor value) {
  if (!value.defined()) throw ValueError(fmt::format("{}: parameter '{}' is undefined", kind(), name));
  for (const auto& [existing, t] : parameters_)
    if (existing == name) throw ValueError(fmt::format("{}: parameter '{}' registered twice", kind(), name));
  parameters_.emplace_back(std::move(name), std::move(value));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor value) {
  if (!value.defined()) throw ValueError(fmt::format("{}: buffer '{}' is undefined", kind(), name));
  buffers_.emplace_back(std::move(name), std::move(value));
  return buffers_.back().second;
}

void Module::register_module(std::string name, std::shared_ptr<Module> module) {
  if (!module) throw ValueError(fmt::format("{}: submodule '{}' is null", kind(), name));
  module->set_prefix(prefix_ + name + ".");
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::set_prefix(const std::string& prefix) {
  prefix_ = prefix;
  for (auto& [name, child] : children_) child->set_prefix(prefix_ + name + ".");
}

void Module::collect(NamedTensors& out, bool parameters) const {
  for (const auto& [name, t] : parameters ? parameters_ : buffers_) out.emplace_back(qualified(name), t);
  for (const auto& [name, child] : children_) child->collect(out, parameters);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect(out, true);
  return out;
}
NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect(out, false);
  return out;
}
NamedTensors Module::state() const {
  NamedTensors out = named_parameters();
  collect(out, false);
  return out;
}

std::int64_t Module::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

Value Module::parameter(const Value& like, std::string_view name) {
  for (const auto& [own, t] : parameters_) {
    if (own != name) continue;
    Graph& g = like.graph();
    const std::string full = qualified(name);
    // A module built twice into one graph (a shared layer) reuses its vertices.
    if (const auto v = vertex_of(g, full, t)) return Value(&g, *v, 0);
    return g.parameter(full, t);
  }
  throw ValueError(fmt::format("{}: no parameter named '{}'", kind(), name));
}

std::vector<Value> Module::parameter_values(const Graph& g) const {
  std::vector<Value> values;
  for (const auto& [name, t] : named_parameters()) {
    const auto v = vertex_of(g, name, t);
    if (!v) throw ValueError(fmt::format("{}: parameter '{}' is not in this graph; build the module into it first", kind(), name));
    values.emplace_back(const_cast<Graph*>(&g), *v, 0);
  }
  return values;
}

void Module::to(Backend backend) {
  for (auto& [name, t] : parameters_) t = t.to(backend);
  for (auto& [name, t] : buffers_) t = t.to(backend);
  on_moved();
  for (auto& [name, child] : children_) child->to(backend);
}

const Tensor& Module::buffer(std::string_view name) const {
  for (const auto& [own, t] : buffers_)
    if (own == name) return t;
  throw ValueError(fmt::format("{}: no buffer named '{}'", kind(), name));
}

void Module::train(bool on) {
  training_ = on;
  on_mode_change(on);
  for (auto& [name, child] : children_) child->train(on);
}

std::string Module::summary() const {
  std::string out;
  auto visit = [&](auto&& self, const Module& m, int depth) -> void {
    std::int64_t own = 0;
    for (const auto& [name, t] : m.parameters_) own += t.numel();
    const std::string label = m.prefix_.empty() ? std::string() : m.prefix_.substr(0, m.prefix_.size() - 1) + ": ";
    out += fmt::format("{:{}}{}{}{}\n", "", 2 * depth, label, m.describe(),
                       own ? fmt::format("  ({} parameters)", own) : std::string());
    for (const auto& [name, child] : m.children_) self(self, *child, depth + 1);
  };
  visit(visit, *this, 0);
  out += fmt::format("total: {} parameters\n", parameter_count());
  return out;
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<Module> module) { register_module(std::to_string(size()), std::move(module)); }

Value Sequential::forward(const Value& x) {
  Value y = x;
  for (const auto& [name, child] : children()) y = child->forward(y);
  return y;
}

std::shared_ptr<Sequential> sequential(std::vector<std::shared_ptr<Module>> modules) {
  return std::make_shared<Sequential>(std::move(modules));
}

}  // namespace nodal::nn
