#include "nodal/core/device_memory.hpp"

#include <array>
#include <atomic>

#include <fmt/format.h>

#include "nodal/core/error.hpp"

namespace nodal {
namespace {

// One slot per Backend value; written at library load (static initialisers), read afterwards.
std::array<std::atomic<DeviceMemory*>, 3>& providers() {
  static std::array<std::atomic<DeviceMemory*>, 3> slots{};
  return slots;
}

}  // namespace

bool register_device_memory(Backend backend, DeviceMemory* provider) {
  if (backend == Backend::cpu || backend == Backend::any)
    throw ValueError(fmt::format("register_device_memory: backend '{}' is not a device backend", backend_name(backend)));
  providers()[std::size_t(backend)].store(provider, std::memory_order_release);
  return true;
}

bool has_device_memory(Backend backend) {
  return backend != Backend::cpu && backend != Backend::any &&
         providers()[std::size_t(backend)].load(std::memory_order_acquire) != nullptr;
}

DeviceMemory& device_memory(Backend backend, std::string_view op) {
  DeviceMemory* p = backend == Backend::cpu || backend == Backend::any
                        ? nullptr
                        : providers()[std::size_t(backend)].load(std::memory_order_acquire);
  if (!p) throw BackendError(fmt::format("{}: backend '{}' is not available in this build", op, backend_name(backend)));
  return *p;
}

}  // namespace nodal
