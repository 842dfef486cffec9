#pragma once
// Shared by test_opencl_conv.cpp and test_opencl_pool.cpp: one node's forward, vjp and jvp on the
// CPU backend and on the OpenCL device, every result compared under the rounding bound of a sum.
//
// Tolerance. Each result element is a sum of at most m products (m = taps · channels for y and
// x̄, batch · pixels for w̄ and b̄, twice that plus one for ẏ). Whatever the order of summation,
// |fl(Σ tᵢ) − Σ tᵢ| ≤ γ_m · Σ|tᵢ| with γ_m = m·u/(1 − m·u) ≈ m·ε/2 (Higham, Thm 3.1, u = ε/2),
// plus the rounding of the stored result. The CPU and the device each err by that, so
//     |device − cpu| ≤ (m + 2) · ε · Σ|tᵢ|
// per element. Σ|tᵢ| is the same node run on the CPU with every operand replaced by its absolute
// value (all terms then add without cancellation), so the check is per element and rigorous: an
// element with no terms must come out exactly zero, and an element computed from a wrong tap or
// channel is off by about its own scale, i.e. by 1/ε ≫ m units. Errors are reported in units of
// ε · Σ|tᵢ|; typical measured values are far below m (random signs: errors grow like √m).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nodal/core/registry.hpp"
#include "opencl_parity_util.hpp"

namespace nodal::test {

inline Tensor abs_of(const Tensor& t) {
  if (!t.defined()) return t;
  static const auto node = Registry::instance().make("abs", {});
  return apply1(*node, {t.to(Backend::cpu)});
}

// Runs `node` on both backends (device operands as transposed views when `strided`), with random
// cotangent and tangents, and checks every result against (m + 2) · ε · Σ|terms|.
inline double check_parity(const Node& node, const std::vector<Tensor>& inputs, std::int64_t m, bool strided,
                           const std::string& what, std::uint64_t seed, std::size_t outputs = 1) {
  std::vector<TensorSpec> specs;
  for (const Tensor& t : inputs) specs.push_back({t.shape(), t.dtype()});
  const Tensor g = Tensor::randn(node.infer(specs)[0].shape, seed, DType::float64).astype(inputs[0].dtype());
  std::vector<Tensor> tangents;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    tangents.push_back(Tensor::randn(inputs[i].shape(), seed + 1 + i, DType::float64).astype(inputs[i].dtype()));
  const NodeOutcome cpu = run_node(node, inputs, g, tangents, Backend::cpu, false, outputs);
  const NodeOutcome cl = run_node(node, inputs, g, tangents, Backend::opencl, strided, outputs);
  std::vector<Tensor> abs_inputs, abs_tangents;
  for (const Tensor& t : inputs) abs_inputs.push_back(abs_of(t));
  for (const Tensor& t : tangents) abs_tangents.push_back(abs_of(t));
  const NodeOutcome scale = run_node(node, abs_inputs, abs_of(g), abs_tangents, Backend::cpu, false, outputs);
  const double bound = double(m + 2);
  double worst = 0;
  const auto take = [&](const Tensor& d, const Tensor& c, const Tensor& s, const std::string& which) {
    if (!c.defined()) return;
    REQUIRE(d.defined());
    CHECK(d.backend() == Backend::opencl);
    const double e = max_error(d, c, &s);
    const std::string context = what + " " + which + " " + std::string(dtype_name(inputs[0].dtype())) +
                                (strided ? " (strided views)" : "");
    INFO(context);
    CHECK(e <= bound);  // NaN fails too
    worst = std::max(worst, std::isnan(e) ? INFINITY : e);
  };
  take(cl.outputs[0], cpu.outputs[0], scale.outputs[0], "forward");
  for (std::size_t i = 0; i < cpu.cotangents.size(); ++i) take(cl.cotangents[i], cpu.cotangents[i], scale.cotangents[i], "vjp");
  take(cl.tangent, cpu.tangent, scale.tangent, "jvp");
  for (std::size_t i = 0; i < cpu.partial_tangents.size(); ++i)
    take(cl.partial_tangents[i], cpu.partial_tangents[i], scale.partial_tangents[i], "jvp (one tangent)");
  return worst;
}

}  // namespace nodal::test
