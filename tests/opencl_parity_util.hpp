#pragma once
// The harness every OpenCL parity test uses: run one node's forward, vjp and jvp on the CPU
// backend and on the current OpenCL device from the same inputs, and measure how far the device
// results are from the CPU's.
//
// Two error measures, both in units of the dtype's epsilon ε:
//   max_error       |a − e| / (ε · max(|e|, 1)) per element: for pointwise results, whose error
//                   is a few roundings of each element;
//   max_norm_error  max|a − e| / (ε · max|e|): for results that are sums of many products (GEMM,
//                   convolution, FFT, softmax denominators), whose rounding error is bounded by
//                   (terms) · ε · Σ|products|, i.e. relative to the result's scale, not to each
//                   (possibly cancelled, near-zero) element. Each test states its bound.
// NaN (NaN or infinity in one result only) is returned as NaN, so `CHECK(e <= bound)` fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nodal/core/node.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal::test {

inline double epsilon(DType d) {
  return d == DType::float32 || d == DType::complex64 ? double(std::numeric_limits<float>::epsilon())
                                                      : std::numeric_limits<double>::epsilon();
}

// Real view of a tensor as doubles (complex values as interleaved re, im), on the host.
inline std::vector<double> host_values(const Tensor& t) {
  const Tensor h = t.to(Backend::cpu);
  if (!is_complex(h.dtype())) return h.to_vector<double>();
  std::vector<double> out;
  for (const auto& z : h.to_vector<std::complex<double>>()) {
    out.push_back(z.real());
    out.push_back(z.imag());
  }
  return out;
}

// `scale`, when given, replaces max(|e|, 1) per element.
inline double max_error(const Tensor& actual, const Tensor& expected, const Tensor* scale = nullptr) {
  REQUIRE(actual.defined());
  REQUIRE(expected.defined());
  REQUIRE(actual.shape() == expected.shape());
  CHECK(actual.dtype() == expected.dtype());
  const auto a = host_values(actual);
  const auto e = host_values(expected);
  const auto s = scale ? host_values(*scale) : std::vector<double>();
  const double eps = epsilon(expected.dtype());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(e[i])) {
      if (std::isnan(a[i]) != std::isnan(e[i])) return std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    if (std::isinf(a[i]) || std::isinf(e[i])) {
      if (a[i] != e[i]) return std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const double unit = scale ? std::max(s[i], std::numeric_limits<double>::min()) : std::max(std::abs(e[i]), 1.0);
    worst = std::max(worst, std::abs(a[i] - e[i]) / (eps * unit));
  }
  return worst;
}

inline double max_norm_error(const Tensor& actual, const Tensor& expected) {
  REQUIRE(actual.defined());
  REQUIRE(expected.defined());
  REQUIRE(actual.shape() == expected.shape());
  CHECK(actual.dtype() == expected.dtype());
  const auto a = host_values(actual);
  const auto e = host_values(expected);
  double scale = std::numeric_limits<double>::min(), diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(e[i])) return std::numeric_limits<double>::quiet_NaN();
    if (std::isnan(a[i])) continue;
    scale = std::max(scale, std::abs(e[i]));
    diff = std::max(diff, std::abs(a[i] - e[i]));
  }
  return diff / (epsilon(expected.dtype()) * scale);
}

// The same values as `host`, on the device; as a transposed (non-contiguous) view of its last two
// axes when `strided`, so kernels are also checked on views.
inline Tensor on_device(const Tensor& host, bool strided = false) {
  if (!strided || host.rank() < 2) return host.to(Backend::opencl);
  const int r = host.rank();
  return host.transpose(r - 2, r - 1).contiguous().to(Backend::opencl).transpose(r - 2, r - 1);
}

struct NodeOutcome {
  std::vector<Tensor> outputs;     // every output of the node
  std::vector<Tensor> cotangents;  // of every input (undefined where the node gives none)
  Tensor tangent;                  // of output 0, all input tangents given
  std::vector<Tensor> partial_tangents;  // of output 0, one input tangent at a time (2+ inputs)
};

// Runs `node` (with `outputs` outputs) on `backend`: forward, then vjp with cotangent `g` for
// output 0 (wanting every input), then jvp with all of `tangents`, then one at a time.
// An undefined tangent is left undefined (e.g. for integer-valued inputs).
inline NodeOutcome run_node(const Node& node, const std::vector<Tensor>& inputs, const Tensor& g,
                            const std::vector<Tensor>& tangents, Backend backend, bool strided = false,
                            std::size_t outputs = 1) {
  const auto place = [&](const Tensor& t) {
    if (!t.defined()) return t;
    return backend == Backend::cpu ? t.to(Backend::cpu) : on_device(t, strided);
  };
  std::vector<Tensor> in, tan;
  for (const Tensor& t : inputs) in.push_back(place(t));
  for (const Tensor& t : tangents) tan.push_back(place(t));
  const NodeImpl& impl = node.impl(backend);
  NodeOutcome o;
  o.outputs.resize(outputs);
  impl.forward(ForwardCall{node, in, o.outputs});
  o.cotangents.resize(in.size());
  const std::vector<std::uint8_t> wanted(in.size(), 1);
  std::vector<Tensor> cots(outputs);
  cots[0] = place(g);
  impl.vjp(VjpCall{node, in, o.outputs, cots, o.cotangents, wanted});
  if (!tan.empty()) {
    std::vector<Tensor> out_tangent(outputs);
    impl.jvp(JvpCall{node, in, o.outputs, tan, out_tangent});
    o.tangent = out_tangent[0];
    for (std::size_t i = 0; i < in.size() && in.size() > 1; ++i) {
      if (!tan[i].defined()) continue;
      std::vector<Tensor> one(in.size());
      one[i] = tan[i];
      std::vector<Tensor> t(outputs);
      impl.jvp(JvpCall{node, in, o.outputs, one, t});
      o.partial_tangents.push_back(t[0]);
    }
  }
  return o;
}

// Worst max_norm_error over every result of the two outcomes (outputs, cotangents, tangents), each
// result checked to live on the device. For nodes whose results are all sums of products.
inline double worst_norm_error(const NodeOutcome& device, const NodeOutcome& cpu) {
  double worst = 0;
  const auto take = [&](const Tensor& d, const Tensor& c) {
    if (!c.defined()) return;
    REQUIRE(d.defined());
    CHECK(d.backend() == Backend::opencl);
    worst = std::max(worst, max_norm_error(d, c));
    if (std::isnan(max_norm_error(d, c))) worst = std::numeric_limits<double>::quiet_NaN();
  };
  for (std::size_t i = 0; i < cpu.outputs.size(); ++i) take(device.outputs[i], cpu.outputs[i]);
  for (std::size_t i = 0; i < cpu.cotangents.size(); ++i) take(device.cotangents[i], cpu.cotangents[i]);
  take(device.tangent, cpu.tangent);
  for (std::size_t i = 0; i < cpu.partial_tangents.size(); ++i) take(device.partial_tangents[i], cpu.partial_tangents[i]);
  return worst;
}

}  // namespace nodal::test
