#pragma once
// The seam between core and device backends. Core never includes a device API's headers; a
// backend library file (backends/opencl/memory.cpp) registers one DeviceMemory per Backend when
// the library loads, and Tensor::empty / zeros / full / to() go through it for that backend.
// Without a registered provider those calls raise BackendError ("not available in this build").
#include <cstddef>
#include <memory>

#include "nodal/core/backend.hpp"

namespace nodal {

class Tensor;

class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  // A new block of `bytes` device bytes (uninitialised); BackendError when the device cannot hold it.
  virtual std::shared_ptr<Buffer> allocate(std::size_t bytes) = 0;
  // Host -> device: `bytes` bytes from `host` into `dst` at byte offset `offset`. Blocking.
  virtual void upload(const void* host, Buffer& dst, std::size_t offset, std::size_t bytes) = 0;
  // Device -> host: `bytes` bytes of `src` at byte offset `offset` into `host`. Blocking.
  virtual void download(const Buffer& src, std::size_t offset, void* host, std::size_t bytes) = 0;
  // Optional: dst ← src, two views of this backend's memory with one shape and dtype, copied on
  // the device (Tensor::clone / contiguous). False when the provider cannot (other devices, no
  // kernel): the caller then goes through the host.
  virtual bool copy(const Tensor& src, Tensor& dst) { return false; }
};

// Registers the provider for `backend` (not cpu, not any); a second registration replaces the
// first. The provider must live until the process ends.
bool register_device_memory(Backend backend, DeviceMemory* provider);
// The provider for `backend`, or BackendError naming `op` when this build has none.
DeviceMemory& device_memory(Backend backend, std::string_view op);
bool has_device_memory(Backend backend);

}  // namespace nodal
