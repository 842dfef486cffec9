#pragma once
// Internals of gradcheck shared by core/gradcheck.cpp and core/gradcheck_report.cpp: tensors as
// vectors of real coordinates, and locating a coordinate again for the report.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nodal/core/gradcheck.hpp"
#include "nodal/core/node.hpp"

namespace nodal::gradcheck_detail {

// Real coordinates of a tensor: numel for real dtypes, 2·numel for complex (Re, Im interleaved).
std::int64_t coord_count(const TensorSpec& spec);
std::vector<double> to_coords(const Tensor& t);  // any backend, any layout
Tensor from_coords(const TensorSpec& spec, std::span<const double> coords);  // a CPU tensor

// Element index and part of coordinate `c` of a tensor of `spec`.
struct Located {
  std::vector<std::int64_t> index;
  bool imag = false;
};
Located locate(const TensorSpec& spec, std::int64_t c);

// "output0[1, 2]" or "input1[0].im"
std::string entry_place(std::string_view prefix, std::size_t which, const std::vector<std::int64_t>& index, bool imag,
                        bool is_complex_tensor);
std::string describe_entry(const GradcheckCheck& check, const GradcheckEntry& e);

// Adds the comparison |a − n| ≤ atol + rtol·|n| to `check`, keeping the worst entry. `fill` is
// called only when the entry becomes the worst (it fills the indices).
template <class Fill>
void compare(GradcheckCheck& check, double& worst_ratio, double analytic, double numeric, const GradcheckOptions& o,
             Fill&& fill) {
  const double error = analytic > numeric ? analytic - numeric : numeric - analytic;
  const double allowed = o.atol + o.rtol * (numeric < 0 ? -numeric : numeric);
  ++check.compared;
  const bool ok = error <= allowed;  // false for NaN
  if (!ok) {
    ++check.failures;
    check.passed = false;
  }
  const double ratio = allowed > 0 && error == error ? error / allowed : (error == 0 ? 0.0 : 1e300);
  if (ratio > worst_ratio || !check.worst) {
    worst_ratio = ratio;
    GradcheckEntry e;
    e.analytic = analytic;
    e.numeric = numeric;
    e.error = error;
    e.allowed = allowed;
    fill(e);
    check.worst = std::move(e);
  }
}

}  // namespace nodal::gradcheck_detail
