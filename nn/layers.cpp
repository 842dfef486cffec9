#include "nodal/nn/layers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/nodes/linear.hpp"
#include "nodal/nodes/shape_ops.hpp"
#include "nodal/nodes/unary.hpp"

namespace nodal::nn {
namespace {

void check_positive(std::string_view layer, std::string_view what, std::int64_t v) {
  if (v < 1) throw ValueError(fmt::format("{}: {} must be ≥ 1, got {}", layer, what, v));
}

}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, LayerOptions o)
    : in_(in_features), out_(out_features), bias_(o.bias) {
  check_positive("Linear", "in_features", in_);
  check_positive("Linear", "out_features", out_);
  register_parameter("weight", init_weight(o.init, Shape{out_, in_}, in_, out_, o.dtype));
  if (bias_) {
    const double bound = 1.0 / std::sqrt(double(in_));
    register_parameter("bias", o.init == Init::pytorch_default ? uniform(Shape{out_}, -bound, bound, o.dtype)
                                                               : Tensor::zeros(Shape{out_}, o.dtype));
  }
}

std::string Linear::describe() const { return fmt::format("Linear({}, {}{})", in_, out_, bias_ ? "" : ", bias=false"); }

// y = x·Wᵀ + b  (its vjp/jvp: nodes/linear.hpp)
Value Linear::forward(const Value& x) {
  return bias_ ? nodal::linear(x, parameter(x, "weight"), parameter(x, "bias")) : nodal::linear(x, parameter(x, "weight"));
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::vector<std::int64_t> kernel, ConvOptions conv,
               LayerOptions o)
    : in_(in_channels), out_(out_channels), kernel_(std::move(kernel)), conv_(std::move(conv)), bias_(o.bias) {
  check_positive("Conv2d", "in_channels", in_);
  check_positive("Conv2d", "out_channels", out_);
  if (kernel_.size() == 1) kernel_.push_back(kernel_[0]);
  if (kernel_.size() != 2 || kernel_[0] < 1 || kernel_[1] < 1)
    throw ValueError(fmt::format("Conv2d: kernel must be one or two extents ≥ 1, got [{}]", fmt::join(kernel_, ", ")));
  if (conv_.groups < 1 || in_ % conv_.groups != 0 || out_ % conv_.groups != 0)
    throw ValueError(fmt::format("Conv2d: groups={} must divide in_channels={} and out_channels={}", conv_.groups, in_, out_));
  const std::int64_t fan_in = in_ / conv_.groups * kernel_[0] * kernel_[1];
  const std::int64_t fan_out = out_ / conv_.groups * kernel_[0] * kernel_[1];
  register_parameter("weight",
                     init_weight(o.init, Shape{out_, in_ / conv_.groups, kernel_[0], kernel_[1]}, fan_in, fan_out, o.dtype));
  if (bias_) {
    const double bound = 1.0 / std::sqrt(double(fan_in));
    register_parameter("bias", o.init == Init::pytorch_default ? uniform(Shape{out_}, -bound, bound, o.dtype)
                                                               : Tensor::zeros(Shape{out_}, o.dtype));
  }
}

std::string Conv2d::describe() const {
  std::string extra;
  if (conv_.stride != std::vector<std::int64_t>{1}) extra += fmt::format(", stride={}", fmt::join(conv_.stride, "x"));
  if (conv_.padding.to_string() != "0") extra += fmt::format(", padding={}", conv_.padding.to_string());
  if (conv_.dilation != std::vector<std::int64_t>{1}) extra += fmt::format(", dilation={}", fmt::join(conv_.dilation, "x"));
  if (conv_.groups != 1) extra += fmt::format(", groups={}", conv_.groups);
  if (conv_.algorithm != "auto") extra += fmt::format(", algorithm={}", conv_.algorithm);
  if (!bias_) extra += ", bias=false";
  return fmt::format("Conv2d({}, {}, kernel={}x{}{})", in_, out_, kernel_[0], kernel_[1], extra);
}

Value Conv2d::forward(const Value& x) {
  return bias_ ? nodal::conv2d(x, parameter(x, "weight"), parameter(x, "bias"), conv_)
               : nodal::conv2d(x, parameter(x, "weight"), conv_);
}

std::string ActivationLayer::kind() const {
  switch (f_) {
    case Activation::relu: return "ReLU";
    case Activation::tanh: return "Tanh";
    case Activation::sigmoid: return "Sigmoid";
    case Activation::leaky_relu: return "LeakyReLU";
  }
  return "Activation";
}

