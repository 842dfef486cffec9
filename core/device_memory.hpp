#pragma once
// The seam between core and device backends. Core never includes a device API's headers; a
// backend library file (backends/opencl/memory.cpp) registers one DeviceMemory per Backend when
// the library loads, and Tensor::empty / zeros / full / to() go through it for that backend.
// Without a registered provider those calls raise BackendError ("not available in this build").
#include <complex>
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
  // Optional: dst ← src converted to dst's dtype (one shape; real → complex with imaginary part 0,
  // never complex → real), on the device (Tensor::astype). False when the provider cannot: the
  // caller then converts on the host, a download and an upload.
  virtual bool cast(const Tensor& src, Tensor& dst) { return false; }
  // Optional: every element of the view dst ← value, on the device (Tensor::zeros, ones, full).
  // False when the provider cannot: the caller fills on the host and uploads.
  virtual bool fill(Tensor& dst, std::complex<double> value) { return false; }
};

// Registers the provider for `backend` (not cpu, not any); a second registration replaces the
// first. The provider must live until the process ends.
bool register_device_memory(Backend backend, DeviceMemory* provider);
// The provider for `backend`, or BackendError naming `op` when this build has none.
DeviceMemory& device_memory(Backend backend, std::string_view op);
bool has_device_memory(Backend backend);

}  // namespace nodal
