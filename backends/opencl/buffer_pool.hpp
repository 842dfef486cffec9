#pragma once
// Device memory: DeviceBuffer (a core Buffer owning one cl_mem) and the per-device pool that
// recycles cl_mem objects by size, like the CPU pool, so that a training loop allocating the same
// sizes every step stops calling clCreateBuffer after the first step.
//
// Sizes are rounded up to 256 bytes (fewer distinct pool keys; every device's base alignment
// divides it). Freed blocks return to the pool while it holds less than a quarter of the device's
// global memory; above that they are released to the driver.
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "nodal/backends/opencl/cl.hpp"
#include "nodal/core/backend.hpp"

namespace nodal::opencl {

class Context;

class DeviceBuffer final : public Buffer {
 public:
  DeviceBuffer(Context& context, MemHandle mem, std::size_t bytes);
  ~DeviceBuffer() override;
  Backend backend() const override { return Backend::opencl; }
  cl_mem mem() const { return mem_.get(); }
  Context& context() const { return context_; }

 private:
  Context& context_;
  MemHandle mem_;
};

// The device buffer behind an OpenCL tensor's Buffer; BackendError naming `op` for any other.
const DeviceBuffer& device_buffer(const Buffer& buffer, std::string_view op);

struct DevicePoolStats {
  std::size_t device_allocations = 0;  // calls that reached clCreateBuffer
  std::size_t reuses = 0;              // allocations served from the pool
  std::size_t cached_bytes = 0;        // bytes held by the pool, free for reuse
  std::size_t live_bytes = 0;          // bytes in DeviceBuffers alive now
};

class BufferPool {
 public:
  explicit BufferPool(Context& context);
  // BackendError when `bytes` exceeds the device's largest allocation or global memory, or when
  // the driver refuses even after the pool released what it cached.
  std::shared_ptr<Buffer> allocate(std::size_t bytes);
  void give_back(MemHandle mem, std::size_t bytes);
  DevicePoolStats stats();
  void release();  // frees every cached block

 private:
  Context& context_;
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<MemHandle>> free_;
  DevicePoolStats stats_;
  std::size_t limit_bytes_;
};

// The pool statistics of the current device (context.hpp) and a way to empty it.
DevicePoolStats device_pool_stats();
void release_cached_device_memory();

}  // namespace nodal::opencl
