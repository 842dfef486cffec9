#pragma once
// How the CPU backend picks a convolution algorithm, and how that choice is shown.
//
//   explicit name  the algorithm named by the node (ValueError if unknown or unable)
//   auto           the smallest calibrated cost estimate among the algorithms that support the
//                  geometry: estimated_seconds(g) · conv_cost::calibration(name)
//   measure        time forward + backward of every candidate on scratch tensors of the real
//                  shapes (a warm-up each, then the min over up to 3 rounds of all candidates),
//                  once per (geometry, dtype, backend),
//                  and cache the fastest for the life of the process (like cuDNN's find /
//                  PyTorch's cudnn.benchmark). Candidates whose estimate exceeds
//                  measure_skip_factor × the best estimate are not timed.
//
// Every choice is logged at debug level (NODAL_LOG=debug); explain_conv_choice describes a
// choice without running a convolution (`nodal op conv2d ... --explain`).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/backends/cpu/conv_algorithm.hpp"

namespace nodal::cpu {

inline constexpr double measure_skip_factor = 20.0;

// One algorithm's standing for one geometry.
struct ConvCandidate {
  std::string name;
  bool supported = false;
  std::string why_not;                      // when unsupported
  double raw_estimate_s = 0;                // the algorithm's own estimated_seconds
  double estimate_s = 0;                    // × its calibration factor (what auto compares)
  std::optional<double> measured_s;         // forward + backward, from the measure cache
  bool skipped_by_measure = false;          // estimate > measure_skip_factor × best: not timed
};

struct ConvExplanation {
  std::string key;        // ConvGeometry::key() + dtype, e.g. "conv2d n64 c1->32 … float32"
  std::string requested;  // the node's algorithm attribute
  std::vector<ConvCandidate> candidates;  // supported ones by increasing estimate, then the others
  std::string chosen;     // empty when measure has not timed this geometry yet
  std::string reason;     // the line choose_conv_algorithm would log
};

// Never runs a convolution: for `measure` it reports the cached timings if this geometry was
// already timed in this process, else the estimates and what would be timed.
ConvExplanation explain_conv_choice(const ConvGeometry& g, DType dtype, std::string_view requested);
// Multi-line text for people: geometry, one row per algorithm, the choice.
std::string format_explanation(const ConvExplanation& e);

// How many candidate timings `measure` has run in this process (tests check caching with it).
std::int64_t conv_measure_runs();
// Forgets every measured choice (tests; a program whose machine load changed).
void clear_conv_measure_cache();

}  // namespace nodal::cpu
