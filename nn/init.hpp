#pragma once
// Parameter initialization, seeded. Every draw takes the next seed of one process-wide stream set
// by manual_seed, so a network built in the same order after the same manual_seed is identical
// (the tensors themselves come from the counter-based Tensor::rand/randn: same on any thread count).
//
//   fan_in  = in_channels·|kernel|  (conv)  or  in_features  (linear)
//   kaiming_uniform(a):  U(−b, b),  b = gain·√(3 / fan_in),  gain = √(2 / (1 + a²))
//   kaiming_normal(a):   N(0, gain² / fan_in)
//   xavier_uniform:      U(−b, b),  b = √(6 / (fan_in + fan_out))
//   xavier_normal:       N(0, 2 / (fan_in + fan_out))
// PyTorch's default for Conv*d and Linear: weight kaiming_uniform(a = √5) — that is U(±1/√fan_in) —
// and bias U(±1/√fan_in).
#include <cstdint>

#include "nodal/core/tensor.hpp"

namespace nodal::nn {

void manual_seed(std::uint64_t seed);
std::uint64_t next_seed();  // the next seed of the stream

enum class Init { pytorch_default, kaiming_uniform, kaiming_normal, xavier_uniform, xavier_normal, zeros };

Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::float32);
Tensor kaiming_uniform(const Shape& shape, std::int64_t fan_in, double a = 0.0, DType dtype = DType::float32);
Tensor kaiming_normal(const Shape& shape, std::int64_t fan_in, double a = 0.0, DType dtype = DType::float32);
Tensor xavier_uniform(const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, DType dtype = DType::float32);
Tensor xavier_normal(const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, DType dtype = DType::float32);
// A weight of `shape` by scheme (kaiming_* with a = 0, i.e. ReLU gain √2).
Tensor init_weight(Init scheme, const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, DType dtype = DType::float32);

}  // namespace nodal::nn
