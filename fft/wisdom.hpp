#pragma once
// Process-wide store of measured planner choices: (precision, n, sign) → index of the winning
// candidate in the planner's deterministic candidate list, plus that candidate's algorithm name so a
// stale or corrupt file is detected on load.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace nodal::fft::detail {

struct WisdomKey {
  int precision;  // bytes per Real: 4 or 8
  std::size_t n;
  int sign;
  auto operator<=>(const WisdomKey&) const = default;
};
struct WisdomEntry {
  std::size_t candidate;
  std::string algorithm;
};

std::optional<WisdomEntry> wisdom_lookup(const WisdomKey& key);
void wisdom_store(const WisdomKey& key, const WisdomEntry& entry);

// Names of the candidates the planner enumerates for (n, precision); used to validate loaded wisdom.
std::vector<std::string> candidate_names(std::size_t n);

}  // namespace nodal::fft::detail
