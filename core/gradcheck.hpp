#pragma once
// gradcheck: does a node's (or a whole expression's) analytic derivative match the function?
//
// Checks, each reported separately (docs/gradcheck.md gives the formulas):
//   jacobian_vjp     the full Jacobian from vjp rows (Execution::backward, one basis cotangent per
//                    output coordinate) against central differences (f(x+εe) − f(x−εe)) / 2ε
//   jacobian_jvp     the full Jacobian from jvp columns (Graph::jvp, one basis tangent per input
//                    coordinate) against the same central differences
//   projection       fast mode only, replacing the two above: vᵀJu by one directional central
//                    difference against ⟨Jᵀv, u⟩ from backward, for several random unit u, v
//   jvp_vs_vjp       ⟨v, J u⟩ computed by forward mode and ⟨Jᵀv, u⟩ by reverse mode agree
//   retain_bitwise   backward run twice on one Execution (retain = true) gives identical bits
//   zero_cotangent   a zero cotangent gives exactly zero gradients
//   nonzero_jacobian the analytic Jacobian is not identically zero (a check that compares zeros
//                    with zeros would pass vacuously), unless allow_zero_jacobian
// An entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
//
// Complex tensors are treated as real functions of (Re, Im) pairs: every complex element is two
// real coordinates, perturbed separately. Cotangents follow PyTorch's convention: for a real loss
// L, the cotangent of a complex z is ∂L/∂Re z + i·∂L/∂Im z; a cotangent ȳ = a + ib on a complex
// output stands for L = a·Re y + b·Im y. Tangents are ż = ∂Re z + i·∂Im z.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/core/graph.hpp"
#include "nodal/core/tensor.hpp"

namespace nodal {

struct GradcheckOptions {
  // PyTorch's float64 defaults. Central differences err by O(ε²·|f'''|) (truncation) plus
  // O(u·|f|/ε) (round-off, u = 1.1e-16 in float64): at ε = 1e-6 both stay below ~1e-10,
  // far inside atol. For float32 use gradcheck_float32_options().
  double eps = 1e-6, atol = 1e-5, rtol = 1e-3;  // pass = |a − n| ≤ atol + rtol·|n|
  bool fast = false;  // random-projection mode for large inputs: vᵀJu, several random (u, v)
  std::uint64_t seed = 0;
  bool allow_zero_jacobian = false;  // otherwise a Jacobian that is identically zero FAILS
  std::vector<std::size_t> no_grad_inputs;  // indices of inputs not differentiated (e.g. labels)
};

// Defaults for float32 inputs: eps 1e-3, atol 1e-3, rtol 1e-2. With unit round-off u = 6e-8 the
// round-off error of a central difference is about u·|f|/ε = 6e-5·|f| at ε = 1e-3 and the
// truncation error ε²·|f'''|/6 ≈ 2e-7·|f'''|; the optimum ε ≈ (3u)^(1/3) ≈ 6e-3. A float64
// step of 1e-6 would drown in round-off (6e-2·|f|).
GradcheckOptions gradcheck_float32_options();

// One compared entry: the worst one of a check.
struct GradcheckEntry {
  std::size_t output = 0;                 // which output (Jacobian checks)
  std::vector<std::int64_t> output_index;  // element of that output
  bool output_complex = false;            // the output is complex: the entry is a Re or Im part
  bool output_imag = false;               // imaginary part of a complex element
  std::size_t input = 0;
  std::vector<std::int64_t> input_index;
  bool input_complex = false;
  bool input_imag = false;
  double analytic = 0, numeric = 0;  // for jvp_vs_vjp: the jvp value and the vjp value
  double error = 0, allowed = 0;     // |analytic − numeric| and atol + rtol·|numeric|
};

struct GradcheckCheck {
  std::string name;  // "jacobian_vjp", "jacobian_jvp", "projection", "jvp_vs_vjp", ...
  bool passed = true;
  std::string detail;                   // one line, why it failed (or what was compared)
  std::optional<GradcheckEntry> worst;  // the entry with the largest error/allowed ratio
  std::int64_t compared = 0, failures = 0;
};

class GradcheckResult {
 public:
  GradcheckResult() = default;
  GradcheckResult(std::vector<GradcheckCheck> checks, std::string header);

  explicit operator bool() const { return passed_; }
  bool passed() const { return passed_; }
  const std::string& report() const { return report_; }
  std::span<const GradcheckCheck> checks() const { return checks_; }
  const GradcheckCheck* find(std::string_view name) const;  // nullptr when that check did not run
  const GradcheckCheck* first_failure() const;              // nullptr when all passed

 private:
  std::vector<GradcheckCheck> checks_;
  std::string report_;
  bool passed_ = true;
};
std::ostream& operator<<(std::ostream& out, const GradcheckResult& result);

using GraphFunction = std::function<std::vector<Value>(std::span<const Value> inputs)>;

// Builds a fresh Graph, makes one graph input per tensor ("input0", ...) and calls f to get the
// outputs; all outputs are checked. Parameters and constants that f creates are held fixed. Errors in f (shapes, dtypes) propagate; errors raised by a
// rule during a check (e.g. a missing jvp) fail that check and appear in the report.
GradcheckResult gradcheck(const GraphFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
// Convenience: a single node applied to the inputs (all its outputs checked).
GradcheckResult gradcheck(std::shared_ptr<const Node> node, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace nodal
