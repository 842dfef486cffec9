// nodal nodes [NAME]: every registered node type with its doc, inputs, attributes and backends.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"
#include "nodal/tools/cli.hpp"

namespace nodal::cli {
namespace {

std::string inputs_text(const NodeTypeInfo& info) {
  if (info.max_inputs < 0) return fmt::format("{} or more", info.min_inputs);
  if (info.min_inputs == info.max_inputs) return fmt::format("{}", info.min_inputs);
  return fmt::format("{} to {}", info.min_inputs, info.max_inputs);
}

void print_type(const NodeTypeInfo& info) {
  std::vector<std::string_view> backends;
  for (Backend b : Registry::instance().backends(info.name)) backends.push_back(backend_name(b));
  fmt::print("{}\n  {}\n  inputs: {}; backends: {}\n", info.name, info.doc.empty() ? "(no doc)" : info.doc, inputs_text(info),
             backends.empty() ? "none" : fmt::format("{}", fmt::join(backends, ", ")));
  for (const AttrSpec& a : info.attributes)
    fmt::print("  attribute {} ({}, default {}){}{}\n", a.name, attr_type_name(a.default_value), to_string(a.default_value),
               a.doc.empty() ? "" : ": ", a.doc);
}

}  // namespace

int run_nodes(const std::vector<std::string>& words) {
  const Args args = parse_args("nodes", words, {}, {});
  if (args.positional.size() > 1) throw UsageError("nodes: takes at most one node type name");
  if (args.positional.size() == 1) {
    print_type(Registry::instance().type(args.positional.front()));
    return 0;
  }
  const auto types = Registry::instance().types();
  fmt::print("{} node types\n\n", types.size());
  for (const NodeTypeInfo* info : types) print_type(*info);
  return 0;
}

}  // namespace nodal::cli
