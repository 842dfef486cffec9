#include "nodal/backends/cpu/conv_algorithm.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "nodal/backends/cpu/conv_common.hpp"
#include "nodal/core/error.hpp"

namespace nodal::cpu {
namespace {

struct AlgorithmTable {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<ConvAlgorithm>, std::less<>> by_name;
};
AlgorithmTable& table() {
  static AlgorithmTable t;
  return t;
}

}  // namespace

std::unique_ptr<ConvSaved> ConvAlgorithm::forward_with_bias(const ConvGeometry& g, const Tensor& x, const Tensor& w,
                                                            const Tensor& b, Tensor& y, bool keep) const {
  std::unique_ptr<ConvSaved> saved = forward(g, x, w, y, keep);
  conv_detail::add_bias(y, b, g.batch, g.out_channels, g.out_pixels());
  return saved;
}

bool register_conv_algorithm(std::unique_ptr<ConvAlgorithm> algorithm) {
  AlgorithmTable& t = table();
  std::lock_guard lock(t.mutex);
  std::string name(algorithm->name());
  if (t.by_name.contains(name)) throw ValueError(fmt::format("conv: algorithm '{}' registered twice", name));
  t.by_name.emplace(std::move(name), std::move(algorithm));
  return true;
}

const ConvAlgorithm* find_conv_algorithm(std::string_view name) {
  AlgorithmTable& t = table();
  std::lock_guard lock(t.mutex);
  const auto it = t.by_name.find(name);
  return it == t.by_name.end() ? nullptr : it->second.get();
}

std::vector<const ConvAlgorithm*> conv_algorithms() {
  AlgorithmTable& t = table();
  std::lock_guard lock(t.mutex);
  std::vector<const ConvAlgorithm*> all;
  for (const auto& [name, algorithm] : t.by_name) all.push_back(algorithm.get());
  return all;
}

}  // namespace nodal::cpu
