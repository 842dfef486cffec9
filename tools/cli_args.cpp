// Argument parsing shared by the subcommands of the nodal tool.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/tools/cli.hpp"

namespace nodal::cli {

const std::vector<std::string>& Args::all(std::string_view flag) const {
  static const std::vector<std::string> none;
  const auto it = flags.find(flag);
  return it == flags.end() ? none : it->second;
}

std::string Args::one(std::string_view flag, std::string_view fallback) const {
  const std::vector<std::string>& values = all(flag);
  if (values.size() > 1) throw UsageError(fmt::format("--{} was given {} times; give it once", flag, values.size()));
  return values.empty() ? std::string(fallback) : values.front();
}

Args parse_args(std::string_view command, const std::vector<std::string>& words, const std::vector<std::string_view>& valued,
                const std::vector<std::string_view>& switches) {
  Args args;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.size() < 3 || !w.starts_with("--")) {
      if (w.starts_with("-") && w.size() > 1) throw UsageError(fmt::format("{}: unknown option '{}'", command, w));
      args.positional.push_back(w);
      continue;
    }
    std::string name = w.substr(2), value;
    const std::size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
    if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      if (inline_value) throw UsageError(fmt::format("{}: --{} takes no value", command, name));
      args.flags[name].push_back("");
    } else if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
      if (!inline_value) {
        if (i + 1 >= words.size()) throw UsageError(fmt::format("{}: --{} needs a value", command, name));
        value = words[++i];
      }
      args.flags[name].push_back(value);
    } else {
      std::vector<std::string> known;
      for (std::string_view f : valued) known.push_back(fmt::format("--{}", f));
      for (std::string_view f : switches) known.push_back(fmt::format("--{}", f));
      throw UsageError(fmt::format("{}: unknown option '--{}' (options: {})", command, name, fmt::join(known, ", ")));
    }
  }
  return args;
}

Attributes parse_sets(const NodeTypeInfo& info, const std::vector<std::string>& sets) {
  Attributes attributes;
  for (const std::string& set : sets) {
    const std::size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(fmt::format("--set '{}': expected key=value", set));
    const std::string key = set.substr(0, eq);
    const auto spec = std::find_if(info.attributes.begin(), info.attributes.end(), [&](const AttrSpec& s) { return s.name == key; });
    if (spec == info.attributes.end()) {
      std::vector<std::string_view> names;
      for (const AttrSpec& s : info.attributes) names.push_back(s.name);
      throw ValueError(fmt::format("node '{}' has no attribute '{}' (attributes: {})", info.name, key,
                                   names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
    attributes.set(key, parse_attr(key, std::string_view(set).substr(eq + 1), spec->default_value));
  }
  return attributes;
}

void check_input_count(const NodeTypeInfo& info, std::size_t given, std::string_view what) {
  const bool too_few = std::int64_t(given) < info.min_inputs;
  const bool too_many = info.max_inputs >= 0 && std::int64_t(given) > info.max_inputs;
  if (!too_few && !too_many) return;
  const std::string expected = info.max_inputs < 0 ? fmt::format("at least {}", info.min_inputs)
                               : info.min_inputs == info.max_inputs ? fmt::format("{}", info.min_inputs)
                                                                    : fmt::format("{} to {}", info.min_inputs, info.max_inputs);
  throw UsageError(fmt::format("node '{}' takes {} input(s); {} given with {}", info.name, expected, given, what));
}

}  // namespace nodal::cli
