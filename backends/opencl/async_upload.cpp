#include "nodal/backends/opencl/async_upload.hpp"

#include <deque>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "nodal/backends/opencl/activity.hpp"
#include "nodal/backends/opencl/buffer_pool.hpp"
#include "nodal/backends/opencl/launch.hpp"
#include "nodal/core/error.hpp"

namespace nodal::opencl {
namespace {

// Host tensors whose writes may still be reading them, oldest first.
struct InFlight {
  std::mutex mutex;
  std::deque<std::pair<EventHandle, Tensor>> uploads;
};
InFlight& in_flight() {
  static InFlight* state = new InFlight;  // never destroyed: events may outlive static destruction
  return *state;
}

bool complete(const EventHandle& event) {
  cl_int status = CL_QUEUED;
  check(clGetEventInfo(event.get(), CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr),
        "clGetEventInfo", "upload_async");
  return status == CL_COMPLETE || status < 0;  // an error status also ends the read of the host memory
}

constexpr std::size_t max_in_flight = 4;

}  // namespace

Tensor upload_async(Context& context, const Tensor& host_in) {
  if (host_in.backend() != Backend::cpu)
    throw BackendError(fmt::format("upload_async: {} is not a host tensor", describe(host_in)));
  const Tensor host = host_in.contiguous();
  Tensor out = device_empty(context, host.shape(), host.dtype());
  if (out.numel() == 0) return out;
  const std::size_t bytes = out.nbytes();
  const char* src = static_cast<const char*>(host.buffer()->host_data()) + std::size_t(host.offset()) * dtype_size(host.dtype());
  InFlight& state = in_flight();
  std::lock_guard<std::mutex> lock(state.mutex);
  while (!state.uploads.empty() && (complete(state.uploads.front().first) || state.uploads.size() >= max_in_flight)) {
    const cl_event e = state.uploads.front().first.get();
    check(clWaitForEvents(1, &e), "clWaitForEvents", "upload_async");
    state.uploads.pop_front();
  }
  cl_event event = nullptr;
  check(clEnqueueWriteBuffer(context.queue(), device_buffer(*out.buffer(), "upload_async").mem(), CL_FALSE, 0, bytes,
                             src, 0, nullptr, &event),
        "clEnqueueWriteBuffer", fmt::format("{} bytes to {} (not waiting)", bytes, context.device().name));
  state.uploads.emplace_back(EventHandle(event), host);
  detail::note_upload(bytes);
  return out;
}

}  // namespace nodal::opencl
