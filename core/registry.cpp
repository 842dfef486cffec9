#include "nodal/core/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nodal/core/error.hpp"

namespace nodal {

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

bool Registry::add_type(NodeTypeInfo info) {
  std::lock_guard lock(mutex_);
  if (types_.contains(info.name)) throw ValueError(fmt::format("node type '{}' is registered twice", info.name));
  std::string name = info.name;
  types_.emplace(std::move(name), std::move(info));
  return true;
}

bool Registry::add_impl(std::string_view type, Backend backend, std::unique_ptr<NodeImpl> impl) {
  std::lock_guard lock(mutex_);
  auto key = std::pair(std::string(type), backend);
  if (impls_.contains(key))
    throw ValueError(fmt::format("node '{}' has two implementations for backend '{}'", type, backend_name(backend)));
  impls_.emplace(std::move(key), std::move(impl));
  return true;
}

const NodeImpl* Registry::find_impl(std::string_view type, Backend backend) const {
  std::lock_guard lock(mutex_);
  auto it = impls_.find(std::pair(std::string(type), backend));
  return it == impls_.end() ? nullptr : it->second.get();
}

const NodeImpl& Registry::impl(std::string_view type, Backend backend) const {
  if (const NodeImpl* p = find_impl(type, backend)) return *p;
  if (const NodeImpl* p = find_impl(type, Backend::any)) return *p;
  std::vector<std::string_view> have;
  for (Backend b : backends(type)) have.push_back(backend_name(b));
  throw BackendError(fmt::format("node '{}' has no implementation for backend '{}' (implemented for: {})", type,
                                 backend_name(backend), have.empty() ? "none" : fmt::format("{}", fmt::join(have, ", "))));
}

const NodeTypeInfo* Registry::find_type(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

const NodeTypeInfo& Registry::type(std::string_view name) const {
  if (const NodeTypeInfo* p = find_type(name)) return *p;
  throw ValueError(fmt::format("unknown node type '{}' (see `nodal nodes` for the list)", name));
}

std::vector<const NodeTypeInfo*> Registry::types() const {
  std::lock_guard lock(mutex_);
  std::vector<const NodeTypeInfo*> out;
  for (const auto& [name, info] : types_) out.push_back(&info);
  return out;
}

std::vector<Backend> Registry::backends(std::string_view type) const {
  std::lock_guard lock(mutex_);
  std::vector<Backend> out;
  for (const auto& [key, impl] : impls_)
    if (key.first == type) out.push_back(key.second);
  return out;
}

std::unique_ptr<Node> Registry::make(std::string_view type_name, const Attributes& given) const {
  const NodeTypeInfo& info = type(type_name);
  Attributes full;
  for (const AttrSpec& spec : info.attributes) full.set(spec.name, given.find(spec.name) ? *given.find(spec.name) : spec.default_value);
  for (const auto& [key, value] : given) {
    bool known = false;
    for (const AttrSpec& spec : info.attributes) known |= spec.name == key;
    if (!known) {
      std::vector<std::string_view> names;
      for (const AttrSpec& spec : info.attributes) names.push_back(spec.name);
      throw ValueError(fmt::format("node '{}' has no attribute '{}' (attributes: {})", type_name, key,
                                   names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
  }
  if (!info.make) throw ValueError(fmt::format("node '{}' cannot be built from attributes", type_name));
  return info.make(full);
}

const NodeImpl& Node::impl(Backend backend) const {
  const auto slot = std::size_t(backend);
  const NodeImpl* cached = impl_cache_[slot].load(std::memory_order_acquire);
  if (!cached) {
    cached = &Registry::instance().impl(type(), backend);
    impl_cache_[slot].store(cached, std::memory_order_release);
  }
  return *cached;
}

std::string to_string(const TensorSpec& spec) { return fmt::format("{} {}", to_string(spec.shape), dtype_name(spec.dtype)); }

}  // namespace nodal
