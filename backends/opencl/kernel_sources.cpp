#include "nodal/backends/opencl/kernel_sources.hpp"

#include <map>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

struct Sources {
  std::mutex mutex;
  std::map<std::string_view, std::string_view, std::less<>> texts;  // views of static arrays
};
Sources& sources() {
  static Sources* instance = new Sources;  // filled by static initialisers of generated files
  return *instance;
}

}  // namespace

bool register_kernel_source(std::string_view name, std::string_view text) {
  std::lock_guard lock(sources().mutex);
  sources().texts[name] = text;
  return true;
}

std::string_view kernel_source(std::string_view name) {
  std::lock_guard lock(sources().mutex);
  auto it = sources().texts.find(name);
  if (it == sources().texts.end()) {
    std::vector<std::string_view> names;
    for (const auto& [n, t] : sources().texts) names.push_back(n);
    throw BackendError(fmt::format("opencl: no embedded kernel source '{}.cl' (embedded: {})", name, fmt::join(names, ", ")));
  }
  return it->second;
}

std::vector<std::string_view> kernel_source_names() {
  std::lock_guard lock(sources().mutex);
  std::vector<std::string_view> names;
  for (const auto& [n, t] : sources().texts) names.push_back(n);
  return names;
}

}  // namespace nodal::opencl
