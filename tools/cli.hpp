#pragma once
// The nodal command-line tool: shared pieces of its subcommands (argument parsing, attributes
// typed by a node's schema, loading inputs). Each subcommand lives in its own tools/cmd_*.cpp.
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/core/attributes.hpp"
#include "nodal/core/registry.hpp"

namespace nodal::cli {

// A mistake on the command line (unknown command or flag, a missing value): exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parsed "NAME --flag value --flag=value --switch" arguments of one subcommand.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;  // every occurrence, in order

  const std::vector<std::string>& all(std::string_view flag) const;
  bool has(std::string_view flag) const { return flags.contains(flag); }
  // The one value of a flag given at most once; `fallback` when absent.
  std::string one(std::string_view flag, std::string_view fallback = {}) const;
};

// `valued` flags take a value, `switches` do not; anything else is a UsageError naming it.
Args parse_args(std::string_view command, const std::vector<std::string>& words, const std::vector<std::string_view>& valued,
                const std::vector<std::string_view>& switches);

// --set key=value pairs, each parsed as the type of that attribute in the node's schema.
Attributes parse_sets(const NodeTypeInfo& info, const std::vector<std::string>& sets);

// Checks the number of inputs against the node type's min/max.
void check_input_count(const NodeTypeInfo& info, std::size_t given, std::string_view what);

// Subcommands: they return the process exit status.
int run_nodes(const std::vector<std::string>& words);
int run_op(const std::vector<std::string>& words);
int run_gradcheck(const std::vector<std::string>& words);
int run_train(const std::vector<std::string>& words);

}  // namespace nodal::cli
