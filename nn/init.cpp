#include "nodal/nn/init.hpp"

#include <atomic>
#include <cmath>

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal::nn {
namespace {

std::atomic<std::uint64_t> stream_seed{0x5EED};
std::atomic<std::uint64_t> stream_position{0};

void check_fan(std::string_view what, std::int64_t fan) {
  if (fan < 1) throw ValueError(fmt::format("nn::{}: fan must be ≥ 1, got {}", what, fan));
}

}  // namespace

void manual_seed(std::uint64_t seed) {
  stream_seed = seed;
  stream_position = 0;
}

std::uint64_t next_seed() {
  // splitmix64 of (seed, position): distinct, well-mixed seeds for consecutive draws.
  std::uint64_t z = stream_seed.load() + 0x9E3779B97F4A7C15ULL * (stream_position.fetch_add(1) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Tensor uniform(const Shape& shape, double low, double high, DType dtype) {
  return Tensor::rand(shape, next_seed(), dtype, low, high);
}

Tensor kaiming_uniform(const Shape& shape, std::int64_t fan_in, double a, DType dtype) {
  check_fan("kaiming_uniform", fan_in);
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / double(fan_in));
  return uniform(shape, -bound, bound, dtype);
}

Tensor kaiming_normal(const Shape& shape, std::int64_t fan_in, double a, DType dtype) {
  check_fan("kaiming_normal", fan_in);
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  return Tensor::randn(shape, next_seed(), dtype, 0.0, gain / std::sqrt(double(fan_in)));
}

Tensor xavier_uniform(const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, DType dtype) {
  check_fan("xavier_uniform", fan_in + fan_out);
  const double bound = std::sqrt(6.0 / double(fan_in + fan_out));
  return uniform(shape, -bound, bound, dtype);
}

Tensor xavier_normal(const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, DType dtype) {
  check_fan("xavier_normal", fan_in + fan_out);
  return Tensor::randn(shape, next_seed(), dtype, 0.0, std::sqrt(2.0 / double(fan_in + fan_out)));
}

Tensor init_weight(Init scheme, const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, DType dtype) {
  switch (scheme) {
    case Init::pytorch_default: return kaiming_uniform(shape, fan_in, std::sqrt(5.0), dtype);
    case Init::kaiming_uniform: return kaiming_uniform(shape, fan_in, 0.0, dtype);
    case Init::kaiming_normal: return kaiming_normal(shape, fan_in, 0.0, dtype);
    case Init::xavier_uniform: return xavier_uniform(shape, fan_in, fan_out, dtype);
    case Init::xavier_normal: return xavier_normal(shape, fan_in, fan_out, dtype);
    case Init::zeros: return Tensor::zeros(shape, dtype);
  }
  throw ValueError("nn::init_weight: unknown scheme");
}

}  // namespace nodal::nn
