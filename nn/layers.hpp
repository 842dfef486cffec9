#pragma once
// The layers of nn/: each a Module that owns its parameters and adds one or two nodes.
//   Linear(in, out)            y = x·Wᵀ + b                W [out, in], b [out]
//   Conv2d(in, out, k, opts)   y = conv2d(x, W, b, opts)   W [out, in/groups, kH, kW], b [out]
//   ReLU, Tanh, Sigmoid, LeakyReLU, Flatten, Dropout(p), BatchNorm2d(C),
//   MaxPool2d, AvgPool2d, GlobalAvgPool2d
// Weights start as PyTorch's defaults (nn/init.hpp) unless another Init is given.
#include <memory>

#include "nodal/nn/init.hpp"
#include "nodal/nn/module.hpp"
#include "nodal/nodes/batch_norm.hpp"
#include "nodal/nodes/conv.hpp"
#include "nodal/nodes/dropout.hpp"
#include "nodal/nodes/pool.hpp"

namespace nodal::nn {

struct LayerOptions {
  bool bias = true;
  Init init = Init::pytorch_default;
  DType dtype = DType::float32;
};

class Linear final : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, LayerOptions options = {});
  std::string kind() const override { return "Linear"; }
  std::string describe() const override;
  Value forward(const Value& x) override;

 private:
  std::int64_t in_, out_;
  bool bias_;
};

class Conv2d final : public Module {
 public:
  // kernel: one extent for both axes, or {kH, kW}.
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::vector<std::int64_t> kernel, ConvOptions conv = {},
         LayerOptions options = {});
  std::string kind() const override { return "Conv2d"; }
  std::string describe() const override;
  Value forward(const Value& x) override;
  ConvOptions& conv_options() { return conv_; }  // e.g. to change the algorithm before building

 private:
  std::int64_t in_, out_;
  std::vector<std::int64_t> kernel_;
  ConvOptions conv_;
  bool bias_;
};

enum class Activation { relu, tanh, sigmoid, leaky_relu };
class ActivationLayer final : public Module {
 public:
  explicit ActivationLayer(Activation f, double negative_slope = 0.01) : f_(f), slope_(negative_slope) {}
  std::string kind() const override;
  Value forward(const Value& x) override;

 private:
  Activation f_;
  double slope_;
};

class Flatten final : public Module {
 public:
  explicit Flatten(std::int64_t start_axis = 1, std::int64_t end_axis = -1) : start_(start_axis), end_(end_axis) {}
  std::string kind() const override { return "Flatten"; }
  Value forward(const Value& x) override;

 private:
  std::int64_t start_, end_;
};

class Dropout final : public Module {
 public:
  explicit Dropout(double p = 0.5);  // its seed is the next of nn::manual_seed's stream
  std::string kind() const override { return "Dropout"; }
  std::string describe() const override;
  Value forward(const Value& x) override;
  DropoutState& state() { return *state_; }

 protected:
  void on_mode_change(bool training) override { state_->training = training; }

 private:
  std::shared_ptr<DropoutState> state_;
};

class BatchNorm2d final : public Module {
 public:
  explicit BatchNorm2d(std::int64_t channels, double eps = 1e-5, double momentum = 0.1, DType dtype = DType::float32);
  std::string kind() const override { return "BatchNorm2d"; }
  std::string describe() const override;
  Value forward(const Value& x) override;
  BatchNormState& state() { return *state_; }

 protected:
  void on_mode_change(bool training) override { state_->training = training; }
  // the node updates the module's buffers in place: the state follows them to a new backend
  void on_moved() override {
    state_->running_mean = buffer("running_mean");
    state_->running_var = buffer("running_var");
  }

 private:
  std::int64_t channels_;
  std::shared_ptr<BatchNormState> state_;
};

enum class PoolKind { max, average, global_average };
class Pool2d final : public Module {
 public:
  Pool2d(PoolKind kind, Pool2dOptions options = {}) : kind_(kind), options_(std::move(options)) {}
  std::string kind() const override;
  std::string describe() const override;
  Value forward(const Value& x) override;

 private:
  PoolKind kind_;
  Pool2dOptions options_;
};

// Factories, for building a Sequential in one expression.
std::shared_ptr<Linear> linear(std::int64_t in_features, std::int64_t out_features, LayerOptions options = {});
std::shared_ptr<Conv2d> conv2d(std::int64_t in_channels, std::int64_t out_channels, std::vector<std::int64_t> kernel,
                               ConvOptions conv = {}, LayerOptions options = {});
std::shared_ptr<ActivationLayer> relu();
std::shared_ptr<ActivationLayer> tanh();
std::shared_ptr<ActivationLayer> sigmoid();
std::shared_ptr<ActivationLayer> leaky_relu(double negative_slope = 0.01);
std::shared_ptr<Flatten> flatten(std::int64_t start_axis = 1, std::int64_t end_axis = -1);
std::shared_ptr<Dropout> dropout(double p = 0.5);
std::shared_ptr<Pool2d> max_pool2d(Pool2dOptions options = {});
std::shared_ptr<Pool2d> avg_pool2d(Pool2dOptions options = {});
std::shared_ptr<Pool2d> global_avg_pool2d();
std::shared_ptr<BatchNorm2d> batch_norm2d(std::int64_t channels, double eps = 1e-5, double momentum = 0.1);

}  // namespace nodal::nn
