#include "nodal/backends/opencl/context.hpp"

#include <atomic>

#include <fmt/format.h>

#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/kernel_profile.hpp"
#include "nodal/backends/opencl/program_cache.hpp"

namespace nodal::opencl {

Context::Context(const DeviceInfo& device) : device_(device) {
  cl_int status = CL_SUCCESS;
  const cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, cl_context_properties(device.platform), 0};
  context_ = ContextHandle(clCreateContext(properties, 1, &device.id, nullptr, nullptr, &status));
  check(status, "clCreateContext", fmt::format("device {} ({})", device.spec(), device.name));
  const cl_command_queue_properties queue_properties = kernel_profiling() ? CL_QUEUE_PROFILING_ENABLE : 0;
  queue_ = QueueHandle(clCreateCommandQueue(context_.get(), device.id, queue_properties, &status));
  check(status, "clCreateCommandQueue", fmt::format("device {} ({})", device.spec(), device.name));
  pool_ = std::make_unique<BufferPool>(*this);
  programs_ = std::make_unique<ProgramCache>(*this);
}

Context::~Context() = default;

void Context::finish() { check(clFinish(queue_.get()), "clFinish"); }

Context& context_for(const DeviceInfo& device) {
  static std::mutex mutex;
  // Never destroyed: see the header.
  static auto* contexts = new std::map<const DeviceInfo*, std::unique_ptr<Context>>;
  std::lock_guard lock(mutex);
  auto& slot = (*contexts)[&device];
  if (!slot) slot = std::make_unique<Context>(device);
  return *slot;
}

namespace {
std::atomic<const DeviceInfo*> selected{nullptr};
}

Context& current_context() {
  const DeviceInfo* device = selected.load(std::memory_order_acquire);
  if (!device) {
    device = &default_device();
    const DeviceInfo* expected = nullptr;
    if (!selected.compare_exchange_strong(expected, device)) device = expected;
  }
  return context_for(*device);
}

const DeviceInfo& select_device(std::string_view spec) {
  const DeviceInfo& device = find_device(spec);
  selected.store(&device, std::memory_order_release);
  return device;
}

}  // namespace nodal::opencl
