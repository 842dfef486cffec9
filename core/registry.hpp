#pragma once
// One registry for every node type and every (node type, backend) implementation. Adding a node
// or a backend means adding files that register themselves; nothing central is edited.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nodal/core/node.hpp"

namespace nodal {

struct NodeTypeInfo {
  std::string name;
  std::string doc;                       // one line
  int min_inputs = 1;
  int max_inputs = 1;                    // -1: any number
  std::vector<AttrSpec> attributes;      // schema, with defaults
  // Builds a node from attributes (missing ones take the schema defaults). Used by the CLI.
  std::function<std::unique_ptr<Node>(const Attributes&)> make;
};

class Registry {
 public:
  static Registry& instance();

  bool add_type(NodeTypeInfo info);  // throws ValueError on a duplicate name
  bool add_impl(std::string_view type, Backend backend, std::unique_ptr<NodeImpl> impl);

  // BackendError naming node and backend (and the backends that do exist) when missing.
  const NodeImpl& impl(std::string_view type, Backend backend) const;
  const NodeImpl* find_impl(std::string_view type, Backend backend) const;  // exact backend, may be null
  const NodeTypeInfo& type(std::string_view name) const;                     // ValueError when unknown
  const NodeTypeInfo* find_type(std::string_view name) const;
  std::vector<const NodeTypeInfo*> types() const;     // sorted by name
  std::vector<Backend> backends(std::string_view type) const;
  // Builds a node of a registered type, filling defaults and rejecting unknown attributes.
  std::unique_ptr<Node> make(std::string_view type, const Attributes& attributes) const;

 private:
  Registry() = default;
  mutable std::mutex mutex_;
  std::map<std::string, NodeTypeInfo, std::less<>> types_;
  std::map<std::pair<std::string, Backend>, std::unique_ptr<NodeImpl>, std::less<>> impls_;
};

#define NODAL_CONCAT_INNER(a, b) a##b
#define NODAL_CONCAT(a, b) NODAL_CONCAT_INNER(a, b)
// NODAL_REGISTER_NODE_TYPE({.name = "relu", .doc = "...", ...});
#define NODAL_REGISTER_NODE_TYPE(...) \
  [[maybe_unused]] static const bool NODAL_CONCAT(nodal_type_, __COUNTER__) = ::nodal::Registry::instance().add_type(__VA_ARGS__)
// NODAL_REGISTER_IMPL("relu", Backend::cpu, ReluCpu);
#define NODAL_REGISTER_IMPL(type_name, backend, ImplClass)                                                   \
  [[maybe_unused]] static const bool NODAL_CONCAT(nodal_impl_, __COUNTER__) = ::nodal::Registry::instance().add_impl( \
      type_name, backend, std::make_unique<ImplClass>())

}  // namespace nodal
