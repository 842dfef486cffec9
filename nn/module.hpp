#pragma once
// nn::Module: a layer (or a network of layers) that owns named tensors and adds its operations to
// a graph. PyTorch's shape of API on top of nodal's build-once graph:
//
//   auto net = nn::sequential({nn::conv2d(1, 6, 5, {.padding = ConvPadding::all(2)}), nn::relu(), ...});
//   Graph g;  Value x = g.input("x", {64, 1, 28, 28});  Value logits = (*net)(x);
//
// Parameters (trained) and buffers (state such as running statistics) have dotted names
// ("0.weight", "features.3.running_mean"), as in a PyTorch state_dict, so checkpoints map one to
// one. A parameter's graph vertex is named like it and holds the same buffer: an optimizer that
// updates the module's tensors in place updates the graph's.
//
// train()/eval() switch modules whose behaviour differs (BatchNorm2d, Dropout) without rebuilding
// the graph: their nodes read the mode when they run.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nodal/core/graph.hpp"

namespace nodal::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  virtual std::string kind() const = 0;                    // "Conv2d"
  virtual std::string describe() const { return kind(); }  // "Conv2d(1, 6, kernel=5, padding=2)"
  // Adds this module's operations on x to x's graph and returns the result.
  virtual Value forward(const Value& x) = 0;
  Value operator()(const Value& x) { return forward(x); }

  NamedTensors named_parameters() const;  // recursive, registration order
  NamedTensors named_buffers() const;
  NamedTensors state() const;            // parameters then buffers: what a checkpoint stores
  std::int64_t parameter_count() const;  // elements over all parameters
  // The parameter vertices of this module in g, in named_parameters() order (the values to
  // differentiate with respect to). ValueError if the module was not built into g.
  std::vector<Value> parameter_values(const Graph& g) const;

  // Moves every parameter and buffer (recursively) to `backend`: each becomes a new tensor there
  // (one upload or download each) and the module's state (BatchNorm2d's running statistics)
  // follows. Call it before building the module into a graph and before handing its parameters to
  // an optimizer: both keep the tensors they were given. Tensors already there stay as they are.
  void to(Backend backend);

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool training() const { return training_; }

  // Dotted prefix inside its parent ("features.3."), "" at the root.
  const std::string& prefix() const { return prefix_; }
  // Readable summary: one line per module with its own parameter count, and the total.
  std::string summary() const;

 protected:
  Tensor& register_parameter(std::string name, Tensor value);
  Tensor& register_buffer(std::string name, Tensor value);
  void register_module(std::string name, std::shared_ptr<Module> module);
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  // The vertex of parameter `name` in the graph of `like`, created on first use.
  Value parameter(const Value& like, std::string_view name);
  virtual void on_mode_change(bool training) { (void)training; }
  // Called by to() after this module's own tensors moved (state that shares them re-points).
  virtual void on_moved() {}
  // This module's own buffer `name`; ValueError if there is none.
  const Tensor& buffer(std::string_view name) const;

 private:
  void set_prefix(const std::string& prefix);
  void collect(NamedTensors& out, bool parameters) const;
  std::string qualified(std::string_view name) const { return prefix_ + std::string(name); }

  std::string prefix_;
  bool training_ = true;
  NamedTensors parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Modules applied in order; children are named "0", "1", ….
class Sequential final : public Module {
 public:
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules = {});
  void push_back(std::shared_ptr<Module> module);
  std::string kind() const override { return "Sequential"; }
  Value forward(const Value& x) override;
  std::size_t size() const { return children().size(); }
  Module& operator[](std::size_t i) const { return *children().at(i).second; }
};

std::shared_ptr<Sequential> sequential(std::vector<std::shared_ptr<Module>> modules);

}  // namespace nodal::nn