Value ActivationLayer::forward(const Value& x) {
  switch (f_) {
    case Activation::relu: return nodal::relu(x);
    case Activation::tanh: return nodal::tanh(x);
    case Activation::sigmoid: return nodal::sigmoid(x);
    case Activation::leaky_relu: return nodal::leaky_relu(x, slope_);
  }
  throw ValueError("nn::ActivationLayer: unknown activation");
}

Value Flatten::forward(const Value& x) { return nodal::flatten(x, start_, end_); }

Dropout::Dropout(double p) : state_(std::make_shared<DropoutState>()) {
  if (!(p >= 0 && p < 1)) throw ValueError(fmt::format("Dropout: p must be in [0, 1), got {}", p));
  state_->p = p;
  state_->seed = next_seed();
}
std::string Dropout::describe() const { return fmt::format("Dropout(p={})", state_->p); }
Value Dropout::forward(const Value& x) { return nodal::dropout(x, state_); }

BatchNorm2d::BatchNorm2d(std::int64_t channels, double eps, double momentum, DType dtype)
    : channels_(channels), state_(BatchNormState::make(channels, dtype, momentum, eps)) {
  register_parameter("weight", Tensor::ones(Shape{channels}, dtype));
  register_parameter("bias", Tensor::zeros(Shape{channels}, dtype));
  // The node updates these very tensors in place (shared buffers), so checkpoints see them.
  register_buffer("running_mean", state_->running_mean);
  register_buffer("running_var", state_->running_var);
}
std::string BatchNorm2d::describe() const { return fmt::format("BatchNorm2d({})", channels_); }
Value BatchNorm2d::forward(const Value& x) {
  if (x.shape().rank() != 4)
    throw ShapeError(fmt::format("BatchNorm2d: input must be [N, C, H, W], got {}", to_string(x.shape())));
  return nodal::batch_norm(x, parameter(x, "weight"), parameter(x, "bias"), state_);
}

std::string Pool2d::kind() const {
  switch (kind_) {
    case PoolKind::max: return "MaxPool2d";
    case PoolKind::average: return "AvgPool2d";
    case PoolKind::global_average: return "GlobalAvgPool2d";
  }
  return "Pool2d";
}
std::string Pool2d::describe() const {
  if (kind_ == PoolKind::global_average) return kind();
  return fmt::format("{}(kernel={}, stride={}, padding={})", kind(), fmt::join(options_.kernel, "x"),
                     options_.stride.empty() ? fmt::format("{}", fmt::join(options_.kernel, "x"))
                                             : fmt::format("{}", fmt::join(options_.stride, "x")),
                     fmt::join(options_.padding, "x"));
}
Value Pool2d::forward(const Value& x) {
  switch (kind_) {
    case PoolKind::max: return nodal::max_pool2d_values(x, options_);
    case PoolKind::average: return nodal::avg_pool2d(x, options_);
    case PoolKind::global_average: return nodal::global_avg_pool2d(x);
  }
  throw ValueError("nn::Pool2d: unknown kind");
}

std::shared_ptr<Linear> linear(std::int64_t in, std::int64_t out, LayerOptions o) { return std::make_shared<Linear>(in, out, o); }
std::shared_ptr<Conv2d> conv2d(std::int64_t in, std::int64_t out, std::vector<std::int64_t> kernel, ConvOptions conv,
                               LayerOptions o) {
  return std::make_shared<Conv2d>(in, out, std::move(kernel), std::move(conv), o);
}
std::shared_ptr<ActivationLayer> relu() { return std::make_shared<ActivationLayer>(Activation::relu); }
std::shared_ptr<ActivationLayer> tanh() { return std::make_shared<ActivationLayer>(Activation::tanh); }
std::shared_ptr<ActivationLayer> sigmoid() { return std::make_shared<ActivationLayer>(Activation::sigmoid); }
std::shared_ptr<ActivationLayer> leaky_relu(double s) { return std::make_shared<ActivationLayer>(Activation::leaky_relu, s); }
std::shared_ptr<Flatten> flatten(std::int64_t start, std::int64_t end) { return std::make_shared<Flatten>(start, end); }
std::shared_ptr<Dropout> dropout(double p) { return std::make_shared<Dropout>(p); }
std::shared_ptr<Pool2d> max_pool2d(Pool2dOptions o) { return std::make_shared<Pool2d>(PoolKind::max, std::move(o)); }
std::shared_ptr<Pool2d> avg_pool2d(Pool2dOptions o) { return std::make_shared<Pool2d>(PoolKind::average, std::move(o)); }
std::shared_ptr<Pool2d> global_avg_pool2d() { return std::make_shared<Pool2d>(PoolKind::global_average); }
std::shared_ptr<BatchNorm2d> batch_norm2d(std::int64_t c, double eps, double momentum) {
  return std::make_shared<BatchNorm2d>(c, eps, momentum);
}

}  // namespace nodal::nn
