#include "nodal/backends/opencl/buffer_pool.hpp"

#include <fmt/format.h>

#include "nodal/backends/opencl/context.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {

DeviceBuffer::DeviceBuffer(Context& context, MemHandle mem, std::size_t bytes)
    : Buffer(bytes, nullptr), context_(context), mem_(std::move(mem)) {}

DeviceBuffer::~DeviceBuffer() { context_.pool().give_back(std::move(mem_), bytes()); }

const DeviceBuffer& device_buffer(const Buffer& buffer, std::string_view op) {
  if (const auto* d = dynamic_cast<const DeviceBuffer*>(&buffer)) return *d;
  throw BackendError(fmt::format("{}: the buffer lives on backend '{}', not on an OpenCL device", op,
                                 backend_name(buffer.backend())));
}

BufferPool::BufferPool(Context& context)
    : context_(context), limit_bytes_(std::size_t(context.device().global_memory / 4)) {}

std::shared_ptr<Buffer> BufferPool::allocate(std::size_t bytes) {
  const DeviceInfo& device = context_.device();
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 255) / 256 * 256;
  if (rounded > device.max_allocation || rounded > device.global_memory)
    throw BackendError(fmt::format(
        "opencl: cannot allocate {} bytes on {} ({}): the device's largest buffer is {} bytes "
        "(CL_DEVICE_MAX_MEM_ALLOC_SIZE) and its global memory {} bytes",
        bytes, device.spec(), device.name, device.max_allocation, device.global_memory));
  {
    std::lock_guard lock(mutex_);
    auto it = free_.find(rounded);
    if (it != free_.end() && !it->second.empty()) {
      MemHandle mem = std::move(it->second.back());
      it->second.pop_back();
      stats_.cached_bytes -= rounded;
      stats_.live_bytes += rounded;
      ++stats_.reuses;
      return std::make_shared<DeviceBuffer>(context_, std::move(mem), rounded);
    }
  }
  cl_int status = CL_SUCCESS;
  MemHandle mem(clCreateBuffer(context_.get(), CL_MEM_READ_WRITE, rounded, nullptr, &status));
  if (status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES || status == CL_OUT_OF_HOST_MEMORY) {
    release();  // what the pool caches may be what is missing: try once more without it
    mem = MemHandle(clCreateBuffer(context_.get(), CL_MEM_READ_WRITE, rounded, nullptr, &status));
  }
  check(status, "clCreateBuffer", fmt::format("{} bytes on {} ({})", rounded, device.spec(), device.name));
  std::lock_guard lock(mutex_);
  ++stats_.device_allocations;
  stats_.live_bytes += rounded;
  return std::make_shared<DeviceBuffer>(context_, std::move(mem), rounded);
}

void BufferPool::give_back(MemHandle mem, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  stats_.live_bytes -= bytes;
  if (stats_.cached_bytes + bytes <= limit_bytes_) {
    free_[bytes].push_back(std::move(mem));
    stats_.cached_bytes += bytes;
  }
  // else: `mem` goes out of scope here and clReleaseMemObject frees it
}

DevicePoolStats BufferPool::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

void BufferPool::release() {
  std::lock_guard lock(mutex_);
  free_.clear();
  stats_.cached_bytes = 0;
}

DevicePoolStats device_pool_stats() { return current_context().pool().stats(); }
void release_cached_device_memory() { current_context().pool().release(); }

}  // namespace nodal::opencl
