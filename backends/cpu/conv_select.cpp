// Which algorithm runs a convolution: the one the node names, or for `auto` the cheapest by the
// algorithms' own cost estimates.
#include <fmt/format.h>

#include "nodal/backends/cpu/conv_algorithm.hpp"
#include "nodal/core/error.hpp"

namespace nodal::cpu {

ConvChoice choose_conv_algorithm(const ConvGeometry& g, DType dtype, std::string_view requested) {
  if (requested != "auto") {
    const ConvAlgorithm* a = find_conv_algorithm(requested);
    if (!a) {
      std::string names;
      for (const ConvAlgorithm* known : conv_algorithms()) names += fmt::format("{} ", known->name());
      throw ValueError(fmt::format("conv{}d: unknown algorithm '{}'; known: auto {}", g.rank, requested, names));
    }
    std::string why;
    if (!a->supports(g, &why))
      throw ValueError(fmt::format("conv{}d: algorithm '{}' cannot run {}: {}", g.rank, requested, g.key(), why));
    return {a, fmt::format("{}: requested", a->name())};
  }
  ConvChoice best;
  double best_seconds = 0;
  for (const ConvAlgorithm* a : conv_algorithms()) {
    if (!a->supports(g)) continue;
    const double s = a->estimated_seconds(g, dtype);
    if (!best.algorithm || s < best_seconds) {
      best.algorithm = a;
      best_seconds = s;
    }
  }
  if (!best.algorithm) throw BackendError(fmt::format("conv{}d: no CPU algorithm can run {}", g.rank, g.key()));
  best.reason = fmt::format("auto: {} (estimated {:.3g} ms)", best.algorithm->name(), best_seconds * 1e3);
  return best;
}

}  // namespace nodal::cpu
