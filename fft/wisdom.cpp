// Wisdom file: a text header line, one line per measured choice, and an end line with the count.
//   nodal-fft-wisdom 1
//   f32 1024 -1 0 stockham
//   end 1
// Loading parses the whole file first and installs nothing unless every line is well formed and names
// a candidate that exists for that length, so a corrupt file raises IoError and leaves wisdom intact.
#include "nodal/fft/wisdom.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "nodal/core/error.hpp"
#include "nodal/fft/plan.hpp"

namespace nodal::fft {
namespace detail {
namespace {

std::mutex& wisdom_mutex() {
  static std::mutex m;
  return m;
}
std::map<WisdomKey, WisdomEntry>& wisdom_map() {
  static std::map<WisdomKey, WisdomEntry> w;
  return w;
}
constexpr const char* header = "nodal-fft-wisdom 1";

}  // namespace

std::optional<WisdomEntry> wisdom_lookup(const WisdomKey& key) {
  std::lock_guard lock(wisdom_mutex());
  auto& w = wisdom_map();
  if (auto it = w.find(key); it != w.end()) return it->second;
  return std::nullopt;
}

void wisdom_store(const WisdomKey& key, const WisdomEntry& entry) {
  std::lock_guard lock(wisdom_mutex());
  wisdom_map()[key] = entry;
}

}  // namespace detail

void save_wisdom(const std::string& path) {
  std::map<detail::WisdomKey, detail::WisdomEntry> copy;
  {
    std::lock_guard lock(detail::wisdom_mutex());
    copy = detail::wisdom_map();
  }
  std::ofstream out(path);
  if (!out) throw IoError(fmt::format("fft::save_wisdom: cannot open '{}' for writing", path));
  out << detail::header << '\n';
  for (const auto& [key, entry] : copy)
    out << fmt::format("{} {} {} {} {}\n", key.precision == 4 ? "f32" : "f64", key.n, key.sign, entry.candidate,
                       entry.algorithm);
  out << fmt::format("end {}\n", copy.size());
  if (!out) throw IoError(fmt::format("fft::save_wisdom: writing '{}' failed", path));
}

void load_wisdom(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("fft::load_wisdom: cannot open '{}'", path));
  std::string line;
  if (!std::getline(in, line) || line != detail::header)
    throw IoError(fmt::format("fft::load_wisdom: '{}' is not a nodal FFT wisdom file (first line '{}', expected '{}')",
                              path, line.substr(0, 60), detail::header));
  std::vector<std::pair<detail::WisdomKey, detail::WisdomEntry>> entries;
  std::size_t line_number = 1;
  bool ended = false;
  while (std::getline(in, line)) {
    ++line_number;
    auto bad = [&](const std::string& why) {
      return IoError(fmt::format("fft::load_wisdom: '{}' line {} is corrupt ({}): '{}'", path, line_number, why,
                                 line.substr(0, 80)));
    };
    if (ended) throw bad("text after the end line");
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first == "end") {
      std::size_t count = 0;
      std::string rest;
      if (!(fields >> count) || (fields >> rest)) throw bad("malformed end line");
      if (count != entries.size())
        throw bad(fmt::format("end line says {} entries, the file holds {}", count, entries.size()));
      ended = true;
      continue;
    }
    detail::WisdomKey key{};
    detail::WisdomEntry entry{};
    std::string rest;
    if (first == "f32") key.precision = 4;
    else if (first == "f64") key.precision = 8;
    else throw bad("precision must be f32 or f64");
    long long n = 0;
    if (!(fields >> n >> key.sign >> entry.candidate >> entry.algorithm) || (fields >> rest))
      throw bad("expected: precision n sign candidate algorithm");
    if (n < 1 || n > (1ll << 40)) throw bad(fmt::format("length {} out of range", n));
    if (key.sign != -1 && key.sign != 1) throw bad(fmt::format("sign {} is not ±1", key.sign));
    key.n = std::size_t(n);
    const auto names = detail::candidate_names(key.n);
    if (entry.candidate >= names.size() || names[entry.candidate] != entry.algorithm)
      throw bad(fmt::format("length {} has no candidate {} named '{}'", n, entry.candidate, entry.algorithm));
    entries.emplace_back(key, entry);
  }
  if (!ended) throw IoError(fmt::format("fft::load_wisdom: '{}' is truncated (no end line)", path));
  for (const auto& [key, entry] : entries) detail::wisdom_store(key, entry);
}

void forget_wisdom() {
  std::lock_guard lock(detail::wisdom_mutex());
  detail::wisdom_map().clear();
}

}  // namespace nodal::fft
