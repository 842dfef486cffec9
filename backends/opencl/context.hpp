#pragma once
// One Context per device in use: the cl_context, one in-order command queue, the device's buffer
// pool and its program cache. In-order means a kernel always sees the writes of the commands
// enqueued before it, so the backend needs no events between its own launches; the host waits
// only where it reads results (downloads are blocking).
//
// Contexts are created on first use and live until the process ends (tensors may outlive static
// destruction, and drivers dislike being torn down from atexit handlers).
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nodal/backends/opencl/cl.hpp"
#include "nodal/backends/opencl/devices.hpp"

namespace nodal::opencl {

class BufferPool;
class ProgramCache;

class Context {
 public:
  explicit Context(const DeviceInfo& device);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& device() const { return device_; }
  cl_context get() const { return context_.get(); }
  cl_command_queue queue() const { return queue_.get(); }
  BufferPool& pool() { return *pool_; }
  ProgramCache& programs() { return *programs_; }
  // Kernel objects are not safe to set up from two threads at once: launches hold this.
  std::mutex& launch_mutex() { return launch_mutex_; }
  void finish();  // waits for every enqueued command (clFinish)

 private:
  const DeviceInfo& device_;
  ContextHandle context_;
  QueueHandle queue_;
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<ProgramCache> programs_;
  std::mutex launch_mutex_;
};

// The context of `device`, created on first use.
Context& context_for(const DeviceInfo& device);

// The context new OpenCL tensors are allocated in: the device chosen with select_device, else
// default_device() (NODAL_DEVICE, first GPU, first device).
Context& current_context();

// Chooses the device for tensors allocated from now on (spec as in devices.hpp). Tensors already
// on another device stay there; a kernel given tensors of two devices raises BackendError.
const DeviceInfo& select_device(std::string_view spec);

}  // namespace nodal::opencl
